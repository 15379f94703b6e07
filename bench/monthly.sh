#!/usr/bin/env bash
# The monthly run (issue "linked research database"): a synthetic population of N persons over
# YEARS years written as providers' files, cut into deliveries — the back-load up to December of
# the year before the last, then one delivery per month of the last year — and `medinfra run` on
# each in turn, as an operator runs it. Per run: wall time and peak RSS (/usr/bin/time -v), the
# registry's pairwise precision/recall/F1 against the generator's truth, and the share of
# records already registered that kept their person_id; then a second table of where each run's
# time went (the steps of the run's report).
#   bash bench/monthly.sh [PERSONS] [YEARS]        (default: 100000 3)
# BIN (a built medinfra; default: a release build), RESULTS_DIR may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
years="${2:-3}"
results="${RESULTS_DIR:-$(pwd)/target/bench-monthly}"
if [ -z "${BIN:-}" ]; then
  cargo build --quiet --release -p medinfra --bin medinfra
  BIN="${CARGO_TARGET_DIR:-$(pwd)/target}/release/medinfra"
fi
start=2020
last=$((start + years - 1))
months=("$((last - 1))12")
for m in 01 02 03 04 05 06 07 08 09 10 11 12; do months+=("$last$m"); done
dir="$results/persons-$n"
rm -rf "$dir"
mkdir -p "$dir"
data="$dir/data"
list=$(IFS=,; echo "${months[*]}")
echo "== synth $n persons x $years years, deliveries $list" >&2
/usr/bin/time -v "$BIN" --data-dir "$data" synth --persons "$n" --years "$years" \
  --start-year "$start" --output s --format provider --deliveries "$list" \
  >"$dir/synth.out" 2>"$dir/synth.time"
"$BIN" --data-dir "$data" providers import "$data/provider-files/s.providers.csv" >&2
echo "| run | delivery | files | wall s | peak RSS MiB | records | persons | joined | merged | moved | model | F1 | precision | recall | kept person_id |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
prev=""
k=0
for m in "${months[@]}"; do
  /usr/bin/time -v "$BIN" --data-dir "$data" run "$data/provider-files/s-deliveries/$m" --json \
    >"$dir/run-$m.json" 2>"$dir/run-$m.time"
  "$BIN" --data-dir "$data" persons evaluate --truth s-truth --json >"$dir/eval-$m.json"
  "$BIN" --data-dir "$data" persons export --out "$dir/persons-$m.csv" >/dev/null
  python3 - "$dir" "$m" "$prev" "$k" <<'PY'
import csv, json, re, sys
d, m, prev, k = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
r = json.load(open(f"{d}/run-{m}.json"))
e = json.load(open(f"{d}/eval-{m}.json"))
t = open(f"{d}/run-{m}.time").read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
h = int(wall.group(1) or 0); secs = h * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
kept = "—"
if prev:
    a = {x["record"]: x["person_id"] for x in csv.DictReader(open(f"{d}/persons-{prev}.csv"))}
    b = {x["record"]: x["person_id"] for x in csv.DictReader(open(f"{d}/persons-{m}.csv"))}
    kept = f"{sum(1 for x in a if b.get(x) == a[x]) / max(len(a), 1):.5f}"
g = r["registry"]
f = r["reconciliation"]["files"]
label = "back-load" if k == "0" else f"month {k}"
model = "trained" if g.get("model_trained") else "reused"
print(f"| {label} | {m} | {f['accepted']} | {secs:.1f} | {rss:.0f} | {g['records_total']} | {g['persons_total']} | {g['joined']} | {g['merged']} | {g['records_moved']} | {model} | {e['f1']:.4f} | {e['precision']:.4f} | {e['recall']:.4f} | {kept} |")
PY
  prev="$m"
  k=$((k + 1))
done
# Where each run's time went (the run report's steps), one row per run.
echo
python3 - "$dir" "${months[@]}" <<'PY'
import json, sys
d, months = sys.argv[1], sys.argv[2:]
runs = [json.load(open(f"{d}/run-{m}.json")) for m in months]
steps = []
for r in runs:
    for s in r.get("steps", []):
        if s["step"] not in steps:
            steps.append(s["step"])
print("| run | " + " | ".join(steps) + " |")
print("|---|" + "---|" * len(steps))
for k, (m, r) in enumerate(zip(months, runs)):
    t = {s["step"]: s["seconds"] for s in r.get("steps", [])}
    label = "back-load" if k == 0 else f"month {k}"
    print(f"| {label} ({m}) | " + " | ".join(f"{t[s]:.2f}" if s in t else "—" for s in steps) + " |")
PY
