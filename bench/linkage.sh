#!/usr/bin/env bash
# Linkage benchmark (issue 5): Splink 5 (DuckDB) and medinfra-link side by side on FEBRL —
# febrl4 A<->B link and febrl3 dedupe — F1 at match probability >= 0.5, wall time and peak RSS
# (/usr/bin/time -v) of each process. Targets: F1 >= Splink's, >= 10x faster, lower RSS.
#   bash bench/linkage.sh            (RESULTS_DIR, LINK_VENV, CARGO_TARGET_DIR may be set)
# Splink's model and training follow ../shared/bench/linkage/splink_febrl{3,4}.py; Splink is
# timed once per process here (its in-process train+predict time is reported too).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
febrl="${FEBRL_DIR:-$root/../shared/data/febrl}"
venv="${LINK_VENV:-/tmp/linkvenv-medinfra}"
results="${RESULTS_DIR:-$root/target/bench-linkage}"
target="${CARGO_TARGET_DIR:-$root/target/link-bench}"
mkdir -p "$results"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import splink" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip wheel
  "$venv/bin/pip" install --quiet splink==5.0.0 duckdb==2.0.1 pandas==2.3.3 numpy==2.4.6
fi

CARGO_TARGET_DIR="$target" cargo build --quiet --release --example link_csv \
  --manifest-path crates/link/Cargo.toml
bin="$target/release/examples/link_csv"

# run NAME CMD...: runs CMD under /usr/bin/time -v, keeps stdout (one JSON line) and RSS/wall.
run() {
  local name="$1"; shift
  /usr/bin/time -v "$@" >"$results/$name.out" 2>"$results/$name.time"
}

for ds in febrl4 febrl3; do
  if [ "$ds" = febrl4 ]; then
    med_args=(--left "$febrl/febrl4a.csv" --right "$febrl/febrl4b.csv")
  else
    med_args=(--dedupe "$febrl/febrl3.csv")
  fi
  run "splink_$ds" "$venv/bin/python" bench/py/linkage_splink.py "$ds" "$febrl"
  run "medinfra_$ds" "$bin" --model febrl "${med_args[@]}" --out "$results/medinfra_$ds" \
    --threshold 0.5 --truth "$febrl/${ds}_true_pairs.csv"
done

python3 bench/py/linkage_summary.py "$results"
