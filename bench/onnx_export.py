"""Exports a sentence-transformers BERT to ONNX for the ONNX Runtime rows of the peer benchmark.

The graph is the computation bench/torch_bert_bench.py times: the plain BERT encoder of
tests/golden/torch_encoders.py, then mean pooling over real tokens and L2 normalization.
Inputs input_ids, token_type_ids, attention_mask (int64, [batch, sequence], both axes
dynamic); output "embeddings" [batch, hidden] float32.

Usage:
  /usr/bin/python3 bench/onnx_export.py MODEL_DIR OUT.onnx [--int8 OUT_INT8.onnx]
      [--opset 13|14] [--check IDS.jsonl]

--int8 also writes a dynamically quantized copy: every MatMul whose weight (second input) is
a constant initializer becomes
    DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zero_point, 0) -> Cast(float)
        -> Mul(x_scale * w_scale[N])
with W quantized symmetric int8, one scale per output column (zero point 0). The bias Add
that follows each MatMul is left as it is. Attention's activation x activation MatMuls stay
fp32. This is the pattern ONNX Runtime's own quantize_dynamic writes (and ORT fuses it
into its DynamicQuantizeMatMul kernel); written here with python3-onnx alone, because the
onnxruntime Python package is not installable on these machines.

--check IDS.jsonl runs the exported models with ONNX Runtime (node bench/ort_bench.js, the
onnxruntime-node package in bench/node_modules) on those ids and compares with PyTorch:
max |delta| of fp32 embeddings (must be < 1e-4) and cosine of int8 vs fp32 (must be > 0.99).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "golden"))
from torch_encoders import load_model, mean_pool_normalize, pad_batch  # noqa: E402
from torch_bert_bench import check_mean_pooling  # noqa: E402  (this script's folder is on sys.path)

INPUTS = ("input_ids", "token_type_ids", "attention_mask")


class Embedder(nn.Module):
    """Encoder + mean pooling + normalize, i.e. what one sentence-transformers call returns."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, token_type_ids, attention_mask):
        return mean_pool_normalize(self.encoder(input_ids, token_type_ids, attention_mask),
                                   attention_mask)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("out")
    parser.add_argument("--int8", metavar="OUT_INT8", help="also write a dynamic-int8 copy here")
    parser.add_argument("--opset", type=int, choices=(13, 14), default=14)
    parser.add_argument("--check", metavar="IDS_JSONL",
                        help="compare ORT against PyTorch on these ids (needs bench/node_modules)")
    return parser.parse_args()


def export_fp32(model_dir, out, opset):
    check_mean_pooling(model_dir)
    model, cfg, _ = load_model(model_dir)
    embedder = Embedder(model.encoder).eval()
    # A sample with padding in it, so nothing about the mask gets constant-folded.
    sample = pad_batch([{"input_ids": [101, 7592, 2088, 102]}, {"input_ids": [101, 102]}],
                       cfg.get("pad_token_id", 0))
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    axes["embeddings"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(embedder, sample, out, input_names=list(INPUTS),
                          output_names=["embeddings"], dynamic_axes=axes, opset_version=opset,
                          do_constant_folding=True)
    onnx.checker.check_model(onnx.load(out))
    return embedder, cfg.get("pad_token_id", 0)


# ----------------------------------------------------------------------------- int8 rewrite

def quantize_weight_per_column(w):
    """w [K, N] float -> (int8 [K, N], float scales [N]) with w ~= q * scale[n], symmetric."""
    peak = np.abs(w).max(axis=0)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def rewrite_int8(src, dst):
    graph_model = onnx.load(src)
    graph = graph_model.graph
    weights = {init.name: init for init in graph.initializer}
    uses = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1

    new_nodes, dropped, added = [], set(), []
    count = 0
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2:
            new_nodes.append(node)
            continue
        w = numpy_helper.to_array(weight).astype(np.float32)
        q, w_scale = quantize_weight_per_column(w)
        base = f"q8_{count}"
        count += 1
        # The fp32 weight goes away unless something else still reads it.
        if uses[weight.name] == 1:
            dropped.add(weight.name)
        added += [numpy_helper.from_array(q, f"{base}_W"),
                  numpy_helper.from_array(w_scale, f"{base}_W_scale"),
                  numpy_helper.from_array(np.array(0, dtype=np.int8), f"{base}_W_zero")]
        x = node.input[0]
        new_nodes += [
            helper.make_node("DynamicQuantizeLinear", [x],
                             [f"{base}_x", f"{base}_x_scale", f"{base}_x_zero"],
                             name=f"{base}_quantize"),
            helper.make_node("MatMulInteger",
                             [f"{base}_x", f"{base}_W", f"{base}_x_zero", f"{base}_W_zero"],
                             [f"{base}_acc"], name=f"{base}_matmul"),
            helper.make_node("Cast", [f"{base}_acc"], [f"{base}_acc_f"], to=TensorProto.FLOAT,
                             name=f"{base}_cast"),
            helper.make_node("Mul", [f"{base}_x_scale", f"{base}_W_scale"], [f"{base}_scale"],
                             name=f"{base}_scale_mul"),
            helper.make_node("Mul", [f"{base}_acc_f", f"{base}_scale"], list(node.output),
                             name=f"{base}_rescale"),
        ]
    if count == 0:
        raise SystemExit(f"{src}: no MatMul with a constant weight to quantize")
    kept = [init for init in graph.initializer if init.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    del graph.node[:]
    graph.node.extend(new_nodes)
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, dst)
    return count


# ----------------------------------------------------------------------------- check

def read_ids(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def torch_embeddings(embedder, sequences, pad_id, batch_size):
    rows = []
    with torch.inference_mode():
        for start in range(0, len(sequences), batch_size):
            rows.append(embedder(*pad_batch(sequences[start:start + batch_size], pad_id)))
    return torch.cat(rows).numpy()


def ort_embeddings(model_path, ids_path, batch_size, workdir):
    dump = os.path.join(workdir, os.path.basename(model_path) + ".emb.jsonl")
    subprocess.run(["node", os.path.join(HERE, "ort_bench.js"), model_path, ids_path,
                    "--threads", "1", "--batch-size", str(batch_size), "--runs", "1",
                    "--engine-name", "check", "--dump-embeddings", dump],
                   check=True, stdout=subprocess.DEVNULL)
    with open(dump) as f:
        return np.array([json.loads(line)["embedding"] for line in f], dtype=np.float32)


def check(embedder, pad_id, ids_path, fp32_path, int8_path, batch_size=4):
    sequences = read_ids(ids_path)
    reference = torch_embeddings(embedder, sequences, pad_id, batch_size)
    ok = True
    with tempfile.TemporaryDirectory() as work:
        fp32 = ort_embeddings(fp32_path, ids_path, batch_size, work)
        delta = float(np.abs(fp32 - reference).max())
        print(f"[onnx_export] ORT fp32 vs PyTorch fp32: max |delta| = {delta:.3g} "
              f"over {len(sequences)} sequences (limit 1e-4)")
        ok &= delta < 1e-4
        if int8_path:
            int8 = ort_embeddings(int8_path, ids_path, batch_size, work)
            cosine = (int8 * fp32).sum(axis=1) / (np.linalg.norm(int8, axis=1)
                                                  * np.linalg.norm(fp32, axis=1))
            print(f"[onnx_export] ORT int8 vs ORT fp32: cosine min {cosine.min():.5f} "
                  f"mean {cosine.mean():.5f} (limit > 0.99); per sequence: "
                  + " ".join(f"{c:.4f}" for c in cosine))
            ok &= bool(cosine.min() > 0.99)
    return ok


def main():
    args = parse_args()
    embedder, pad_id = export_fp32(args.model_dir, args.out, args.opset)
    print(f"[onnx_export] wrote {args.out} (opset {args.opset})", file=sys.stderr)
    if args.int8:
        count = rewrite_int8(args.out, args.int8)
        print(f"[onnx_export] wrote {args.int8} ({count} MatMuls as int8)", file=sys.stderr)
    if args.check and not check(embedder, pad_id, args.check, args.out, args.int8):
        print("[onnx_export] check FAILED", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
