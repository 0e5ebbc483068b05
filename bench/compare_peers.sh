#!/usr/bin/env bash
# Side by side on the same inputs and threads: PyTorch fp32 and dynamic int8 (Debian
# python3-torch, the plain BERT of tests/golden/torch_encoders.py), ONNX Runtime fp32 and
# dynamic int8 (onnxruntime-node 1.30.0, CPU provider; the same BERT exported by
# bench/onnx_export.py) and quantpipe fp32 / q8_sym_ch / q4_affine_g64, each as a ratio to
# quantpipe int8 (q8_sym_ch). Inputs: SEQUENCES texts cut to exactly SEQ_LEN tokens (default
# 64 x 128), batch BATCH_SIZE (default 32), median of RUNS timed passes after one warm-up.
# A header line names quantpipe's ISA path, the CPU and the peer versions.
#
# Usage: bench/compare_peers.sh [MODEL_DIR | bert-base]
#   MODEL_DIR  a sentence-transformers BERT dir with mean pooling (default
#              ../shared/models/minilm-l6-sts). MODEL=... in the environment works too.
#   bert-base  no BERT-base checkpoint can be downloaded here, so this builds a random one
#              with the bert-base shapes (12 x 768, 12 heads, FFN 3072, vocab 30522) in the
#              temp dir (bench/make_random_bert.py; about 440 MB, plus ~0.7 GB of ONNX files)
#              and measures that. Or make it once and pass the dir:
#                /usr/bin/python3 bench/make_random_bert.py /tmp/bert-base
#                bench/compare_peers.sh /tmp/bert-base
# Environment (defaults in brackets):
#   SEQ_LEN [128]  SEQUENCES [64]  BATCH_SIZE [32]  RUNS [3]  THREADS ["1 2"]
#   QUANTPIPE [build/bin/quantpipe]  the binary to measure; built with scripts/build.sh only
#                  when it is the default and missing
#   ORT [1]        0 leaves out the ONNX Runtime rows (they need node + npm; the runtime is
#                  installed once with `npm install --ignore-scripts --prefix bench`)
#   CHECK [1]      0 skips checking the ONNX exports before timing them (ORT fp32 vs PyTorch
#                  max |delta| < 1e-4, ORT int8 vs fp32 cosine > 0.99, on 4 of the inputs)
# Smoke run (seconds): SEQUENCES=8 RUNS=1 THREADS=1 SEQ_LEN=32 bench/compare_peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-${MODEL:-../shared/models/minilm-l6-sts}}
seq_len=${SEQ_LEN:-128}
count=${SEQUENCES:-64}
batch=${BATCH_SIZE:-32}
runs=${RUNS:-3}
threads_list=${THREADS:-"1 2"}
quantpipe=${QUANTPIPE:-build/bin/quantpipe}
use_ort=${ORT:-1}
check=${CHECK:-1}
scripts/install-deps.sh --oracles
if [[ ! -x "$quantpipe" ]]; then
  [[ -z "${QUANTPIPE:-}" ]] || { echo "QUANTPIPE=$quantpipe is not an executable" >&2; exit 1; }
  scripts/build.sh
fi
if [[ "$use_ort" == 1 ]]; then
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "[compare_peers] no node/npm: leaving out the ONNX Runtime rows (ORT=0)" >&2
    use_ort=0
  elif [[ ! -f bench/node_modules/onnxruntime-node/package.json ]]; then
    # --ignore-scripts: the postinstall downloads CUDA files; the CPU binaries are in the tarball.
    npm install --ignore-scripts --no-audit --no-fund --prefix bench >&2
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ "$model" == bert-base && ! -d "$model" ]]; then
  /usr/bin/python3 bench/make_random_bert.py "$work/bert-base"
  model=$work/bert-base
fi
[[ -f "$model/config.json" ]] || { echo "$model: no config.json" >&2; exit 1; }

# Long texts (several example sentences run together) so every one is cut at seq_len.
/usr/bin/python3 - "$count" > "$work/texts.txt" <<'PY'
import sys
words = ("the committee will publish its final report next spring while a man is playing a guitar "
         "and two children are playing baseball at the park near the old river bridge").split()
for i in range(int(sys.argv[1])):
    print(" ".join(words[(i + j) % len(words)] for j in range(400)))
PY
"$quantpipe" -q tokenize --model "$model" --input "$work/texts.txt" --max-length "$seq_len" > "$work/ids.jsonl"
"$quantpipe" -q convert --model "$model" --out "$work/q8" --bits 8 --per-channel --scheme sym >/dev/null 2>&1
"$quantpipe" -q convert --model "$model" --out "$work/q4" --bits 4 --group-size 64 >/dev/null 2>&1
pad_id=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("pad_token_id", 0))' \
         "$model/config.json")

peers="torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
if [[ "$use_ort" == 1 ]]; then
  check_args=()
  if [[ "$check" == 1 ]]; then
    head -n 4 "$work/ids.jsonl" > "$work/ids_check.jsonl"
    check_args=(--check "$work/ids_check.jsonl")
  fi
  # torch.onnx.export's tracer warnings are noise here; show the rest of its stderr.
  status=0
  /usr/bin/python3 bench/onnx_export.py "$model" "$work/fp32.onnx" --int8 "$work/int8.onnx" \
    "${check_args[@]}" 2> "$work/export.log" || status=$?
  grep -v -e Warning -e '_C\._jit_pass' "$work/export.log" >&2 || true
  ((status == 0)) || { echo "[compare_peers] ONNX export or its check failed (CHECK=0 skips the check)" >&2; exit 1; }
  peers+=", onnxruntime-node $(node -p 'require("./bench/node_modules/onnxruntime-node/package.json").version')"
fi
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
echo
echo "## $(basename "$model"): ${count} x ${seq_len} tokens, batch ${batch}, median of ${runs} — $("$quantpipe" --version); CPU ${cpu:-unknown} ($(nproc) cores); ${peers}"

for threads in $threads_list; do
  rows=()
  for dir in "$model" "$work/q8" "$work/q4"; do
    rows+=("$("$quantpipe" -q bench --model "$dir" --input "$work/texts.txt" --max-length "$seq_len" \
              --threads "$threads" --batch-size "$batch" --runs "$runs" --json)")
  done
  rows+=("$(/usr/bin/python3 bench/torch_bert_bench.py "$model" "$work/ids.jsonl" --threads "$threads" \
            --batch-size "$batch" --runs "$runs")")
  rows+=("$(/usr/bin/python3 bench/torch_bert_bench.py "$model" "$work/ids.jsonl" --threads "$threads" \
            --batch-size "$batch" --runs "$runs" --dynamic-int8)")
  if [[ "$use_ort" == 1 ]]; then
    for kind in fp32 int8; do
      rows+=("$(node bench/ort_bench.js "$work/$kind.onnx" "$work/ids.jsonl" --threads "$threads" \
                --batch-size "$batch" --runs "$runs" --pad-id "$pad_id" --engine-name "onnxruntime-$kind")")
    done
  fi
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
