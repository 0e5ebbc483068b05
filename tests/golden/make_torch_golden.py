"""Generates tiny random encoders in Hugging Face layout and their golden outputs.

Usage: /usr/bin/python3 tests/golden/make_torch_golden.py [--out tests/golden/models]

For each model in MODELS: random weights (fixed seed) -> config.json + model.safetensors in
HF naming -> read back with our reader (so F16/BF16 rounding is what the golden sees) ->
run one right-padded batch with an attention mask through torch_encoders.py -> golden.json.
The output is deterministic: rerunning rewrites identical files.
"""

import argparse
import json
import os
import shutil
import sys

import torch

from torch_encoders import (build_model, hf_state_dict, load_model, mean_pool_normalize,
                            pad_batch, write_safetensors)

HERE = os.path.dirname(os.path.abspath(__file__))

# Tiny sizes shared by all models.
HIDDEN, LAYERS, HEADS, INTERMEDIATE, VOCAB, MAX_POSITIONS = 32, 2, 4, 64, 100, 64
LABELS = ["alpha", "beta", "gamma"]

# Special token ids (no tokenizer ships: golden.json gives ids). BERT-style ids are the first
# few of the vocabulary; RoBERTa's are its real ones (<s>=0, <pad>=1, </s>=2).
BERT_SPECIALS = {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}
ROBERTA_SPECIALS = {"bos": 0, "pad": 1, "eos": 2, "unk": 3, "mask": 4}

# Segment lengths of the batch's sequences: [] is the start token alone (length 1), [a] a
# single text, [a, b] a pair. Gives lengths 1, 7, 19, 12 (BERT) and 1, 7, 20, 13 (RoBERTa).
SEQUENCE_SHAPES = [[], [5], [10, 6], [5, 4]]

# name, architecture, stored dtype, seed
MODELS = [
    ("bert-tiny-st", "BertModel", "F32", 1),  # sentence-transformers layout, mean pooling
    ("bert-tiny-cls", "BertForSequenceClassification", "F32", 2),
    ("bert-tiny-cls-f16", "BertForSequenceClassification", "F16", 3),
    ("bert-tiny-cls-bf16", "BertForSequenceClassification", "BF16", 4),
    ("distilbert-tiny", "DistilBertModel", "F32", 5),
    ("distilbert-tiny-cls", "DistilBertForSequenceClassification", "F32", 6),
    ("roberta-tiny", "RobertaModel", "F32", 7),
    ("roberta-tiny-cls", "RobertaForSequenceClassification", "F32", 8),
]

TORCH_DTYPE_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


# ----------------------------------------------------------------------------- configs

def make_config(architecture, dtype):
    """config.json as transformers writes it for this architecture."""
    kind = architecture_kind(architecture)
    cfg = {"distilbert": distilbert_config, "roberta": roberta_config, "bert": bert_config}[kind]()
    cfg["architectures"] = [architecture]
    cfg["torch_dtype"] = TORCH_DTYPE_NAMES[dtype]
    if "ForSequenceClassification" in architecture:
        cfg["id2label"] = {str(i): label for i, label in enumerate(LABELS)}
        cfg["label2id"] = {label: i for i, label in enumerate(LABELS)}
        cfg["problem_type"] = "single_label_classification"
    return cfg


def architecture_kind(architecture):
    return "distilbert" if architecture.startswith("DistilBert") else \
        "roberta" if architecture.startswith("Roberta") else "bert"


def bert_config():
    return {"model_type": "bert", "vocab_size": VOCAB, "hidden_size": HIDDEN,
            "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
            "intermediate_size": INTERMEDIATE, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1, "max_position_embeddings": MAX_POSITIONS,
            "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
            "pad_token_id": BERT_SPECIALS["pad"], "position_embedding_type": "absolute",
            "use_cache": True, "classifier_dropout": None}


def roberta_config():
    cfg = bert_config()
    # RoBERTa position ids start at pad_token_id + 1, so HF checkpoints carry 2 extra rows
    # (514 for 512 tokens); keep that convention: 64 tokens still fit.
    cfg.update({"model_type": "roberta", "type_vocab_size": 1, "layer_norm_eps": 1e-5,
                "max_position_embeddings": MAX_POSITIONS + 2, "pad_token_id": ROBERTA_SPECIALS["pad"],
                "bos_token_id": ROBERTA_SPECIALS["bos"], "eos_token_id": ROBERTA_SPECIALS["eos"]})
    return cfg


def distilbert_config():
    return {"model_type": "distilbert", "vocab_size": VOCAB, "dim": HIDDEN, "n_layers": LAYERS,
            "n_heads": HEADS, "hidden_dim": INTERMEDIATE, "activation": "gelu", "dropout": 0.1,
            "attention_dropout": 0.1, "max_position_embeddings": MAX_POSITIONS,
            "initializer_range": 0.02, "qa_dropout": 0.1, "seq_classif_dropout": 0.2,
            "sinusoidal_pos_embds": False, "tie_weights_": True, "pad_token_id": BERT_SPECIALS["pad"]}


# ----------------------------------------------------------------------------- weights

def randomize(model, seed):
    """Random weights larger than HF's 0.02 init, so attention is far from uniform and every
    part of the network visibly changes the outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "norm" in name:
                p.copy_(1.0 + 0.1 * noise if name.endswith("weight") else 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            elif name.startswith("encoder.embeddings."):
                p.copy_(0.5 * noise)
            else:
                p.copy_(0.2 * noise)


def write_model_dir(out_dir, cfg, architecture, dtype, seed, sentence_transformers):
    model = build_model(cfg, architecture)
    randomize(model, seed)
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), hf_state_dict(model, architecture), dtype)
    write_json(os.path.join(out_dir, "config.json"), cfg, indent=2)
    if sentence_transformers:
        write_sentence_transformers_files(out_dir)


def write_sentence_transformers_files(out_dir):
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
    pooling = {"word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": False,
               "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
               "pooling_mode_lasttoken": False, "include_prompt": True}
    write_json(os.path.join(out_dir, "modules.json"), modules, indent=2)
    os.makedirs(os.path.join(out_dir, "1_Pooling"), exist_ok=True)
    write_json(os.path.join(out_dir, "1_Pooling", "config.json"), pooling, indent=2)
    write_json(os.path.join(out_dir, "sentence_bert_config.json"),
               {"max_seq_length": MAX_POSITIONS, "do_lower_case": False}, indent=2)


# ----------------------------------------------------------------------------- inputs

def make_sequences(kind, seed):
    """Random token ids framed by the architecture's special tokens. Token type ids mark the
    second segment of a pair for BERT; RoBERTa has one token type; DistilBERT takes none."""
    gen = torch.Generator().manual_seed(1000 + seed)
    first_free = 5  # ids below are special tokens in both schemes

    def words(n):
        return torch.randint(first_free, VOCAB, (n,), generator=gen).tolist()

    sequences = []
    for segments in SEQUENCE_SHAPES:
        if kind == "roberta":
            s = ROBERTA_SPECIALS
            ids, types = [s["bos"]], [0]
            for i, n in enumerate(segments):
                chunk = ([s["eos"]] if i else []) + words(n) + [s["eos"]]  # <s> A </s></s> B </s>
                ids += chunk
                types += [0] * len(chunk)
        else:
            s = BERT_SPECIALS
            ids, types = [s["cls"]], [0]
            for i, n in enumerate(segments):
                ids += words(n) + [s["sep"]]  # [CLS] A [SEP] B [SEP]
                types += [i] * (n + 1)
        seq = {"input_ids": ids}
        if kind != "distilbert":
            seq["token_type_ids"] = types
        sequences.append(seq)
    return sequences


# ----------------------------------------------------------------------------- golden

def run_batch(model, sequences, pad_id, sentence_transformers):
    """Outputs for one padded batch; per sequence, hidden states of its real tokens only."""
    ids, types, mask = pad_batch(sequences, pad_id)
    with torch.inference_mode():
        out = model(ids, types, mask)
    if sentence_transformers:
        out["embedding"] = mean_pool_normalize(out["last_hidden_state"], mask)
    results = []
    for row, seq in enumerate(sequences):
        n = len(seq["input_ids"])
        result = {"last_hidden_state": out["last_hidden_state"][row, :n]}
        for key in ("pooler_output", "embedding", "logits"):
            if key in out:
                result[key] = out[key][row]
        results.append(result)
    return (ids, types, mask), results


def check_padding_invariance(model, sequences, pad_id, sentence_transformers, batched):
    """Each sequence run alone must match the padded batch: padding must change nothing."""
    for seq, want in zip(sequences, batched):
        _, (alone,) = run_batch(model, [seq], pad_id, sentence_transformers)
        for key, value in alone.items():
            diff = (value - want[key]).abs().max().item()
            if diff > 1e-5:
                raise AssertionError(f"{key} differs by {diff} between padded batch and alone")


def make_golden(model_dir, architecture, dtype, seed, sentence_transformers):
    model, cfg, _ = load_model(model_dir)  # weights as stored: F16/BF16 already rounded
    kind = architecture_kind(architecture)
    sequences = make_sequences(kind, seed)
    pad_id = cfg["pad_token_id"]
    (ids, types, mask), results = run_batch(model, sequences, pad_id, sentence_transformers)
    check_padding_invariance(model, sequences, pad_id, sentence_transformers, results)
    padded = {"input_ids": ids.tolist(), "attention_mask": mask.tolist()}
    if kind != "distilbert":
        padded["token_type_ids"] = types.tolist()
    return {
        "produced_by": "tests/golden/make_torch_golden.py: plain PyTorch (torch_encoders.py), "
                       "Hugging Face semantics, fp32 compute",
        "architecture": architecture,
        "weights_dtype": dtype,
        "special_ids": ROBERTA_SPECIALS if kind == "roberta" else BERT_SPECIALS,
        "outputs_note": "computed on padded_batch (right padding, attention mask); "
                        "last_hidden_state rows cover each sequence's real tokens only"
                        + ("; embedding = mean pooling over real tokens, L2-normalized"
                           if sentence_transformers else ""),
        "padded_batch": padded,
        "sequences": [{**seq, **{k: rounded(v) for k, v in res.items()}}
                      for seq, res in zip(sequences, results)],
    }


def rounded(tensor):
    """Nested lists of floats with 9 significant digits: enough to round-trip float32."""
    return _round_nested(tensor.tolist())


def _round_nested(value):
    if isinstance(value, list):
        return [_round_nested(v) for v in value]
    return float(f"{value:.9g}")


def write_json(path, obj, indent=None):
    with open(path, "w") as f:
        json.dump(obj, f, indent=indent, separators=(",", ": ") if indent else (",", ":"))
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "models"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # one thread: same reductions, same bits on every run
    for name, architecture, dtype, seed in MODELS:
        model_dir = os.path.join(args.out, name)
        shutil.rmtree(model_dir, ignore_errors=True)
        sentence_transformers = name.endswith("-st")
        cfg = make_config(architecture, dtype)
        write_model_dir(model_dir, cfg, architecture, dtype, seed, sentence_transformers)
        golden = make_golden(model_dir, architecture, dtype, seed, sentence_transformers)
        write_json(os.path.join(model_dir, "golden.json"), golden)
        print(f"{name}: {architecture} {dtype}, lengths "
              f"{[len(s['input_ids']) for s in golden['sequences']]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
