"""Flatten UKE files (CP932, CRLF) into one UTF-8 CSV with a fixed number of columns: the
same records DuckDB reads in the ingest benchmark. Prints the record count."""
import csv, sys, pathlib

files, out = [pathlib.Path(p) for p in sys.argv[2:]], sys.argv[1]
width = 48
n = 0
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    for p in files:
        for line in p.read_bytes().decode("cp932").split("\r\n"):
            if not line:
                continue
            fields = line.split(",")
            w.writerow(fields + [""] * (width - len(fields)))
            n += 1
print(n)
