#!/usr/bin/env bash
# Fidelity of quantized models on ALL rows of the shared dev sets: converts
# minilm-l6-genre, minilm-l6-nli and minilm-l6-sts at q8_sym_ch and
# q4_affine_g64 (checked against the issue's thresholds) and at q3_affine_g64,
# q2_affine_g64 and ternary_g64 (measured only), and prints one line per model
# and scheme: mean cosine vs fp32, label agreement, fp32 → quantized metric.
# Quantized weights run on the fastest kernel this CPU has (AVX-512 VNNI /
# AVX2; QUANTPIPE_CPU_ISA=scalar for the reference): expect several minutes
# on 2 cores.
#
# Usage: bench/quant_fidelity.sh [extra gtest flags]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d ../shared/models ]] || [[ -n "${QUANTPIPE_SHARED_DIR:-}" ]] ||
  { echo "../shared is absent: nothing to measure" >&2; exit 1; }
if [[ ! -x build/bin/quantpipe_tests ]]; then
  cmake -S . -B build -DQUANTPIPE_BUILD_BENCH=OFF
  cmake --build build -j"$(nproc)" --target quantpipe_tests
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
QUANTPIPE_FULL_EVAL=1 build/bin/quantpipe_tests --gtest_filter='QuantFidelity*' "$@" 2>&1 | tee "$log" ||
  status=$?
echo
echo "## fidelity on all rows (fp32 → quantized)"
grep -F '[ fidelity ]' "$log" || echo "(no fidelity lines: see the test output above)"
exit "$status"
