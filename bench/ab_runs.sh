#!/usr/bin/env bash
# A/B of two quantpipe binaries on the same model: rounds that alternate old
# and new (so both see the same noise on a shared machine), each a
# `quantpipe bench` of batch × length tokens; prints every round's sentences/s
# and the medians. A change is kept when the new binary wins in most rounds,
# not on one run.
#
# Usage: bench/ab_runs.sh OLD_BINARY NEW_BINARY MODEL_DIR [ROUNDS]   (default 5)
# Env: THREADS (default 1), BATCH_SIZE (32), SEQ_LEN (128), SEQUENCES (64),
#      RUNS (timed runs per round, 3), QUANTPIPE_CPU_ISA (passed through).
set -euo pipefail
if [[ $# -lt 3 ]]; then
  sed -n '2,10p' "$0"
  exit 2
fi
old=$1 new=$2 model=$3 rounds=${4:-5}
for f in "$old" "$new"; do [[ -x $f ]] || { echo "ab_runs: $f is not an executable" >&2; exit 2; }; done
[[ -d $model ]] || { echo "ab_runs: $model is not a model directory" >&2; exit 2; }
run() {
  "$1" bench -m "$model" --threads "${THREADS:-1}" --batch-size "${BATCH_SIZE:-32}" --seq-len "${SEQ_LEN:-128}" \
    --sequences "${SEQUENCES:-64}" --runs "${RUNS:-3}" --json 2>/dev/null |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)[0]["sentences_per_s"], 1))'
}
old_rates=() new_rates=()
for ((r = 1; r <= rounds; r++)); do
  old_rates+=("$(run "$old")")
  new_rates+=("$(run "$new")")
  echo "round $r: old ${old_rates[-1]}  new ${new_rates[-1]} sentences/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "old: ${old_rates[*]}  median $(median "${old_rates[@]}")"
echo "new: ${new_rates[*]}  median $(median "${new_rates[@]}")"
