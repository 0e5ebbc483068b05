#!/usr/bin/env bash
# Installs the Debian packages quantpipe needs (apt-get), then configures and
# builds into build/ (the CLI ends up at build/bin/quantpipe).
# Usage: scripts/build.sh [extra cmake options...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
