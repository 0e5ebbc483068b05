"""Gradients from PyTorch autograd for the fine-tuning engine's backward (src/train/).

Usage: /usr/bin/python3 tests/golden/train/make_train_golden.py   # rewrites tests/golden/train/*.json

For each tiny golden model (tests/golden/models/), one padded batch of its golden sequences
(padding masked: the engine packs sequences instead, so this also checks that packing is the
mask) goes through
  - the embeddings (torch.nn.Embedding + torch.nn.LayerNorm, positions as Hugging Face numbers them),
  - every layer as torch.nn.TransformerEncoderLayer (post-LN, exact GELU) holding the model's weights:
    PyTorch's own layer, not code written here,
  - the head: first token -> dense -> tanh -> out (classifiers), or mean pooling over real tokens
    -> L2 normalisation (the sentence-transformers model),
and the loss L = sum(r_head * head) + sum(r_hidden * output of layer 0 over real tokens), with r
fixed random values, is differentiated by autograd. The file holds the sequences, r, the head
output and the gradient of every parameter by its Hugging Face name. Deterministic (fixed seed,
one thread).
"""

import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.dirname(HERE)
sys.path.insert(0, GOLDEN)

from torch_encoders import hf_module_names, load_model, pad_batch  # noqa: E402

MODELS = ["bert-tiny-cls", "roberta-tiny-cls", "bert-tiny-st"]


def torch_layer(ours, hp):
    """nn.TransformerEncoderLayer holding one of our layers' weights (trainable)."""
    layer = nn.TransformerEncoderLayer(hp.hidden, hp.heads, hp.intermediate, dropout=0.0, activation="gelu",
                                       layer_norm_eps=hp.eps, batch_first=True, norm_first=False)
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(torch.cat([ours.q.weight, ours.k.weight, ours.v.weight]))
        layer.self_attn.in_proj_bias.copy_(torch.cat([ours.q.bias, ours.k.bias, ours.v.bias]))
        for theirs, mine in [(layer.self_attn.out_proj, ours.attn_out), (layer.norm1, ours.attn_norm),
                             (layer.linear1, ours.ffn_in), (layer.linear2, ours.ffn_out),
                             (layer.norm2, ours.out_norm)]:
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
    return layer


def flat(tensor):
    return [float(f"{v:.8g}") for v in tensor.detach().reshape(-1).tolist()]


def layer_grads(layer, hf_prefix):
    """The layer's gradients under the Hugging Face names of its modules."""
    h = layer.linear1.in_features
    w, b = layer.self_attn.in_proj_weight.grad, layer.self_attn.in_proj_bias.grad
    names = hf_prefix
    out = {}
    for i, part in enumerate(["q", "k", "v"]):
        out[f"{names[part]}.weight"] = w[i * h:(i + 1) * h]
        out[f"{names[part]}.bias"] = b[i * h:(i + 1) * h]
    for key, module in [("attn_out", layer.self_attn.out_proj), ("attn_norm", layer.norm1),
                        ("ffn_in", layer.linear1), ("ffn_out", layer.linear2), ("out_norm", layer.norm2)]:
        out[f"{names[key]}.weight"] = module.weight.grad
        out[f"{names[key]}.bias"] = module.bias.grad
    return out


def make(name):
    model_dir = os.path.join(GOLDEN, "models", name)
    model, cfg, architecture = load_model(model_dir)
    with open(os.path.join(model_dir, "golden.json")) as f:
        sequences = json.load(f)["sequences"]
    encoder = model.encoder
    hp = encoder.hp
    prefix = "bert." if name == "bert-tiny-cls" else ("roberta." if name == "roberta-tiny-cls" else "")
    modules = hf_module_names(model, architecture, prefix)
    ids, types, mask = pad_batch(sequences, cfg["pad_token_id"])
    real = mask.bool()

    emb = encoder.embeddings
    for p in emb.parameters():
        p.requires_grad_(True)
    layers = [torch_layer(layer, hp) for layer in encoder.layers]
    x = emb(ids, types, encoder.position_ids(ids))
    hidden = []
    for layer in layers:
        x = layer(x, src_key_padding_mask=~real)
        hidden.append(x)

    gen = torch.Generator().manual_seed(1234)
    r_hidden = torch.randn(hidden[0].shape, generator=gen) * real.unsqueeze(-1)
    if model.head_out is not None:
        dense, out = model.head_dense, model.head_out
        dense.weight.requires_grad_(True)
        dense.bias.requires_grad_(True)
        out.weight.requires_grad_(True)
        out.bias.requires_grad_(True)
        head = out(torch.tanh(dense(x[:, 0])))
    else:
        m = mask.unsqueeze(-1).to(x.dtype)
        head = F.normalize((x * m).sum(dim=1) / m.sum(dim=1), p=2, dim=1)
    r_head = torch.randn(head.shape, generator=gen)
    loss = (r_head * head).sum() + (r_hidden * hidden[0]).sum()
    loss.backward()

    grads = {}
    for ours, module in [("word", emb.word), ("position", emb.position), ("token_type", emb.token_type),
                         ("norm", emb.norm)]:
        if module is None:
            continue
        key = f"encoder.embeddings.{ours}"
        grads[f"{modules[key]}.weight"] = module.weight.grad
        if ours == "norm":
            grads[f"{modules[key]}.bias"] = module.bias.grad
    for i, layer in enumerate(layers):
        names = {part: modules[f"encoder.layers.{i}.{part}"] for part in
                 ["q", "k", "v", "attn_out", "attn_norm", "ffn_in", "ffn_out", "out_norm"]}
        grads.update(layer_grads(layer, names))
    if model.head_out is not None:
        for key, module in [("head_dense", model.head_dense), ("head_out", model.head_out)]:
            grads[f"{modules[key]}.weight"] = module.weight.grad
            grads[f"{modules[key]}.bias"] = module.bias.grad

    real_rows = lambda t: [flat(t[s, : int(mask[s].sum())]) for s in range(t.shape[0])]
    return {
        "model": name,
        "loss": float(loss),
        "sequences": [{"input_ids": s["input_ids"], "token_type_ids": s.get("token_type_ids", [])}
                      for s in sequences],
        "head": flat(head),
        "r_head": flat(r_head),
        "r_hidden_layer0": real_rows(r_hidden),
        "grads": {k: flat(v) for k, v in sorted(grads.items())},
    }


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    for name in MODELS:
        golden = make(name)
        path = os.path.join(HERE, f"{name}.json")
        with open(path, "w") as f:
            json.dump(golden, f, separators=(",", ":"))
            f.write("\n")
        print(f"{path}: {len(golden['grads'])} gradients, loss {golden['loss']:.6f}")


if __name__ == "__main__":
    main()
