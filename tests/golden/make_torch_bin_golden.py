#!/usr/bin/python3
"""Writes pytorch_model.bin twins of the tiny BERT goldens with Debian's PyTorch (torch.save).

tests/golden/torch_bin/
  bert-tiny-cls/          pytorch_model.bin (F32)  twin of models/bert-tiny-cls
  bert-tiny-cls-f16/      pytorch_model.bin (F16)  twin of models/bert-tiny-cls-f16
  bert-tiny-cls-bf16/     pytorch_model.bin (BF16) twin of models/bert-tiny-cls-bf16
  bert-tiny-cls-sharded/  two shards + pytorch_model.bin.index.json (F32), with the
                          bert.embeddings.position_ids buffer (I64) older HF checkpoints carry,
                          and two tensors that are views at an offset into one shared storage
  protocol4.bin           a small state dict pickled with protocol 4 (FRAME, MEMOIZE,
                          SHORT_BINUNICODE, STACK_GLOBAL): torch.save(..., pickle_protocol=4)
  parameter.bin           an nn.Parameter saved as is (torch._utils._rebuild_parameter)
  bad/                    legacy.bin (the pre-1.6 non-zip format), transposed.bin (a
                          non-contiguous tensor), compressed.bin (entries deflated)

The C++ tests (tests/unit/torch_checkpoint_test.cpp) check every tensor equals its safetensors
twin bit for bit. Rerunning gives identical files except legacy.bin (the old format names
storages by memory address).

Usage: /usr/bin/python3 tests/golden/make_torch_bin_golden.py
"""
import collections
import json
import os
import shutil
import sys
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_encoders import read_safetensors  # noqa: E402

MODELS = os.path.join(HERE, "models")
OUT = os.path.join(HERE, "torch_bin")
TORCH_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def safetensors_dtype(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    assert len(dtypes) == 1, dtypes
    return TORCH_DTYPES[dtypes.pop()]


def state_dict(name):
    path = os.path.join(MODELS, name, "model.safetensors")
    dtype = safetensors_dtype(path)
    # read_safetensors upcasts to float32; casting back is exact for F16/BF16 values.
    tensors = read_safetensors(path)
    return collections.OrderedDict((k, tensors[k].to(dtype).contiguous()) for k in sorted(tensors))


def fresh_dir(name):
    out = os.path.join(OUT, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    return out


def twin(name):
    out = fresh_dir(name)
    shutil.copy(os.path.join(MODELS, name, "config.json"), out)
    torch.save(state_dict(name), os.path.join(out, "pytorch_model.bin"))


def sharded():
    out = fresh_dir("bert-tiny-cls-sharded")
    shutil.copy(os.path.join(MODELS, "bert-tiny-cls", "config.json"), out)
    sd = state_dict("bert-tiny-cls")
    sd["bert.embeddings.position_ids"] = torch.arange(64, dtype=torch.int64).unsqueeze(0)
    # classifier.weight and .bias as contiguous views into one storage, the bias at an offset.
    w, b = sd["classifier.weight"], sd["classifier.bias"]
    joined = torch.cat([w.flatten(), b])
    sd["classifier.weight"] = joined[: w.numel()].view(w.shape)
    sd["classifier.bias"] = joined[w.numel():]
    names = sorted(sd)
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    shard_names = [f"pytorch_model-0000{i + 1}-of-00002.bin" for i in range(2)]
    weight_map = {}
    for shard, keys in zip(shard_names, halves):
        torch.save(collections.OrderedDict((k, sd[k]) for k in keys), os.path.join(out, shard))
        weight_map.update({k: shard for k in keys})
    total = sum(t.numel() * t.element_size() for t in sd.values())
    with open(os.path.join(out, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")


def bad():
    out = fresh_dir("bad")
    small = collections.OrderedDict(w=torch.arange(6, dtype=torch.float32).reshape(2, 3))
    torch.save(small, os.path.join(out, "legacy.bin"), _use_new_zipfile_serialization=False)
    torch.save(collections.OrderedDict(w=small["w"].t()), os.path.join(out, "transposed.bin"))
    good = os.path.join(out, "good.bin")
    torch.save(small, good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(os.path.join(out, "compressed.bin"), "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            dst.writestr(fixed, src.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
    os.remove(good)


def protocol4():
    sd = collections.OrderedDict(w=torch.arange(6, dtype=torch.float32).reshape(2, 3),
                                 b=torch.tensor([1.5, -2.5], dtype=torch.bfloat16))
    torch.save(sd, os.path.join(OUT, "protocol4.bin"), pickle_protocol=4)
    param = torch.nn.Parameter(torch.tensor([0.25, -4.0], dtype=torch.float16))
    torch.save(collections.OrderedDict(p=param), os.path.join(OUT, "parameter.bin"))


def main():
    for name in ("bert-tiny-cls", "bert-tiny-cls-f16", "bert-tiny-cls-bf16"):
        twin(name)
    sharded()
    protocol4()
    bad()
    # Round trip through torch itself: what torch.load reads equals the safetensors twin.
    for name in ("bert-tiny-cls", "bert-tiny-cls-f16", "bert-tiny-cls-bf16"):
        loaded = torch.load(os.path.join(OUT, name, "pytorch_model.bin"))
        for k, v in state_dict(name).items():
            assert torch.equal(loaded[k], v), (name, k)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
