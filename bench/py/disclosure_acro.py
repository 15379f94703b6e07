#!/usr/bin/env python3
"""Times ACRO 1.0.2 on the same tables as `crates/disclosure/examples/bench_10k.rs`.

Usage: python disclosure_acro.py RECORDS_CSV ADULT_CSV
  RECORDS_CSV: row,col,value records written by the Rust example (100 x 100 sum table)
  ADULT_CSV:   shared/data/arx/adult.csv (ACRO's T1: education x occupation counts)
"""
import logging
import sys
import time
import warnings

logging.disable(logging.CRITICAL)
warnings.filterwarnings("ignore")

import pandas as pd  # noqa: E402
from acro import ACRO  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1000


def main():
    recs = pd.read_csv(sys.argv[1])
    adult = pd.read_csv(sys.argv[2], sep=";")
    for suppress in (False, True):
        a = ACRO(suppress=suppress)
        _, ms = timed(lambda: a.crosstab(recs.row, recs.col, values=recs.value, aggfunc="sum", margins=True))
        rec = a.results.get("output_0")
        flagged = int((rec.outcome != "ok").to_numpy().sum())
        print(f"ACRO 10k-cell sum table (suppress={suppress}): {ms:.0f} ms, status {rec.status}, {flagged} flagged")
        a = ACRO(suppress=suppress)
        _, ms = timed(lambda: a.crosstab(adult.education, adult.occupation))
        rec = a.results.get("output_0")
        print(f"ACRO T1 224-cell count table (suppress={suppress}): {ms:.0f} ms, status {rec.status}")


if __name__ == "__main__":
    main()
