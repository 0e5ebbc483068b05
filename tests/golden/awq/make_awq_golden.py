#!/usr/bin/env python3
"""Writes awq_golden.json: AWQ's scale search computed with PyTorch, for tests/unit/awq_test.cpp.

An independent implementation of the search quantpipe runs (src/quant/awq.h): channel
magnitudes m = sqrt(diag(XᵀX) / rows), s = m^α centred so that max(s)·min(s) = 1, the weights
scaled by s, rounded to nearest with quantpipe's per-group rules (the same fit / encode as the
GPTQ golden, tests/golden/gptq/make_gptq_golden.py), unscaled, and the output error measured
directly on the inputs, ‖X·(Ŵ − W)ᵀ‖², in float64 (the C++ uses the Hessian). For every α of
the grid the error is written, and the α with the least.

Usage: python3 tests/golden/awq/make_awq_golden.py   (needs python3-torch:
scripts/install-deps.sh --oracles). Deterministic: fixed seeds.
"""
import json
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "gptq"))
from make_gptq_golden import encode, fit  # noqa: E402  (quantpipe's formats, written once)

F32 = torch.float32
GRID = 20


def round_to_nearest(w, kind, bits, group):
    n, k = w.shape
    out = torch.empty_like(w)
    for r in range(n):
        for g in range(k // group):
            span = w[r, g * group:(g + 1) * group]
            scale, bias = fit(kind, bits, span)
            out[r, g * group:(g + 1) * group] = scale * encode(kind, bits, span, scale, bias) + bias
    return out


def search(w, x, kind, bits, group):
    rows = x.shape[0]
    magnitude = torch.sqrt((x.double() ** 2).sum(0) / rows)
    magnitude = torch.clamp(magnitude, min=float(magnitude.max()) * 1e-4 + 1e-12)
    errors = []
    for step in range(GRID):
        alpha = step / GRID
        s = magnitude ** alpha
        s = s / torch.sqrt(s.max() * s.min())
        scaled = (w.double() * s).to(F32)
        restored = (round_to_nearest(scaled, kind, bits, group).double() / s).to(F32)
        errors.append(float(((x.double() @ (restored.double() - w.double()).T) ** 2).sum()))
    best = min(range(GRID), key=lambda i: (errors[i], i))
    return best / GRID, errors


CASES = [
    # scheme, kind, bits, group, n, k, rows, loud channels, boost
    ("q4_affine_g32", "affine", 4, 32, 8, 64, 48, 3, 12.0),
    ("q2_affine_g32", "affine", 2, 32, 8, 64, 48, 4, 20.0),
    ("q3_sym_g32", "sym", 3, 32, 8, 64, 48, 2, 8.0),
]


def main():
    out = []
    for index, (scheme, kind, bits, group, n, k, rows, loud, boost) in enumerate(CASES):
        gen = torch.Generator().manual_seed(2000 + index)
        w = torch.round(torch.randn(n, k, generator=gen) * 0.05 * 1e4) / 1e4
        x = torch.randn(rows, k, generator=gen)
        x[:, :loud] *= boost
        x = torch.round(x * 1e3) / 1e3
        w, x = w.to(F32), x.to(F32)
        alpha, errors = search(w, x, kind, bits, group)
        out.append({"scheme": scheme, "n": n, "k": k, "rows": rows,
                    "w": [round(float(v), 5) for v in w.flatten()], "x": [round(float(v), 4) for v in x.flatten()],
                    "alpha": alpha, "errors": errors})
    path = pathlib.Path(__file__).with_name("awq_golden.json")
    path.write_text(json.dumps({"generator": "tests/golden/awq/make_awq_golden.py", "grid": GRID,
                                "torch": torch.__version__, "cases": out}) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(out)} cases)")


if __name__ == "__main__":
    main()
