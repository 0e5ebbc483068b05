#!/usr/bin/env python3
"""Writes the synthetic seeds of fuzz/corpus/<target>/seed-*: small valid inputs
for the readers that tests/golden has no file for (GGUF, spm.model, vocab.txt,
vocab.json + merges.txt, a sharded index, model directory configs, datasets,
a multi-dtype safetensors) and the pickles inside tests/golden's torch
checkpoints. Built here from the formats' specifications, so nothing in them
is copied from elsewhere. The CI smoke (ctest -R fuzz_smoke) runs them, with
the tests/golden files listed in fuzz/CMakeLists.txt, through every target.

Usage: fuzz/make_stored_seeds.py   (from the repository root; standard library only)
"""
import json
import os
import struct
import zipfile

CORPUS = "fuzz/corpus"


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def joined(*parts):
    """Files of one directory in one input, cut at NUL bytes by the targets."""
    return b"\0".join(p if isinstance(p, bytes) else p.encode() for p in parts)


WORDS = ["hello", "world", "the", "cat", "sat", "on", "mat", "un", "##aff", "##able", "low", "##er", "new", "##est"]


# --- safetensors: one tensor of each dtype the readers take, with metadata.
def safetensors():
    tensors = [("f32", "F32", [2, 3], struct.pack("<6f", *range(6))),
               ("f16", "F16", [4], struct.pack("<4e", 1, -2, 0.5, 65504)),
               ("bf16", "BF16", [2], b"\x80\x3f\x00\xc0"),
               ("i8", "I8", [3], b"\x01\xff\x7f"),
               ("u32", "U32", [2], struct.pack("<2I", 1, 2 ** 32 - 1)),
               ("i64", "I64", [1], struct.pack("<q", -5))]
    header, data = {"__metadata__": {"format": "pt", "note": "seed"}}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


# --- GGUF v3 (llama.cpp's gguf.md): every metadata value type, three tensor types.
def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf():
    kvs = [("general.architecture", 8, gguf_string("bert")),
           ("general.name", 8, gguf_string("seed")),
           ("general.alignment", 4, struct.pack("<I", 32)),
           ("bert.context_length", 4, struct.pack("<I", 64)),
           ("bert.embedding_length", 4, struct.pack("<I", 32)),
           ("bert.block_count", 4, struct.pack("<I", 1)),
           ("bert.attention.head_count", 4, struct.pack("<I", 2)),
           ("bert.attention.layer_norm_epsilon", 6, struct.pack("<f", 1e-12)),
           ("bert.attention.causal", 7, b"\x00"),
           ("bert.pooling_type", 5, struct.pack("<i", 1)),
           ("seed.u8", 0, b"\x07"), ("seed.i8", 1, b"\xfe"), ("seed.u16", 2, struct.pack("<H", 9)),
           ("seed.i16", 3, struct.pack("<h", -9)), ("seed.u64", 10, struct.pack("<Q", 2 ** 40)),
           ("seed.i64", 11, struct.pack("<q", -(2 ** 40))), ("seed.f64", 12, struct.pack("<d", 0.25)),
           ("tokenizer.ggml.model", 8, gguf_string("bert")),
           ("tokenizer.ggml.tokens", 9,
            struct.pack("<IQ", 8, len(WORDS) + 4) + b"".join(gguf_string(t) for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + WORDS)),
           ("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, len(WORDS) + 4) + struct.pack("<%di" % (len(WORDS) + 4), *([3, 2, 3, 3] + [1] * len(WORDS)))),
           ("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 2) + struct.pack("<2f", -1.0, -2.0)),
           ("tokenizer.ggml.nested", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 4, 2) + struct.pack("<2I", 1, 2))]
    tensors = [("token_embd.weight", [32, 2], 0, struct.pack("<64f", *([0.5] * 64))),  # F32
               ("blk.0.attn_q.weight", [32, 1], 1, struct.pack("<32e", *([0.25] * 32))),  # F16
               ("blk.0.attn_k.weight", [32, 1], 8, struct.pack("<e", 0.1) + bytes(range(32)))]  # Q8_0: one block
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, kind, value in kvs:
        out += gguf_string(key) + struct.pack("<I", kind) + value
    offset, data = 0, b""
    for name, dims, kind, raw in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims)) + struct.pack("<%dQ" % len(dims), *dims)
        out += struct.pack("<IQ", kind, offset)
        padded = raw + b"\0" * (-len(raw) % 32)
        data += padded
        offset += len(padded)
    out += b"\0" * (-len(out) % 32)
    return out + data


# --- spm.model: SentencePiece's ModelProto (sentencepiece_model.proto), by hand.
def varint(n):
    out = b""
    while True:
        out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return out


def field(number, wire, payload):
    key = varint(number << 3 | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def spm_model(model_type):
    pieces = [("<pad>", 0.0, 3), ("<s>", 0.0, 3), ("</s>", 0.0, 3), ("<unk>", 0.0, 2), ("[MASK]", 0.0, 4)]
    pieces += [("\u2581" + w.lstrip("#"), -1.0 - i / 10, 1) for i, w in enumerate(WORDS)]
    pieces += [("\u2581", -3.0, 1)] + [(c, -4.0 - i / 100, 1) for i, c in enumerate("abcdefghijklmnopqrstuvwxyz0123456789,.!")]
    pieces += [("<0x%02X>" % b, 0.0, 6) for b in range(4)]
    out = b""
    for text, score, kind in pieces:
        out += field(1, 2, field(1, 2, text.encode()) + field(2, 5, struct.pack("<f", score)) + field(3, 0, varint(kind)))
    trainer = field(3, 0, varint(model_type)) + field(4, 0, varint(len(pieces))) + field(35, 0, varint(1))
    trainer += field(40, 0, varint(3)) + field(41, 0, varint(1)) + field(42, 0, varint(2)) + field(43, 0, varint(0))
    normalizer = field(1, 2, b"identity") + field(3, 0, varint(1)) + field(4, 0, varint(1)) + field(5, 0, varint(1))
    return out + field(2, 2, trainer) + field(3, 2, normalizer)


def main():
    write("safetensors", "dtypes.safetensors", safetensors())
    write("gguf", "bert.gguf", gguf())
    write("spm_model", "unigram.model", spm_model(1))
    write("spm_model", "bpe.model", spm_model(2))

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz,.!?0123456789") + WORDS
    config = {"do_lower_case": True, "model_max_length": 64, "tokenize_chinese_chars": True, "strip_accents": None}
    special = {"unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "mask_token": {"content": "[MASK]", "lstrip": True}}
    write("vocab_txt", "uncased", joined("\n".join(vocab) + "\n", json.dumps(config), json.dumps(special)))
    write("vocab_txt", "cased-no-specials-map", joined("\n".join(vocab) + "\n", json.dumps({"do_lower_case": False})))

    byte_vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>"] + list("abcdefghijklmnopqrstuvwxyz") + ["\u0120", "\u0120l", "lo", "low", "er", "\u0120low", "ne", "new", "es", "est", "<mask>"])}
    merges = "#version: 0.2\n\u0120 l\nl o\nlo w\ne r\n\u0120l ow\nn e\nne w\ne s\nes t\n"
    write("bpe_files", "byte-level", joined(json.dumps(byte_vocab), merges))

    write("sharded_index", "two-shards.json", json.dumps({"metadata": {"total_size": 16}, "weight_map": {"w": "model-00001-of-00002.safetensors", "v": "model-00002-of-00002.safetensors"}}))
    write("sharded_index", "one-shard.json", json.dumps({"metadata": {"total_size": 8}, "weight_map": {"w": "model-00001-of-00002.safetensors"}}))

    bert = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": 64, "hidden_size": 32, "num_hidden_layers": 1,
            "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 64, "type_vocab_size": 2,
            "layer_norm_eps": 1e-12, "hidden_act": "gelu", "position_embedding_type": "absolute"}
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
    pooling = {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}
    write("model_dir", "bert-st", joined(json.dumps(bert), json.dumps(modules), json.dumps(pooling), json.dumps({"max_seq_length": 32})))
    cls = dict(bert, architectures=["BertForSequenceClassification"], id2label={"0": "neg", "1": "pos"}, label2id={"neg": 0, "pos": 1})
    write("model_dir", "bert-cls", joined(json.dumps(cls)))

    write("dataset", "labelled.jsonl", b"\x00" + b"".join(json.dumps(r).encode() + b"\n" for r in
          [{"text": "a cat", "label": "pos"}, {"text": "a dog", "text_pair": "the mat", "label": 1}, {"text": "\u00e9t\u00e9", "label": 0.5}]))
    write("dataset", "pairs.tsv", b"\x01text\ttext_pair\tlabel\na cat\ta dog\t3.5\n\"quoted\"\tx\t0\n")
    write("dataset", "quoted.csv", b"\x02text,text_pair,label\n\"a, cat\",\"say \"\"hi\"\"\",1\nb,c,0\n")

    for name in ["parameter.bin", "protocol4.bin", "malicious/nested_reduce.bin", "malicious/os_system.bin"]:
        path = os.path.join("tests/golden/torch_bin", name)
        with zipfile.ZipFile(path) as z:
            pkl = next(n for n in z.namelist() if n.endswith("data.pkl"))
            write("pickle", os.path.basename(name).replace(".bin", ".pkl"), z.read(pkl))


if __name__ == "__main__":
    main()
