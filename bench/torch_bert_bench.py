"""PyTorch baseline for quantpipe's embedding benchmark: the same plain BERT as the goldens
(tests/golden/torch_encoders.py), mean pooling + L2 normalize, timed on CPU.

Usage:
  /usr/bin/python3 bench/torch_bert_bench.py MODEL_DIR IDS.jsonl [--threads N] [--batch-size N]
      [--sort-by-length] [--warmup N] [--runs N] [--linear-backend onednn|blas]
      [--dynamic-int8] [--dump-embeddings FILE]

MODEL_DIR: a sentence-transformers BERT directory (config.json + model.safetensors, F32, F16
or BF16; F16/BF16 are upcast, compute is fp32). IDS.jsonl: one {"input_ids": [...],
"token_type_ids": [...]} per line (token_type_ids optional), as `quantpipe tokenize` writes.
Batches are right-padded to their longest sequence; in file order unless --sort-by-length.
Timing covers the forward pass and pooling of all batches (inputs are made into tensors
beforehand, as the C++ engine also gets ids). Prints one JSON line; its "batch_latency_ms":
{"p50": ...} is the median time of one batch over all timed passes.

Why --linear-backend: Debian's python3-torch is built against the generic BLAS alternative,
which on a plain install is netlib's reference BLAS (about 1 GFLOP/s, here). Dense fp32
nn.Linear would then run 20x slower than PyTorch normally does and flatter quantpipe, so by
default the Linear layers run on the oneDNN GEMM built into torch (torch.utils.mkldnn).
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.utils.mkldnn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "golden"))
from torch_encoders import load_model, mean_pool_normalize, pad_batch  # noqa: E402
from peer_common import check_mean_pooling, read_ids  # noqa: E402  (this script's own directory)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("ids_jsonl")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sort-by-length", action="store_true",
                        help="batch sequences of similar length together (less padding)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed passes over all inputs")
    parser.add_argument("--runs", type=int, default=3, help="timed passes; the median is reported")
    parser.add_argument("--linear-backend", choices=("onednn", "blas"), default="onednn",
                        help="GEMM for fp32 nn.Linear: torch's oneDNN (default) or the system BLAS")
    parser.add_argument("--dynamic-int8", action="store_true",
                        help="torch.quantization.quantize_dynamic on every nn.Linear")
    parser.add_argument("--dump-embeddings", metavar="FILE",
                        help="write one {\"embedding\": [...]} line per input, in input order")
    return parser.parse_args()


def load_encoder(model_dir, dynamic_int8, linear_backend):
    check_mean_pooling(model_dir)
    model, cfg, _ = load_model(model_dir)
    encoder = model.encoder  # heads (pooler, classifier) play no part in embeddings
    if dynamic_int8:
        encoder = quantize_linears(encoder)
    elif linear_backend == "onednn":
        if not torch.backends.mkldnn.is_available():
            raise SystemExit("this torch has no oneDNN (mkldnn); use --linear-backend blas")
        encoder = torch.utils.mkldnn.to_mkldnn(encoder)  # swaps nn.Linear for MkldnnLinear only
    return encoder, cfg["pad_token_id"]


def quantize_linears(encoder):
    # Debian's torch has no fbgemm; oneDNN is its x86 int8 backend (qnnpack is the ARM one).
    engines = torch.backends.quantized.supported_engines
    torch.backends.quantized.engine = next(e for e in ("fbgemm", "onednn", "qnnpack") if e in engines)
    return torch.quantization.quantize_dynamic(encoder, {nn.Linear}, dtype=torch.qint8)


def make_batches(sequences, batch_size, pad_id, sort_by_length):
    """[(original indices, (ids, types, mask))], tensors built once, outside the timing."""
    order = list(range(len(sequences)))
    if sort_by_length:
        order.sort(key=lambda i: len(sequences[i]["input_ids"]))
    batches = []
    for start in range(0, len(order), batch_size):
        indices = order[start:start + batch_size]
        batches.append((indices, pad_batch([sequences[i] for i in indices], pad_id)))
    return batches


def embed_all(encoder, batches, count, batch_seconds=None):
    """Appends each batch's wall time to batch_seconds when given."""
    embeddings = [None] * count
    with torch.inference_mode():
        for indices, (ids, types, mask) in batches:
            start = time.perf_counter()
            pooled = mean_pool_normalize(encoder(ids, types, mask), mask)
            if batch_seconds is not None:
                batch_seconds.append(time.perf_counter() - start)
            for row, i in enumerate(indices):
                embeddings[i] = pooled[row]
    return embeddings


def time_runs(encoder, batches, count, warmup, runs):
    """(median seconds of a pass, median seconds of a batch over all timed passes, embeddings)"""
    for _ in range(warmup):
        embed_all(encoder, batches, count)
    seconds, batch_seconds = [], []
    for _ in range(runs):
        start = time.perf_counter()
        embeddings = embed_all(encoder, batches, count, batch_seconds)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), statistics.median(batch_seconds), embeddings


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    sequences = read_ids(args.ids_jsonl)
    encoder, pad_id = load_encoder(args.model_dir, args.dynamic_int8, args.linear_backend)
    batches = make_batches(sequences, args.batch_size, pad_id, args.sort_by_length)
    seconds, batch_seconds, embeddings = time_runs(encoder, batches, len(sequences), args.warmup, max(1, args.runs))
    tokens = sum(len(s["input_ids"]) for s in sequences)
    print(json.dumps({
        "engine": "pytorch-int8" if args.dynamic_int8 else "pytorch-fp32",
        "linear_backend": (f"{torch.backends.quantized.engine}-int8" if args.dynamic_int8
                           else args.linear_backend),
        "threads": args.threads, "batch_size": args.batch_size,
        "sorted_by_length": args.sort_by_length, "runs": args.runs,
        "sentences": len(sequences), "tokens": tokens,
        "padded_tokens": sum(b[1][0].numel() for b in batches),
        "seconds_median": seconds,
        "sentences_per_s": len(sequences) / seconds, "tokens_per_s": tokens / seconds,
        "batch_latency_ms": {"p50": batch_seconds * 1e3},
    }))
    if args.dump_embeddings:
        with open(args.dump_embeddings, "w") as f:
            for e in embeddings:
                f.write(json.dumps({"embedding": e.tolist()}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
