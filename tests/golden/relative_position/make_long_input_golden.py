"""Outputs of transformers' own MPNet and DeBERTa-v2 on inputs longer than the
shared oracle's (../shared/oracle/<arch>-tiny/reference_outputs.json has at most
20 tokens), for tests/unit/relative_encoder_long_input_test.cpp: long enough that
MPNet's buckets reach their logarithmic range (distances up to 63) and DeBERTa's
relative positions pass max_position_embeddings and are clamped.

Usage (transformers 4.48 with torch, as for make_relative_position_golden.py):

    python tests/golden/relative_position/make_long_input_golden.py [--shared ../shared]

Reads the shared oracle's tiny models (they stay in ../shared) and writes
long_inputs.json beside this script: per architecture the input ids (each row
unpadded), the last hidden state of each row's tokens and the logits, from one
right-padded batch with an attention mask.
"""

import argparse
import json
import os

import torch
import transformers
from transformers import AutoModelForSequenceClassification

HERE = os.path.dirname(os.path.abspath(__file__))
# Row lengths per architecture: MPNet takes at most 64 tokens (66 position rows,
# numbered from 2); DeBERTa has no absolute positions, so rows may be longer
# than its max_position_embeddings (64).
LENGTHS = {"mpnet": [64, 41], "deberta-v2": [130, 66]}
FIRST_ID = 3  # above the pad / special ids of both models


def run(shared, arch, seed):
    model_dir = os.path.join(shared, "oracle", arch + "-tiny")
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    pad = model.config.pad_token_id
    generator = torch.Generator().manual_seed(seed)
    rows = [torch.randint(FIRST_ID, model.config.vocab_size, (n,), generator=generator).tolist()
            for n in LENGTHS[arch]]
    width = max(len(r) for r in rows)
    input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    with torch.no_grad():
        out = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
    hidden = out.hidden_states[-1]
    return {
        "input_ids": rows,
        "last_hidden_state": [[[float(f"{v:.7g}") for v in hidden[i, t].tolist()] for t in range(len(r))]
                              for i, r in enumerate(rows)],
        "logits": [[float(f"{v:.7g}") for v in row] for row in out.logits.tolist()],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=os.path.join(HERE, "..", "..", "..", "..", "shared"))
    args = parser.parse_args()
    golden = {
        "produced_by": "tests/golden/relative_position/make_long_input_golden.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }
    for seed, arch in enumerate(LENGTHS):
        golden[arch] = run(args.shared, arch, seed + 1)
    with open(os.path.join(HERE, "long_inputs.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
