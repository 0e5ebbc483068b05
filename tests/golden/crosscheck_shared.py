"""Checks torch_encoders.py against the reference outputs that ship with ../shared/models
(made by an independent implementation), so the goldens rest on a validated oracle.

Usage: /usr/bin/python3 tests/golden/crosscheck_shared.py [--shared DIR] [--tolerance 1e-5]
Every probe set is run twice: each probe alone, and all probes as one padded batch (which
exercises the attention mask). Exits 1 if any difference exceeds the tolerance."""

import argparse
import json
import os
import sys

import torch

from torch_encoders import load_model, mean_pool_normalize, pad_batch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# model dir -> reference key -> how to get it from (outputs, attention mask)
CHECKS = {
    "minilm-l6-genre": {"logits": lambda out, mask: out["logits"]},
    "minilm-l6-nli": {
        "logits": lambda out, mask: out["logits"],
        "last_hidden_state_token0_first8": lambda out, mask: out["last_hidden_state"][:, 0, :8],
    },
    "minilm-l6-sts": {"embedding": lambda out, mask: mean_pool_normalize(out["last_hidden_state"], mask)},
}


def max_diff(model, pad_id, probes, key, extract):
    ids, types, mask = pad_batch(probes, pad_id)
    with torch.inference_mode():
        got = extract(model(ids, types, mask), mask)
    want = torch.tensor([p[key] for p in probes], dtype=torch.float32)
    return (got - want).abs().max().item()


def check_model(model_dir):
    model, cfg, _ = load_model(model_dir)
    with open(os.path.join(model_dir, "reference_outputs.json")) as f:
        probes = json.load(f)["probes"]
    results = {}
    for key, extract in CHECKS[os.path.basename(model_dir)].items():
        alone = max(max_diff(model, cfg["pad_token_id"], [p], key, extract) for p in probes)
        batched = max_diff(model, cfg["pad_token_id"], probes, key, extract)
        results[key] = {"probes": len(probes), "max_abs_diff_alone": alone,
                        "max_abs_diff_padded_batch": batched}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared"))
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    models_dir = os.path.join(args.shared, "models")
    if not os.path.isdir(models_dir):
        print(f"skip: {models_dir} not found (no shared reference models on this machine)")
        return 0
    worst = 0.0
    for name in CHECKS:
        model_dir = os.path.join(models_dir, name)
        if not os.path.isdir(model_dir):
            print(f"skip: {model_dir} not found")
            continue
        for key, r in check_model(model_dir).items():
            print(json.dumps({"model": name, "output": key, **r}))
            worst = max(worst, r["max_abs_diff_alone"], r["max_abs_diff_padded_batch"])
    ok = worst <= args.tolerance
    print(f"{'OK' if ok else 'FAIL'}: worst difference {worst:.3g} (tolerance {args.tolerance:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
