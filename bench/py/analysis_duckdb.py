"""DuckDB baseline for bench/analysis.sh: the same ten queries (crates/analysis/examples/
bench_queries.sql) on the same Parquet files of a medinfra dataset version, one JSON line per
query in the format of the Rust example `analysis_bench` (engine, query, median_s, runs, rows,
check = sum of the last column)."""

import argparse
import json
import time
from pathlib import Path

import duckdb


def read_queries(path):
    out = []
    for line in Path(path).read_text().splitlines():
        if line.startswith("-- name: "):
            out.append([line[len("-- name: "):].strip(), ""])
        elif out and not line.startswith("--"):
            out[-1][1] += line + "\n"
    return [(n, s.strip().rstrip(";")) for n, s in out]


def latest_version_dir(data, dataset):
    best = None
    for d in (Path(data) / "datasets" / dataset).glob("v*"):
        m = d / "manifest.json"
        if m.exists():
            v = json.loads(m.read_text())["version"]
            if best is None or v > best[0]:
                best = (v, d)
    if best is None:
        raise SystemExit(f"no committed version of {dataset} under {data}")
    return best[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", required=True)
    a = ap.parse_args()
    vdir = latest_version_dir(a.data, a.dataset)
    manifest = json.loads((vdir / "manifest.json").read_text())
    con = duckdb.connect()
    for t in manifest["tables"]:
        files = [str(vdir / f["path"]) for f in t["files"]]
        if files:
            con.execute(f"CREATE VIEW {t['name']} AS SELECT * FROM read_parquet({files!r})")
    for name, sql in read_queries(a.queries):
        times, rows = [], []
        for _ in range(a.runs):
            t = time.perf_counter()
            rows = con.execute(sql).fetchall()
            times.append(time.perf_counter() - t)
        check = sum(float(r[-1]) for r in rows if r and r[-1] is not None)
        print(json.dumps({
            "engine": "duckdb", "query": name, "median_s": round(sorted(times)[len(times) // 2], 4),
            "runs": [round(x, 4) for x in times], "rows": len(rows), "check": round(check, 4),
        }), flush=True)


if __name__ == "__main__":
    main()
