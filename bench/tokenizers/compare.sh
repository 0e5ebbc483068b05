#!/usr/bin/env bash
# Tokenizer speed, quantpipe next to the Hugging Face tokenizers library, one thread, same texts.
# Usage: bench/tokenizers/compare.sh BUILD_DIR [PYTHON]   (PYTHON: a venv with tokenizers + transformers)
# Needs a build with -DQUANTPIPE_BUILD_BENCH=ON. Run on an otherwise idle machine.
set -euo pipefail
build=${1:?build dir}
python=${2:-python3}
here=$(cd "$(dirname "$0")" && pwd)
"$build"/bin/quantpipe_tokenizer_bench --benchmark_counters_tabular=true
RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$python" "$here/hf_tokenizer_speed.py"
