#!/usr/bin/env python3
"""Golden K-quant blocks from llama.cpp itself (llama-cpp-python's
llama_model_quantize, no importance matrix, so ggml's quantize_row_*_ref).

Input: an F32 GGUF of a BERT model whose FFN down-projection rows are a
multiple of 256, e.g. from the shared sentence-transformers MiniLM:
  build2/bin/quantpipe export ../shared/models/minilm-l6-sts --gguf /tmp/sts-f32.gguf
Then (needs llama-cpp-python and gguf, e.g. the peers venv):
  /work/venvs/peers/bin/python tests/golden/gguf/make_kquants_golden.py /tmp/sts-f32.gguf
Writes tests/golden/gguf/kquants.json: 2 rows of blk.0.ffn_down.weight (f32,
hex) and, per K type, llama.cpp's bytes for them, those bytes dequantized by
the gguf package, and the type llama.cpp gave every tensor of the file (its
fallbacks for rows of 384).
"""
import json
import os
import sys
import tempfile

import llama_cpp
import numpy as np
from gguf import GGUFReader, GGMLQuantizationType
from gguf import quants

ROWS = 2
TENSOR = "blk.0.ffn_down.weight"
FTYPES = {  # ggml type → llama.cpp file type that, with pure=True, uses it everywhere it fits
    "Q2_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q2_K,
    "Q3_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_S,
    "Q4_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_S,
    "Q5_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_S,
    "Q6_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K,
}


def tensor(reader, name):
    for t in reader.tensors:
        if t.name == name:
            return t
    raise KeyError(name)


source = sys.argv[1]
src = tensor(GGUFReader(source), TENSOR)
k = int(src.shape[0])
rows = np.asarray(src.data, dtype=np.float32).reshape(-1, k)[:ROWS]
out = {"tensor": TENSOR, "k": k, "rows": ROWS, "input_f32": rows.astype("<f4").tobytes().hex(), "types": {}}
for name, ftype in FTYPES.items():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "q.gguf")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.pure = True
        params.nthread = 2
        if llama_cpp.llama_model_quantize(source.encode(), path.encode(), params) != 0:
            raise SystemExit(f"llama_model_quantize failed for {name}")
        reader = GGUFReader(path)
        t = tensor(reader, TENSOR)
        assert t.tensor_type.name == name, (name, t.tensor_type.name)
        data = np.asarray(t.data).view(np.uint8).reshape(-1)
        row_bytes = data.size // int(t.shape[1])
        blocks = data[: ROWS * row_bytes]
        deq = quants.dequantize(blocks.reshape(ROWS, row_bytes), getattr(GGMLQuantizationType, name))
        out["types"][name] = {
            "bytes": blocks.tobytes().hex(),
            "dequantized_f32": np.asarray(deq, dtype="<f4").tobytes().hex(),  # by the gguf package
            "file_types": {x.name: x.tensor_type.name for x in reader.tensors},
        }
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "kquants.json"), "w") as f:
    json.dump(out, f, indent=0, sort_keys=True)
print("wrote", os.path.join(here, "kquants.json"), "llama-cpp-python", llama_cpp.__version__)
