#!/usr/bin/env python3
"""Check that MLX loads a quantpipe native directory as a quantized model, and that what MLX
computes from it is what quantpipe computes.

For each native directory given:

  A. MLX-user load through mlx-embeddings: ``mlx_embeddings.load(DIR)`` (its class_predicate
     reads config.json's "quantization" block, per-module entries included).
  B. MLX-user load through mlx.nn.quantize alone: a skeleton of nn.Linear / nn.Embedding
     modules built from the tensor names, quantized with ``nn.quantize`` and a class_predicate
     built from the config only (``q[path]`` if the path has an entry, else every
     Linear/Embedding), then ``load_weights(strict=True)``. Checks that the config alone
     describes the file (shapes and dtypes MLX expects: uint32 weight [N, K*bits/32],
     scales/biases [N, K/group]). With mlx-lm installed, the same skeleton is also quantized
     with mlx-lm's load_model predicate (config entry, else shapes inferred from the file).

  For every quantized module of both loads, ``mx.dequantize(weight, scales, biases, group_size,
  bits, mode)`` is compared with FORMAT.md's affine rule computed in numpy from the raw
  safetensors (codes unpacked as one little-endian bit stream per row): max |diff| and the
  number of differing elements. The codes are also checked against the scheme that
  ``__metadata__`` names (symmetric: bias = -scale*2^(b-1); ternary: codes in {0,1,2},
  bias = -scale), and, where the fp32 source is found (quantpipe.json source.path), the
  dequantized weight's relative MSE is recomputed and, for affine schemes, compared with
  MLX's own ``mx.quantize`` of the source.

  C. Embeddings: the texts (default: the probes of DIR/reference_outputs.json and the first 8
     sentence1 of ../shared/data/stsb/dev_a.tsv) are embedded with the mlx-embeddings model
     (tokenizer from the directory, mean pooling + normalize = text_embeds) and, with
     --quantpipe BIN, with ``BIN embed``; cosine per text between the two (and against the fp32
     reference embeddings where the probes carry them). quantpipe's integer kernels quantize
     activations per token to int8 (absmax/127) while MLX's QuantizedLinear is weight-only, so
     the MLX model is run a second time with that activation rounding emulated
     (cos_mlxA8_quantpipe), which isolates the weights from the kernels' activation rounding.

  --capabilities probes what MLX itself accepts (modes, bits, group sizes) and self-tests the
  numpy unpacker against mx.quantize for every bit width.

Usage:
  python scripts/mlx_check.py DIR [DIR ...] [--quantpipe build/bin/quantpipe] [--out res.json]
         [--texts FILE] [--capabilities] [--no-embed] [--threads N]

Needs: mlx (Linux: pip install "mlx[cpu]"), numpy, safetensors; mlx-embeddings for A and C.
Exit status 1 when a dequantization differs by more than 1e-6 or a load fails.
"""

import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

try:
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten
except ImportError as e:  # pragma: no cover
    sys.exit(f"mlx is not installed ({e}); on Linux: pip install 'mlx[cpu]'")

DEQUANT_TOL = 1e-6
HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------- raw safetensors (numpy)

_ST_DTYPES = {"F32": np.float32, "F16": np.float16, "U32": np.uint32, "I32": np.int32,
              "I64": np.int64, "U8": np.uint8, "I8": np.int8, "F64": np.float64}


def read_safetensors(path):
    """Header + numpy arrays, read by hand (no dependency on how a library maps dtypes)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {}) or {}
    arrays = {}
    for name, h in header.items():
        if h["dtype"] == "BF16":
            raw = np.frombuffer(data, dtype="<u2", count=math.prod(h["shape"]),
                                offset=h["data_offsets"][0])
            arrays[name] = (raw.astype(np.uint32) << 16).view(np.float32).reshape(h["shape"])
            continue
        dt = np.dtype(_ST_DTYPES[h["dtype"]]).newbyteorder("<")
        b, e = h["data_offsets"]
        arrays[name] = np.frombuffer(data[b:e], dtype=dt).reshape(h["shape"])
    return header, meta, arrays


def unpack_codes(w_u32, bits, k):
    """FORMAT.md packing: each row one little-endian bit stream, code i at bits [i*b, (i+1)*b)."""
    n = w_u32.shape[0]
    by = np.ascontiguousarray(w_u32.astype("<u4")).view(np.uint8).reshape(n, -1)
    out = np.empty((n, k), np.uint32)
    weights = (np.uint32(1) << np.arange(bits, dtype=np.uint32))
    for r in range(0, n, 2048):
        bitarr = np.unpackbits(by[r:r + 2048], axis=1, bitorder="little")[:, :k * bits]
        out[r:r + 2048] = (bitarr.reshape(-1, k, bits).astype(np.uint32) * weights).sum(-1)
    return out


def numpy_dequant(codes, scales, biases, group):
    s = np.repeat(scales.astype(np.float32), group, axis=1)
    b = np.repeat(biases.astype(np.float32), group, axis=1)
    return (s * codes.astype(np.float32) + b).astype(np.float32)


# ---------------------------------------------------------------- config

def module_params(qcfg, path):
    """(quantized?, bits, group_size, mode) that config.json's "quantization" gives path."""
    ent = qcfg.get(path, None)
    if ent is False:
        return False, None, None, None
    bits, group, mode = qcfg["bits"], qcfg["group_size"], qcfg.get("mode", "affine")
    if isinstance(ent, dict):
        bits = ent.get("bits", bits)
        group = ent.get("group_size", group)
        mode = ent.get("mode", mode)
    return True, bits, group, mode


# ---------------------------------------------------------------- load B: nn.quantize skeleton

class _Holder(nn.Module):
    pass


def build_skeleton(header, qcfg):
    """nn.Module tree mirroring the tensor names; 2-D weights become nn.Linear / nn.Embedding."""
    mods = {}
    for name, h in header.items():
        mpath, _, pname = name.rpartition(".")
        mods.setdefault(mpath, {})[pname] = h

    def leaf(mpath, params):
        w = params.get("weight")
        if w is not None and (len(w["shape"]) == 2 or "scales" in params):
            n = w["shape"][0]
            if "scales" in params:
                _, bits, group, _ = module_params(qcfg, mpath)
                k = params["scales"]["shape"][1] * (group or 1)
            else:
                k = w["shape"][1]
            if mpath.rsplit(".", 1)[-1].endswith("embeddings"):
                return nn.Embedding(n, k)
            return nn.Linear(k, n, bias="bias" in params)
        m = _Holder()
        for pname, h in params.items():
            setattr(m, pname, mx.zeros(h["shape"]))
        return m

    tree = {}
    for mpath, params in mods.items():
        node = tree
        parts = mpath.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = leaf(mpath, params)

    def to_module(node):
        if isinstance(node, nn.Module):
            return node
        if node and all(k.isdigit() for k in node):
            return [to_module(node[str(i)]) for i in range(len(node))]
        m = _Holder()
        for k, v in node.items():
            setattr(m, k, to_module(v))
        return m

    return to_module(tree)


def load_with_nn_quantize(header, qcfg, mx_weights, style="config"):
    """style "config": class_predicate from the config alone (q[path], else every
    Linear/Embedding); style "mlx_lm": mlx-lm's load_model predicate (q[path], else quantized
    when the file has path.scales, with group/bits inferred from the shapes)."""
    model = build_skeleton(header, qcfg)

    if style == "mlx_lm":
        from mlx_lm.utils import infer_quant_config

        def pred(p, m):
            if p in qcfg:
                return qcfg[p]
            if not hasattr(m, "to_quantized") or f"{p}.scales" not in mx_weights:
                return False
            return infer_quant_config(p, m, mx_weights)
    else:
        def pred(p, m):
            if p in qcfg:
                return qcfg[p]
            return hasattr(m, "to_quantized")

    nn.quantize(model, group_size=qcfg["group_size"], bits=qcfg["bits"],
                mode=qcfg.get("mode", "affine"), class_predicate=pred)
    expected = dict(tree_flatten(model.parameters()))
    problems = []
    for k, v in expected.items():
        if k not in mx_weights:
            problems.append(f"MLX expects {k} {v.dtype} {v.shape}, file has none")
        elif tuple(mx_weights[k].shape) != tuple(v.shape) or mx_weights[k].dtype != v.dtype:
            problems.append(f"{k}: MLX expects {v.dtype} {tuple(v.shape)}, file has "
                            f"{mx_weights[k].dtype} {tuple(mx_weights[k].shape)}")
    for k in mx_weights:
        if k not in expected:
            problems.append(f"file has {k}, the config-built MLX model has no such parameter")
    if not problems:
        model.load_weights(list(mx_weights.items()), strict=True)
        mx.eval(model.parameters())
    return model, problems


def quantized_modules(model):
    out = {}
    for p, m in model.named_modules():
        if isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding)):
            out[p] = m
    return out


# ---------------------------------------------------------------- checks

def check_dequant(name, model, arrays, ref_cache):
    """Compare mx.dequantize of every quantized module of model with the numpy affine rule."""
    rows = []
    for p, m in sorted(quantized_modules(model).items()):
        mode = getattr(m, "mode", "affine")
        deq = mx.dequantize(m.weight, m.scales, m.biases, group_size=m.group_size, bits=m.bits,
                            mode=mode)
        deq = np.array(deq.astype(mx.float32))
        ref = ref_cache[p]
        if ref.shape != deq.shape:
            rows.append({"module": p, "error": f"shape {deq.shape} vs numpy {ref.shape}"})
            continue
        d = np.abs(deq - ref)
        rows.append({"module": p, "bits": m.bits, "group_size": m.group_size, "mode": mode,
                     "weight": [str(m.weight.dtype), list(m.weight.shape)],
                     "scales": [str(m.scales.dtype), list(m.scales.shape)],
                     "max_abs_diff": float(d.max()), "n_diff": int((d > 0).sum()),
                     "n": int(d.size)})
    return rows


def scheme_checks(p, scheme, codes, scales, biases, bits):
    """What the scheme named in __metadata__ promises about codes, scales and biases."""
    out = {"scheme": scheme}
    if "_sym_" in scheme:
        half = float(2 ** (bits - 1))
        out["bias_eq_minus_scale_2^(b-1)"] = bool(np.array_equal(
            biases.astype(np.float32), (-scales.astype(np.float32) * np.float32(half))))
        out["code_min"] = int(codes.min())
        out["code_max"] = int(codes.max())
        out["zero_exact"] = "code 2^(b-1) dequantizes to exactly 0"
    elif scheme.startswith("ternary"):
        u = np.unique(codes)
        out["codes"] = [int(x) for x in u]
        out["bias_eq_minus_scale"] = bool(np.array_equal(biases, -scales))
    if scheme.endswith("_ch") or scheme.endswith("_tensor"):
        out["scale_const_per_row"] = bool((scales == scales[:, :1]).all())
        out["bias_const_per_row"] = bool((biases == biases[:, :1]).all())
    if scheme.endswith("_tensor"):
        out["scale_const_per_tensor"] = bool((scales == scales.flat[0]).all())
    return out


def mlx_requant(src_w, scheme, bits, group, codes, scales, biases):
    """For affine group schemes: does mx.quantize of the fp32 source give quantpipe's tensors?"""
    wq, s, b = mx.quantize(mx.array(src_w.astype(np.float32)), group, bits)
    mcodes = unpack_codes(np.array(wq), bits, src_w.shape[1])
    s, b = np.array(s), np.array(b)
    return {"codes_equal_fraction": float((mcodes == codes).mean()),
            "max_code_diff": int(np.abs(mcodes.astype(np.int64) - codes).max()),
            "scales_max_abs_diff": float(np.abs(s - scales).max()),
            "biases_max_abs_diff": float(np.abs(b - biases).max())}


def find_source(native_dir):
    try:
        qp = json.loads((Path(native_dir) / "quantpipe.json").read_text())
        src = Path(qp["source"]["path"])
        if (src / "model.safetensors").exists():
            return src, qp
        return None, qp
    except Exception:
        return None, None


# ---------------------------------------------------------------- embeddings

def default_texts(native_dir):
    texts, refs = [], []
    ro = Path(native_dir) / "reference_outputs.json"
    if ro.exists():
        for pr in json.loads(ro.read_text()).get("probes", []):
            texts.append(pr["text"])
            refs.append({"input_ids": pr.get("input_ids"), "embedding": pr.get("embedding")})
    for cand in [HERE.parent.parent / "shared" / "data" / "stsb" / "dev_a.tsv",
                 HERE.parent / ".." / "shared" / "data" / "stsb" / "dev_a.tsv"]:
        if cand.exists():
            lines = cand.read_text(encoding="utf-8").splitlines()[1:9]
            for ln in lines:
                texts.append(ln.split("\t")[0])
                refs.append(None)
            break
    return texts, refs


def max_seq_length(native_dir, default=512):
    sb = Path(native_dir) / "sentence_bert_config.json"
    if sb.exists():
        return int(json.loads(sb.read_text()).get("max_seq_length", default))
    return default


def mlx_embed(model, tok, texts, max_len):
    enc = tok._tokenizer(texts, padding=True, truncation=True, max_length=max_len,
                         return_tensors="np")
    ids = mx.array(enc["input_ids"].astype(np.int32))
    mask = mx.array(enc["attention_mask"].astype(np.float32))
    tt = enc.get("token_type_ids")
    tt = mx.array(tt.astype(np.int32)) if tt is not None else None
    out = model(ids, token_type_ids=tt, attention_mask=mask)
    emb = np.array(out.text_embeds.astype(mx.float32))
    idlists = [list(map(int, r[m.astype(bool)])) for r, m in
               zip(enc["input_ids"], enc["attention_mask"])]
    return emb, idlists


class _Int8Act(nn.Module):
    """quantpipe's engine feeds its integer kernels per-token int8 activations
    (src/kernels/quant_linear.h: a = absmax/127, x_q = rint(x/a)); MLX's QuantizedLinear is
    weight-only. This wrapper fake-quantizes the input the same way, to tell the two apart."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def __call__(self, x):
        a = mx.max(mx.abs(x), axis=-1, keepdims=True) / 127.0
        safe = mx.where(a > 0, a, 1.0)
        xq = mx.where(a > 0, mx.round(x / safe) * a, 0.0)
        return self.inner(xq)


def with_int8_activations(model):
    from mlx.utils import tree_map_with_path
    leaves = model.leaf_modules()
    leaves = tree_map_with_path(
        lambda p, m: _Int8Act(m) if isinstance(m, nn.QuantizedLinear) else m, leaves,
        is_leaf=nn.Module.is_module)
    model.update_modules(leaves)
    return model


def quantpipe_embed(binary, native_dir, texts, threads):
    with tempfile.TemporaryDirectory() as td:
        inp = Path(td) / "in.jsonl"
        inp.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
        r = subprocess.run([binary, "embed", "-m", str(native_dir), "-i", str(inp), "-t",
                            str(threads), "-q"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"quantpipe embed failed ({r.returncode}): {r.stderr[-2000:]}")
        rows = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    return np.array([row["embedding"] for row in rows], np.float32)


def cos(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# ---------------------------------------------------------------- capabilities

def capabilities():
    res = {"mlx": mx.__version__, "device": str(mx.default_device())}
    w = mx.random.normal((8, 256), key=mx.random.key(0))
    acc = []
    for mode in ["affine", "mxfp4", "mxfp8", "nvfp4", "symmetric", "sym", "ternary"]:
        for bits in [1, 2, 3, 4, 5, 6, 7, 8]:
            for g in [16, 32, 64, 128, 256]:
                try:
                    q = mx.quantize(w, g, bits, mode=mode)
                    mx.eval(q)
                    acc.append((mode, bits, g, "ok"))
                except Exception as e:
                    acc.append((mode, bits, g, str(e).splitlines()[0][:120]))
    res["quantize_accepts"] = sorted({f"{m} b{b} g{g}" for m, b, g, r in acc if r == "ok"})
    res["quantize_rejects_examples"] = {}
    for m, b, g, r in acc:
        if r != "ok":
            res["quantize_rejects_examples"].setdefault(m, f"b{b} g{g}: {r}")
    # numpy unpacker self-test against MLX's own packing
    selftest = {}
    wn = np.array(w)
    for bits in [1, 2, 3, 4, 5, 6, 8]:
        for g in [32, 64, 128]:
            try:
                wq, s, b = mx.quantize(w, g, bits)
            except Exception as e:
                selftest[f"b{bits}g{g}"] = f"mlx rejects: {e}"
                continue
            codes = unpack_codes(np.array(wq), bits, wn.shape[1])
            ref = numpy_dequant(codes, np.array(s), np.array(b), g)
            deq = np.array(mx.dequantize(wq, s, b, g, bits))
            selftest[f"b{bits}g{g}"] = float(np.abs(ref - deq).max())
    res["numpy_unpack_selftest_max_abs_diff"] = selftest
    # per-module dict overrides and False through nn.quantize
    m = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 64), nn.Embedding(10, 64))
    nn.quantize(m, group_size=64, bits=4, class_predicate=lambda p, x: {
        "layers.0": False, "layers.1": {"bits": 8, "group_size": 32}}.get(p, True))
    res["per_module_overrides"] = {p: (type(x).__name__, getattr(x, "bits", None),
                                       getattr(x, "group_size", None))
                                   for p, x in m.named_modules() if p}
    try:
        nn.quantize(nn.Sequential(nn.Linear(64, 64)), group_size=64, bits=4,
                    class_predicate=lambda p, x: {"bits": 2, "mode": "ternary"})
        res["predicate_mode_ternary"] = "accepted"
    except Exception as e:
        res["predicate_mode_ternary"] = f"rejected: {str(e).splitlines()[0]}"
    return res


# ---------------------------------------------------------------- main

def check_dir(d, args):
    d = Path(d)
    rep = {"dir": str(d), "ok": True}
    cfg = json.loads((d / "config.json").read_text())
    qcfg = cfg.get("quantization")
    rep["quantization"] = qcfg
    rep["has_quantization_config"] = "quantization_config" in cfg
    if qcfg is None:
        rep["ok"] = False
        rep["error"] = "config.json has no quantization block"
        return rep
    header, meta, arrays = read_safetensors(d / "model.safetensors")
    rep["metadata"] = {k: v for k, v in meta.items() if not k.startswith("quantpipe.scheme.")}
    schemes = {k[len("quantpipe.scheme."):]: v for k, v in meta.items()
               if k.startswith("quantpipe.scheme.")}

    # numpy reference for every module with scales, and the dtype/shape contract
    ref_cache, shape_problems, scheme_rows = {}, [], {}
    src_dir, qp = find_source(d)
    src_arrays = read_safetensors(src_dir / "model.safetensors")[2] if src_dir else None
    qp_err = {t["name"]: t.get("error") for t in (qp or {}).get("tensors", [])}
    requant = {}
    for name in sorted(arrays):
        if not name.endswith(".scales"):
            continue
        p = name[:-len(".scales")]
        quant, bits, group, mode = module_params(qcfg, p)
        w, s, b = arrays[p + ".weight"], arrays[p + ".scales"], arrays.get(p + ".biases")
        if not quant:
            shape_problems.append(f"{p}: has scales but config says false")
            continue
        n, kg = s.shape
        k = kg * group
        if w.dtype != np.uint32 or list(w.shape) != [n, k * bits // 32]:
            shape_problems.append(f"{p}.weight {w.dtype} {list(w.shape)}, MLX expects uint32 "
                                  f"[{n}, {k * bits // 32}]")
        if b is None or list(b.shape) != [n, kg] or b.dtype != s.dtype:
            shape_problems.append(f"{p}.biases missing or not {s.dtype} [{n}, {kg}]")
        if mode != "affine":
            shape_problems.append(f"{p}: mode {mode}")
        codes = unpack_codes(w, bits, k)
        ref = numpy_dequant(codes, s, b, group)
        ref_cache[p] = ref
        scheme = schemes.get(p, "?")
        row = scheme_checks(p, scheme, codes, s, b, bits)
        if src_arrays is not None and p + ".weight" in src_arrays:
            sw = src_arrays[p + ".weight"].astype(np.float32)
            row["relative_mse"] = float(((ref - sw) ** 2).sum() / (sw ** 2).sum())
            e = qp_err.get(p + ".weight")
            if e:
                row["quantpipe_json_relative_mse"] = e.get("relative_mse")
            if "_affine_g" in scheme:
                requant[p] = mlx_requant(sw, scheme, bits, group, codes, s, b)
        scheme_rows[p] = row
    rep["shape_dtype_problems"] = shape_problems
    rep["schemes"] = sorted(set(schemes.values()))
    rep["scheme_checks"] = scheme_rows
    rep["mlx_requant_vs_quantpipe"] = requant
    if shape_problems:
        rep["ok"] = False

    mx_weights = mx.load(str(d / "model.safetensors"))

    # B: nn.quantize with a config-only class_predicate
    try:
        model_b, problems = load_with_nn_quantize(header, qcfg, mx_weights)
        rep["nn_quantize_load_problems"] = problems
        if problems:
            rep["ok"] = False
        else:
            rep["nn_quantize_dequant"] = check_dequant("B", model_b, arrays, ref_cache)
            rep["nn_quantize_quantized_modules"] = len(rep["nn_quantize_dequant"])
    except Exception as e:
        rep["ok"] = False
        rep["nn_quantize_error"] = f"{type(e).__name__}: {e}"

    # B': mlx-lm's predicate (shape inference for modules the config does not name)
    try:
        import mlx_lm.utils  # noqa: F401
        model_c, problems = load_with_nn_quantize(header, qcfg, mx_weights, style="mlx_lm")
        rep["mlx_lm_predicate_load_problems"] = problems
        if not problems:
            rep["mlx_lm_predicate_dequant"] = check_dequant("C", model_c, arrays, ref_cache)
    except ImportError:
        pass
    except Exception as e:
        rep["mlx_lm_predicate_error"] = f"{type(e).__name__}: {e}"

    # A: mlx_embeddings.load
    model_a = tok = None
    try:
        import mlx_embeddings
        from mlx_embeddings import load as mle_load
        model_a, tok = mle_load(str(d))
        rows = check_dequant("A", model_a, arrays, ref_cache)
        rep["mlx_embeddings_dequant"] = rows
        rep["mlx_embeddings_quantized_modules"] = len(rows)
        missing = sorted(set(ref_cache) - {r["module"] for r in rows})
        if missing:
            rep["ok"] = False
            rep["mlx_embeddings_not_quantized"] = missing
    except ImportError as e:
        rep["mlx_embeddings_error"] = f"not installed: {e}"
    except Exception as e:
        rep["ok"] = False
        rep["mlx_embeddings_error"] = f"{type(e).__name__}: {e}"

    for key in ["nn_quantize_dequant", "mlx_lm_predicate_dequant", "mlx_embeddings_dequant"]:
        rows = rep.get(key) or []
        errs = [r for r in rows if "error" in r]
        worst = max((r["max_abs_diff"] for r in rows if "error" not in r), default=None)
        rep[key + "_max_abs_diff"] = worst
        rep[key + "_n_diff"] = sum(r.get("n_diff", 0) for r in rows)
        if errs or (worst is not None and worst > DEQUANT_TOL):
            rep["ok"] = False

    # C: embeddings
    if model_a is not None and not args.no_embed:
        if args.texts:
            texts = [t for t in Path(args.texts).read_text(encoding="utf-8").splitlines() if t]
            refs = [None] * len(texts)
        else:
            texts, refs = default_texts(d)
        ml = max_seq_length(d)
        emb, ids = mlx_embed(model_a, tok, texts, ml)
        per = [{"text": t[:60], "mlx_norm": float(np.linalg.norm(e))} for t, e in zip(texts, emb)]
        for i, r in enumerate(refs):
            if r and r.get("embedding"):
                per[i]["cos_mlx_fp32ref"] = cos(emb[i], np.array(r["embedding"], np.float32))
            if r and r.get("input_ids"):
                per[i]["ids_match_ref"] = (ids[i] == r["input_ids"])
        # the same model with quantpipe's per-token int8 activations emulated
        from mlx_embeddings import load as mle_load
        emb8, _ = mlx_embed(with_int8_activations(mle_load(str(d))[0]), tok, texts, ml)
        qpe = None
        if args.quantpipe:
            try:
                qpe = quantpipe_embed(args.quantpipe, d, texts, args.threads)
                for i in range(len(texts)):
                    # MLX's text_embeds are always L2-normalised; quantpipe normalises only
                    # when the directory says so (modules.json Normalize): compare unit vectors
                    qn = float(np.linalg.norm(qpe[i]))
                    qu = qpe[i] / qn if qn > 0 else qpe[i]
                    per[i]["quantpipe_norm"] = qn
                    per[i]["cos_mlx_quantpipe"] = cos(emb[i], qpe[i])
                    per[i]["maxabs_mlx_quantpipe"] = float(np.abs(emb[i] - qu).max())
                    per[i]["cos_mlxA8_quantpipe"] = cos(emb8[i], qpe[i])
                    per[i]["maxabs_mlxA8_quantpipe"] = float(np.abs(emb8[i] - qu).max())
                    if refs[i] and refs[i].get("embedding"):
                        per[i]["cos_quantpipe_fp32ref"] = cos(
                            qpe[i], np.array(refs[i]["embedding"], np.float32))
            except Exception as e:
                rep["quantpipe_error"] = str(e)
        rep["embeddings"] = per
        rep["embeddings_max_seq_length"] = ml
        if qpe is not None:
            c = [p["cos_mlx_quantpipe"] for p in per]
            rep["cos_mlx_quantpipe_min"] = min(c)
            rep["cos_mlx_quantpipe_mean"] = sum(c) / len(c)
            c8 = [p["cos_mlxA8_quantpipe"] for p in per]
            rep["cos_mlxA8_quantpipe_min"] = min(c8)
            rep["maxabs_mlxA8_quantpipe_max"] = max(p["maxabs_mlxA8_quantpipe"] for p in per)
        rep["_texts"] = texts
        rep["_mlx_embeddings"] = emb.tolist()
        rep["_mlx_int8act_embeddings"] = emb8.tolist()
        if qpe is not None:
            rep["_quantpipe_embeddings"] = qpe.tolist()
    return rep


def summarize(rep):
    print(f"== {rep['dir']}: {'OK' if rep['ok'] else 'PROBLEMS'}")
    print(f"   quantization: {json.dumps(rep.get('quantization'))}")
    print(f"   schemes (metadata): {rep.get('schemes')}")
    for k in ["error", "nn_quantize_error", "mlx_embeddings_error", "quantpipe_error"]:
        if rep.get(k):
            print(f"   {k}: {rep[k]}")
    for p in rep.get("shape_dtype_problems", []) + rep.get("nn_quantize_load_problems", []):
        print(f"   problem: {p}")
    for k in ["mlx_lm_predicate_error"]:
        if rep.get(k):
            print(f"   {k}: {rep[k]}")
    for p in rep.get("mlx_lm_predicate_load_problems", []):
        print(f"   problem (mlx-lm predicate): {p}")
    for key, label in [("nn_quantize", "nn.quantize+config predicate"),
                       ("mlx_lm_predicate", "nn.quantize+mlx-lm predicate"),
                       ("mlx_embeddings", "mlx_embeddings.load")]:
        if key + "_dequant" in rep:
            rows = rep[key + "_dequant"]
            kinds = sorted({(r.get('bits'), r.get('group_size'), r.get('mode')) for r in rows})
            print(f"   {label}: {len(rows)} quantized modules {kinds}; mx.dequantize vs numpy "
                  f"affine: max|diff| {rep[key + '_dequant_max_abs_diff']}, "
                  f"{rep[key + '_dequant_n_diff']} elements differ")
    sc = rep.get("scheme_checks", {})
    if sc:
        by = {}
        for p, r in sc.items():
            by.setdefault(r["scheme"], []).append(r)
        for s, rows in sorted(by.items()):
            extra = {}
            for r in rows:
                for k, v in r.items():
                    if k in ("scheme", "relative_mse", "quantpipe_json_relative_mse"):
                        continue
                    if isinstance(v, bool):
                        extra[k] = extra.get(k, True) and v
                    elif isinstance(v, list):
                        extra[k] = sorted(set(extra.get(k, [])) | set(v))
                    elif isinstance(v, int):
                        extra[k + "(min/max)"] = (min(extra.get(k + "(min/max)", (v, v))[0], v),
                                                 max(extra.get(k + "(min/max)", (v, v))[1], v))
            rm = [(r["relative_mse"], r.get("quantpipe_json_relative_mse")) for r in rows
                  if "relative_mse" in r]
            agree = max((abs(a - b) / max(abs(b), 1e-30) for a, b in rm if b is not None),
                        default=None)
            print(f"   scheme {s}: {len(rows)} modules {extra}"
                  + (f"; relMSE vs source {min(a for a, _ in rm):.3g}..{max(a for a, _ in rm):.3g}"
                     f" (vs quantpipe.json: max rel. diff {agree:.2g})" if rm else ""))
    rq = rep.get("mlx_requant_vs_quantpipe", {})
    if rq:
        print(f"   mx.quantize(source) vs quantpipe ({len(rq)} affine modules): codes equal "
              f"{min(r['codes_equal_fraction'] for r in rq.values()):.6f} (min), max code diff "
              f"{max(r['max_code_diff'] for r in rq.values())}, scales max|diff| "
              f"{max(r['scales_max_abs_diff'] for r in rq.values()):.3g}, biases max|diff| "
              f"{max(r['biases_max_abs_diff'] for r in rq.values()):.3g}")
    if "embeddings" in rep:
        for p in rep["embeddings"]:
            bits = [f"{k}={v:.6f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in p.items() if k != "text"]
            print(f"   {p['text'][:40]!r:44} " + " ".join(bits))
        if "cos_mlx_quantpipe_min" in rep:
            print(f"   cos(MLX, quantpipe): min {rep['cos_mlx_quantpipe_min']:.6f} mean "
                  f"{rep['cos_mlx_quantpipe_mean']:.6f}; with int8 activations emulated in MLX: "
                  f"min {rep['cos_mlxA8_quantpipe_min']:.7f}, max|diff| "
                  f"{rep['maxabs_mlxA8_quantpipe_max']:.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="*", help="quantpipe native directories")
    ap.add_argument("--quantpipe", help="quantpipe binary: also embed with it and compare")
    ap.add_argument("--texts", help="file with one text per line (default: probes + STS-B)")
    ap.add_argument("--out", help="write the full report (with embeddings) as JSON here")
    ap.add_argument("--no-embed", action="store_true", help="skip the embedding comparison")
    ap.add_argument("--threads", type=int, default=2, help="threads for quantpipe embed")
    ap.add_argument("--capabilities", action="store_true",
                    help="probe which modes / bits / group sizes MLX accepts")
    args = ap.parse_args()
    out = {"mlx_version": mx.__version__}
    try:
        import importlib.metadata as md
        out["versions"] = {p: md.version(p) for p in
                           ["mlx", "mlx-cpu", "mlx-embeddings", "mlx-lm", "numpy",
                            "safetensors", "transformers"] if _has(md, p)}
    except Exception:
        pass
    ok = True
    if args.capabilities:
        out["capabilities"] = capabilities()
        print(json.dumps(out["capabilities"], indent=1))
    out["dirs"] = []
    for d in args.dirs:
        rep = check_dir(d, args)
        summarize(rep)
        ok = ok and rep["ok"]
        out["dirs"].append(rep)
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))
    return 0 if ok else 1


def _has(md, p):
    try:
        md.version(p)
        return True
    except Exception:
        return False


if __name__ == "__main__":
    sys.exit(main())
