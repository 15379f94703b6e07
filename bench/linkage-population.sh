#!/usr/bin/env bash
# Person resolution on the generated population (issues 5 and 16): `medinfra synth` with
# identity noise (on by default), one identity record per patient registration at a provider
# (latest claim's card), then side by side — deterministic ID1/ID2 resolution (ID0-style,
# medinfra-link's `deterministic` module), `medinfra link --dedupe --model japan-person`,
# Splink 5 (DuckDB) with an equivalent model, and the person registry as an operator gets it:
# `medinfra run` over the providers' own files (every receipt's card and name over the years,
# not only the latest), scored on the same patient registrations — pairwise
# precision/recall/F1 against the generator's truth, wall time and peak RSS (/usr/bin/time -v)
# of each process (for the registry: the whole run, ingest and research database included).
#   bash bench/linkage-population.sh [PERSONS...]        (default: 100000 1000000)
# RESULTS_DIR, LINK_VENV, CARGO_TARGET_DIR, SPLINK_TIMEOUT (seconds, default 1800) may be set.
# Splink that runs out of time or memory is reported as such, not retried.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
venv="${LINK_VENV:-/tmp/linkvenv-medinfra}"
results="${RESULTS_DIR:-$root/target/bench-linkage-population}"
target="${CARGO_TARGET_DIR:-$root/target/link-bench}"
splink_timeout="${SPLINK_TIMEOUT:-1800}"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
mkdir -p "$results"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import splink" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip wheel
  "$venv/bin/pip" install --quiet splink==5.0.0 duckdb==2.0.1 pandas==2.3.3 numpy==2.4.6
fi

CARGO_TARGET_DIR="$target" nice -n 5 cargo build --quiet --release -p medinfra \
  -p medinfra-link --bin medinfra --example resolve_csv
medinfra="$target/release/medinfra"
resolve="$target/release/examples/resolve_csv"

# run DIR NAME CMD...: runs CMD under /usr/bin/time -v; stdout to NAME.out, time to NAME.time,
# exit status to NAME.rc (a failure is recorded, not fatal).
run() {
  local dir="$1" name="$2"; shift 2
  local rc=0
  /usr/bin/time -v "$@" >"$dir/$name.out" 2>"$dir/$name.time" || rc=$?
  echo "$rc" >"$dir/$name.rc"
  [ "$rc" = 0 ] || echo "  $name exited with status $rc (see $dir/$name.time)" >&2
}

for n in "${sizes[@]}"; do
  dir="$results/persons-$n"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "== $n persons: synth" >&2
  run "$dir" synth "$medinfra" --data-dir "$dir/data" synth --persons "$n" --years 5 --output s \
    --format provider
  echo "== $n persons: export identity records and truth pairs" >&2
  run "$dir" export "$venv/bin/python" bench/py/linkage_population_export.py "$dir/data" s "$dir"
  cat "$dir/export.out" >&2
  echo "== $n persons: deterministic ID1/ID2" >&2
  run "$dir" deterministic "$resolve" --input "$dir/records.csv" --truth "$dir/truth.csv"
  echo "== $n persons: medinfra link (japan-person)" >&2
  run "$dir" medinfra "$medinfra" link --dedupe "$dir/records.csv" --model japan-person \
    --out "$dir/medinfra" --truth "$dir/truth.csv"
  echo "== $n persons: Splink (timeout ${splink_timeout}s)" >&2
  run "$dir" splink timeout "$splink_timeout" "$venv/bin/python" \
    bench/py/linkage_population_splink.py "$dir/records.csv" "$dir/truth.csv"
  echo "== $n persons: medinfra run (person registry over the providers' files)" >&2
  "$medinfra" --data-dir "$dir/data" providers import "$dir/data/provider-files/s.providers.csv" >&2
  run "$dir" registry "$medinfra" --data-dir "$dir/data" run "$dir/data/provider-files/s" --json
  mv "$dir/registry.out" "$dir/registry-run.json"
  "$medinfra" --data-dir "$dir/data" persons evaluate --truth s-truth --json | tr -d '\n' \
    >"$dir/registry.out" && echo >>"$dir/registry.out"
  rm -rf "$dir/data"   # the generated dataset is large; records.csv and truth.csv stay
done

python3 bench/py/linkage_population_summary.py "$results" "${sizes[@]}"
