"""DuckDB baseline: read the flat CSV into Parquet (all columns as text, as the UKE fields
are). Prints seconds and records/s."""
import sys, time, duckdb

csv_path, out = sys.argv[1], sys.argv[2]
cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(48))
con = duckdb.connect()
t = time.perf_counter()
con.execute(
    f"COPY (SELECT * FROM read_csv('{csv_path}', header=false, columns={{{cols}}})) "
    f"TO '{out}' (FORMAT parquet, COMPRESSION snappy)"
)
secs = time.perf_counter() - t
rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
print(f"{secs:.3f} {rows} {rows/secs:.0f}")
