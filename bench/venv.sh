#!/usr/bin/env bash
# Creates (once) the Python venv the peer baselines run in: bench/.venv
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
fi
.venv/bin/pip install --quiet -r py/requirements.txt
