#!/usr/bin/env python3
"""Small fuzzing seeds cut from real tokenizer files.

A real vocabulary (30k-250k entries) makes each fuzzer execution take 10-100 ms,
so the tokenizer targets managed 10-60 executions a second. The same files cut
to a few hundred entries keep every structure the readers meet (normalizers,
pre-tokenizers, post-processors, added tokens, merges, scores, the
precompiled charsmap) at a fraction of the size.

Usage: fuzz/make_small_seeds.py OUT_DIR [ROOT...]
  Writes OUT_DIR/<target>/<name> for tokenizer_json, vocab_txt, bpe_files and
  spm_model from the tokenizer files under each ROOT (default ../shared
  tests/golden). scripts/fuzz.sh calls it when it seeds those targets.
Standard library only.
"""
import hashlib
import json
import os
import sys

KEEP = 400  # entries of a vocabulary kept
# WordPiece vocabularies open with hundreds of [unusedN] entries: kept instead
# are the first ids (specials), ASCII characters with their "##" pieces and a
# few words, so that text still tokenizes into real pieces.
WORDS = {"the", "hello", "world", "a", "is", "of", "and", "to", "in", "text", "pair", "another", "un", "##ic",
         "##ode", "mask", "cat", "sat", "on", "mat"}


def keep_wordpiece(token, token_id):
    piece = token[2:] if token.startswith("##") else token
    return token_id < 120 or (len(piece) == 1 and piece.isascii()) or token in WORDS


def name_for(path, suffix=""):
    return hashlib.md5(path.encode()).hexdigest()[:12] + suffix


def write(out_dir, target, name, data):
    os.makedirs(os.path.join(out_dir, target), exist_ok=True)
    with open(os.path.join(out_dir, target, name), "wb") as f:
        f.write(data)


def special_contents(doc):
    return {t.get("content") for t in doc.get("added_tokens") or [] if isinstance(t, dict)}


def cut_merges(merges, vocab):
    kept = []
    for merge in merges:
        a, b = merge.split(" ", 1) if isinstance(merge, str) else (merge + ["", ""])[:2]
        if a in vocab and b in vocab and a + b in vocab:
            kept.append(merge)
        if len(kept) == KEEP:
            break
    return kept


def cut_tokenizer_json(doc):
    model = doc.get("model") or {}
    specials = special_contents(doc)
    vocab = model.get("vocab")
    if isinstance(vocab, dict) and model.get("type") == "WordPiece":
        model["vocab"] = {t: i for t, i in vocab.items() if (isinstance(i, int) and keep_wordpiece(t, i)) or t in specials}
    elif isinstance(vocab, dict):  # WordLevel, BPE: token -> id
        model["vocab"] = {t: i for t, i in vocab.items() if (isinstance(i, int) and i < KEEP) or t in specials}
        if isinstance(model.get("merges"), list):
            model["merges"] = cut_merges(model["merges"], model["vocab"])
    elif isinstance(vocab, list):  # Unigram: [piece, score]
        model["vocab"] = vocab[:KEEP]
        if isinstance(model.get("unk_id"), int) and model["unk_id"] >= KEEP:
            model["unk_id"] = 0
    return doc


def varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def encode_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def proto_fields(data):
    """(field, wire type, raw bytes of the whole field) for each top-level field."""
    at = 0
    while at < len(data):
        start = at
        key, at = varint(data, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, at = varint(data, at)
        elif wire == 1:
            at += 8
        elif wire == 2:
            length, at = varint(data, at)
            at += length
        elif wire == 5:
            at += 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield field, wire, data[start:at]


def payload(raw):
    _, at = varint(raw, 0)
    length, at = varint(raw, at)
    return raw[at:at + length]


def cut_spm(data, keep_charsmap):
    """ModelProto: pieces (1) cut to KEEP; normalizer_spec (3) without its
    precompiled_charsmap (2) unless keep_charsmap."""
    out, pieces = bytearray(), 0
    for field, wire, raw in proto_fields(data):
        if field == 1:
            pieces += 1
            if pieces > KEEP:
                continue
        if field == 3 and wire == 2 and not keep_charsmap:
            inner = b"".join(r for f, _, r in proto_fields(payload(raw)) if f != 2)
            raw = bytes([raw[0]]) + encode_varint(len(inner)) + inner
        out += raw
    return bytes(out)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    roots = sys.argv[2:] or ["../shared", "tests/golden"]
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for file in files:
                path = os.path.join(dirpath, file)
                try:
                    if file == "tokenizer.json":
                        with open(path, encoding="utf-8") as f:
                            doc = cut_tokenizer_json(json.load(f))
                        write(out_dir, "tokenizer_json", name_for(path, ".json"), json.dumps(doc).encode())
                    elif file == "vocab.txt":
                        with open(path, "rb") as f:
                            lines = [l for i, l in enumerate(f.read().split(b"\n"))
                                     if keep_wordpiece(l.decode("utf-8", "replace"), i)]
                        parts = [b"\n".join(lines) + b"\n"]
                        for extra in ("tokenizer_config.json", "special_tokens_map.json"):
                            extra_path = os.path.join(dirpath, extra)
                            parts.append(open(extra_path, "rb").read() if os.path.exists(extra_path) else b"")
                        write(out_dir, "vocab_txt", name_for(path), b"\0".join(parts))
                    elif file == "merges.txt" and os.path.exists(os.path.join(dirpath, "vocab.json")):
                        with open(os.path.join(dirpath, "vocab.json"), encoding="utf-8") as f:
                            vocab = {t: i for t, i in json.load(f).items() if i < KEEP or t.startswith("<")}
                        with open(path, encoding="utf-8") as f:
                            lines = f.read().split("\n")
                        header = [l for l in lines[:1] if l.startswith("#")]
                        merges = cut_merges([l for l in lines if l and not l.startswith("#")], vocab)
                        text = "\n".join(header + merges) + "\n"
                        write(out_dir, "bpe_files", name_for(path), json.dumps(vocab).encode() + b"\0" + text.encode())
                    elif file.endswith(".model") and ("spm" in file or "sentencepiece" in file):
                        with open(path, "rb") as f:
                            data = f.read()
                        write(out_dir, "spm_model", name_for(path, ".model"), cut_spm(data, keep_charsmap=False))
                        write(out_dir, "spm_model", name_for(path, "-charsmap.model"), cut_spm(data, keep_charsmap=True))
                except (OSError, ValueError, UnicodeDecodeError, IndexError) as e:
                    print("make_small_seeds: skipped %s (%s)" % (path, e), file=sys.stderr)


if __name__ == "__main__":
    main()
