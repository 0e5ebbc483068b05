#!/usr/bin/python3
"""Independent reader of quantpipe's MLX-layout output (stdlib + numpy only).

Usage: mlx_reader.py DIR
       mlx_reader.py --fp16 MODEL_DIR

DIR holds model.safetensors, config.json with MLX's "quantization" block
({"group_size", "bits", "<module.path>": {"group_size", "bits"}}), and for each
quantized module <path> a file <path>.expected.bin with the expected dequantized
float32 values [N, K]. For every <path>.weight (U32) with <path>.scales and
<path>.biases the codes are unpacked the way MLX reads them (a little-endian bit
stream per row, code i in bits [i*bits, (i+1)*bits)) and dequantized as
w = scale * q + bias. Prints max |delta| per tensor; exits 1 on any mismatch.

With --fp16, MODEL_DIR is a directory written by `quantpipe convert --emit-fp16`:
model.safetensors and config.json as above, and fp16/model.safetensors with the
dequantized weights in float16 under the Hugging Face names (<path>.weight).
Every quantized module is dequantized here and compared with that float16
tensor; the two may differ only by float16 rounding (half a unit in the last
place, 2^-11 relative, or 2^-25 absolute below the normal range).

Written from the MLX documentation of mlx.core.quantize / dequantize, not from
quantpipe's C++ code, so that the two implementations check each other.
"""
import json
import os
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "U32": np.uint32}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    if 8 + header_len > len(data):
        raise ValueError(f"{path}: header of {header_len} bytes runs past the file")
    header = json.loads(data[8 : 8 + header_len])
    body = data[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if not 0 <= begin <= end <= len(body):
            raise ValueError(f"{path}: tensor {name} spans [{begin}, {end}) of {len(body)} bytes")
        dtype = info["dtype"]
        raw = body[begin:end]
        if dtype == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=np.dtype(DTYPES[dtype]).newbyteorder("<"))
        tensors[name] = array.reshape(info["shape"])
    return tensors


def unpack(words, bits):
    """[N, W] uint32 -> [N, W*32/bits] codes, LSB-first bit stream per row."""
    n = words.shape[0]
    row_bytes = np.ascontiguousarray(words.astype("<u4")).view(np.uint8).reshape(n, -1)
    stream = np.unpackbits(row_bytes, axis=1, bitorder="little")
    k = stream.shape[1] // bits
    per_code = stream[:, : k * bits].reshape(n, k, bits).astype(np.uint32)
    return (per_code << np.arange(bits, dtype=np.uint32)).sum(axis=2)


def module_params(config, path):
    quant = config["quantization"]
    override = quant.get(path)
    if isinstance(override, dict):
        return override["group_size"], override["bits"]
    return quant["group_size"], quant["bits"]


def check_module(directory, tensors, config, path):
    group, bits = module_params(config, path)
    words = tensors[path + ".weight"]
    scales = tensors[path + ".scales"].astype(np.float32)
    biases = tensors[path + ".biases"].astype(np.float32)
    codes = unpack(words, bits)
    n, k = codes.shape
    if scales.shape != (n, k // group) or biases.shape != scales.shape:
        print(f"{path}: scales {scales.shape} / biases {biases.shape} do not fit [{n}, {k}] with group {group}")
        return False
    if codes.max() >= (1 << bits):
        print(f"{path}: code {codes.max()} does not fit {bits} bits")
        return False
    w = np.repeat(scales, group, axis=1) * codes.astype(np.float32) + np.repeat(biases, group, axis=1)
    expected_path = os.path.join(directory, path + ".expected.bin")
    expected = np.fromfile(expected_path, dtype="<f4")
    if expected.size != n * k:
        print(f"{path}: expected {expected.size} values in {expected_path}, dequantized {n * k}")
        return False
    expected = expected.reshape(n, k)
    delta = float(np.max(np.abs(w - expected)))
    tolerance = 1e-6 * max(float(np.max(np.abs(expected))), 1e-30)
    ok = delta <= tolerance
    print(f"{path}: bits={bits} group={group} shape=[{n}, {k}] max|delta|={delta:.3g} {'ok' if ok else 'MISMATCH'}")
    return ok


def dequantize(tensors, config, path):
    """MLX's formula; returns (w [N, K] float32, group, bits) or raises ValueError."""
    group, bits = module_params(config, path)
    words = tensors[path + ".weight"]
    scales = tensors[path + ".scales"].astype(np.float32)
    biases = tensors[path + ".biases"].astype(np.float32)
    codes = unpack(words, bits)
    n, k = codes.shape
    if k * bits != words.shape[1] * 32:
        raise ValueError(f"{path}: {words.shape[1]} words per row do not hold a whole number of {bits}-bit codes")
    if scales.shape != (n, k // group) or biases.shape != scales.shape:
        raise ValueError(f"{path}: scales {scales.shape} / biases {biases.shape} do not fit [{n}, {k}] with group {group}")
    w = np.repeat(scales, group, axis=1) * codes.astype(np.float32) + np.repeat(biases, group, axis=1)
    return w, group, bits


def quantized_modules(tensors):
    return sorted(
        name[: -len(".weight")]
        for name, array in tensors.items()
        if name.endswith(".weight") and array.dtype == np.uint32
        and name[: -len(".weight")] + ".scales" in tensors
        and name[: -len(".weight")] + ".biases" in tensors
    )


def check_fp16(directory):
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    tensors = read_safetensors(os.path.join(directory, "model.safetensors"))
    halves = read_safetensors(os.path.join(directory, "fp16", "model.safetensors"))
    modules = quantized_modules(tensors)
    if not modules:
        print("no quantized tensors found")
        return 1
    good = 0
    for path in modules:
        try:
            w, group, bits = dequantize(tensors, config, path)
        except ValueError as e:
            print(e)
            continue
        half = halves.get(path + ".weight")
        if half is None or half.dtype != np.float16 or half.shape != w.shape:
            got = "absent" if half is None else f"{half.dtype} {list(half.shape)}"
            print(f"{path}: fp16 dual output {path}.weight is {got}, expected float16 {list(w.shape)}")
            continue
        delta = np.abs(w - half.astype(np.float32))
        allowed = np.maximum(np.abs(w) * 2.0**-11, 2.0**-25) * (1 + 1e-5)
        worst = float(np.max(delta / allowed))
        exact = float(np.mean(w.astype(np.float16) == half))
        ok = worst <= 1.0 and np.all(np.isfinite(half))
        good += ok
        print(f"{path}: bits={bits} group={group} shape={list(w.shape)} "
              f"max|delta|/fp16 rounding={worst:.3f} same fp16={exact:.4f} {'ok' if ok else 'MISMATCH'}")
    print(f"{good}/{len(modules)} quantized tensors match the fp16 dual output")
    return 0 if good == len(modules) else 1


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--fp16":
        return check_fp16(sys.argv[2])
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    directory = sys.argv[1]
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    tensors = read_safetensors(os.path.join(directory, "model.safetensors"))
    modules = quantized_modules(tensors)
    if not modules:
        print("no quantized tensors found")
        return 1
    results = [check_module(directory, tensors, config, path) for path in modules]
    print(f"{sum(results)}/{len(results)} quantized tensors match")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
