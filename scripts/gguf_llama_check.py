#!/usr/bin/env python3
"""GGUF files from quantpipe, run by llama.cpp itself: every file parsed by the
PyPI `gguf` package (keys, tensor infos, offsets, alignment), then embedded or
classified by llama.cpp (PyPI llama-cpp-python) and by quantpipe (which reads
the same .gguf back), text by text.

  /work/venvs/peers/bin/python scripts/gguf_llama_check.py --quantpipe build/bin/quantpipe
      [--shared ../shared] [--texts 200] [--work DIR] [--out results.json]
      [--write-golden tests/golden/gguf/llama_cpp_outputs.json]

Passes (exit 0) when, for every file, the cosine between llama.cpp's and
quantpipe's embeddings (or logits) is >= 0.999 for every text and the
classifiers agree on >= 99% of the labels. llama-cpp-python must be built for
this CPU (see docs/GGUF.md: a wheel compiled with -march=native elsewhere dies
with "Illegal instruction").

--write-golden records llama.cpp's outputs for the first 16 texts of the two
files the default test run re-creates (tests/integration/gguf_llama_golden_test.cpp),
with each file's sha256 so the test knows it rebuilt the very same bytes.
"""
import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGUFReader

try:
    import llama_cpp
except ImportError as e:
    sys.exit(f"llama-cpp-python is not installed ({e})")

MIN_COSINE = 0.999
MIN_AGREEMENT = 0.99
GOLDEN_TEXTS = 16

# (name, model, kind, how): how is ("convert", [args]) → convert --format gguf, or ("export", type) from the HF dir.
CASES = [
    ("sts-q4-carried", "minilm-l6-sts", "embed", ("convert", [])),
    ("sts-q8sym-carried", "minilm-l6-sts", "embed", ("convert", ["--bits", "8", "--scheme", "sym", "--group-size", "32"])),
    ("sts-ternary-carried", "minilm-l6-sts", "embed", ("convert", ["--bits", "ternary", "--method", "rtn"])),
    ("sts-Q4_K", "minilm-l6-sts", "embed", ("export", "Q4_K")),
    ("sts-Q5_K", "minilm-l6-sts", "embed", ("export", "Q5_K")),
    ("sts-Q6_K", "minilm-l6-sts", "embed", ("export", "Q6_K")),
    ("sts-Q8_0", "minilm-l6-sts", "embed", ("export", "Q8_0")),
    ("sts-F16", "minilm-l6-sts", "embed", ("export", "F16")),
    ("genre-q4-carried", "minilm-l6-genre", "classify", ("convert", [])),
    ("genre-Q8_0", "minilm-l6-genre", "classify", ("export", "Q8_0")),
]
GOLDEN_CASES = ["sts-q4-carried", "genre-q4-carried"]
# Tiny random models of each family llama.cpp runs, with Hugging Face's own outputs
# (../shared/oracle/<arch>-tiny): llama.cpp runs their token ids from the exported file.
ORACLE_ARCHS = ["bert", "roberta", "xlm-roberta", "distilbert", "modernbert"]


def texts_for(shared, model, n):
    if model == "minilm-l6-sts":
        with open(os.path.join(shared, "data/stsb/dev_a.tsv"), newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        return [r["sentence1"] for r in rows[:n]]
    with open(os.path.join(shared, "data/genre/dev_a.jsonl")) as f:
        return [json.loads(line)["text"] for line in f][:n]


def make_gguf(qp, shared, model, how, out):
    src = os.path.join(shared, "models", model)
    if how[0] == "convert":
        cmd = [qp, "-q", "convert", "-m", src, "-o", out, "--format", "gguf", "--force"] + how[1]
    else:
        cmd = [qp, "-q", "export", src, "--gguf", out, "--type", how[1], "--force"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return cmd


def check_with_gguf_package(path):
    r = GGUFReader(path)
    size = os.path.getsize(path)
    align = int(r.fields["general.alignment"].contents()) if "general.alignment" in r.fields else 32
    problems = []
    for t in r.tensors:
        if t.data_offset % align:
            problems.append(f"{t.name}: data at {t.data_offset} is not {align}-aligned")
        if t.data_offset + t.n_bytes > size:
            problems.append(f"{t.name}: ends past the file")
    arch = r.fields["general.architecture"].contents()
    return {"tensors": len(r.tensors), "keys": len(r.fields), "architecture": arch, "problems": problems}


def llama_outputs(path, texts, kind, labels):
    pooling = llama_cpp.LLAMA_POOLING_TYPE_RANK if kind == "classify" else llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED
    m = llama_cpp.Llama(model_path=path, embedding=True, verbose=False, n_ctx=512, n_batch=512, n_ubatch=512,
                        n_threads=2, pooling_type=pooling)
    out = []
    for text in texts:  # one at a time: RANK rows come back as the first n_labels values
        v = m.embed(text, normalize=False)
        v = np.asarray(v[0] if isinstance(v[0], list) else v, dtype=np.float64)
        out.append(v[:labels] if kind == "classify" else v)
    m.close()
    return np.stack(out)


def quantpipe_outputs(qp, path, texts, kind):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(t.replace("\n", " ") for t in texts) + "\n")
        name = f.name
    try:
        res = subprocess.run([qp, "-q", kind, "-m", path], stdin=open(name), capture_output=True, text=True, check=True)
    finally:
        os.unlink(name)
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    key = "embedding" if kind == "embed" else "logits"
    return np.asarray([r[key] for r in rows], dtype=np.float64)


def llama_on_ids(path, rows, pooling):
    """llama.cpp's output for token-id rows: RANK logits, or per-token states (NONE)."""
    m = llama_cpp.Llama(model_path=path, embedding=True, verbose=False, n_ctx=256, n_batch=256, n_ubatch=256,
                        n_threads=2, pooling_type=pooling)
    out = []
    for ids in rows:
        m.tokenize = lambda *a, _ids=ids, **k: list(_ids)  # feed the ids as they are
        out.append(np.asarray(m.embed("x", normalize=False), dtype=np.float64))
    m.close()
    return out


def oracle_check(qp, shared, work, arch):
    """Export ../shared/oracle/<arch>-tiny as F32 (a placeholder vocabulary: the
    oracle models carry none; ids go in directly) and compare llama.cpp with
    Hugging Face's reference logits or last hidden states on the unpadded rows."""
    import shutil
    src = os.path.join(shared, "oracle", f"{arch}-tiny")
    d = os.path.join(work, f"oracle-{arch}")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(src, d)
    cfg = json.load(open(os.path.join(d, "config.json")))
    vocab = [f"w{i}" for i in range(cfg["vocab_size"])]
    for i, t in {0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]"}.items():
        if i < len(vocab):
            vocab[i] = t
    open(os.path.join(d, "vocab.txt"), "w").write("\n".join(vocab) + "\n")
    path = os.path.join(work, f"oracle-{arch}.gguf")
    res = subprocess.run([qp, "-q", "export", d, "--gguf", path, "--type", "F32", "--force"], capture_output=True,
                         text=True)
    if res.returncode != 0:
        return {"file": f"oracle-{arch}", "pass": False, "error": res.stderr.strip()}
    ref = json.load(open(os.path.join(d, "reference_outputs.json")))
    rows, idx = [], []
    for r, (ids, mask) in enumerate(zip(ref["input_ids"], ref["attention_mask"])):
        n = sum(mask)
        if arch == "bert" and ids[:n].count(102) > 1:
            continue  # a sentence pair: llama.cpp gives every token type 0
        rows.append(ids[:n])
        idx.append(r)
    head = GGUFReader(path).fields.get(f"{'modern-bert' if arch == 'modernbert' else 'bert'}.pooling_type")
    rank = head is not None and int(head.contents()) == 4
    outs = llama_on_ids(path, rows, llama_cpp.LLAMA_POOLING_TYPE_RANK if rank else llama_cpp.LLAMA_POOLING_TYPE_NONE)
    worst_cos, worst_abs = 1.0, 0.0
    for r, o in zip(idx, outs):
        want = np.asarray(ref["logits"][r] if rank else ref["last_hidden_state"][r][: len(rows[idx.index(r)])],
                          dtype=np.float64)
        got = o[: want.shape[-1]] if rank else o[:, : want.shape[-1]]
        a, b = got.reshape(-1 if rank else want.shape[0], want.shape[-1]), want.reshape(-1, want.shape[-1])
        worst_cos = min(worst_cos, float(cosines(a, b).min()))
        worst_abs = max(worst_abs, float(np.abs(a - b).max()))
    return {"file": f"oracle-{arch}", "compared": "logits (RANK)" if rank else "last hidden state",
            "rows": len(rows), "cosine_min": worst_cos, "max_abs": worst_abs,
            "gguf_package": check_with_gguf_package(path), "pass": worst_cos >= MIN_COSINE}


def strip_hf_tokenizer(source, out):
    """A copy of a GGUF without tokenizer.huggingface.json, as llama.cpp's converter writes files."""
    import gguf
    reader = GGUFReader(source)
    w = gguf.GGUFWriter(out, arch=reader.fields["general.architecture"].contents())
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "tokenizer.huggingface.json"):
            continue
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_key_value(key, field.contents(), vtype, sub_type=field.types[-1])
        else:
            w.add_key_value(key, field.contents(), vtype)
    for t in reader.tensors:
        w.add_tensor(t.name, np.asarray(t.data), raw_dtype=t.tensor_type)  # byte shape → logical shape
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llama_written_files(qp, shared, work, texts):
    """Files llama.cpp itself wrote, read by quantpipe: llama-quantize's Q4_0 / Q8_0 / Q4_K_M of an
    F32 export, and a copy without tokenizer.huggingface.json (as convert_hf_to_gguf.py writes
    them), so quantpipe rebuilds the WordPiece vocabulary from llama.cpp's tokens."""
    f32 = os.path.join(work, "sts-f32.gguf")
    subprocess.run([qp, "-q", "export", os.path.join(shared, "models", "minilm-l6-sts"), "--gguf", f32, "--type", "F32",
                    "--force"], check=True, stdout=subprocess.DEVNULL)
    rows = []
    for name, ftype in [("Q4_0", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0), ("Q8_0", llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0),
                        ("Q4_K_M", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M)]:
        out = os.path.join(work, f"llama-quantize-{name}.gguf")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.nthread = 2
        if llama_cpp.llama_model_quantize(f32.encode(), out.encode(), params) != 0:
            raise SystemExit(f"llama_model_quantize {name} failed")
        rows.append((f"llama-quantize {name}", out))
    # the same file without the Hugging Face tokenizer: only llama.cpp's tokens remain
    stripped = os.path.join(work, "llama-quantize-Q4_0-no-hf-tokenizer.gguf")
    strip_hf_tokenizer(rows[0][1], stripped)
    rows.append(("llama-quantize Q4_0, no tokenizer.huggingface.json", stripped))
    results = []
    for label, path in rows:
        ours = quantpipe_outputs(qp, path, texts, "embed")
        theirs = llama_outputs(path, texts, "embed", 0)
        cos = cosines(ours, theirs)
        results.append({"file": label, "cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()),
                        "pass": bool(cos.min() >= MIN_COSINE), "bytes": os.path.getsize(path)})
    return results


def write_random_roberta(d, tokenizer_dir, vocab):
    """A RoBERTa with random weights around a real tokenizer, so llama.cpp's BPE reading of
    the exported tokenizer keys can be checked on real text (the shared models are all WordPiece)."""
    import shutil
    from safetensors.numpy import save_file
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(tokenizer_dir):
        if f.startswith("tokenizer") or f in ("vocab.json", "merges.txt", "special_tokens_map.json"):
            shutil.copy(os.path.join(tokenizer_dir, f), d)
    h, inter, positions = 32, 64, 514
    cfg = {"model_type": "roberta", "architectures": ["RobertaModel"], "hidden_size": h, "num_hidden_layers": 1,
           "num_attention_heads": 2, "intermediate_size": inter, "max_position_embeddings": positions,
           "vocab_size": vocab, "type_vocab_size": 1, "pad_token_id": 1, "layer_norm_eps": 1e-5, "hidden_act": "gelu"}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    rng = np.random.default_rng(0)
    w = lambda *shape: (rng.standard_normal(shape) * 0.02).astype(np.float32)
    t = {"roberta.embeddings.word_embeddings.weight": w(vocab, h),
         "roberta.embeddings.position_embeddings.weight": w(positions, h),
         "roberta.embeddings.token_type_embeddings.weight": w(1, h),
         "roberta.embeddings.LayerNorm.weight": np.ones(h, np.float32),
         "roberta.embeddings.LayerNorm.bias": np.zeros(h, np.float32)}
    p = "roberta.encoder.layer.0."
    for name, shape in [("attention.self.query", (h, h)), ("attention.self.key", (h, h)), ("attention.self.value", (h, h)),
                        ("attention.output.dense", (h, h)), ("intermediate.dense", (inter, h)), ("output.dense", (h, inter))]:
        t[p + name + ".weight"] = w(*shape)
        t[p + name + ".bias"] = w(shape[0])
    for name in ["attention.output.LayerNorm", "output.LayerNorm"]:
        t[p + name + ".weight"] = np.ones(h, np.float32)
        t[p + name + ".bias"] = np.zeros(h, np.float32)
    save_file(t, os.path.join(d, "model.safetensors"))


def tokenizer_check(qp, shared, work, texts):
    """llama.cpp's tokenizer reading quantpipe's tokenizer keys gives the ids quantpipe (= Hugging
    Face) gives: WordPiece (MiniLM) and byte-level BPE (roberta-large-mnli's tokenizer)."""
    cases = [("WordPiece (all-MiniLM-L6-v2)", os.path.join(shared, "models", "minilm-l6-sts"))]
    roberta = os.path.join(work, "random-roberta")
    write_random_roberta(roberta, os.path.join(shared, "tokenizers", "roberta-large-mnli"), 50265)
    cases.append(("byte-level BPE (roberta-large-mnli)", roberta))
    # and quantpipe's rebuild of the BPE vocabulary from llama.cpp's keys alone (no tokenizer.huggingface.json)
    exported = os.path.join(work, "tok-random-roberta.gguf")
    subprocess.run([qp, "-q", "export", roberta, "--gguf", exported, "--type", "F16", "--force"], check=True,
                   stdout=subprocess.DEVNULL)
    stripped = os.path.join(work, "tok-roberta-no-hf.gguf")
    strip_hf_tokenizer(exported, stripped)
    imported = os.path.join(work, "tok-roberta-imported")
    subprocess.run([qp, "-q", "import", stripped, "-o", imported, "--force"], check=True, stdout=subprocess.DEVNULL)
    cases.append(("BPE rebuilt by quantpipe from llama.cpp keys", imported))
    rows = []
    for label, d in cases:
        path = stripped if d == imported else os.path.join(work, "tok-" + os.path.basename(d) + ".gguf")
        if d != imported:
            subprocess.run([qp, "-q", "export", d, "--gguf", path, "--type", "F16", "--force"], check=True,
                           stdout=subprocess.DEVNULL)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("\n".join(t.replace("\n", " ") for t in texts) + "\n")
        res = subprocess.run([qp, "-q", "tokenize", "-m", d, "-i", f.name], capture_output=True, text=True, check=True)
        os.unlink(f.name)
        ours = [json.loads(line)["input_ids"] for line in res.stdout.splitlines() if line.strip()]
        m = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        theirs = [m.tokenize(t.encode(), add_bos=True, special=False) for t in texts]
        same = sum(a == b for a, b in zip(ours, theirs))
        first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), None)
        rows.append({"file": f"tokenizer {label}", "identical": same, "texts": len(texts),
                     "first_difference": None if first is None else {"text": texts[first], "quantpipe": ours[first],
                                                                      "llama_cpp": theirs[first]},
                     "pass": same == len(texts)})
    return rows


def cosines(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quantpipe", required=True)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("--texts", type=int, default=200)
    ap.add_argument("--work", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--write-golden", default=None)
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="gguf-llama-check-")
    os.makedirs(work, exist_ok=True)
    os.environ.setdefault("XDG_CACHE_HOME", os.path.join(work, "cache"))  # quantpipe's .gguf import cache
    results, golden, failed = [], {"llama_cpp_python": llama_cpp.__version__, "files": {}}, False
    for name, model, kind, how in CASES:
        path = os.path.join(work, name + ".gguf")
        cmd = make_gguf(args.quantpipe, args.shared, model, how, path)
        parsed = check_with_gguf_package(path)
        texts = texts_for(args.shared, model, args.texts)
        labels = 4 if kind == "classify" else 0
        ours = quantpipe_outputs(args.quantpipe, path, texts, kind)
        theirs = llama_outputs(path, texts, kind, ours.shape[1] if kind == "classify" else labels)
        cos = cosines(ours, theirs)
        row = {"file": name, "how": " ".join(cmd[2:]), "gguf_package": parsed, "texts": len(texts),
               "cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()),
               "bytes": os.path.getsize(path)}
        ok = cos.min() >= MIN_COSINE and not parsed["problems"]
        if kind == "classify":
            agree = float((ours.argmax(1) == theirs.argmax(1)).mean())
            row["label_agreement"] = agree
            ok = ok and agree >= MIN_AGREEMENT
        row["pass"] = bool(ok)
        failed |= not ok
        results.append(row)
        print(f"{'PASS' if ok else 'FAIL'} {name:22s} {row['bytes'] / 2**20:6.2f} MiB  cos min {cos.min():.6f} "
              f"mean {cos.mean():.6f}" + (f"  labels agree {row['label_agreement']:.3f}" if kind == "classify" else "")
              + f"  gguf: {parsed['tensors']} tensors, {parsed['keys']} keys" + (f" PROBLEMS {parsed['problems']}" if parsed["problems"] else ""),
              flush=True)
        if name in GOLDEN_CASES:
            with open(path, "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
            golden["files"][name] = {"model": model, "kind": kind, "convert_args": how[1], "sha256": sha,
                                     "texts": texts[:GOLDEN_TEXTS], "llama_cpp": theirs[:GOLDEN_TEXTS].tolist()}
    for arch in ORACLE_ARCHS:
        row = oracle_check(args.quantpipe, args.shared, work, arch)
        results.append(row)
        failed |= not row["pass"]
        if "error" in row:
            print(f"FAIL {row['file']:22s} export: {row['error']}", flush=True)
        else:
            print(f"{'PASS' if row['pass'] else 'FAIL'} {row['file']:22s} vs Hugging Face ({row['compared']}, "
                  f"{row['rows']} rows): cos min {row['cosine_min']:.6f}, max |diff| {row['max_abs']:.2e}", flush=True)
    for row in llama_written_files(args.quantpipe, args.shared, work, texts_for(args.shared, "minilm-l6-sts", args.texts)):
        results.append(row)
        failed |= not row["pass"]
        print(f"{'PASS' if row['pass'] else 'FAIL'} read by quantpipe: {row['file']:45s} {row['bytes'] / 2**20:6.2f} MiB  "
              f"cos min {row['cosine_min']:.6f} mean {row['cosine_mean']:.6f}", flush=True)
    for row in tokenizer_check(args.quantpipe, args.shared, work, texts_for(args.shared, "minilm-l6-sts", args.texts)):
        results.append(row)
        failed |= not row["pass"]
        print(f"{'PASS' if row['pass'] else 'FAIL'} {row['file']:45s} identical ids on {row['identical']}/{row['texts']} "
              f"texts" + (f"; first difference: {row['first_difference']}" if row["first_difference"] else ""), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"llama_cpp_python": llama_cpp.__version__, "results": results}, f, indent=1)
    if args.write_golden:
        with open(args.write_golden, "w") as f:
            json.dump(golden, f, indent=0)
        print("wrote", args.write_golden)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
