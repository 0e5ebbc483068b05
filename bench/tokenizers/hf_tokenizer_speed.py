#!/usr/bin/env python3
"""Tokens per second of the Hugging Face tokenizers library, one thread, on the texts
tokenizer_bench.cpp uses (same order), for the same tokenizers. deberta-v3-base has no
tokenizer.json: transformers converts its spm.model and the backend Tokenizer is timed.

Usage: RAYON_NUM_THREADS=1 python hf_tokenizer_speed.py [path/to/shared]   (venv with tokenizers, transformers)
"""
import csv
import json
import os
import sys
import time

SHARED = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../shared"))
NAMES = ["all-MiniLM-L6-v2", "roberta-large-mnli", "ModernBERT-large", "deberta-v3-base"]


def texts():
    out = [json.loads(l)["text"] for l in open(os.path.join(SHARED, "data/genre/dev_a.jsonl"), encoding="utf-8")]
    for l in open(os.path.join(SHARED, "data/mnli/dev_a.jsonl"), encoding="utf-8"):
        row = json.loads(l)
        out += [row["premise"], row["hypothesis"]]
    with open(os.path.join(SHARED, "data/sst2/dev.tsv"), encoding="utf-8") as f:
        lines = f.read().split("\n")[1:]
    out += [l.split("\t")[0] for l in lines if l]
    return out


def load(name):
    directory = os.path.join(SHARED, "tokenizers", name)
    from tokenizers import Tokenizer

    if os.path.exists(os.path.join(directory, "tokenizer.json")):
        tok = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    else:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(directory).backend_tokenizer
    tok.no_padding()
    tok.no_truncation()
    return tok


def main():
    all_texts = texts()
    for name in NAMES:
        tok = load(name)
        for t in all_texts[:200]:  # warm-up (caches), as the C++ benchmark's repetitions are
            tok.encode(t)
        best = 0.0
        for _ in range(3):
            start = time.perf_counter()
            tokens = sum(len(tok.encode(t).ids) for t in all_texts)
            best = max(best, tokens / (time.perf_counter() - start))
        print(f"{name}: {best / 1e6:.2f} M tokens/s ({len(all_texts)} texts, one thread, tokenizers)")


if __name__ == "__main__":
    main()
