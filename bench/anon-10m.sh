#!/usr/bin/env bash
# 10-million-row anonymization benchmark (issue "Anonymization engine"): a person-level
# quasi-identifier table derived from the sample data's claims (sex, age, prefecture, service
# month, claim kind, insurer type: 6 attributes, 5,760-node lattice), k=5, 5 % suppression,
# ARX's Loss, through `medinfra anonymize --csv`. Target: < 60 s, peak RSS < 4 GiB.
#   bash bench/anon-10m.sh [ROWS] [PERSONS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-10000000}"
persons="${2:-1300000}"
bash bench/venv.sh
cargo build --release -p medinfra --quiet
bin="${CARGO_TARGET_DIR:-target}/release/medinfra"
work="$(mktemp -d /tmp/medinfra-bench-anon.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$bin" --data-dir "$work/gen" synth --persons "$persons" --years 1 --output s >/dev/null
n=$(bench/.venv/bin/python bench/py/claims_qi_table.py "$work/gen/datasets/s/*/claims.part-*.parquet" crates/synth/data/prefectures.csv "$work" "$rows")
echo "table: $n rows derived from the sample claims of $persons persons"
args=()
for q in sex age prefecture service_month claim_kind insurer; do args+=(--hierarchy "$q=$work/h_$q.csv"); done
/usr/bin/time -v "$bin" anonymize --csv "$work/claims_qi.csv" --delimiter ';' "${args[@]}" \
  --k 5 --suppression 0.05 --metric loss --out "$work/out" 2>"$work/time.txt"
python3 - "$work/out/report.json" "$work/time.txt" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1])); t = open(sys.argv[2]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
print(f"records={r['records']:,} optimal={r['optimal']} transformation={r['transformation']} loss={r['loss']:.4f} "
      f"suppressed={r['suppressed']:,} classes={r['classes']:,} nodes={r['nodes_evaluated']}/{r['lattice_size']} "
      f"search_ms={r['search_ms']:.0f} elapsed_ms={r['elapsed_ms']:.0f} wall={wall} peak_rss_mib={rss:,.0f}")
PY
