#!/usr/bin/env bash
# quantpipe and Python's huggingface_hub share one cache, checked against the
# real huggingface_hub (PyPI, installed into a virtual environment here, not
# part of the default test run) pointed at the tests' fake hub on 127.0.0.1:
# a model either tool downloaded is found and used by the other offline, and
# one cache filled by both is whole; huggingface_hub's own upload_folder works
# against the fake hub's upload endpoints, and what `quantpipe upload` commits
# comes back byte for byte through huggingface_hub, whose ModelCard parser
# reads the card's metadata. No request leaves the machine.
#
# Usage: scripts/check-hub-compat.sh [huggingface_hub version spec, e.g. "==0.26.5"]
#   QUANTPIPE_VENV: the virtual environment to use (default build/venv-hub-compat)
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${1:-}
venv=${QUANTPIPE_VENV:-build/venv-hub-compat}
[[ -x build/bin/quantpipe && -x build/bin/fake_hub_server ]] || scripts/build.sh
cmake --build build -j"$(nproc)" --target quantpipe fake_hub_server >/dev/null
if [[ ! -x "$venv/bin/python" ]]; then
  command -v python3 >/dev/null || apt-get install -y python3 python3-venv
  python3 -m venv "$venv" || { apt-get install -y python3-venv && python3 -m venv "$venv"; }
fi
"$venv/bin/pip" install -q "huggingface_hub${spec}"
status=0
"$venv/bin/python" tests/hub_compat/check_shared_cache.py build/bin/quantpipe build/bin/fake_hub_server || status=1
"$venv/bin/python" tests/hub_compat/check_upload.py build/bin/quantpipe build/bin/fake_hub_server || status=1
exit $status
