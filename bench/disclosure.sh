#!/usr/bin/env bash
# Output-checking benchmark (issue 8): medinfra-disclosure on a 10,000-cell table (target
# < 100 ms) and on ACRO's 224-cell T1, then ACRO 1.0.2 itself on the same two tables.
#   bash bench/disclosure.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d /tmp/medinfra-bench-disclosure.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo run --quiet --release --manifest-path crates/disclosure/Cargo.toml --example bench_10k -- "$work/records.csv"
# ACRO in a throwaway venv (as shared/bench/acro/run_acro_demo.sh does).
VENV=${VENV:-/tmp/venv-acro}
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q "acro==1.0.2"; }
cd "$work"   # ACRO may write session artefacts into the working directory
"$VENV/bin/python" "$OLDPWD/bench/py/disclosure_acro.py" "$work/records.csv" "$OLDPWD/../shared/data/arx/adult.csv"
