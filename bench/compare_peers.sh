#!/usr/bin/env bash
# Side by side on the same inputs and threads: PyTorch fp32 and dynamic int8 (Debian
# python3-torch, the plain BERT of tests/golden/torch_encoders.py), ONNX Runtime fp32 and
# dynamic int8 (onnxruntime-node 1.30.0, CPU provider; the same BERT exported by
# bench/onnx_export.py) and quantpipe fp32 / q8_sym_ch / q4_affine_g64, each as a ratio to
# quantpipe int8 (q8_sym_ch). Inputs: SEQUENCES texts cut to exactly SEQ_LEN tokens (default
# 64 x 128), batch BATCH_SIZE (default 32), median of RUNS timed passes after one warm-up.
# A header line names quantpipe's ISA path, the CPU and the peer versions. Each table has
# sequences/s, tokens/s, the median time of one batch (batch p50 ms) and the ratio to
# quantpipe int8.
#
# More peers, from a Python venv (VENV, default ../venvs/peers, beside the repository) that
# scripts/install-peers.sh creates (pip, PyPI; llama-cpp-python compiles llama.cpp, ~20 min):
#   openvino     OpenVINO fp32 and int8 (NNCF post-training quantization calibrated on the
#                first 4 batches of the inputs), on the same ONNX export (bench/openvino_bench.py)
#   ctranslate2  CTranslate2 Encoder, compute type int8 (bench/ctranslate2_bench.py)
#   llamacpp     llama.cpp Q8_0 and Q4_0 GGUF, mean pooling (bench/llamacpp_bench.py), one
#                sequence per llama_decode call: llama.cpp puts a call's sequences into one
#                attention over all their tokens, so batching makes it slower (see that
#                script's docstring); LLAMACPP_BATCH [1] sets the sequences per call
# Each is left out, with a one-line message saying how to install it, when the venv lacks it.
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
#                  and the venv peers (cosine vs PyTorch fp32 > 0.99 on 4 of the inputs,
#                  > 0.98 for llama.cpp Q4_0, 4-bit; one that fails is left out with a message)
#   VENV [../venvs/peers, beside the repository]  the venv of scripts/install-peers.sh
#   PEERS [every one installed in VENV]  venv peers to run, of: openvino ctranslate2 llamacpp
#                  ("none": no venv peers)
# Smoke run (about a minute with every peer): SEQUENCES=8 RUNS=1 THREADS=1 SEQ_LEN=32 bench/compare_peers.sh
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
venv=${VENV:-$(dirname "$PWD")/venvs/peers}
py=$venv/bin/python
llamacpp_batch=${LLAMACPP_BATCH:-1}
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

# ----------------------------------------------------------------------------- venv peers
known_peers="openvino ctranslate2 llamacpp"
# Prints why PEER cannot run from the venv (one line), nothing when it can.
peer_missing() {
  local mods
  case "$1" in
    openvino) mods="openvino nncf" ;;
    ctranslate2) mods="ctranslate2 transformers" ;;
    llamacpp) mods="llama_cpp" ;;
    *) echo "unknown peer (known: $known_peers)"; return ;;
  esac
  [[ -x "$py" ]] || { echo "no venv at $venv"; return; }
  # find_spec, not import: importing nncf next to Debian's old torch fails (openvino_bench.py
  # works around that).
  "$py" - "$1" "$venv" $mods <<'PY' || echo "$py does not run"
import glob, importlib.util, os, sys
peer, venv, modules = sys.argv[1], sys.argv[2], sys.argv[3:]
why = [m + " not installed" for m in modules if importlib.util.find_spec(m) is None]
if peer == "llamacpp" and not glob.glob(os.path.join(
        venv, "src", "llama_cpp_python-*", "vendor", "llama.cpp", "convert_hf_to_gguf.py")):
    why.append(f"no llama.cpp convert_hf_to_gguf.py under {venv}/src")
if why:
    print("; ".join(why))
PY
}
run_peers=()
for peer in ${PEERS-$known_peers}; do
  [[ "$peer" == none ]] && continue
  why=$(peer_missing "$peer")
  if [[ -n "$why" ]]; then
    echo "[compare_peers] leaving out $peer: $why (install: PEERS=$peer scripts/install-peers.sh $venv)" >&2
  else
    run_peers+=("$peer")
  fi
done
has_peer() { [[ " ${run_peers[*]} " == *" $1 "* ]]; }

if [[ "$check" == 1 ]]; then
  head -n 4 "$work/ids.jsonl" > "$work/ids_check.jsonl"
fi
peers="torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
if [[ "$use_ort" == 1 ]] || has_peer openvino; then
  export_args=()
  if [[ "$use_ort" == 1 ]]; then
    export_args=(--int8 "$work/int8.onnx")
    [[ "$check" == 1 ]] && export_args+=(--check "$work/ids_check.jsonl")
  fi
  # torch.onnx.export's tracer warnings are noise here; show the rest of its stderr.
  status=0
  /usr/bin/python3 bench/onnx_export.py "$model" "$work/fp32.onnx" "${export_args[@]}" \
    2> "$work/export.log" || status=$?
  grep -v -e Warning -e '_C\._jit_pass' "$work/export.log" >&2 || true
  ((status == 0)) || { echo "[compare_peers] ONNX export or its check failed (CHECK=0 skips the check)" >&2; exit 1; }
fi
if [[ "$use_ort" == 1 ]]; then
  peers+=", onnxruntime-node $(node -p 'require("./bench/node_modules/onnxruntime-node/package.json").version')"
fi

# Converts/quantizes PEER's models into $work once (not per thread count) and prints the
# table rows (variants) it gives; output of the tools goes to $work/prepare-PEER.log.
prepare_peer() {
  local log=$work/prepare-$1.log
  case "$1" in
    openvino)
      "$py" bench/openvino_bench.py "$work/fp32.onnx" "$work/ids.jsonl" --batch-size "$batch" \
        --pad-id "$pad_id" --int8 --save "$work/ov_int8.xml" > "$log" 2>&1 || return 1
      echo openvino-fp32 openvino-int8 ;;
    ctranslate2)
      "$py" bench/ctranslate2_bench.py "$model" "$work/ids.jsonl" --save "$work/ct2" > "$log" 2>&1 || return 1
      echo ctranslate2-int8 ;;
    llamacpp)
      "$py" bench/llamacpp_bench.py "$model" "$work/ids.jsonl" --quant f32 --save "$work/f32.gguf" \
        > "$log" 2>&1 || return 1
      for q in q8_0 q4_0; do
        "$py" bench/llamacpp_bench.py "$work/f32.gguf" "$work/ids.jsonl" --quant "$q" \
          --save "$work/$q.gguf" >> "$log" 2>&1 || return 1
      done
      echo llama.cpp-q8_0 llama.cpp-q4_0 ;;
  esac
}
# peer_json VARIANT IDS THREADS BATCH RUNS WARMUP [more args]: one JSON line.
peer_json() {
  local variant=$1 ids=$2
  local common=(--threads "$3" --batch-size "$4" --runs "$5" --warmup "$6")
  shift 6
  case "$variant" in
    openvino-fp32|openvino-int8)
      local xml=$work/fp32.onnx
      [[ "$variant" == openvino-int8 ]] && xml=$work/ov_int8.xml
      "$py" bench/openvino_bench.py "$xml" "$ids" "${common[@]}" --pad-id "$pad_id" \
        --engine-name "$variant" "$@" ;;
    ctranslate2-int8)
      "$py" bench/ctranslate2_bench.py "$work/ct2" "$ids" "${common[@]}" --compute-type int8 "$@" ;;
    llama.cpp-q8_0|llama.cpp-q4_0)
      # llama.cpp gets its own sequences per call (see the header), named in the row.
      local q=${variant#llama.cpp-}
      common[3]=$llamacpp_batch
      "$py" bench/llamacpp_bench.py "$work/$q.gguf" "$ids" "${common[@]}" --quant "$q" \
        --engine-name "$variant ($llamacpp_batch seq/call)" "$@" ;;
  esac
}
variants=()
for peer in "${run_peers[@]}"; do
  if made=$(prepare_peer "$peer"); then
    variants+=($made)
  else
    tail -n 5 "$work/prepare-$peer.log" >&2
    echo "[compare_peers] leaving out $peer: converting the model failed (above)" >&2
  fi
done
if [[ "$check" == 1 && ${#variants[@]} -gt 0 ]]; then
  /usr/bin/python3 bench/torch_bert_bench.py "$model" "$work/ids_check.jsonl" --threads 1 --batch-size 4 \
    --runs 1 --warmup 0 --dump-embeddings "$work/check-reference.jsonl" > /dev/null
  checked=()
  for variant in "${variants[@]}"; do
    dump=$work/check-$variant.jsonl
    if peer_json "$variant" "$work/ids_check.jsonl" 1 4 1 0 --dump-embeddings "$dump" \
         > /dev/null 2> "$work/check-$variant.log" \
       && "$py" bench/cosine_check.py "$work/check-reference.jsonl" "$dump" --name "$variant" \
            --min "$( [[ "$variant" == *q4_0 ]] && echo 0.98 || echo 0.99)"; then
      checked+=("$variant")
    else
      tail -n 3 "$work/check-$variant.log" >&2
      echo "[compare_peers] leaving out $variant: its embeddings do not match PyTorch's (CHECK=0 times it anyway)" >&2
    fi
  done
  variants=("${checked[@]}")
fi
if ((${#run_peers[@]})); then
  peers+=", $("$py" - "${run_peers[@]}" <<'PY'
import importlib.metadata as md, sys
dists = {"openvino": ["openvino", "nncf"], "ctranslate2": ["ctranslate2"],
         "llamacpp": ["llama_cpp_python"]}
print(", ".join(f"{d.replace('_', '-')} {md.version(d)}" for p in sys.argv[1:] for d in dists[p]))
PY
)"
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
  for variant in "${variants[@]}"; do
    # NNCF's and llama.cpp's progress chatter goes to stderr; a failure shows its tail.
    if row=$(peer_json "$variant" "$work/ids.jsonl" "$threads" "$batch" "$runs" 1 2> "$work/run.log"); then
      rows+=("$row")
    else
      tail -n 3 "$work/run.log" >&2
      echo "[compare_peers] $variant failed with $threads thread(s); left out" >&2
    fi
  done
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
print("| engine | sequences | tokens | sequences/s | tokens/s | batch p50 ms | ÷ quantpipe int8 |")
print("|---|--:|--:|--:|--:|--:|--:|")
for name, r in rows:
    p50 = r.get("batch_latency_ms", {}).get("p50")
    p50 = "—" if p50 is None else f"{p50:.1f}"
    print(f"| {name} | {r['sentences']} | {r['tokens']} | {r['sentences_per_s']:.1f} | "
          f"{r['tokens_per_s']:.0f} | {p50} | {r['sentences_per_s'] / int8:.2f} |")
PY
done
