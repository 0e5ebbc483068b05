"""Shared parts of the Python peer benchmarks (bench/openvino_bench.py, ctranslate2_bench.py,
llamacpp_bench.py): reading ids, batching, timing, the JSON line and the embedding dump.
numpy only, so it imports under /usr/bin/python3 and in the peers venv alike.

The rules are bench/torch_bert_bench.py's: batches of --batch-size sequences in file order,
right-padded to their longest sequence (ids with the pad id, token types and mask with 0),
inputs built before timing, one untimed pass per --warmup, the median of --runs timed passes
over all batches, and "batch_latency_ms": {"p50": ...}, the median of the per-batch times of
all timed passes. Not a script on its own.
"""

import argparse
import json
import os
import statistics
import time

import numpy as np


def add_common_args(parser, threads_default=1):
    parser.add_argument("ids_jsonl")
    parser.add_argument("--threads", type=int, default=threads_default)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=1, help="untimed passes over all inputs")
    parser.add_argument("--runs", type=int, default=3, help="timed passes; the median is reported")
    parser.add_argument("--engine-name", help="the JSON line's engine (default: the script's)")
    parser.add_argument("--dump-embeddings", metavar="FILE",
                        help="write one {\"embedding\": [...]} line per input, in input order")


def check_positive(parser, args):
    if args.threads < 1 or args.batch_size < 1:
        parser.error("--threads and --batch-size must be at least 1")
    if args.warmup < 0 or args.runs < 0:
        parser.error("--warmup and --runs must not be negative")


def check_mean_pooling(model_dir):
    """The benchmark does mean pooling; refuse a model configured for another pooling."""
    path = os.path.join(model_dir, "1_Pooling", "config.json")
    if os.path.exists(path):
        with open(path) as f:
            if not json.load(f).get("pooling_mode_mean_tokens", False):
                raise SystemExit(f"{path}: not mean pooling, which is all this benchmark does")


def read_ids(path):
    with open(path) as f:
        sequences = [json.loads(line) for line in f if line.strip()]
    if not sequences:
        raise SystemExit(f"{path}: no sequences")
    return sequences


def split_batches(sequences, batch_size):
    return [sequences[i:i + batch_size] for i in range(0, len(sequences), batch_size)]


def pad_batch(sequences, pad_id):
    """(ids, types, mask) int64 [B, Lmax], right-padded as torch_encoders.pad_batch."""
    longest = max(len(s["input_ids"]) for s in sequences)
    ids = np.full((len(sequences), longest), pad_id, dtype=np.int64)
    types = np.zeros((len(sequences), longest), dtype=np.int64)
    mask = np.zeros((len(sequences), longest), dtype=np.int64)
    for row, s in enumerate(sequences):
        n = len(s["input_ids"])
        ids[row, :n] = s["input_ids"]
        types[row, :n] = s.get("token_type_ids") or [0] * n
        mask[row, :n] = 1
    return ids, types, mask


def mean_pool_normalize(hidden, lengths):
    """hidden [B, L, H], lengths [B] -> [B, H]: mean over the first lengths[b] rows, L2 = 1."""
    hidden = np.asarray(hidden, dtype=np.float32)
    lengths = np.asarray(lengths)
    mask = (np.arange(hidden.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
    pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(lengths, 1)[:, None]
    return normalize(pooled)


def normalize(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def time_runs(embed_batch, batches, warmup, runs):
    """embed_batch(batch) -> [B, H] array. Returns (median seconds of a pass, median batch
    milliseconds, the last pass's embeddings [N, H]). runs 0 means one pass, as torch's."""
    for _ in range(warmup):
        for batch in batches:
            embed_batch(batch)
    passes, batch_ms, outputs = [], [], []
    for _ in range(max(1, runs)):
        outputs = []
        start = time.perf_counter()
        for batch in batches:
            t0 = time.perf_counter()
            outputs.append(embed_batch(batch))
            batch_ms.append((time.perf_counter() - t0) * 1e3)
        passes.append(time.perf_counter() - start)
    return statistics.median(passes), statistics.median(batch_ms), np.concatenate(outputs)


def result_line(engine, args, sequences, padded_tokens, seconds, batch_p50_ms, **extra):
    tokens = sum(len(s["input_ids"]) for s in sequences)
    line = {
        "engine": engine, **extra,
        "threads": args.threads, "batch_size": args.batch_size, "sorted_by_length": False,
        "runs": args.runs, "sentences": len(sequences), "tokens": tokens,
        "padded_tokens": padded_tokens, "seconds_median": seconds,
        "sentences_per_s": len(sequences) / seconds, "tokens_per_s": tokens / seconds,
        "batch_latency_ms": {"p50": batch_p50_ms},
    }
    return json.dumps(line)


def dump_embeddings(path, embeddings):
    with open(path, "w") as f:
        for row in embeddings:
            f.write(json.dumps({"embedding": [float(x) for x in row]}) + "\n")


def new_parser(doc):
    return argparse.ArgumentParser(description=doc.splitlines()[0])
