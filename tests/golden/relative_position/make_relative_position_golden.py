"""Bucket values of transformers' own relative-position functions, for
tests/unit/relative_position_test.cpp.

Usage (transformers 4.48 with torch, e.g. a venv with --system-site-packages over
Debian's python3-torch and `pip install transformers==4.48.0`):

    python tests/golden/relative_position/make_relative_position_golden.py

Writes relative_positions.json beside this script. Nothing here reimplements the
functions: it calls MPNetEncoder.relative_position_bucket and DeBERTa-v2's
make_log_bucket_position / build_relative_position and records what they return,
float32 rounding included.
"""

import json
import os

import torch
import transformers
from transformers.models.deberta_v2 import modeling_deberta_v2 as deberta
from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

HERE = os.path.dirname(os.path.abspath(__file__))
SPAN = 600  # relative positions -SPAN..SPAN


def mpnet(num_buckets, max_distance):
    rel = torch.arange(-SPAN, SPAN + 1, dtype=torch.long)
    buckets = MPNetEncoder.relative_position_bucket(rel, num_buckets=num_buckets, max_distance=max_distance)
    return {"num_buckets": num_buckets, "max_distance": max_distance, "first": -SPAN,
            "buckets": buckets.tolist()}


def deberta_log(bucket_size, max_position):
    rel = torch.arange(-SPAN, SPAN + 1, dtype=torch.long)
    buckets = deberta.make_log_bucket_position(rel, bucket_size, max_position).to(torch.long)
    return {"bucket_size": bucket_size, "max_position": max_position, "first": -SPAN,
            "buckets": buckets.tolist()}


def deberta_table(length, bucket_size, max_position):
    states = torch.zeros(1, length, 1)
    table = deberta.build_relative_position(states, states, bucket_size=bucket_size, max_position=max_position)
    return {"length": length, "bucket_size": bucket_size, "max_position": max_position,
            "table": table.reshape(length, length).tolist()}


def main():
    golden = {
        "produced_by": "tests/golden/relative_position/make_relative_position_golden.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "mpnet": [mpnet(32, 128), mpnet(64, 256)],
        # (16, 64): the oracle's tiny model; (256, 512): DeBERTa-v3-base/large.
        "deberta_log_bucket": [deberta_log(16, 64), deberta_log(256, 512), deberta_log(32, 128)],
        "deberta_table": [deberta_table(20, 16, 64)],
    }
    with open(os.path.join(HERE, "relative_positions.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
