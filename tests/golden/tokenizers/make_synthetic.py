#!/usr/bin/env python3
"""Trains the small tokenizers of synthetic/ with the Hugging Face tokenizers library, so model options
and pipeline steps no shared tokenizer uses meet the reference too (make_goldens.py writes their goldens):

  bpe-affixes.json     BPE with continuing_subword_prefix "##" and end_of_word_suffix "</w>", [UNK] fused,
                       byte fallback (<0x00>..<0xFF> appended to the vocabulary), Whitespace pre-tokenizer
  unigram-tiny.json    Unigram (Metaspace, NFKC) with an unk piece
  wordlevel-tiny.json  WordLevel over WhitespaceSplit, lowercased

Run once (files are committed; rerunning may give other merges): /work/venvs/tok/bin/python make_synthetic.py [shared]
"""
import json
import os
import sys

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../../shared"))


def corpus():
    with open(os.path.join(SHARED, "data/genre/dev_a.jsonl"), encoding="utf-8") as f:
        return [json.loads(l)["text"] for l in f][:1500]


def save(tok, name, edit=None):
    doc = json.loads(tok.to_str())
    if edit:
        edit(doc)
    path = os.path.join(HERE, "synthetic", name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
    Tokenizer.from_file(path)  # still loads
    print(name, os.path.getsize(path), "bytes")


def main():
    texts = corpus()
    bpe = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>",
                               fuse_unk=True))
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=["[UNK]"],
                                                       continuing_subword_prefix="##", end_of_word_suffix="</w>",
                                                       limit_alphabet=60, show_progress=False))

    def add_bytes(doc):
        vocab = doc["model"]["vocab"]
        for b in range(256):
            vocab.setdefault(f"<0x{b:02X}>", len(vocab))
        doc["model"]["byte_fallback"] = True

    save(bpe, "bpe-affixes.json", add_bytes)

    uni = Tokenizer(models.Unigram())
    uni.normalizer = normalizers.NFKC()
    uni.pre_tokenizer = pre_tokenizers.Metaspace()
    uni.train_from_iterator(texts, trainers.UnigramTrainer(vocab_size=300, special_tokens=["<unk>"], unk_token="<unk>",
                                                           show_progress=False))
    save(uni, "unigram-tiny.json")

    wl = Tokenizer(models.WordLevel(unk_token="<unk>"))
    wl.normalizer = normalizers.Lowercase()
    wl.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    wl.train_from_iterator(texts, trainers.WordLevelTrainer(vocab_size=300, special_tokens=["<unk>"],
                                                            show_progress=False))
    save(wl, "wordlevel-tiny.json")


if __name__ == "__main__":
    main()
