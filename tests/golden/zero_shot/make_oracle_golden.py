"""Zero-shot goldens on the tiny oracle NLI models, from transformers' own pipeline.

The oracle models in ../shared/oracle/<arch>-tiny (bart, bert, deberta-v2,
distilbert, modernbert) are random weights with a 3-way classification head
and no tokenizer. For each, this script builds a small WordLevel tokenizer
with the `tokenizers` library (lowercase, whitespace/punctuation words, an
unknown token, the special tokens at the ids the config names, and the
family's pair layout: [CLS] A [SEP] B [SEP] for BERT-like models,
<s> A </s></s> B </s> for BART), wraps it in a PreTrainedTokenizerFast, and
runs transformers' zero-shot-classification pipeline single- and multi-label.
Per arch it writes oracle/<arch>/ beside this script: tokenizer.json,
tokenizer_config.json, config.json (the oracle's, labels renamed where noted)
and expected.json {"cases": [{"sequence", "candidate_labels",
"hypothesis_template", "multi_label", "labels", "scores", "min_gap"}]}, where
min_gap is the smallest difference between neighbouring sorted scores (the
label order is only meaningful where it is clearly above float noise).

Usage: python make_oracle_golden.py [path/to/shared]   (a venv with transformers
and torch; made with transformers 4.48.0 on Debian's torch 1.13)
"""
import inspect
import json
import os
import shutil
import sys
import tempfile

import torch

if not hasattr(torch, "compile"):
    # Debian's torch 1.13 has no torch.compile; transformers' ModernBERT only uses it as a
    # decorator on a path the config switches off (reference_compile false), so a no-op does.
    torch.compile = lambda *args, **kwargs: (lambda f: f)
if "bias" not in inspect.signature(torch.nn.LayerNorm.__init__).parameters:
    # Nor LayerNorm(bias=False) (torch 2.1), which ModernBERT asks for: the same norm without
    # the bias parameter (layer_norm takes bias None).
    class _LayerNorm(torch.nn.LayerNorm):
        def __init__(self, *args, bias=True, **kwargs):
            super().__init__(*args, **kwargs)
            if not bias:
                self.bias = None

    torch.nn.LayerNorm = _LayerNorm

import transformers
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerFast, pipeline

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../../../shared"))

BERT_LIKE = ["[CLS]", "[SEP]", "[PAD]", "[UNK]"]
# Per arch: special token -> id (the config's where it names one), the pair layout,
# the inputs the model takes, and the label order written into config.json.
ARCHS = {
    # Real BERT vocabularies: [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102; token types 0 / 1.
    "bert": dict(ids={"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102}, layout="bert", types=True,
                 labels=["entailment", "neutral", "contradiction"]),
    "distilbert": dict(ids={"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102}, layout="bert", types=False,
                       labels=["entailment", "neutral", "contradiction"]),
    # DeBERTa-v3's spm ids: [PAD]=0, [CLS]=1, [SEP]=2, [UNK]=3; it returns token types (unused here,
    # type_vocab_size 0). Labels as MoritzLaurer's NLI DeBERTas, but upper case.
    "deberta-v2": dict(ids={"[PAD]": 0, "[CLS]": 1, "[SEP]": 2, "[UNK]": 3}, layout="bert", types=True,
                       labels=["ENTAILMENT", "NEUTRAL", "CONTRADICTION"]),
    # config: cls 1, sep 2, pad 3.
    "modernbert": dict(ids={"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3}, layout="bert", types=False,
                       labels=["entailment", "neutral", "contradiction"]),
    # config: bos 0, pad 1, eos 2; the head reads the last </s>. Labels as facebook/bart-large-mnli
    # (contradiction first, entailment last), so the pipeline's contradiction is index 0.
    "bart": dict(ids={"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}, layout="roberta", types=False,
                 labels=["contradiction", "neutral", "entailment"]),
}

TEXTS = [
    "The team won the match last night!",
    "Parliament passed the new budget after a long, loud debate.",
    "A telescope found water on a distant planet.",
]
SETTINGS = [
    (["politics", "sports", "science"], "This example is {}.", False),
    (["politics", "sports", "science"], "This example is {}.", True),
    (["music", "cooking", "travel", "money"], "The topic is {}.", False),
    (["weather"], "This text is about {}.", False),  # one label: the pipeline scores it multi-label
]
# Words left out of the vocabulary so the unknown token is exercised.
UNKNOWN = {"parliament", "telescope", "loud"}


def words(pre, text):
    return [w for w, _ in pre.pre_tokenize_str(text.lower())]


def build_tokenizer(spec, vocab_size):
    pre = pre_tokenizers.Whitespace()
    seen = []
    for text in TEXTS + [t for _, t, _ in SETTINGS] + [l for labels, _, _ in SETTINGS for l in labels]:
        for w in words(pre, text):
            if w not in seen and w not in UNKNOWN and w not in ("{", "}", "{}"):
                seen.append(w)
    vocab = dict(spec["ids"])
    free = [i for i in range(len(seen) + len(vocab)) if i not in vocab.values()]
    # Words get the free ids in a scrambled order (not alphabetical), so a tokenizer that
    # numbered words by position would fail.
    for n, w in enumerate(sorted(seen)):
        vocab[w] = free[(n * 7) % len(free)]
    # As BERT's [unusedN]: fill the ids below the highest so the vocabulary has no holes;
    # the pre-tokenizer splits these names, so no text can produce them.
    unk = "[UNK]" if spec["layout"] == "bert" else "<unk>"
    for i in set(range(max(vocab.values()))) - set(vocab.values()):
        vocab[f"[unused{i}]"] = i
    assert len(set(vocab.values())) == len(vocab) and max(vocab.values()) < vocab_size
    tok = Tokenizer(models.WordLevel(vocab, unk_token=unk))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre
    specials = list(spec["ids"])
    tok.add_special_tokens(specials)
    ids = spec["ids"]
    if spec["layout"] == "bert":
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])])
        names = dict(cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", unk_token="[UNK]")
    else:
        tok.post_processor = processors.RobertaProcessing(sep=("</s>", ids["</s>"]), cls=("<s>", ids["<s>"]))
        names = dict(bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>", pad_token="<pad>",
                     unk_token="<unk>")
    inputs = ["input_ids", "token_type_ids", "attention_mask"] if spec["types"] else ["input_ids", "attention_mask"]
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_input_names=inputs, **names)


def patched_config(arch, labels):
    with open(os.path.join(shared, "oracle", f"{arch}-tiny", "config.json")) as f:
        config = json.load(f)
    config["id2label"] = {str(i): l for i, l in enumerate(labels)}
    config["label2id"] = {l: i for i, l in enumerate(labels)}
    return config


def main():
    for arch, spec in ARCHS.items():
        out_dir = os.path.join(here, "oracle", arch)
        os.makedirs(out_dir, exist_ok=True)
        config = patched_config(arch, spec["labels"])
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "config.json"), "w") as f:
                json.dump(config, f, indent=1)
            os.symlink(os.path.join(shared, "oracle", f"{arch}-tiny", "model.safetensors"),
                       os.path.join(tmp, "model.safetensors"))
            tokenizer = build_tokenizer(spec, config["vocab_size"])
            tokenizer.save_pretrained(tmp)
            model = AutoModelForSequenceClassification.from_pretrained(tmp, attn_implementation="eager")
            classifier = pipeline("zero-shot-classification", model=model, tokenizer=tokenizer, device=-1)
            cases = []
            for labels, template, multi in SETTINGS:
                for text in TEXTS:
                    out = classifier(text, candidate_labels=labels, hypothesis_template=template, multi_label=multi)
                    s = out["scores"]
                    gap = min((s[i] - s[i + 1] for i in range(len(s) - 1)), default=None)
                    cases.append({"sequence": text, "candidate_labels": labels, "hypothesis_template": template,
                                  "multi_label": multi, "labels": out["labels"], "scores": s, "min_gap": gap})
            for name in ("tokenizer.json", "tokenizer_config.json", "config.json"):
                shutil.copy(os.path.join(tmp, name), os.path.join(out_dir, name))
        with open(os.path.join(out_dir, "expected.json"), "w") as f:
            json.dump({"transformers": transformers.__version__, "cases": cases}, f, indent=1)
            f.write("\n")
        gaps = [c["min_gap"] for c in cases if c["min_gap"] is not None]
        spread = max(max(c["scores"]) - min(c["scores"]) for c in cases)
        print(f"{arch}: {len(cases)} cases, smallest order gap {min(gaps):.3g}, largest score spread {spread:.3g}")


if __name__ == "__main__":
    main()
