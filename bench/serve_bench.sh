#!/usr/bin/env bash
# quantpipe serve against ONNX Runtime behind a minimal Node.js HTTP server
# (bench/ort_server.js, npm onnxruntime-node + @anush008/tokenizers), the same
# closed-loop load on both in the same run: throughput and p50 / p95 / p99
# latency at each concurrency, one text per request (sentences of the STS-B
# dev set), for the fp32 model and its 8-bit version (quantpipe q8_sym_ch;
# ORT: the dynamic int8 export of bench/onnx_export.py). Both servers get the
# same threads; the load generator (quantpipe_serve_load) runs on the same
# machine, as a client of both.
#
# Usage: bench/serve_bench.sh [MODEL_DIR]   (default ../shared/models/minilm-l6-sts)
# Environment (defaults in brackets):
#   CONCURRENCY ["1 8 32"]  SECONDS_PER_POINT [10]  WARMUP [2]  THREADS [2]  INPUTS [1] texts per request
#   QUANTPIPE [build/bin/quantpipe]  LOAD [build/bin/quantpipe_serve_load]  (built by scripts/build.sh
#             when they are the defaults and missing)
#   ORT [1]   0 leaves out ONNX Runtime (needs node + npm; python3-torch and python3-onnx for the export)
#   ENGINES ["quantpipe-fp32 quantpipe-q8 ort-fp32 ort-int8"]  which servers to measure
#   OUT       also write the JSON lines there
# Smoke run: CONCURRENCY="1 8" SECONDS_PER_POINT=2 WARMUP=1 bench/serve_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-${MODEL:-../shared/models/minilm-l6-sts}}
concurrency=${CONCURRENCY:-"1 8 32"}
seconds=${SECONDS_PER_POINT:-10}
warmup=${WARMUP:-2}
threads=${THREADS:-2}
inputs=${INPUTS:-1}
quantpipe=${QUANTPIPE:-build/bin/quantpipe}
load=${LOAD:-build/bin/quantpipe_serve_load}
use_ort=${ORT:-1}
[[ -f "$model/config.json" ]] || { echo "$model: no config.json (pass a sentence-transformers model dir)" >&2; exit 1; }
if [[ ! -x "$quantpipe" || ! -x "$load" ]]; then
  [[ -z "${QUANTPIPE:-}${LOAD:-}" ]] || { echo "QUANTPIPE / LOAD is not an executable" >&2; exit 1; }
  scripts/build.sh
fi
if [[ "$use_ort" == 1 ]]; then
  scripts/install-deps.sh --oracles
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "[serve_bench] no node/npm: leaving out ONNX Runtime (ORT=0)" >&2
    use_ort=0
  elif [[ ! -f bench/node_modules/@anush008/tokenizers/package.json ||
          ! -f bench/node_modules/onnxruntime-node/package.json ]]; then
    # --ignore-scripts: onnxruntime-node's postinstall fetches CUDA files; the CPU binaries are in the tarball.
    npm install --ignore-scripts --no-audit --no-fund --prefix bench >&2
  fi
fi
work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Real sentences: both columns of STS-B dev (else a few built-in ones).
/usr/bin/python3 - "$model/../../data/stsb/dev_a.tsv" > "$work/texts.txt" <<'PY'
import csv, os, sys
path = sys.argv[1]
texts = []
if os.path.exists(path):
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            texts += [row.get("sentence1") or row.get("text_a") or "", row.get("sentence2") or row.get("text_b") or ""]
texts = [t.strip().replace("\n", " ") for t in texts if t and t.strip()]
if not texts:
    texts = ["A man is playing a guitar.", "The weather is lovely today!",
             "Two children are playing baseball at the park near the old river bridge.",
             "The committee will publish its final report next spring."]
print("\n".join(texts))
PY
echo "[serve_bench] $(wc -l < "$work/texts.txt") texts, $inputs per request, ${seconds}s per point after ${warmup}s warm-up" >&2
"$quantpipe" -q convert --model "$model" --out "$work/q8" --bits 8 --per-channel --scheme sym >/dev/null
if [[ "$use_ort" == 1 ]] && [[ "${ENGINES:-ort}" == *ort* ]]; then
  /usr/bin/python3 bench/onnx_export.py "$model" "$work/model.onnx" --int8 "$work/model_int8.onnx" >&2
fi

# Starts a server (its command line in "$@"), waits for its "listening on …:PORT" line, sets $port.
start_server() {
  "$@" > "$work/server.log" 2>&1 &
  server_pid=$!
  port=
  for _ in $(seq 1 600); do
    port=$(grep -oE 'listening on (http://)?127\.0\.0\.1:[0-9]+' "$work/server.log" | grep -oE '[0-9]+$' || true)
    [[ -n "$port" ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "[serve_bench] server did not start: $*" >&2
  cat "$work/server.log" >&2
  exit 1
}
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=
}
# Runs the load at each concurrency against $port; one JSON line each, tagged with the engine.
measure() {
  local engine=$1 c
  for c in $concurrency; do
    "$load" --port "$port" --texts "$work/texts.txt" --concurrency "$c" --seconds "$seconds" --warmup "$warmup" \
        --inputs-per-request "$inputs" |
      /usr/bin/python3 -c 'import json, sys; r = json.loads(sys.stdin.read()); r["engine"] = sys.argv[1]; print(json.dumps(r))' \
        "$engine" | tee -a "$work/results.jsonl" >&2
  done
}

engines=${ENGINES:-"quantpipe-fp32 quantpipe-q8 ort-fp32 ort-int8"}
serve_args=(serve --port 0 --threads "$threads" --access-log "" --max-queue 1024)
ort_args=(bench/ort_server.js --tokenizer "$model/tokenizer.json" --port 0 --threads "$threads")
for engine in $engines; do
  case "$engine" in
    quantpipe-fp32) start_server "$quantpipe" "${serve_args[@]}" --model "$model" ;;
    quantpipe-q8) start_server "$quantpipe" "${serve_args[@]}" --model "$work/q8" ;;
    ort-fp32) [[ "$use_ort" == 1 ]] || continue; start_server node "${ort_args[@]}" --model "$work/model.onnx" ;;
    ort-int8) [[ "$use_ort" == 1 ]] || continue; start_server node "${ort_args[@]}" --model "$work/model_int8.onnx" ;;
    *) echo "[serve_bench] unknown engine $engine" >&2; exit 2 ;;
  esac
  measure "$(echo "$engine" | sed 's/^ort-/onnxruntime /; s/^quantpipe-/quantpipe /')"
  stop_server
done
[[ -n "${OUT:-}" ]] && cp "$work/results.jsonl" "$OUT"

isa=$("$quantpipe" --version | grep -oiE 'isa[^,;]*' | head -1 || true)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
ort_version=$([[ "$use_ort" == 1 ]] && node -p 'require("./bench/node_modules/onnxruntime-node/package.json").version' || echo "-")
echo "# $(basename "$model"), $threads threads per server, $inputs text(s) per request; $cpu; quantpipe $isa; onnxruntime-node $ort_version"
/usr/bin/python3 - "$work/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"{'engine':<18} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
for r in rows:
    print(f"{r['engine']:<18} {r['concurrency']:>4} {r['requests_per_s']:>8.1f} {r['p50_ms']:>8.2f} "
          f"{r['p95_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['errors']:>6}")
by = {(r["engine"], r["concurrency"]): r for r in rows}
pairs = [("quantpipe fp32", "onnxruntime fp32"), ("quantpipe q8", "onnxruntime int8")]
if any(k[0].startswith("onnxruntime") for k in by):
    print("\nratio quantpipe / onnxruntime (throughput: higher is better; p95: lower is better)")
    for ours, theirs in pairs:
        for (engine, c), r in sorted(by.items(), key=lambda kv: kv[0][1]):
            if engine != ours or (theirs, c) not in by:
                continue
            o = by[(theirs, c)]
            print(f"{ours} vs {theirs}, concurrency {c}: throughput x{r['requests_per_s'] / o['requests_per_s']:.2f}, "
                  f"p95 x{r['p95_ms'] / o['p95_ms']:.2f}")
PY
