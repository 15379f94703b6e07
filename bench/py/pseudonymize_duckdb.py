"""DuckDB baseline of the pseudonymization benchmark: the same claims Parquet, sha256() of the
same fields (claim_id; provider_id + 0x1F + patient_id), name_kanji dropped, birth_date cut to
the month, every other column kept, written to one Snappy Parquet file. Prints one JSON line.
    python pseudonymize_duckdb.py 'DATA/claims.part-*.parquet' OUT.parquet
"""
import json
import sys
import time

import duckdb

src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
start = time.perf_counter()
con.execute(
    f"""
    COPY (
      SELECT sha256(claim_id) AS claim_id, provider_id,
             sha256('patient' || chr(31) || provider_id || chr(31) || patient_id) AS patient_id,
             service_month, claim_kind, receipt_type, name_kana, sex,
             CAST(date_trunc('month', birth_date) AS DATE) AS birth_date,
             insurer_number, card_symbol, card_number, card_branch, admission_date, days,
             total_points
      FROM read_parquet('{src}')
    ) TO '{out}' (FORMAT parquet, COMPRESSION snappy)
    """
)
elapsed = time.perf_counter() - start
rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
print(json.dumps({"engine": "duckdb " + duckdb.__version__, "rows": rows, "seconds": elapsed,
                  "rows_per_second": rows / elapsed, "threads": con.execute("SELECT current_setting('threads')").fetchone()[0]}))
