#!/usr/bin/env python3
"""Writes gptq_golden.json: GPTQ results computed with PyTorch, for tests/quant/gptq_test.cpp.

An independent implementation of GPTQ (Frantar et al., 2022, Algorithm 1) in float64: the
direct column-by-column form (every column's error is spread over all later columns at once,
no lazy blocks), Cholesky factors from torch.linalg. The per-group scale/bias rules and the
encodings are those of quantpipe's formats (src/quant/format_table.h: MLX affine, symmetric,
ternary), computed in float32 as the C++ does.

Usage: python3 tests/golden/gptq/make_gptq_golden.py   (needs python3-torch:
scripts/install-deps.sh --oracles). Deterministic: fixed seeds.
"""
import json
import pathlib

import torch

F32 = torch.float32


def fit(kind, bits, w):
    """Scale and bias of one group (a 1-D float32 tensor)."""
    if kind == "affine":
        n_bins = torch.tensor(float((1 << bits) - 1), dtype=F32)
        lo, hi = w.min(), w.max()
        low_end_larger = bool(lo.abs() > hi.abs())
        scale = torch.maximum((hi - lo) / n_bins, torch.tensor(1e-7, dtype=F32))
        if not low_end_larger:
            scale = -scale
        edge = lo if low_end_larger else hi
        q0 = torch.round(edge / scale)  # round half to even, as rint
        if float(q0) != 0.0:
            return edge / q0, edge
        return scale, torch.tensor(0.0, dtype=F32)
    if kind == "sym":
        offset = 1 << (bits - 1)
        scale = w.abs().max() / torch.tensor(float(offset - 1), dtype=F32)
        return scale, -scale * torch.tensor(float(offset), dtype=F32)
    # ternary: absmean, summed in double as the C++ does
    scale = torch.tensor(float(w.double().abs().sum() / w.numel()), dtype=F32)
    return scale, -scale


def encode(kind, bits, w, scale, bias):
    """Codes of a float32 vector under one (scale, bias) per element."""
    if kind == "affine":
        return torch.clamp(torch.round((w - bias) / scale), 0, (1 << bits) - 1)
    if kind == "sym":
        offset = 1 << (bits - 1)
        q = torch.where(scale > 0, torch.clamp(torch.round(w / scale), -(offset - 1), offset - 1),
                        torch.zeros_like(w))
        return q + offset
    v = w / scale
    q = torch.where((scale > 0) & (v.abs() >= 0.5), torch.sign(v), torch.zeros_like(v))
    return q + 1


def gptq(w, x, kind, bits, group, per_channel, act_order, damping):
    n, k = w.shape
    h = x.double().T @ x.double()
    order = torch.argsort(-torch.diagonal(h), stable=True) if act_order else torch.arange(k)
    h = h[order][:, order]
    diag = torch.diagonal(h)
    diag[diag == 0] = 1.0
    h += damping * torch.mean(torch.diagonal(h)) * torch.eye(k, dtype=torch.float64)
    u = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    groups = k // group
    scales = torch.zeros(n, groups, dtype=F32)
    biases = torch.zeros(n, groups, dtype=F32)
    if per_channel or act_order:  # fitted on the original weights
        for r in range(n):
            for g in range(groups):
                span = w[r, :] if per_channel else w[r, g * group:(g + 1) * group]
                scales[r, g], biases[r, g] = fit(kind, bits, span)
    wq = w.double()[:, order].clone()
    codes = torch.zeros(n, k, dtype=torch.int64)
    for i in range(k):
        column = int(order[i])
        g = column // group
        if not per_channel and not act_order and column % group == 0:
            for r in range(n):
                scales[r, g], biases[r, g] = fit(kind, bits, wq[r, i:i + group].to(F32))
        value = wq[:, i].to(F32)
        q = encode(kind, bits, value, scales[:, g], biases[:, g])
        codes[:, column] = q.to(torch.int64)
        dequantized = scales[:, g] * q + biases[:, g]
        error = (wq[:, i] - dequantized.double()) / u[i, i]
        wq[:, i + 1:] -= torch.outer(error, u[i, i + 1:])
    return codes, scales, biases


def dequantize(codes, scales, biases, group):
    s = scales.repeat_interleave(group, dim=1)
    b = biases.repeat_interleave(group, dim=1)
    return s * codes.to(F32) + b


CASES = [
    # name, scheme, kind, bits, group, per_channel, n, k, rows, act_order, block_size, dead column
    ("q4_affine_g32", "affine", 4, 32, False, 12, 96, 48, False, 32, None),
    ("q4_affine_g32", "affine", 4, 32, False, 8, 64, 40, False, 16, 5),
    ("q3_sym_ch", "sym", 3, 64, True, 8, 64, 40, True, 128, None),
    ("q2_affine_g32", "affine", 2, 32, False, 8, 64, 40, True, 128, None),
    ("ternary_g32", "ternary", 2, 32, False, 8, 64, 40, False, 24, None),
]


def main():
    out = []
    for index, (scheme, kind, bits, group, per_channel, n, k, rows, act_order, block, dead) in enumerate(CASES):
        gen = torch.Generator().manual_seed(1000 + index)
        w = (torch.randn(n, k, generator=gen) * 0.05).to(F32)
        w = torch.round(w * 1e4) / 1e4  # short decimals: the same float32 on both sides
        mix = torch.randn(k, k, generator=gen) / k ** 0.5 + torch.eye(k)
        x = torch.randn(rows, k, generator=gen) @ mix  # correlated inputs, where GPTQ matters
        x = (torch.round(x * 1e3) / 1e3).to(F32)
        if dead is not None:
            x[:, dead] = 0.0
        codes, scales, biases = gptq(w, x, kind, bits, group, per_channel, act_order, 0.01)
        q = dequantize(codes, scales, biases, group)
        out.append({
            "scheme": scheme, "n": n, "k": k, "rows": rows, "act_order": act_order, "damping": 0.01,
            "block_size": block, "dead_column": dead,
            "w": [round(float(v), 5) for v in w.flatten()], "x": [round(float(v), 4) for v in x.flatten()],
            "codes": [int(v) for v in codes.flatten()],
            "scales": [float(v) for v in scales.flatten()], "biases": [float(v) for v in biases.flatten()],
            "output_error": float(((x.double() @ (w.double() - q.double()).T) ** 2).sum()),
        })
    path = pathlib.Path(__file__).with_name("gptq_golden.json")
    path.write_text(json.dumps({"generator": "tests/golden/gptq/make_gptq_golden.py",
                                "torch": torch.__version__, "cases": out}) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(out)} cases)")


if __name__ == "__main__":
    main()
