"""Derive a person-level quasi-identifier table (one row per claim) from the sample data's
claims Parquet with DuckDB, plus ARX-format hierarchy files, for the 10M-row anonymization
benchmark. Usage: claims_qi_table.py CLAIMS_GLOB PREFECTURES_CSV OUT_DIR ROWS"""
import csv, sys, duckdb

claims, prefs, out, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
con = duckdb.connect()
con.execute(f"""
COPY (
  SELECT CAST(sex AS VARCHAR) AS sex,
         CAST(LEAST(date_diff('year', birth_date, strptime(service_month || '01', '%Y%m%d')::DATE), 110) AS VARCHAR) AS age,
         substr(provider_id, 1, 2) AS prefecture,
         service_month,
         claim_kind,
         CASE WHEN length(insurer_number) = 6 THEN 'kokuho'
              WHEN substr(insurer_number, 1, 2) = '01' THEN 'kyokai'
              WHEN substr(insurer_number, 1, 2) = '06' THEN 'kumiai'
              WHEN substr(insurer_number, 1, 2) IN ('31','32','33','34') THEN 'kyosai'
              WHEN substr(insurer_number, 1, 2) = '39' THEN 'kouki'
              ELSE 'other' END AS insurer
  FROM read_parquet('{claims}') LIMIT {rows}
) TO '{out}/claims_qi.csv' (HEADER, DELIMITER ';')
""")
def write(name, lines):
    with open(f"{out}/h_{name}.csv", "w") as f:
        f.write("\n".join(";".join(l) for l in lines) + "\n")
write("sex", [["1", "*"], ["2", "*"]])
write("age", [[str(a), f"{a//5*5}-{a//5*5+4}", f"{a//10*10}-{a//10*10+9}", f"{a//20*20}-{a//20*20+19}", "*"] for a in range(111)])
regions = {r["code"]: r["region"] for r in csv.DictReader(open(prefs))}
write("prefecture", [[c, regions[c], "*"] for c in sorted(regions)])
months = [r[0] for r in con.execute(f"SELECT DISTINCT service_month FROM read_parquet('{claims}')").fetchall()]
write("service_month", [[m, f"{m[:4]}-Q{(int(m[4:])-1)//3+1}", m[:4], "*"] for m in sorted(months)])
write("claim_kind", [["outpatient", "ambulatory", "*"], ["pharmacy", "ambulatory", "*"], ["dpc", "inpatient", "*"], ["inpatient", "inpatient", "*"]])
write("insurer", [[i, g, "*"] for i, g in [("kyokai", "employee"), ("kumiai", "employee"), ("kyosai", "employee"), ("kokuho", "regional"), ("kouki", "regional"), ("other", "other")]])
print(con.execute(f"SELECT count(*) FROM read_csv('{out}/claims_qi.csv', delim=';', header=true)").fetchone()[0])
