#!/usr/bin/env python3
"""Writes the tokenizer parity goldens: <tokenizer>.jsonl for every directory of ../shared/tokenizers.

Each output file is gzipped (<name>.jsonl.gz, written with mtime 0 so reruns give identical bytes); each line is {"source": "<file>#<fields>", "line": N, "input_ids": [...], "token_type_ids": [...]}:
the texts are not copied. <file> is under ../shared (data/...) or this folder (tricky_texts.jsonl);
<fields> are JSON keys or 1-based TSV columns joined by '+', the second one being the pair.

References (independent of quantpipe):
  - tokenizer.json present: the Hugging Face tokenizers library (PyPI `tokenizers`), truncation as the
    file sets it, padding off;
  - otherwise: PyPI `transformers` AutoTokenizer (fast; it converts spm.model / vocab.json + merges.txt
    / vocab.txt the way users get them), no truncation.
Plus variants.json: shared or synthetic/ (make_synthetic.py) tokenizer.json files with steps replaced, so
pipeline steps and options no shared tokenizer uses meet the reference too (tokenizers library; a sparser
data sample). And one variant no shared file has, so the Precompiled normalizer and Unigram's byte fallback meet the
reference too: deberta-v3-base.precompiled.jsonl, from the tokenizers library given deberta-v3-base's
transformers pipeline with XLM-R's normalizer (Precompiled with spm.model's precompiled_charsmap, then
Replace " {2,}" by " ") and byte_fallback on (tokenizer_parity_test.cpp builds the same tokenizer.json).

Usage (venv with tokenizers, transformers, sentencepiece, protobuf):
  /work/venvs/tok/bin/python tests/golden/tokenizers/make_goldens.py [path/to/shared]
"""
import gzip
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../../shared"))

# (file under shared, fields, every n-th line): about 300 texts per dataset keeps the files small.
SOURCES = [
    ("data/genre/dev_a.jsonl", ["text"], 8),
    ("data/mnli/dev_a.jsonl", ["premise", "hypothesis"], 8),
    ("data/stsb/dev_a.tsv", ["1", "2"], 3),
    ("data/stsb/dev_a.tsv", ["1"], 9),
    ("data/sst2/dev.tsv", ["1"], 3),
]


def rows(path, fields, every):
    """Yields (line number, text, pair) for every n-th data line (TSV header skipped)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    tsv = path.endswith(".tsv")
    for i, row in enumerate(lines):
        if tsv and i == 0:
            continue
        if every > 1 and i % every != (1 if tsv else 0):
            continue
        if tsv:
            cols = row.split("\t")
            values = [cols[int(c) - 1] for c in fields]
        else:
            obj = json.loads(row)
            values = [obj.get(k) for k in fields]
        yield i + 1, values[0], values[1] if len(values) > 1 else None


def encoder_for(directory):
    tj = os.path.join(directory, "tokenizer.json")
    if os.path.exists(tj):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(tj)
        tok.no_padding()

        def encode(text, pair):
            e = tok.encode(text, pair)
            return e.ids, e.type_ids

        return encode, "tokenizers"
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(directory, use_fast=True)
    if os.environ.get("DUMP_CONVERTED"):
        tok.backend_tokenizer.save(os.path.join(os.environ["DUMP_CONVERTED"], os.path.basename(directory) + ".json"))

    def encode(text, pair):
        e = tok(text, pair, truncation=False, return_token_type_ids=True)
        return e["input_ids"], e["token_type_ids"]

    return encode, "transformers " + type(tok).__name__


def precompiled_variant(directory):
    """deberta-v3-base's pipeline with spm.model's charsmap as a Precompiled normalizer, byte fallback on."""
    import base64
    from sentencepiece import sentencepiece_model_pb2
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    proto = sentencepiece_model_pb2.ModelProto()
    with open(os.path.join(directory, "spm.model"), "rb") as f:
        proto.ParseFromString(f.read())
    doc = json.loads(AutoTokenizer.from_pretrained(directory).backend_tokenizer.to_str())
    doc["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Precompiled",
         "precompiled_charsmap": base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode()},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}
    doc["model"]["byte_fallback"] = True
    tok = Tokenizer.from_str(json.dumps(doc))

    def encode(text, pair):
        e = tok.encode(text, pair)
        return e.ids, e.type_ids

    return encode, "tokenizers, Precompiled variant"


def load_variant(v):
    """The tokenizer.json document of a variants.json entry (tokenizer_parity_test.cpp applies the same edits)."""
    kind, rel = v["base"].split(":", 1)
    path = os.path.join(SHARED, rel) if kind == "shared" else os.path.join(HERE, rel)
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    doc.update(v.get("set", {}))
    doc["model"].update(v.get("model", {}))
    doc["added_tokens"] = doc.get("added_tokens", []) + v.get("append_added_tokens", [])
    return doc


def variant_encoder(v):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(json.dumps(load_variant(v)))
    tok.no_padding()

    def encode(text, pair):
        e = tok.encode(text, pair)
        return e.ids, e.type_ids

    return encode, "tokenizers, variant of " + v["base"]


def xlmr_directory():
    """XLM-R's file layout made from deberta-v3-base's spm.model (no XLM-R is in ../shared): what
    transformers' XLMRobertaTokenizer builds from a sentencepiece.bpe.model (tokenizer_parity_test.cpp
    makes the same directory)."""
    import shutil
    import tempfile

    directory = tempfile.mkdtemp()
    shutil.copy(os.path.join(SHARED, "tokenizers/deberta-v3-base/spm.model"),
                os.path.join(directory, "sentencepiece.bpe.model"))
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "XLMRobertaTokenizer"}, f)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump({"model_type": "xlm-roberta"}, f)
    return directory


def main():
    tok_root = os.path.join(SHARED, "tokenizers")
    tricky = [json.loads(l) for l in open(os.path.join(HERE, "tricky_texts.jsonl"), encoding="utf-8")]
    jobs = [(name, os.path.join(tok_root, name), encoder_for) for name in sorted(os.listdir(tok_root))]
    jobs.append(("deberta-v3-base.precompiled", os.path.join(tok_root, "deberta-v3-base"), precompiled_variant))
    jobs.append(("xlmr-layout.deberta-spm", xlmr_directory(), encoder_for))
    with open(os.path.join(HERE, "variants.json"), encoding="utf-8") as f:
        variants = json.load(f)
    jobs += [(v["name"], v, variant_encoder) for v in variants]
    for name, directory, make_encoder in jobs:
        if isinstance(directory, str) and not os.path.isdir(directory):
            continue
        encode, how = make_encoder(directory)
        sparse = not isinstance(directory, str)
        out = []

        def emit(source, line, text, pair):
            ids, types = encode(text, pair)
            out.append(json.dumps({"source": source, "line": line, "input_ids": ids, "token_type_ids": types},
                                  separators=(",", ":")))

        for file, fields, every in SOURCES:
            for line, text, pair in rows(os.path.join(SHARED, file), fields, every * (5 if sparse else 1)):
                emit(f"{file}#{'+'.join(fields)}", line, text, pair)
        for i, t in enumerate(tricky):
            emit("tricky_texts.jsonl#text+pair", i + 1, t["text"], t.get("pair"))
        tmp = os.path.join(HERE, name + ".jsonl.gz.tmp")
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
            f.write(("\n".join(out) + "\n").encode("utf-8"))
        os.replace(tmp, os.path.join(HERE, name + ".jsonl.gz"))
        print(f"{name}: {len(out)} encodings ({how})")


if __name__ == "__main__":
    main()
