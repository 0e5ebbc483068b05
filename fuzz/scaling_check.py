#!/usr/bin/env python3
"""Algorithmic-complexity check of every reader: for each fuzz target, inputs
made of N and 8·N repeated small structures (tensors, keys, vocabulary lines,
merges, added tokens, pickle items, YAML models, dataset rows, request items),
each run once through the target's standalone binary. A reader linear in its
input takes about 8× as long on the bigger one; a quadratic one 64×. Fuzzers
rarely grow inputs big enough to show such a slope (libFuzzer starts at a few
bytes and its timeout is 20 s per input), which is how parse_json's O(n²) on
many small objects went unseen.

Usage: fuzz/scaling_check.py [--build build] [--factor 8] [--limit 3] [TARGET[/SHAPE] ...]
Needs the ordinary build's fuzz_<target> binaries (build/bin, the CI smoke's);
standard library only. Prints target, shape, N, seconds for N and for factor·N,
and the ratio; exits 1 when a ratio is above limit·factor (default 24: quadratic
shows as 64, N log N as ~9). Timing, so run it on a quiet machine; it is a
check to run after touching a reader, not part of the test suite.
"""
import argparse
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_stored_seeds import field, gguf_string, joined, varint  # noqa: E402


def safetensors_tensors(n):
    header = {f"t{i}": {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]} for i in range(n)}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(4 * n)


def sharded_index_weight_map(n):
    return json.dumps({"metadata": {"total_size": 8},
                       "weight_map": {f"t{i}": "model-00001-of-00002.safetensors" for i in range(n)}}).encode()


def gguf_file(kvs, tensors=()):
    parts = [b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))]
    parts += [gguf_string(key) + struct.pack("<I", kind) + value for key, kind, value in kvs]
    parts += [gguf_string(name) + struct.pack("<IQ", 1, 1) + struct.pack("<IQ", 0, 32 * i)
              for i, name in enumerate(tensors)]
    out = b"".join(parts)
    return out + b"\0" * (-len(out) % 32) + bytes(32 * len(tensors))


def gguf_kv(n):
    return gguf_file([("general.architecture", 8, gguf_string("bert"))] +
                     [(f"k.{i}", 8, gguf_string("v")) for i in range(n)])


def gguf_array(n):
    items = b"".join(gguf_string(f"t{i}") for i in range(n))
    return gguf_file([("general.architecture", 8, gguf_string("bert")),
                      ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, n) + items)])


def gguf_tensors(n):
    return gguf_file([("general.architecture", 8, gguf_string("bert"))], [f"blk.{i}.w" for i in range(n)])


def tokenizer_json(model, added=()):
    return json.dumps({"version": "1.0", "normalizer": None, "pre_tokenizer": {"type": "Whitespace"},
                       "post_processor": None, "decoder": None, "model": model,
                       "added_tokens": [{"id": 100 + i, "content": t, "special": True} for i, t in enumerate(added)]
                       }).encode()


def wordpiece_vocab(n):
    vocab = {"[UNK]": 0, **{f"w{i}": i + 1 for i in range(n)}}
    return tokenizer_json({"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                           "max_input_chars_per_word": 100, "vocab": vocab})


def bpe_vocab_and_merges(n):
    vocab = {"a": 0, "b": 1, **{f"a{i}": i + 2 for i in range(n)}}
    merges = [f"a {i}" for i in range(n)]
    return tokenizer_json({"type": "BPE", "vocab": vocab, "merges": merges, "unk_token": None})


def added_tokens(n):
    return tokenizer_json({"type": "WordLevel", "vocab": {"[UNK]": 0, "a": 1}, "unk_token": "[UNK]"},
                          [f"<t{i}>" for i in range(n)])


def vocab_txt_lines(n):
    return joined("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + [f"w{i}" for i in range(n)]) + "\n", "{}", "{}")


def bpe_files_merges(n):
    vocab = {"<unk>": 0, "a": 1, **{f"a{i}": i + 2 for i in range(n)}}
    return joined(json.dumps(vocab), "#version: 0.2\n" + "".join(f"a {i}\n" for i in range(n)))


def spm_pieces(n):
    pieces = [("<pad>", 0.0, 3), ("<s>", 0.0, 3), ("</s>", 0.0, 3), ("<unk>", 0.0, 2)]
    pieces += [("\u2581w%d" % i, -1.0 - i / n, 1) for i in range(n)]
    out = b"".join(field(1, 2, field(1, 2, t.encode()) + field(2, 5, struct.pack("<f", s)) + field(3, 0, varint(k)))
                   for t, s, k in pieces)
    trainer = field(3, 0, varint(1)) + field(4, 0, varint(len(pieces))) + field(40, 0, varint(3))
    trainer += field(41, 0, varint(1)) + field(42, 0, varint(2)) + field(43, 0, varint(0))
    normalizer = field(1, 2, b"identity") + field(3, 0, varint(1)) + field(4, 0, varint(1))
    return out + field(2, 2, trainer) + field(3, 2, normalizer)


def model_dir_labels(n):
    config = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
              "intermediate_size": 64, "vocab_size": 100, "max_position_embeddings": 64,
              "id2label": {str(i): f"L{i}" for i in range(n)}, "label2id": {f"L{i}": i for i in range(n)}}
    return joined(json.dumps(config), "[]", "{}", "{}")


def serve_texts(n):
    return json.dumps({"inputs": [f"text {i}" for i in range(n)]}).encode()


def serve_objects(n):
    return ("[" + ",".join(["{}"] * n) + "]").encode()


def dataset_jsonl(n):
    return b"\x00" + "".join(json.dumps({"text": f"t{i}", "label": i % 3}) + "\n" for i in range(n)).encode()


def dataset_tsv(n):
    return b"\x01" + ("sentence\tlabel\n" + "".join(f"t{i}\t{i % 2}\n" for i in range(n))).encode()


def dataset_csv(n):
    return b"\x02" + ("text,label\n" + "".join(f'"t, {i}",{i % 2}\n' for i in range(n))).encode()


def dataset_csv_quotes(n):
    return b"\x02" + ('text,label\n"' + '""' * n + '",1\n').encode()


def torch_entries(n):
    buffer = tempfile.SpooledTemporaryFile()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle.dumps({f"k{i}": i for i in range(n)}, protocol=2))
        for i in range(n):
            z.writestr(f"archive/data/{i}", b"\0\0\0\0")
        z.writestr("archive/version", b"3\n")
    buffer.seek(0)
    return buffer.read()


def pickle_list(n):
    return pickle.dumps(list(range(n)), protocol=2)


def pickle_dict(n):
    return pickle.dumps({f"k{i}": (i, "v") for i in range(n)}, protocol=2)


def pickle_memo(n):
    shared = (1, 2, 3)
    return pickle.dumps([shared] * n, protocol=2)


def yaml_models(n):
    models = "".join(f"  - name: m{i}\n    path: models/m{i}\n    task: embedding\n    quantization:\n      - {{bits: 8}}\n" for i in range(n))
    return ("models:\n" + models + "datasets:\n  - {name: d, provider: local, path: d.jsonl, metrics: [accuracy]}\n").encode()


def yaml_aliases(n):
    # Each model's list holds a new anchor and an alias of the previous model's.
    uses = "".join(f"  - name: m{i}\n    path: p\n    task: embedding\n    quantization: [&q{i} {{bits: {8 if i % 2 else 4}}}"
                   + (f", *q{i - 1}]\n" if i else "]\n") for i in range(n))
    return ("models:\n" + uses).encode()


SHAPES = {
    "safetensors": {"tensors": safetensors_tensors},
    "sharded_index": {"weight_map": sharded_index_weight_map},
    "gguf": {"kv": gguf_kv, "array": gguf_array, "tensors": gguf_tensors},
    "tokenizer_json": {"wordpiece_vocab": wordpiece_vocab, "bpe_merges": bpe_vocab_and_merges,
                       "added_tokens": added_tokens},
    "vocab_txt": {"lines": vocab_txt_lines},
    "bpe_files": {"merges": bpe_files_merges},
    "spm_model": {"pieces": spm_pieces},
    "model_dir": {"labels": model_dir_labels},
    "serve_request": {"texts": serve_texts, "objects": serve_objects},
    "dataset": {"jsonl": dataset_jsonl, "tsv": dataset_tsv, "csv": dataset_csv, "csv_quotes": dataset_csv_quotes},
    "torch_checkpoint": {"entries": torch_entries},
    "pickle": {"list": pickle_list, "dict": pickle_dict, "memo": pickle_memo},
    "pipeline_yaml": {"models": yaml_models, "aliases": yaml_aliases},
}


# Shapes whose factor·N must stay under a reader's own limit, or the bigger
# input is refused early and the ratio says nothing (YAML: 100 000 nodes).
MAX_N = {"pipeline_yaml/models": 1000, "pipeline_yaml/aliases": 500}


def seconds(binary, data, runs=3):
    with tempfile.NamedTemporaryFile(suffix=".in") as f:
        f.write(data)
        f.flush()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            result = subprocess.run([binary, f.name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            times.append(time.perf_counter() - start)
            if result.returncode != 0:
                sys.exit(f"{binary} failed on a generated input:\n{result.stderr.decode(errors='replace')[-2000:]}")
        return sorted(times)[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--factor", type=int, default=8)
    parser.add_argument("--limit", type=float, default=3.0, help="allowed ratio over factor")
    parser.add_argument("only", nargs="*", help="TARGET or TARGET/SHAPE")
    args = parser.parse_args()
    baseline = seconds(os.path.join(args.build, "bin", "fuzz_pickle"), b".")  # process start-up
    print(f"start-up {baseline * 1000:.1f} ms (subtracted); N grows until one run takes >= 40 ms")
    print(f"{'target/shape':32} {'N':>8} {'bytes':>9} {'s(N)':>8} {'s(' + str(args.factor) + 'N)':>8} {'ratio':>6}")
    worst = []
    for target, shapes in SHAPES.items():
        binary = os.path.join(args.build, "bin", "fuzz_" + target)
        for shape, make in shapes.items():
            name = f"{target}/{shape}"
            if args.only and target not in args.only and name not in args.only:
                continue
            n = min(1000, MAX_N.get(name, 1000))
            small = max(seconds(binary, make(n)) - baseline, 1e-4)
            while small < 0.04 and len(make(n)) < 4 << 20 and 2 * n <= MAX_N.get(name, 1 << 30):
                n *= 2
                small = max(seconds(binary, make(n)) - baseline, 1e-4)
            big_input = make(args.factor * n)
            big = max(seconds(binary, big_input) - baseline, 1e-4)
            ratio = big / small
            flag = "  <-- superlinear" if ratio > args.limit * args.factor else ""
            print(f"{name:32} {n:>8} {len(big_input):>9} {small:>8.3f} {big:>8.3f} {ratio:>6.1f}{flag}", flush=True)
            if flag:
                worst.append(name)
    if worst:
        print("superlinear: " + ", ".join(worst))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
