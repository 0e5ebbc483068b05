#!/usr/bin/env python3
"""Golden bytes of ggml's block formats, from the PyPI `gguf` package (llama.cpp's
own Python quantizers, bit-exact with ggml-quants.c for these types).

Regenerate (needs numpy and gguf, e.g. the peers venv):
  /work/venvs/peers/bin/python tests/golden/gguf/make_ggml_blocks_golden.py
Writes tests/golden/gguf/ggml_blocks.json: the input rows and, per type, the
quantized bytes and the dequantized values of those bytes (little-endian
float32), all as hex.
"""
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

K = 512
rng = np.random.default_rng(20261203)
rows = [
    (rng.standard_normal(K) * 0.05).astype(np.float32),
    (rng.standard_normal(K) * 3.0 + 1.0).astype(np.float32),  # offset, large
    np.concatenate([np.zeros(256), rng.uniform(-1, 1, 256)]).astype(np.float32),  # an all-zero block
    (rng.choice([-0.02, 0.0, 0.02], K)).astype(np.float32),  # already ternary
]
# ties: values exactly halfway between codes for a block whose absmax is 127 / 8 / 16
row = rng.uniform(-1, 1, K).astype(np.float32)
row[0:32] = np.arange(32, dtype=np.float32) - 15.5
row[0] = 127.0
row[32:64] = (np.arange(32, dtype=np.float32) - 16.0) * 0.5
rows.append(row)
x = np.stack(rows)

out = {"k": K, "rows": len(rows), "input_f32": x.astype("<f4").tobytes().hex(), "types": {}}
for name in ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "TQ1_0", "TQ2_0", "BF16"]:
    qt = getattr(T, name)
    q = quants.quantize(x, qt)
    deq = quants.dequantize(q, qt)
    out["types"][name] = {
        "bytes": q.tobytes().hex(),
        "dequantized_f32": deq.astype("<f4").tobytes().hex(),
    }
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "ggml_blocks.json"), "w") as f:
    json.dump(out, f)
print("wrote", os.path.join(here, "ggml_blocks.json"))
