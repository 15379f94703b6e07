#!/usr/bin/env bash
# Sample-data benchmark: N persons × Y years through `medinfra synth` (release build),
# reporting wall time, persons/s, rows/s and peak RSS. Target (issue "Foundation"):
# 1,000,000 persons × 5 years in under 2 minutes with peak RSS under 2 GiB on 2 cores.
#   bash bench/synth.sh [PERSONS] [YEARS]
set -euo pipefail
cd "$(dirname "$0")/.."
persons="${1:-1000000}"
years="${2:-5}"
cargo build --release -p medinfra --quiet
bin="${CARGO_TARGET_DIR:-target}/release/medinfra"
dir="$(mktemp -d /tmp/medinfra-bench-synth.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
/usr/bin/time -v "$bin" --data-dir "$dir" synth --persons "$persons" --years "$years" --json \
  >"$dir/out.json" 2>"$dir/time.txt"
python3 - "$dir/out.json" "$dir/time.txt" "$persons" "$years" <<'PY'
import json, re, sys
out = json.load(open(sys.argv[1])); t = open(sys.argv[2]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
wall = out["seconds"]; rows = sum(out["summary"]["rows"].values())
print(f"persons={sys.argv[3]} years={sys.argv[4]} wall_s={wall:.1f} persons_per_s={int(sys.argv[3])/wall:,.0f} "
      f"rows={rows:,} rows_per_s={rows/wall:,.0f} peak_rss_mib={rss:,.0f}")
PY
