#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole default test suite with
# ctest. Tests that need ../shared (real models and data) skip with a message
# when it is absent. Long benchmarks are not part of this run (see bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 900
