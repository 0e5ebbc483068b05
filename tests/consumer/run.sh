#!/usr/bin/env bash
# Installs quantpipe from BUILD_DIR into a temporary prefix and builds the
# consumer three ways: find_package(quantpipe), pkg-config, add_subdirectory.
# Each build must compile with the public headers alone and run on MODEL_DIR.
# Usage: tests/consumer/run.sh SOURCE_DIR BUILD_DIR MODEL_DIR
set -euo pipefail
source_dir=$1 build_dir=$2 model_dir=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

cmake --install "$build_dir" --prefix "$prefix" >/dev/null
for f in include/quantpipe/model.h include/quantpipe/quantize.h lib/libquantpipe.a bin/quantpipe \
         lib/cmake/quantpipe/quantpipeConfig.cmake lib/pkgconfig/quantpipe.pc; do
  [[ -e $prefix/$f ]] || { echo "not installed: $f"; exit 1; }
done
# The installed headers must not reach into the source tree.
if grep -rhoE '#include "[^"]+"' "$prefix/include/quantpipe" | grep -v '"quantpipe/'; then
  echo "installed headers include files outside include/quantpipe"; exit 1
fi

# The golden model has weights but no tokenizer: give a copy a WordPiece
# vocabulary of its vocab_size (specials, then plain words).
model=$work/model
cp -r "$model_dir" "$model"
vocab_size=$(sed -n 's/.*"vocab_size": *\([0-9]*\).*/\1/p' "$model/config.json")
{ printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nman\nplays\nguitar\nhello\nworld\n'
  for ((i = 11; i < vocab_size; i++)); do echo "word$i"; done; } >"$model/vocab.txt"
model_dir=$model

check() {  # name, binary
  "$2" "$model_dir" "$work/out-$1" | tee "$work/$1.log"
  grep -q "consumer ok" "$work/$1.log" || { echo "$1: consumer did not run"; exit 1; }
}

# Build output goes to a log, shown only when a step fails.
quiet() {
  "$@" >"$work/step.log" 2>&1 || { cat "$work/step.log"; echo "failed: $*"; exit 1; }
}

echo "== find_package"
quiet cmake -S "$source_dir/tests/consumer" -B "$work/fp" -DCMAKE_PREFIX_PATH="$prefix" "${launcher[@]}"
quiet cmake --build "$work/fp"
check find_package "$work/fp/consumer"

echo "== pkg-config"
PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
# shellcheck disable=SC2046
quiet c++ -O1 "$source_dir/tests/consumer/main.cpp" -o "$work/pc-consumer" $(pkg-config --cflags --libs quantpipe)
check pkg_config "$work/pc-consumer"

echo "== add_subdirectory"
# Debug: this build only has to compile and link the library from source, and
# unoptimised code compiles in about half the time on the 2-core CI machine.
quiet cmake -S "$source_dir/tests/consumer" -B "$work/sub" -DQUANTPIPE_SOURCE="$source_dir" \
      -DCMAKE_BUILD_TYPE=Debug "${launcher[@]}"
quiet cmake --build "$work/sub" --target consumer -j"$(nproc)"
check add_subdirectory "$work/sub/consumer"
echo "3 passed, 0 failed"
