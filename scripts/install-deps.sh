#!/usr/bin/env bash
# Installs the Debian packages quantpipe needs to build, test and benchmark.
# Usage: scripts/install-deps.sh [--oracles] [--fuzz]
#   --oracles  also installs PyTorch (python3-torch) for the golden-file generators and the
#              PyTorch benchmarks, and python3-onnx for bench/onnx_export.py. The tokenizer
#              goldens need Node.js + npm, which are not installed here (the machine's own
#              Node.js is used when present).
#   --fuzz     also installs Clang and its libFuzzer / sanitizer runtimes (scripts/fuzz.sh).
set -euo pipefail
packages=(build-essential cmake pkg-config git
          nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libutf8proc-dev
          libpcre2-dev libsentencepiece-dev  # tokenizers: Split/ByteLevel regexes, spm.model files
          libminizip-dev zlib1g-dev libcurl4-openssl-dev libssl-dev libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev python3 python3-numpy
          pybind11-dev python3-dev
          libeigen3-dev  # GPTQ: Cholesky factorisations
          chromium)  # chromium: the headless-browser check of the HTML report (tests ReportChromium*)
for option in "$@"; do
  case "$option" in
    --oracles) packages+=(python3-torch python3-onnx) ;;  # python3-onnx: bench/onnx_export.py
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps.sh: unknown option $option" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  echo "[install-deps] installing: ${missing[*]}" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >&2
else
  echo "[install-deps] all packages present" >&2
fi
