#!/usr/bin/env bash
# Builds quantpipe and its whole test suite with AddressSanitizer +
# UndefinedBehaviorSanitizer (QUANTPIPE_SANITIZE, the system compiler) in
# build-sanitize/ and runs every test there: the CLI children the integration
# tests start are instrumented too. Any sanitizer report fails the test that
# caused it (UBSan does not recover; LeakSanitizer is on).
# Usage: scripts/test-sanitize.sh [ctest options...]   e.g. -R Safetensors
# Tests that measure memory or time against fixed bounds skip themselves here
# (ASan's shadow memory and slowdown make those bounds meaningless).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=build-sanitize
# -g1: line tables for the reports at a fraction of -g's compile time.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DQUANTPIPE_SANITIZE=ON -DCMAKE_CXX_FLAGS=-g1 \
  -DQUANTPIPE_BUILD_BENCH=OFF -DQUANTPIPE_BUILD_PYTHON=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 1800 "$@"
