#!/usr/bin/env bash
# Round to nearest vs GPTQ vs AWQ on the shared models at low bit widths: task metric,
# label agreement and mean cosine against fp32 (quantpipe eval), one Markdown
# row per (model, bits, method). Calibration text is never the evaluation set:
# the NLI model calibrates on STS-B pairs, the genre model on SST-2 sentences.
#
# Usage: bench/compare_methods.sh [BITS...]   (default: 4 3 2 ternary)
# Env: QUANTPIPE (default build/bin/quantpipe), SHARED (default ../shared),
#      WORK (default a temp dir), SAMPLES (calibration rows, default 256),
#      METHODS (rtn, gptq, gptq-act, awq; default "rtn gptq awq"), MODELS (default "nli genre").
set -euo pipefail
cd "$(dirname "$0")/.."
quantpipe=${QUANTPIPE:-build/bin/quantpipe}
shared=${SHARED:-../shared}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
samples=${SAMPLES:-256}
bits_list=("$@")
((${#bits_list[@]})) || bits_list=(4 3 2 ternary)
[[ -x $quantpipe ]] || { echo "compare_methods: $quantpipe not built" >&2; exit 1; }
[[ -d $shared/models ]] || { echo "compare_methods: $shared/models not found (set SHARED)" >&2; exit 1; }

declare -A model_dir=([nli]=minilm-l6-nli [genre]=minilm-l6-genre)
declare -A eval_data=([nli]=data/mnli/dev_a.jsonl [genre]=data/genre/dev_a.jsonl)
declare -A eval_columns=([nli]="--text-column premise --pair-column hypothesis" [genre]="")
declare -A calibration=([nli]=data/stsb/dev_a.tsv [genre]=data/sst2/dev.tsv)

echo "| model | bits | method | accuracy | fp32 | agreement | mean cosine | convert s |"
echo "|---|---|---|--:|--:|--:|--:|--:|"
for model in ${MODELS:-nli genre}; do
  for bits in "${bits_list[@]}"; do
    for method in ${METHODS:-rtn gptq awq}; do
      out=$work/${model}_${bits}_${method}
      args=(--bits "$bits" --method "${method%%-*}")
      [[ $method != rtn ]] && args+=(--calibration "$shared/${calibration[$model]}" --calibration-samples "$samples")
      [[ $method == gptq-act ]] && args+=(--act-order)
      start=$(date +%s%N)
      "$quantpipe" convert -q -m "$shared/models/${model_dir[$model]}" -o "$out" --force "${args[@]}" > /dev/null 2> "$out.log" || { cat "$out.log" >&2; exit 1; }
      seconds=$(( ($(date +%s%N) - start) / 1000000 ))  # ms
      # shellcheck disable=SC2086
      "$quantpipe" eval -q --json -m "$out" -d "$shared/${eval_data[$model]}" ${eval_columns[$model]} \
        --speed-rounds 0 --latency-queries 0 --no-gates > "$out.json"
      python3 - "$out.json" "$model" "$bits" "$method" "$seconds" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
f = d["fidelity"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {d['quantized']['primary']:.4f} | "
      f"{d['baseline']['primary']:.4f} | {f['label_agreement']:.4f} | {f['mean_cosine']:.4f} | {int(sys.argv[5]) / 1000:.1f} |")
PY
    done
  done
done
