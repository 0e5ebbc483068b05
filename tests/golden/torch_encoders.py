"""Plain PyTorch encoders with Hugging Face semantics, and a safetensors reader/writer.

This is the oracle quantpipe's golden files are made with, and the PyTorch side of the
benchmark (bench/torch_bert_bench.py imports it), so there is one copy of the model code.
`transformers` and `safetensors` are not available here, so both are written out by hand,
following what those libraries do:

- BERT, RoBERTa and DistilBERT share one post-LayerNorm encoder; only tensor names,
  embeddings (token types, position ids) and heads differ.
- GELU is the exact (erf) one, as HF's "gelu".
- Padding is masked by adding float32's minimum to the attention scores of padded keys.
  (DistilBERT uses masked_fill with the same value: the softmax gives the same zeros.)
"""

import json
import math
import os
import struct
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------- safetensors

_NUMPY_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path):
    """Returns {name: tensor}. Float tensors come back as float32 (F16/BF16 upcast), which is
    what HF does when a half-precision checkpoint is loaded into an fp32 model."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors header")
    (header_len,) = struct.unpack_from("<Q", data, 0)
    if 8 + header_len > len(data):
        raise ValueError(f"{path}: header length {header_len} runs past the file")
    header = json.loads(data[8:8 + header_len])
    body = memoryview(data)[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        if not 0 <= start <= end <= len(body):
            raise ValueError(f"{path}: {name} offsets {start}..{end} outside the data")
        tensors[name] = _decode(body[start:end], info["dtype"], info["shape"], name)
    return tensors


def _decode(buf, dtype, shape, name):
    if dtype == "BF16":
        # A bfloat16 is the upper half of a float32: widening the bits is exact.
        arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    elif dtype in _NUMPY_DTYPES:
        arr = np.frombuffer(buf, dtype=_NUMPY_DTYPES[dtype])
    else:
        raise ValueError(f"{name}: dtype {dtype} not supported")
    if arr.size != math.prod(shape):
        raise ValueError(f"{name}: {arr.size} elements for shape {shape}")
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
    return torch.from_numpy(arr.reshape(shape).copy())


def write_safetensors(path, tensors, dtype="F32"):
    """Writes {name: float tensor} with every tensor stored as `dtype` (F32, F16 or BF16)."""
    header = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        raw = _encode(tensors[name], dtype)
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # pad with spaces, as the reference writer does, so data is 8-aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in blobs:
            f.write(raw)


def _encode(tensor, dtype):
    t = tensor.detach().contiguous()
    if dtype == "F32":
        return t.float().numpy().astype("<f4").tobytes()
    if dtype == "F16":
        return t.half().numpy().astype("<f2").tobytes()
    if dtype == "BF16":  # numpy has no bfloat16: round in torch, then take the bits
        return t.bfloat16().view(torch.int16).numpy().astype("<i2").tobytes()
    raise ValueError(f"dtype {dtype} not supported")


# ----------------------------------------------------------------------------- hyper-parameters

@dataclass
class HParams:
    model_type: str
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int  # 0: no token type embeddings (DistilBERT)
    eps: float
    pad_id: int


def hparams_from_config(cfg):
    """Reads the keys each HF config class uses for the same quantities."""
    kind = cfg["model_type"]
    if kind == "distilbert":
        _require_gelu(cfg["activation"])
        if cfg.get("sinusoidal_pos_embds"):
            raise ValueError("sinusoidal DistilBERT position embeddings not supported")
        # HF DistilBERT hard-codes LayerNorm eps 1e-12; its config has no key for it.
        return HParams(kind, cfg["dim"], cfg["n_layers"], cfg["n_heads"], cfg["hidden_dim"],
                       cfg["vocab_size"], cfg["max_position_embeddings"], 0, 1e-12,
                       cfg.get("pad_token_id", 0))
    if kind not in ("bert", "roberta"):
        raise ValueError(f"model_type {kind} not supported")
    _require_gelu(cfg["hidden_act"])
    return HParams(kind, cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"],
                   cfg["intermediate_size"], cfg["vocab_size"], cfg["max_position_embeddings"],
                   cfg.get("type_vocab_size", 2), cfg.get("layer_norm_eps", 1e-12),
                   cfg.get("pad_token_id", 0))


def _require_gelu(act):
    if act != "gelu":
        raise ValueError(f"activation {act} not supported (only exact 'gelu')")


# ----------------------------------------------------------------------------- modules

class Embeddings(nn.Module):
    def __init__(self, hp):
        super().__init__()
        self.word = nn.Embedding(hp.vocab, hp.hidden)
        self.position = nn.Embedding(hp.max_positions, hp.hidden)
        self.token_type = nn.Embedding(hp.type_vocab, hp.hidden) if hp.type_vocab else None
        self.norm = nn.LayerNorm(hp.hidden, eps=hp.eps)

    def forward(self, input_ids, token_type_ids, position_ids):
        x = self.word(input_ids)
        if self.token_type is not None:  # HF adds token types before positions; keep the order
            x = x + self.token_type(token_type_ids)
        return self.norm(x + self.position(position_ids))


class Layer(nn.Module):
    """Post-LayerNorm transformer block: LN(x + attn(x)), then LN(a + ffn(a))."""

    def __init__(self, hp):
        super().__init__()
        self.heads = hp.heads
        self.q, self.k, self.v = (nn.Linear(hp.hidden, hp.hidden) for _ in range(3))
        self.attn_out = nn.Linear(hp.hidden, hp.hidden)
        self.attn_norm = nn.LayerNorm(hp.hidden, eps=hp.eps)
        self.ffn_in = nn.Linear(hp.hidden, hp.intermediate)
        self.ffn_out = nn.Linear(hp.intermediate, hp.hidden)
        self.out_norm = nn.LayerNorm(hp.hidden, eps=hp.eps)

    def forward(self, x, mask_bias):
        a = self.attn_norm(x + self.attn_out(self._attention(x, mask_bias)))
        return self.out_norm(a + self.ffn_out(F.gelu(self.ffn_in(a))))

    def _attention(self, x, mask_bias):
        batch, length, hidden = x.shape
        head_dim = hidden // self.heads

        def split(t):  # [B, L, H] -> [B, heads, L, head_dim]
            return t.view(batch, length, self.heads, head_dim).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim) + mask_bias
        context = scores.softmax(dim=-1) @ v
        return context.transpose(1, 2).reshape(batch, length, hidden)


class Encoder(nn.Module):
    def __init__(self, hp):
        super().__init__()
        self.hp = hp
        self.embeddings = Embeddings(hp)
        self.layers = nn.ModuleList(Layer(hp) for _ in range(hp.layers))

    def forward(self, input_ids, token_type_ids, attention_mask):
        x = self.embeddings(input_ids, token_type_ids, self.position_ids(input_ids))
        mask_bias = attention_bias(attention_mask)
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x

    def position_ids(self, input_ids):
        if self.hp.model_type == "roberta":
            # create_position_ids_from_input_ids: count non-pad tokens, starting at pad_id + 1;
            # pad tokens themselves get pad_id.
            real = input_ids.ne(self.hp.pad_id).long()
            return torch.cumsum(real, dim=1) * real + self.hp.pad_id
        return torch.arange(input_ids.shape[1]).expand_as(input_ids)


def attention_bias(attention_mask):
    """[B, 1, 1, L]: 0 for real keys, float32 min for padding (HF's extended attention mask)."""
    keep = attention_mask[:, None, None, :].to(torch.float32)
    return (1.0 - keep) * torch.finfo(torch.float32).min


class EncoderModel(nn.Module):
    """Encoder plus an optional head on the first token: pooled = act(dense(h[:, 0])) and
    logits = out(pooled). This one shape covers BERT's pooler (+ classifier), RoBERTa's
    classification head and DistilBERT's pre_classifier/ReLU/classifier."""

    def __init__(self, hp, head_act=None, num_labels=0):
        super().__init__()
        self.encoder = Encoder(hp)
        self.head_act = head_act
        self.head_dense = nn.Linear(hp.hidden, hp.hidden) if head_act else None
        self.head_out = nn.Linear(hp.hidden, num_labels) if num_labels else None

    def forward(self, input_ids, token_type_ids, attention_mask):
        h = self.encoder(input_ids, token_type_ids, attention_mask)
        out = {"last_hidden_state": h}
        if self.head_dense is not None:
            pooled = _ACTIVATIONS[self.head_act](self.head_dense(h[:, 0]))
            if self.head_out is None:
                out["pooler_output"] = pooled
            else:
                out["logits"] = self.head_out(pooled)
        return out


_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


def mean_pool_normalize(hidden, attention_mask):
    """sentence-transformers Pooling(mean) followed by Normalize: padding is left out of the mean."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    return F.normalize(summed / counts, p=2, dim=1)


# ----------------------------------------------------------------------------- HF names

# architecture -> (prefix of the encoder's tensors, head dense module, its activation, output module)
ARCHITECTURES = {
    "BertModel": ("", "pooler.dense", "tanh", None),
    "BertForSequenceClassification": ("bert.", "bert.pooler.dense", "tanh", "classifier"),
    "RobertaModel": ("", "pooler.dense", "tanh", None),
    "RobertaForSequenceClassification": ("roberta.", "classifier.dense", "tanh", "classifier.out_proj"),
    "DistilBertModel": ("", None, None, None),
    "DistilBertForSequenceClassification": ("distilbert.", "pre_classifier", "relu", "classifier"),
}

_BERT_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
               "attn_out": "attention.output.dense", "attn_norm": "attention.output.LayerNorm",
               "ffn_in": "intermediate.dense", "ffn_out": "output.dense",
               "out_norm": "output.LayerNorm"}
_DISTILBERT_LAYER = {"q": "attention.q_lin", "k": "attention.k_lin", "v": "attention.v_lin",
                     "attn_out": "attention.out_lin", "attn_norm": "sa_layer_norm",
                     "ffn_in": "ffn.lin1", "ffn_out": "ffn.lin2", "out_norm": "output_layer_norm"}
_EMBEDDINGS = {"word": "word_embeddings", "position": "position_embeddings",
               "token_type": "token_type_embeddings", "norm": "LayerNorm"}


def hf_module_names(model, architecture, prefix):
    """{our module path: HF module path} for every module that holds parameters."""
    hp = model.encoder.hp
    distil = hp.model_type == "distilbert"
    layer_names, stack = (_DISTILBERT_LAYER, "transformer.layer") if distil else (_BERT_LAYER, "encoder.layer")
    names = {f"encoder.embeddings.{ours}": f"{prefix}embeddings.{theirs}"
             for ours, theirs in _EMBEDDINGS.items() if ours != "token_type" or hp.type_vocab}
    for i in range(hp.layers):
        for ours, theirs in layer_names.items():
            names[f"encoder.layers.{i}.{ours}"] = f"{prefix}{stack}.{i}.{theirs}"
    _, dense, _, out = ARCHITECTURES[architecture]
    if model.head_dense is not None:
        names["head_dense"] = dense
    if model.head_out is not None:
        names["head_out"] = out
    return names


def hf_state_dict(model, architecture, prefix=None):
    """Our parameters under their Hugging Face names (what a checkpoint of `architecture` holds)."""
    prefix = ARCHITECTURES[architecture][0] if prefix is None else prefix
    modules = hf_module_names(model, architecture, prefix)
    state = {}
    for name, tensor in model.state_dict().items():
        module, param = name.rsplit(".", 1)
        state[f"{modules[module]}.{param}"] = tensor
    return state


# ----------------------------------------------------------------------------- loading

def build_model(cfg, architecture, head=True):
    hp = hparams_from_config(cfg)
    _, dense, act, out = ARCHITECTURES[architecture]
    head_act = act if head and dense else None
    num_labels = len(cfg.get("id2label", {})) if head_act and out else 0
    return EncoderModel(hp, head_act, num_labels)


def load_model(model_dir):
    """Loads a HF model directory (config.json + model.safetensors) in fp32.
    Returns (model, config dict, architecture)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    architecture = cfg["architectures"][0]
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture {architecture} not supported")
    tensors = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    prefix = _detect_prefix(tensors, cfg["model_type"], architecture)
    _, dense, _, _ = ARCHITECTURES[architecture]
    # Base models may be saved without a pooler (add_pooling_layer=False); then there is no head.
    model = build_model(cfg, architecture, head=dense is not None and f"{dense}.weight" in tensors)
    modules = hf_module_names(model, architecture, prefix)
    state = {}
    for name in model.state_dict():
        module, param = name.rsplit(".", 1)
        hf_name = f"{modules[module]}.{param}"
        if hf_name not in tensors:
            raise KeyError(f"{model_dir}: tensor {hf_name} missing")
        state[name] = tensors[hf_name]
    model.load_state_dict(state, strict=True)
    return model.eval(), cfg, architecture


def _detect_prefix(tensors, model_type, architecture):
    """Base models are normally saved without the 'bert.' prefix, but some checkpoints keep it."""
    prefix = ARCHITECTURES[architecture][0]
    if not prefix and any(n.startswith(f"{model_type}.embeddings.") for n in tensors):
        return f"{model_type}."
    return prefix


def pad_batch(sequences, pad_id):
    """Right-pads [{"input_ids", optional "token_type_ids"}] into [B, Lmax] LongTensors:
    (input_ids padded with pad_id, token_type_ids padded with 0, attention_mask)."""
    longest = max(len(s["input_ids"]) for s in sequences)
    ids = torch.full((len(sequences), longest), pad_id, dtype=torch.long)
    types = torch.zeros((len(sequences), longest), dtype=torch.long)
    mask = torch.zeros((len(sequences), longest), dtype=torch.long)
    for row, s in enumerate(sequences):
        n = len(s["input_ids"])
        ids[row, :n] = torch.tensor(s["input_ids"], dtype=torch.long)
        if s.get("token_type_ids"):
            types[row, :n] = torch.tensor(s["token_type_ids"], dtype=torch.long)
        mask[row, :n] = 1
    return ids, types, mask
