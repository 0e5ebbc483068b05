#!/usr/bin/env bash
# Builds quantpipe's libFuzzer targets (fuzz/, Clang, AddressSanitizer +
# UndefinedBehaviorSanitizer) in build-fuzz/ and runs them.
#
# Usage: scripts/fuzz.sh [--seconds N] [--runs N] [--regress] [TARGET...]
#   TARGET     of: safetensors sharded_index gguf tokenizer_json vocab_txt bpe_files spm_model
#              model_dir serve_request dataset torch_checkpoint pickle pipeline_yaml (default: all)
#   --seconds  fuzz each target at most this long (default 60, or no limit with --runs)
#   --runs     stop after this many executions each (e.g. 10000000); with --seconds,
#              whichever comes first (the long run: --runs 10000000 --seconds 3600)
#   --regress  only run the stored corpus (fuzz/corpus/TARGET) once: no new inputs
# Corpora grow in build-fuzz/corpus/TARGET, seeded from fuzz/corpus/TARGET (the
# stored regression inputs) and the real files of tests/golden and ../shared.
# A crash, leak, sanitizer report or timeout leaves its input in
# build-fuzz/findings/TARGET/ and makes the script exit 1. Each run ends with
# libFuzzer's final stats (executions, exec/s, coverage: "cov:" edges, "ft:" features).
# Needs: apt-get install clang libclang-rt-14-dev (scripts/install-deps.sh --fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
all_targets="safetensors sharded_index gguf tokenizer_json vocab_txt bpe_files spm_model model_dir serve_request dataset
             torch_checkpoint pickle pipeline_yaml"
all_targets=$(echo $all_targets)
seconds= runs= regress=0 targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --regress) regress=1; shift ;;
    -h|--help) sed -n 2,19p "$0"; exit 0 ;;
    -*) echo "scripts/fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) [[ " $all_targets " == *" $1 "* ]] || { echo "scripts/fuzz.sh: unknown target $1 (of: $all_targets)" >&2; exit 2; }
       targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || read -r -a targets <<< "$all_targets"
command -v clang++ >/dev/null || { echo "scripts/fuzz.sh: no clang++ (scripts/install-deps.sh --fuzz)" >&2; exit 1; }

build=build-fuzz
# The compiler launcher is pinned here, not taken from the caller's environment: a configure
# from a shell with other launcher settings changed every compile line (a full rebuild).
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUANTPIPE_FUZZ=ON \
  -DQUANTPIPE_BUILD_TESTS=OFF -DQUANTPIPE_BUILD_BENCH=OFF -DQUANTPIPE_BUILD_PYTHON=OFF "${launcher[@]}" >/dev/null
# One build at a time: several fuzz.sh may run at once (one target per core).
mkdir -p "$build"
flock "$build/.build-lock" cmake --build "$build" -j"$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >&2

# Real files as seeds: what each reader meets in practice.
seed() {
  local target=$1 dir=$build/corpus/$1
  mkdir -p "$dir"
  [[ -d fuzz/corpus/$target ]] && cp -n fuzz/corpus/$target/* "$dir"/ 2>/dev/null || true
  local roots=(tests/golden)
  [[ -d ../shared ]] && roots+=(../shared)
  case "$target" in
    safetensors) find "${roots[@]}" -name '*.safetensors' -size -2048k -exec cp -n {} "$dir"/ \; 2>/dev/null ;;
    gguf) find "${roots[@]}" -name '*.gguf' -size -2048k -exec cp -n {} "$dir"/ \; 2>/dev/null ;;
    sharded_index) find "${roots[@]}" -name '*.safetensors.index.json' -size -1024k |
                     while read -r f; do cp "$f" "$dir/$(echo "$f" | md5sum | cut -c1-12).json"; done ;;
    # Tokenizer files cut to a few hundred entries (fuzz/make_small_seeds.py):
    # a real 30k-250k vocabulary makes each execution take 10-100 ms.
    tokenizer_json|vocab_txt|bpe_files|spm_model)
      [[ -d $build/small-seeds ]] || python3 fuzz/make_small_seeds.py "$build/small-seeds" "${roots[@]}"
      cp -n "$build/small-seeds/$target"/* "$dir"/ 2>/dev/null || true ;;
    model_dir) find "${roots[@]}" -name 'config.json' -size -64k | head -40 |
                 while read -r f; do cp "$f" "$dir/$(echo "$f" | md5sum | cut -c1-12).json"; done ;;
    torch_checkpoint) find "${roots[@]}" -name '*.bin' -size -2048k -exec cp -n {} "$dir"/ \; 2>/dev/null ;;
    pickle) find "${roots[@]}" -name '*.bin' -size -2048k | while read -r f; do
              /usr/bin/python3 -c 'import sys, zipfile
try:
    z = zipfile.ZipFile(sys.argv[1])
    name = next(n for n in z.namelist() if n.endswith("data.pkl"))
    open(sys.argv[2], "wb").write(z.read(name))
except Exception:
    pass' "$f" "$dir/$(echo "$f" | md5sum | cut -c1-12).pkl"; done ;;
    pipeline_yaml) find configs tests/configs ../shared/seed_configs -name '*.yaml' -size -64k 2>/dev/null |
                     while read -r f; do cp "$f" "$dir/$(echo "$f" | md5sum | cut -c1-12).yaml"; done ;;
    dataset) for f in $(find "${roots[@]}" \( -name '*.jsonl' -o -name '*.tsv' -o -name '*.csv' \) -size -8192k | head -30); do
               case "$f" in *.jsonl) b='\x00' ;; *.tsv) b='\x01' ;; *) b='\x02' ;; esac
               { printf "$b"; head -c 4096 "$f"; } > "$dir/$(echo "$f" | md5sum | cut -c1-12)"; done ;;
    serve_request) ;;  # the stored corpus only
  esac
}
dict_of() {
  case "$1" in
    pipeline_yaml) echo fuzz/dict/yaml.dict ;;
    pickle|torch_checkpoint) echo fuzz/dict/pickle.dict ;;
    *) echo fuzz/dict/json.dict ;;
  esac
}

max_len_of() { echo 1048576; }

failed=()
for target in "${targets[@]}"; do
  findings=$build/findings/$target
  mkdir -p "$findings"
  binary=$build/bin/fuzz_$target
  common=(-dict="$(dict_of "$target")" -artifact_prefix="$findings/" -rss_limit_mb=2048 -timeout=20
          -print_final_stats=1 -max_len="$(max_len_of "$target")")
  echo "== $target" >&2
  if ((regress)); then
    inputs=(fuzz/corpus/$target/*)
    [[ -e "${inputs[0]}" ]] || { echo "   no stored corpus" >&2; continue; }
    "$binary" "${common[@]}" "${inputs[@]}" > "$build/$target.log" 2>&1 || failed+=("$target")
  else
    seed "$target"
    limit=()
    [[ -n "$runs" ]] && limit+=(-runs="$runs")
    [[ -n "$seconds" || -z "$runs" ]] && limit+=(-max_total_time="${seconds:-60}")
    "$binary" "${common[@]}" "${limit[@]}" "$build/corpus/$target" > "$build/$target.log" 2>&1 || failed+=("$target")
  fi
  grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::peak_rss_mb|cov: [0-9]+ ft: [0-9]+' \
    "$build/$target.log" | tail -4 | sed 's/^/   /' >&2
done
if ((${#failed[@]})); then
  echo "findings in: ${failed[*]} (inputs under $build/findings/, logs $build/TARGET.log)" >&2
  exit 1
fi
echo "no findings" >&2
