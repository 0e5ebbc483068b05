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

check() {  # name, binary
  "$2" "$model_dir" "$work/out-$1" | tee "$work/$1.log"
  grep -q "consumer ok" "$work/$1.log" || { echo "$1: consumer did not run"; exit 1; }
}

echo "== find_package"
cmake -S "$source_dir/tests/consumer" -B "$work/fp" -DCMAKE_PREFIX_PATH="$prefix" "${launcher[@]}" >/dev/null
cmake --build "$work/fp" >/dev/null
check find_package "$work/fp/consumer"

echo "== pkg-config"
PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
# shellcheck disable=SC2046
c++ -O1 "$source_dir/tests/consumer/main.cpp" -o "$work/pc-consumer" $(pkg-config --cflags --libs quantpipe)
check pkg_config "$work/pc-consumer"

echo "== add_subdirectory"
cmake -S "$source_dir/tests/consumer" -B "$work/sub" -DQUANTPIPE_SOURCE="$source_dir" \
      -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
cmake --build "$work/sub" -j"$(nproc)" >/dev/null
check add_subdirectory "$work/sub/consumer"
echo "3 passed, 0 failed"
