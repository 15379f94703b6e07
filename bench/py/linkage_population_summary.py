#!/usr/bin/env python3
"""Summary table for bench/linkage-population.sh: precision, recall, F1, wall time and peak RSS
per method per population size, from RESULTS/persons-N/{deterministic,medinfra,splink}.*
(/usr/bin/time -v output, the methods' JSON, medinfra's report.json).
Usage: linkage_population_summary.py RESULTS_DIR N..."""
import json
import re
import sys
from pathlib import Path

results, sizes = Path(sys.argv[1]), sys.argv[2:]


def timing(path):
    t = path.read_text() if path.exists() else ""
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
    secs = None
    if wall:
        h, m, s = wall.groups()
        secs = int(h or 0) * 3600 + int(m) * 60 + float(s)
    return secs, int(rss.group(1)) / 1024 if rss else None


def last_json(path):
    for line in reversed(path.read_text().splitlines() if path.exists() else []):
        if line.startswith("{"):
            return json.loads(line)
    return {}


def fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "-"


rows = []
for n in sizes:
    d = results / f"persons-{n}"
    exp = last_json(d / "export.out")
    for method, name in [("deterministic ID1/ID2", "deterministic"),
                         ("medinfra link japan-person", "medinfra"),
                         ("Splink 5 (DuckDB)", "splink"),
                         ("medinfra person registry (medinfra run)", "registry")]:
        rc = (d / f"{name}.rc").read_text().strip() if (d / f"{name}.rc").exists() else "?"
        if name == "medinfra":
            rep = json.loads((d / "medinfra/report.json").read_text()) \
                if (d / "medinfra/report.json").exists() else {}
            m = rep.get("evaluation") or {}
            m = dict(m, links=rep.get("links"), candidates=rep.get("candidate_pairs"))
        else:
            m = last_json(d / f"{name}.out")
        wall, rss = timing(d / f"{name}.time")
        status = "ok" if rc == "0" else ("timeout" if rc == "124" else f"failed rc={rc}")
        rows.append((n, exp.get("records"), method, m.get("precision"), m.get("recall"),
                     m.get("f1"), wall, rss, status))

head = ("persons", "records", "method", "precision", "recall", "F1", "wall s", "peak RSS MiB",
        "status")
print(" | ".join(head))
print(" | ".join("---" for _ in head))
for n, recs, method, p, r, f1, wall, rss, status in rows:
    print(" | ".join([f"{int(n):,}", fmt(recs, ","), method, fmt(p, ".4f"), fmt(r, ".4f"),
                      fmt(f1, ".4f"), fmt(wall, ".1f"), fmt(rss, ",.0f"), status]))
