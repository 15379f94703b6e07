#!/usr/bin/env bash
# Pseudonymization benchmark (issue "Pseudonymization"): a ~10-million-row claims table from
# the sample data (1,300,000 persons × 1 year), pseudonymized by medinfra (HMAC-SHA-256 tokens
# of claim_id and provider_id+patient_id, name_kanji dropped, birth_date cut to the month:
# bench/policies/claims-bench.toml) and, beside it, DuckDB computing sha256() of the same
# fields over the same Parquet into a new Parquet file. Target: medinfra rows/s >= DuckDB's.
#   bash bench/pseudonymize.sh [PERSONS]
set -euo pipefail
cd "$(dirname "$0")/.."
persons="${1:-1300000}"
bash bench/venv.sh
cargo build --release -p medinfra --quiet
bin="${CARGO_TARGET_DIR:-target}/release/medinfra"
work="$(mktemp -d /tmp/medinfra-bench-pseudo.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$bin" --data-dir "$work/data" synth --persons "$persons" --years 1 --output s >/dev/null
"$bin" --data-dir "$work/data" keys new >/dev/null
src="$work/data/datasets/s/*/claims.part-*.parquet"
# Page cache warm for both.
cat $src >/dev/null
/usr/bin/time -v "$bin" --data-dir "$work/data" pseudonymize --input s --output p \
  --tables claims --policy bench/policies/claims-bench.toml --json >"$work/medinfra.json" 2>"$work/medinfra.time"
/usr/bin/time -v bench/.venv/bin/python bench/py/pseudonymize_duckdb.py "$src" "$work/duckdb.parquet" \
  >"$work/duckdb.json" 2>"$work/duckdb.time"
python3 - "$work" <<'PY'
import json, re, sys
w = sys.argv[1]
def rss(f):
    t = open(f).read()
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024, \
        re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
m = json.load(open(f"{w}/medinfra.json")); d = json.load(open(f"{w}/duckdb.json"))
mr, mw = rss(f"{w}/medinfra.time"); dr, dw = rss(f"{w}/duckdb.time")
print(f"medinfra: {m['rows']:,} rows in {m['elapsed_ms']/1000:.2f} s = {m['rows_per_second']:,.0f} rows/s, wall {mw}, peak RSS {mr:,.0f} MiB")
print(f"duckdb  : {d['rows']:,} rows in {d['seconds']:.2f} s = {d['rows_per_second']:,.0f} rows/s, wall {dw}, peak RSS {dr:,.0f} MiB ({d['engine']}, {d['threads']} threads)")
print(f"ratio (medinfra rows/s ÷ DuckDB rows/s): {m['rows_per_second']/d['rows_per_second']:.2f}")
PY
