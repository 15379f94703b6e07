#!/usr/bin/env python3
"""Exports the sample population's identity records for bench/linkage-population.sh.

One record per patient registration at a provider ((provider_id, patient_id) of the identified
`persons` table): names, sex, birth date, postcode and prefecture as that provider holds them,
and the card fields (insurer_number, card_symbol, card_number, card_branch) of the patient's
latest claim there (latest insurance period when the patient has no claim). Writes
  records.csv  rec_id,name_kanji,name_kana,sex,birth_date,insurer_number,card_symbol,
               card_number,card_branch,postcode,prefecture,month   (month = latest claim YYYYMM)
  truth.csv    rec_id_a,rec_id_b for every pair of records of the same true person (from the
               `truth` table of DATASET-truth, record_kind 'patient')
and prints one JSON line of counts (records, persons, true pairs, largest person).
Usage: linkage_population_export.py DATA_DIR DATASET OUT_DIR"""
import json
import sys
import time

import duckdb

data_dir, dataset, out = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()


def table(ds, name):
    return f"read_parquet('{data_dir}/datasets/{ds}/v1-*/{name}.part-*.parquet')"


con = duckdb.connect()
con.execute("SET preserve_insertion_order = false")
con.execute(f"""
CREATE TEMP TABLE latest_card AS
WITH claim_cards AS (
  SELECT provider_id, patient_id, insurer_number, card_symbol, card_number, card_branch,
         service_month AS month,
         row_number() OVER (PARTITION BY provider_id, patient_id
                            ORDER BY service_month DESC, claim_id DESC) AS k
  FROM {table(dataset, 'claims')}),
period_cards AS (
  SELECT provider_id, patient_id, insurer_number, card_symbol, card_number, card_branch,
         strftime(valid_from, '%Y%m') AS month,
         row_number() OVER (PARTITION BY provider_id, patient_id
                            ORDER BY valid_from DESC) AS k
  FROM {table(dataset, 'insurance_periods')})
SELECT * EXCLUDE (k, src) FROM (
  SELECT *, 0 AS src FROM claim_cards WHERE k = 1
  UNION ALL
  SELECT p.*, 1 AS src FROM period_cards p
  WHERE k = 1 AND NOT EXISTS (SELECT 1 FROM claim_cards c WHERE c.k = 1
                              AND c.provider_id = p.provider_id AND c.patient_id = p.patient_id))
""")
con.execute(f"""
CREATE TEMP TABLE recs AS
SELECT row_number() OVER (ORDER BY p.provider_id, p.patient_id) AS rec_id,
       p.provider_id, p.patient_id,
       p.name_kanji, p.name_kana, p.sex, strftime(p.birth_date, '%Y%m%d') AS birth_date,
       c.insurer_number, c.card_symbol, c.card_number, c.card_branch,
       p.postcode, p.prefecture_code AS prefecture, replace(c.month, '-', '') AS month
FROM {table(dataset, 'persons')} p
LEFT JOIN latest_card c USING (provider_id, patient_id)
""")
con.execute(f"""
CREATE TEMP TABLE rec_person AS
SELECT r.rec_id, t.person_id
FROM recs r JOIN {table(dataset + '-truth', 'truth')} t
  ON t.record_kind = 'patient' AND t.provider_id = r.provider_id AND t.record_id = r.patient_id
""")
con.execute(f"""
COPY (SELECT rec_id, name_kanji, name_kana, sex, birth_date, insurer_number, card_symbol,
             card_number, card_branch, postcode, prefecture, month FROM recs ORDER BY rec_id)
TO '{out}/records.csv' (HEADER, DELIMITER ',')
""")
con.execute(f"""
COPY (SELECT a.rec_id AS rec_id_a, b.rec_id AS rec_id_b
      FROM rec_person a JOIN rec_person b ON a.person_id = b.person_id AND a.rec_id < b.rec_id)
TO '{out}/truth.csv' (HEADER, DELIMITER ',')
""")
(records,) = con.execute("SELECT count(*) FROM recs").fetchone()
(matched,) = con.execute("SELECT count(*) FROM rec_person").fetchone()
(no_card,) = con.execute("SELECT count(*) FROM recs WHERE card_number IS NULL").fetchone()
persons, true_pairs, largest, p99 = con.execute("""
  SELECT count(*), sum(n * (n - 1) // 2), max(n), quantile_disc(n, 0.99)
  FROM (SELECT person_id, count(*) AS n FROM rec_person GROUP BY person_id)""").fetchone()
(noisy,) = con.execute("""
  SELECT count(*) FROM (SELECT person_id FROM rec_person JOIN recs USING (rec_id)
  GROUP BY person_id HAVING count(DISTINCT name_kanji) > 1 OR count(DISTINCT name_kana) > 1
      OR count(DISTINCT insurer_number || coalesce(card_symbol, '') || card_number) > 1)""").fetchone()
print(json.dumps(dict(records=records, records_with_truth=matched, records_without_card=no_card,
                      persons=persons, true_pairs=int(true_pairs or 0),
                      largest_person_records=largest, p99_person_records=p99,
                      persons_with_varying_names_or_cards=noisy,
                      elapsed_ms=round((time.perf_counter() - t0) * 1000))))
