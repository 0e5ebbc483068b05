#!/usr/bin/env bash
# Creates the Python venv for the extra peers of bench/compare_peers.sh and installs them from
# PyPI: OpenVINO + NNCF (bench/openvino_bench.py), CTranslate2 (bench/ctranslate2_bench.py)
# and llama-cpp-python (bench/llamacpp_bench.py). Versions are pinned so runs compare.
#
# Usage: scripts/install-peers.sh [VENV]
#   VENV   the venv folder (default ../venvs/peers beside the repository; VENV=... in the environment works too)
# Environment:
#   PEERS ["openvino ctranslate2 llamacpp"]  which peers to install
#   CMAKE_BUILD_PARALLEL_LEVEL [1]  compile jobs for llama.cpp
#
# The venv sees the system site-packages, for Debian's python3-torch (1.13): the CTranslate2
# converter and llama.cpp's convert_hf_to_gguf.py load the model with torch. That torch is
# built against numpy 1.x, hence numpy<2, and transformers 4.47 is the last release that
# accepts a torch older than 2.0.
# llama-cpp-python has no binary wheel on PyPI: pip builds llama.cpp from the sdist (at nice
# 19, one compile job by default; about 20 minutes on 2 cores, the multimodal library is left
# out). The sdist is also unpacked under VENV/src, since llama.cpp's GGUF converter
# (vendor/llama.cpp/convert_hf_to_gguf.py) is not part of the installed package.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-${VENV:-$(dirname "$PWD")/venvs/peers}}
peers=${PEERS:-"openvino ctranslate2 llamacpp"}
openvino_pkgs=(openvino==2026.4.1 nncf==3.4.0)
ctranslate2_pkgs=(ctranslate2==4.8.5 transformers==4.47.1)
llamacpp_version=0.3.36
llamacpp_pkgs=(gguf==0.19.0)

scripts/install-deps.sh --oracles  # python3-torch (+ python3-onnx for the ONNX export)
if ! dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "install ok installed"; then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -qq python3-venv >&2
fi
[[ -x "$venv/bin/python" ]] || /usr/bin/python3 -m venv --system-site-packages "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check)

wanted=('numpy<2')
for peer in $peers; do
  case "$peer" in
    openvino) wanted+=("${openvino_pkgs[@]}") ;;
    ctranslate2) wanted+=("${ctranslate2_pkgs[@]}") ;;
    llamacpp) wanted+=("${llamacpp_pkgs[@]}" transformers==4.47.1) ;;
    *) echo "[install-peers] unknown peer '$peer' (openvino, ctranslate2, llamacpp)" >&2; exit 2 ;;
  esac
done
echo "[install-peers] $venv: ${wanted[*]}" >&2
"${pip[@]}" "${wanted[@]}"

if [[ " $peers " == *" llamacpp "* ]]; then
  src=$venv/src
  mkdir -p "$src"
  sdist=$src/llama_cpp_python-$llamacpp_version.tar.gz
  if [[ ! -f "$sdist" ]]; then
    "$venv/bin/python" -m pip download --disable-pip-version-check --no-deps --no-binary :all: \
      "llama-cpp-python==$llamacpp_version" -d "$src"
  fi
  [[ -d "$src/llama_cpp_python-$llamacpp_version" ]] || tar -xzf "$sdist" -C "$src"
  if ! "$venv/bin/python" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$llamacpp_version')" \
       2>/dev/null; then
    echo "[install-peers] building llama-cpp-python $llamacpp_version (llama.cpp from source)" >&2
    nice -n 19 env CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-1}" \
      CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON -DLLAVA_BUILD=OFF}" "${pip[@]}" "$sdist" 'numpy<2'
  fi
fi
"$venv/bin/python" -m pip check >&2 || true
echo "[install-peers] done: $venv" >&2
