#!/usr/bin/env bash
# Side by side on the same inputs and threads: PyTorch fp32 and dynamic int8
# (Debian python3-torch, the plain BERT of tests/golden/torch_encoders.py) and
# quantpipe fp32 / q8_sym_ch / q4_affine_g64, each as a ratio to quantpipe int8.
# Inputs: SEQUENCES texts cut to exactly SEQ_LEN tokens (default 64 × 128),
# batch BATCH_SIZE (default 32). ONNX Runtime is not part of this script yet.
#
# Usage: bench/compare_peers.sh [MODEL_DIR]   (default ../shared/models/minilm-l6-sts)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-../shared/models/minilm-l6-sts}
seq_len=${SEQ_LEN:-128}
count=${SEQUENCES:-64}
batch=${BATCH_SIZE:-32}
runs=${RUNS:-3}
threads_list=${THREADS:-"1 2"}
scripts/install-deps.sh --oracles
[[ -x build/bin/quantpipe ]] || scripts/build.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Long texts (several example sentences run together) so every one is cut at seq_len.
/usr/bin/python3 - "$count" > "$work/texts.txt" <<'PY'
import sys
words = ("the committee will publish its final report next spring while a man is playing a guitar "
         "and two children are playing baseball at the park near the old river bridge").split()
for i in range(int(sys.argv[1])):
    print(" ".join(words[(i + j) % len(words)] for j in range(400)))
PY
build/bin/quantpipe -q tokenize --model "$model" --input "$work/texts.txt" --max-length "$seq_len" > "$work/ids.jsonl"
build/bin/quantpipe -q convert --model "$model" --out "$work/q8" --bits 8 --per-channel --scheme sym >/dev/null 2>&1
build/bin/quantpipe -q convert --model "$model" --out "$work/q4" --bits 4 --group-size 64 >/dev/null 2>&1

for threads in $threads_list; do
  rows=()
  for dir in "$model" "$work/q8" "$work/q4"; do
    rows+=("$(build/bin/quantpipe -q bench --model "$dir" --input "$work/texts.txt" --max-length "$seq_len" \
              --threads "$threads" --batch-size "$batch" --runs "$runs" --json)")
  done
  rows+=("$(/usr/bin/python3 bench/torch_bert_bench.py "$model" "$work/ids.jsonl" --threads "$threads" \
            --batch-size "$batch" --runs "$runs")")
  rows+=("$(/usr/bin/python3 bench/torch_bert_bench.py "$model" "$work/ids.jsonl" --threads "$threads" \
            --batch-size "$batch" --runs "$runs" --dynamic-int8)")
  /usr/bin/python3 - "$threads" "${rows[@]}" <<'PY'
import json, sys
threads = sys.argv[1]
rows = []
for text in sys.argv[2:]:
    data = json.loads(text)
    for row in (data if isinstance(data, list) else [data]):
        name = f"quantpipe {row['format']} ({row['isa']})" if "format" in row else row["engine"]
        rows.append((name, row))
int8 = next(r for n, r in rows if n.startswith("quantpipe q8"))["sentences_per_s"]
print(f"\n### {threads} thread(s)\n")
print("| engine | sequences | tokens | sequences/s | tokens/s | ÷ quantpipe int8 |")
print("|---|--:|--:|--:|--:|--:|")
for name, r in rows:
    print(f"| {name} | {r['sentences']} | {r['tokens']} | {r['sentences_per_s']:.1f} | "
          f"{r['tokens_per_s']:.0f} | {r['sentences_per_s'] / int8:.2f} |")
PY
done
