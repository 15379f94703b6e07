#!/usr/bin/env python3
"""Summary table of bench/linkage.sh: reads RESULTS/{splink,medinfra}_{febrl4,febrl3}.{out,time}
and prints F1, in-process time, process wall time and peak RSS, then writes linkage.json."""
import json
import os
import re
import sys

results = sys.argv[1]


def time_v(path):
    text = open(path).read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    return rss / 1024, secs


rows = []
for ds in ("febrl4", "febrl3"):
    row = {"dataset": ds}
    for tool in ("splink", "medinfra"):
        out = open(os.path.join(results, f"{tool}_{ds}.out")).read().strip().splitlines()[-1]
        res = json.loads(out)
        rss, wall = time_v(os.path.join(results, f"{tool}_{ds}.time"))
        row[tool] = dict(f1=res["f1"], precision=res["precision"], recall=res["recall"],
                         candidate_pairs=res["candidate_pairs"], in_process_ms=res["elapsed_ms"],
                         wall_s=wall, peak_rss_mib=round(rss, 1))
    s, m = row["splink"], row["medinfra"]
    row["speedup_wall"] = round(s["wall_s"] / max(m["wall_s"], 1e-3), 1)
    row["speedup_in_process"] = round(s["in_process_ms"] / max(m["in_process_ms"], 1), 1)
    rows.append(row)

print(f"{'dataset':8} {'tool':9} {'F1':>7} {'in-proc ms':>10} {'wall s':>7} {'RSS MiB':>8}")
for row in rows:
    for tool in ("splink", "medinfra"):
        r = row[tool]
        print(f"{row['dataset']:8} {tool:9} {r['f1']:7.4f} {r['in_process_ms']:10} "
              f"{r['wall_s']:7.2f} {r['peak_rss_mib']:8.1f}")
    print(f"{'':8} speedup: wall {row['speedup_wall']}x, in-process {row['speedup_in_process']}x")
with open(os.path.join(results, "linkage.json"), "w") as f:
    json.dump(rows, f, indent=2)
