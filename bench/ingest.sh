#!/usr/bin/env bash
# Ingest benchmark (issue "Provider formats and ingest"): the electronic receipt files of one
# month of a PERSONS-person sample population, ingested by medinfra (validation, canonical
# mapping, Parquet, manifests, catalog), beside DuckDB reading the same records as a flat CSV
# into Parquet. Target: medinfra records/s >= DuckDB's, peak RSS < 1 GiB.
#   bash bench/ingest.sh [PERSONS] [MONTH]
set -euo pipefail
cd "$(dirname "$0")/.."
persons="${1:-1000000}"
month="${2:-202001}"
bash bench/venv.sh
cargo build --release -p medinfra --quiet
bin="${CARGO_TARGET_DIR:-target}/release/medinfra"
work="$(mktemp -d /tmp/medinfra-bench-ingest.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$bin" --data-dir "$work/gen" synth --persons "$persons" --years 1 --format provider --receipts-only --output s >/dev/null
mapfile -t files < <(find "$work/gen/provider-files/s" -path "*/$month/*" -name '*.UKE' | sort)
records=$(bench/.venv/bin/python bench/py/uke_to_csv.py "$work/flat.csv" "${files[@]}")
bytes=$(cat "${files[@]}" | wc -c)
echo "month $month: ${#files[@]} files, $records records, $bytes bytes"
mkdir -p "$work/month"
for f in "${files[@]}"; do cp "$f" "$work/month/$(echo "$f" | md5sum | cut -c1-12).UKE"; done
sync
# Other engineers build on the same 2 cores: report the load around the timed runs.
load_before=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s.%N)
/usr/bin/time -v "$bin" --data-dir "$work/ingest" ingest --provider auto --json "$work/month" >"$work/ingest.json" 2>"$work/time.txt"
end=$(date +%s.%N)
rss=$(grep "Maximum resident" "$work/time.txt" | awk '{print $6}')
cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "user %.2f s, system %.2f s", u, s}' "$work/time.txt")
load_mid=$(cut -d' ' -f1 /proc/loadavg)
read -r dsecs drows drate < <(bench/.venv/bin/python bench/py/duckdb_csv_to_parquet.py "$work/flat.csv" "$work/duck.parquet")
load_after=$(cut -d' ' -f1 /proc/loadavg)
echo "load average (1 min) before medinfra $load_before, after medinfra $load_mid, after duckdb $load_after"
python3 - "$start" "$end" "$records" "$rss" "$dsecs" "$drows" "$drate" "$work/ingest.json" "$cpu" <<'PY'
import json, sys
start, end, records, rss, dsecs, drows, drate, out, cpu = sys.argv[1:]
secs = float(end) - float(start)
outcomes = json.load(open(out))
accepted = sum(f["receipts_accepted"] for o in outcomes for f in o["files"])
quarantined = sum(f["receipts_quarantined"] for o in outcomes for f in o["files"])
rate = int(records) / secs
print(f"medinfra: {secs:.2f} s, {rate:,.0f} records/s, peak RSS {int(rss)/1024:,.0f} MiB, "
      f"{len(outcomes)} providers, {accepted:,} receipts accepted, {quarantined} quarantined ({cpu})")
print(f"duckdb:   {float(dsecs):.2f} s, {float(drate):,.0f} records/s ({int(drows):,} rows)")
print(f"ratio (medinfra / duckdb records/s): {rate/float(drate):.2f}")
PY
