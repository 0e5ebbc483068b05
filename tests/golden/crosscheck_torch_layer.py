"""Checks the transformer blocks of torch_encoders.py against torch.nn.TransformerEncoderLayer
(post-LayerNorm, exact GELU), an implementation we did not write, on every golden model.

Usage: /usr/bin/python3 tests/golden/crosscheck_torch_layer.py [--models tests/golden/models]
The shared reference outputs only cover BERT; this covers the DistilBERT and RoBERTa goldens'
blocks too (their names differ, their blocks do not). Embeddings, position ids and heads are
not covered here. Exits 1 if a real token's output differs by more than the tolerance.
"""

import argparse
import json
import os
import sys

import torch
import torch.nn as nn

from torch_encoders import attention_bias, load_model, pad_batch

HERE = os.path.dirname(os.path.abspath(__file__))


def torch_layer(ours, hp):
    """nn.TransformerEncoderLayer holding the same weights as one of our blocks."""
    ref = nn.TransformerEncoderLayer(hp.hidden, hp.heads, hp.intermediate, dropout=0.0,
                                     activation="gelu", layer_norm_eps=hp.eps,
                                     batch_first=True, norm_first=False)
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(torch.cat([ours.q.weight, ours.k.weight, ours.v.weight]))
        ref.self_attn.in_proj_bias.copy_(torch.cat([ours.q.bias, ours.k.bias, ours.v.bias]))
        pairs = [(ref.self_attn.out_proj, ours.attn_out), (ref.norm1, ours.attn_norm),
                 (ref.linear1, ours.ffn_in), (ref.linear2, ours.ffn_out), (ref.norm2, ours.out_norm)]
        for theirs, mine in pairs:
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
    return ref.eval()


def max_block_diff(model_dir):
    model, cfg, _ = load_model(model_dir)
    with open(os.path.join(model_dir, "golden.json")) as f:
        sequences = json.load(f)["sequences"]
    ids, types, mask = pad_batch(sequences, cfg["pad_token_id"])
    encoder = model.encoder
    mask_bias = attention_bias(mask)
    real = mask.bool()
    worst = 0.0
    with torch.no_grad():
        x = encoder.embeddings(ids, types, encoder.position_ids(ids))
        for layer in encoder.layers:
            ours = layer(x, mask_bias)
            theirs = torch_layer(layer, encoder.hp)(x, src_key_padding_mask=~real)
            worst = max(worst, (ours - theirs)[real].abs().max().item())  # padded rows are junk
            x = ours
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=os.path.join(HERE, "models"))
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    worst = 0.0
    for name in sorted(os.listdir(args.models)):
        diff = max_block_diff(os.path.join(args.models, name))
        print(json.dumps({"model": name, "max_abs_diff_blocks_vs_nn_TransformerEncoderLayer": diff}))
        worst = max(worst, diff)
    ok = worst <= args.tolerance
    print(f"{'OK' if ok else 'FAIL'}: worst difference {worst:.3g} (tolerance {args.tolerance:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
