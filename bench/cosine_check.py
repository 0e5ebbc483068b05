"""Compares two embedding dumps row by row (cosine), so a broken peer conversion is caught
before it is timed.

Usage:
  python3 bench/cosine_check.py REFERENCE.jsonl CANDIDATE.jsonl [--name NAME] [--min 0.99]

Both files hold one {"embedding": [...]} line per input, in the same order, as the
--dump-embeddings option of bench/torch_bert_bench.py, ort_bench.js and the peer scripts
writes them. Prints the minimum and mean cosine on one line; exits 1 when the counts or
widths differ or when the minimum cosine is not above --min.
"""

import argparse
import json
import sys

import numpy as np


def read(path):
    with open(path) as f:
        return np.array([json.loads(line)["embedding"] for line in f if line.strip()],
                        dtype=np.float64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference")
    parser.add_argument("candidate")
    parser.add_argument("--name", default="candidate")
    parser.add_argument("--min", type=float, default=0.99)
    args = parser.parse_args()
    ref, cand = read(args.reference), read(args.candidate)
    if ref.shape != cand.shape or ref.size == 0:
        print(f"[check] {args.name}: shape {cand.shape} vs reference {ref.shape}", file=sys.stderr)
        return 1
    cosine = (ref * cand).sum(axis=1) / np.maximum(
        np.linalg.norm(ref, axis=1) * np.linalg.norm(cand, axis=1), 1e-30)
    ok = bool(cosine.min() > args.min)
    print(f"[check] {args.name} vs PyTorch fp32: cosine min {cosine.min():.5f} mean "
          f"{cosine.mean():.5f} over {len(cosine)} sequences (limit > {args.min}) "
          f"{'ok' if ok else 'FAILED'}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
