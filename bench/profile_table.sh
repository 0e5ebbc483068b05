#!/usr/bin/env bash
# The per-op profile (`quantpipe bench --profile`) of several models as one
# Markdown table: a column per model × thread count, each op's share of thread
# time, then sentences/s. What docs/BENCHMARKS.md's profile tables are made of.
#
# Usage: bench/profile_table.sh MODEL_DIR...
# Env: QUANTPIPE (default build/bin/quantpipe), THREADS ("1,2"), BATCH_SIZE (32),
#      SEQ_LEN (128), SEQUENCES (64), RUNS (3), QUANTPIPE_CPU_ISA (passed through).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 ]]; then
  sed -n '2,9p' "$0"
  exit 2
fi
quantpipe=${QUANTPIPE:-build/bin/quantpipe}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for model in "$@"; do
  "$quantpipe" bench -q -m "$model" --threads "${THREADS:-1,2}" --batch-size "${BATCH_SIZE:-32}" \
    --seq-len "${SEQ_LEN:-128}" --sequences "${SEQUENCES:-64}" --runs "${RUNS:-3}" --profile --json >>"$out"
done
python3 - "$out" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
decoder, rows, i = json.JSONDecoder(), [], 0
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    chunk, i = decoder.raw_decode(text, i)
    rows += chunk
ops = []
for row in rows:
    for op in row["profile"]:
        if op["op"] not in ops:
            ops.append(op["op"])
head = [f'{r["model"]} {r["format"]} {r["isa"]} t{r["threads"]}' for r in rows]
print("| op | " + " | ".join(head) + " |")
print("|---|" + "--:|" * len(rows))
for name in ops:
    cells = []
    for r in rows:
        share = {o["op"]: o["share"] for o in r["profile"]}.get(name)
        cells.append("–" if share is None else f"{100 * share:.1f}%")
    print(f"| {name} | " + " | ".join(cells) + " |")
print("| sentences/s | " + " | ".join(f'{r["sentences_per_s"]:.1f}' for r in rows) + " |")
PY
