#!/usr/bin/env bash
# Mixed precision (convert --bits auto) on the shared models: for each model,
# three size targets; each row gives the size on disk against the target and
# the task metric, label agreement and mean cosine against fp32 (quantpipe
# eval), next to uniform plans of similar size. Sensitivity is measured once
# per model and reused for its other targets (--reuse-sensitivity).
# Calibration text is never the evaluation set: NLI calibrates on STS-B pairs,
# genre and STS on SST-2 sentences.
#
# Usage: bench/compare_mixed.sh [TARGET_MB...]   (default: 20 15 12)
# Env: QUANTPIPE (default build/bin/quantpipe), SHARED (default ../shared),
#      WORK (default a temp dir), SAMPLES (calibration rows, default 128),
#      METHOD (rtn or gptq, default rtn), MODELS (default "nli genre sts").
set -euo pipefail
cd "$(dirname "$0")/.."
quantpipe=${QUANTPIPE:-build/bin/quantpipe}
shared=${SHARED:-../shared}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
samples=${SAMPLES:-128}
method=${METHOD:-rtn}
targets=("$@")
((${#targets[@]})) || targets=(20 15 12)
[[ -x $quantpipe ]] || { echo "compare_mixed: $quantpipe not built" >&2; exit 1; }
[[ -d $shared/models ]] || { echo "compare_mixed: $shared/models not found (set SHARED)" >&2; exit 1; }

declare -A model_dir=([nli]=minilm-l6-nli [genre]=minilm-l6-genre [sts]=minilm-l6-sts)
declare -A eval_data=([nli]=data/mnli/dev_a.jsonl [genre]=data/genre/dev_a.jsonl [sts]=data/stsb/dev_a.tsv)
declare -A eval_columns=([nli]="--text-column premise --pair-column hypothesis" [genre]=""
                        [sts]="--text-column sentence1 --pair-column sentence2 --label-column score")
declare -A calibration=([nli]=data/stsb/dev_a.tsv [genre]=data/sst2/dev.tsv [sts]=data/sst2/dev.tsv)

row() {  # out label target seconds
  local out=$1 label=$2 target=$3 seconds=$4
  # shellcheck disable=SC2086
  "$quantpipe" eval -q --json -m "$out" -d "$shared/${eval_data[$model]}" ${eval_columns[$model]} \
    --speed-rounds 0 --latency-queries 0 --no-gates > "$out.json"
  python3 - "$out.json" "$model" "$label" "$target" "$seconds" "$out/quantpipe.json" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
f = d["fidelity"]
size = d["quantized"]["model_size_mb"]
target = sys.argv[4]
within = "" if target == "-" else f"{100 * (size / float(target) - 1):+.1f}%"
q = json.load(open(sys.argv[6]))
mixed = q["plan"].get("mixed_precision") or {}
bits = {}
for u in mixed.get("units", []):
    bits[u["chosen"].split("_")[0]] = bits.get(u["chosen"].split("_")[0], 0) + 1
mix = " ".join(f"{k}×{v}" for k, v in sorted(bits.items()))
agreement = f.get("label_agreement")
print(f"| {sys.argv[2]} | {sys.argv[3]} | {target} | {size:.2f} | {within} | {d['quantized']['primary']:.4f} | "
      f"{d['baseline']['primary']:.4f} | {agreement if agreement is None else f'{agreement:.4f}'} | "
      f"{f['mean_cosine']:.4f} | {mix} | {int(sys.argv[5]) / 1000:.1f} |")
PY
}

echo "| model | plan | target MB | size MB | vs target | metric | fp32 | agreement | mean cosine | units by width | convert s |"
echo "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|"
for model in ${MODELS:-nli genre sts}; do
  src=$shared/models/${model_dir[$model]}
  for uniform in "4 q4_affine_g64" "4 q8_affine_g64" "2 q4_affine_g64"; do
    read -r bits embedding <<< "$uniform"
    out=$work/${model}_uniform_q${bits}_${embedding%%_*}
    start=$(date +%s%N)
    "$quantpipe" convert -q -m "$src" -o "$out" --force --bits "$bits" --embedding "$embedding" \
      > /dev/null 2> "$out.log" || { cat "$out.log" >&2; exit 1; }
    row "$out" "uniform q$bits, embeddings ${embedding%%_*}" - $(( ($(date +%s%N) - start) / 1000000 ))
  done
  first=""
  for target in "${targets[@]}"; do
    out=$work/${model}_mixed_${target}
    args=(--bits auto --target-size-mb "$target" --calibration "$shared/${calibration[$model]}"
          --calibration-samples "$samples" --method "$method")
    [[ -n $first ]] && args+=(--reuse-sensitivity "$first/quantpipe.json")
    start=$(date +%s%N)
    "$quantpipe" convert -q -m "$src" -o "$out" --force "${args[@]}" > /dev/null 2> "$out.log" \
      || { cat "$out.log" >&2; exit 1; }
    row "$out" "mixed ($method)" "$target" $(( ($(date +%s%N) - start) / 1000000 ))
    [[ -n $first ]] || first=$out
  done
done
