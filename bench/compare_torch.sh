#!/usr/bin/env bash
# End-to-end embedding throughput of quantpipe fp32 against PyTorch fp32 (the
# plain BERT in tests/golden/torch_encoders.py, Debian's python3-torch) on the
# same token ids, the same batch size and 1 and 2 threads, in one run.
# Prints a Markdown table with each engine's median and the ratio.
#
# Usage: bench/compare_torch.sh [MODEL_DIR] [TEXTS_FILE]
#   defaults: ../shared/models/minilm-l6-sts and the 750 first sentences of
#   ../shared/data/stsb/dev_a.tsv
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-../shared/models/minilm-l6-sts}
texts=${2:-}
batch=${BATCH_SIZE:-32}
runs=${RUNS:-5}
scripts/install-deps.sh --oracles
[[ -x build/bin/quantpipe ]] || scripts/build.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -z "$texts" ]]; then
  [[ -f ../shared/data/stsb/dev_a.tsv ]] || { echo "no texts given and ../shared/data/stsb/dev_a.tsv is absent" >&2; exit 1; }
  texts=$work/texts.txt
  tail -n +2 ../shared/data/stsb/dev_a.tsv | cut -f1 > "$texts"
fi
build/bin/quantpipe -q tokenize --model "$model" --input "$texts" > "$work/ids.jsonl"

echo "| engine | threads | batch | sentences | tokens | sentences/s | tokens/s | quantpipe ÷ engine |"
echo "|---|--:|--:|--:|--:|--:|--:|--:|"
for threads in 1 2; do
  qp=$(build/bin/quantpipe -q bench --model "$model" --input "$texts" --threads "$threads" \
        --batch-size "$batch" --runs "$runs" --json)
  pt=$(/usr/bin/python3 bench/torch_bert_bench.py "$model" "$work/ids.jsonl" --threads "$threads" \
        --batch-size "$batch" --runs "$runs")
  /usr/bin/python3 - "$qp" "$pt" <<'PY'
import json, sys
qp = json.loads(sys.argv[1])[0]
pt = json.loads(sys.argv[2])
ratio = qp["sentences_per_s"] / pt["sentences_per_s"]
for name, row, r in ((f"quantpipe fp32 ({qp['isa']})", qp, ""), (pt["engine"] + f" ({pt.get('linear_backend', '')})", pt, f"{ratio:.2f}x")):
    print(f"| {name} | {row['threads']} | {row['batch_size']} | {row['sentences']} | {row['tokens']} | "
          f"{row['sentences_per_s']:.1f} | {row['tokens_per_s']:.0f} | {r} |")
PY
done
