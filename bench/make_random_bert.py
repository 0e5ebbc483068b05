"""Writes a randomly initialized BERT in sentence-transformers layout, for speed measurements
at shapes no model in ../shared has (default: bert-base, 12 layers x 768, 12 heads, FFN 3072).

The weights know nothing: use the model for throughput and for engine-vs-engine agreement, never
for accuracy. Initialization follows Hugging Face's BertPreTrainedModel._init_weights: every
weight matrix and embedding ~ N(0, 0.02), biases 0, LayerNorm weight 1 / bias 0, the padding
row of the word embeddings 0. The tokenizer files are copied from a ../shared model (the
bert-base-uncased WordPiece vocabulary of 30522).

Usage:
  /usr/bin/python3 bench/make_random_bert.py OUT_DIR [--layers 12] [--hidden 768] [--heads 12]
      [--intermediate 3072] [--seed 0] [--tokenizer-from DIR]

OUT_DIR gets config.json (BertModel), model.safetensors (F32), tokenizer.json, vocab.txt,
tokenizer_config.json, special_tokens_map.json, modules.json, sentence_bert_config.json and
1_Pooling/config.json (mean pooling), i.e. what bench/compare_peers.sh and quantpipe expect.
"""

import argparse
import json
import os
import shutil
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "golden"))
from torch_encoders import build_model, hf_state_dict, write_safetensors  # noqa: E402

DEFAULT_TOKENIZER = os.path.join(os.path.dirname(HERE), "..", "shared", "models", "minilm-l6-sts")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")
VOCAB = 30522


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--intermediate", type=int, default=3072)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tokenizer-from", default=DEFAULT_TOKENIZER,
                        help="directory to copy the tokenizer files from (default ../shared/models/minilm-l6-sts)")
    args = parser.parse_args()
    if args.hidden % args.heads:
        parser.error(f"--hidden {args.hidden} is not a multiple of --heads {args.heads}")
    return args


def bert_config(args):
    return {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": VOCAB,
        "hidden_size": args.hidden, "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads, "intermediate_size": args.intermediate,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512, "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def initialize(model, std, pad_id, generator):
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
                if isinstance(module, nn.Linear):
                    module.bias.zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
        model.encoder.embeddings.word.weight[pad_id].zero_()


def write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def main():
    args = parse_args()
    missing = [f for f in TOKENIZER_FILES if not os.path.exists(os.path.join(args.tokenizer_from, f))]
    if missing:
        raise SystemExit(f"{args.tokenizer_from}: no {', '.join(missing)} (pass --tokenizer-from)")
    cfg = bert_config(args)
    model = build_model(cfg, "BertModel")  # with the pooler, as BertModel checkpoints have
    initialize(model, cfg["initializer_range"], cfg["pad_token_id"],
               torch.Generator().manual_seed(args.seed))

    os.makedirs(os.path.join(args.out_dir, "1_Pooling"), exist_ok=True)
    write_json(os.path.join(args.out_dir, "config.json"), cfg)
    write_safetensors(os.path.join(args.out_dir, "model.safetensors"), hf_state_dict(model, "BertModel"))
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(args.tokenizer_from, name), os.path.join(args.out_dir, name))
    write_json(os.path.join(args.out_dir, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    write_json(os.path.join(args.out_dir, "sentence_bert_config.json"),
               {"max_seq_length": 512, "do_lower_case": False})
    write_json(os.path.join(args.out_dir, "1_Pooling", "config.json"), {
        "word_embedding_dimension": args.hidden, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False, "include_prompt": True,
    })
    params = sum(p.numel() for p in model.parameters())
    print(f"[make_random_bert] wrote {args.out_dir}: {args.layers} layers x {args.hidden}, "
          f"{args.heads} heads, FFN {args.intermediate}, {params / 1e6:.1f}M parameters (random, "
          f"seed {args.seed})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
