-- Ten claims queries for the analysis benchmark (bench/analysis.sh). The same text runs in the
-- medinfra workspace (views over a dataset version) and in DuckDB (views over the same
-- Parquet files), so it uses only SQL both engines accept. Synthetic data starts in 2020.
-- Each query starts with a line `-- name: ID`.

-- name: q01_t2dm_prevalence_by_age_prefecture
SELECT p.prefecture_code,
       CAST(FLOOR((2020 - EXTRACT(YEAR FROM p.birth_date)) / 10) * 10 AS INTEGER) AS age_band,
       COUNT(*) AS persons,
       SUM(CASE WHEN d.patient_id IS NOT NULL THEN 1 ELSE 0 END) AS with_t2dm
FROM persons p
LEFT JOIN (SELECT DISTINCT provider_id, patient_id FROM diagnoses WHERE icd10 LIKE 'E11%') d
  ON d.provider_id = p.provider_id AND d.patient_id = p.patient_id
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: q02_new_users_sglt2
WITH firsts AS (
  SELECT provider_id, patient_id, MIN(service_month) AS first_month
  FROM drugs
  WHERE code IN ('699990006', '699990011')
  GROUP BY provider_id, patient_id)
SELECT first_month, COUNT(*) AS new_users
FROM firsts
WHERE first_month >= '202004'
GROUP BY first_month
ORDER BY first_month;

-- name: q03_hba1c_trajectories
WITH r AS (
  SELECT provider_id, patient_id, value,
         ROW_NUMBER() OVER (PARTITION BY provider_id, patient_id ORDER BY result_date, value) AS rn,
         COUNT(*) OVER (PARTITION BY provider_id, patient_id) AS n
  FROM lab_results
  WHERE analyte = 'HbA1c (NGSP)' AND value IS NOT NULL),
fl AS (
  SELECT provider_id, patient_id,
         MAX(CASE WHEN rn = 1 THEN value END) AS first_value,
         MAX(CASE WHEN rn = n THEN value END) AS last_value
  FROM r
  GROUP BY provider_id, patient_id
  HAVING MAX(n) >= 2)
SELECT CAST(ROUND(last_value - first_value, 0) AS INTEGER) AS change,
       COUNT(*) AS patients,
       AVG(first_value) AS mean_first
FROM fl
GROUP BY 1
ORDER BY 1;

-- name: q04_readmissions_within_30_days
WITH a AS (
  SELECT provider_id, patient_id, admission_date, discharge_date,
         SUBSTR(main_icd10, 1, 1) AS chapter,
         LEAD(admission_date) OVER (PARTITION BY provider_id, patient_id ORDER BY admission_date) AS next_admission
  FROM admissions
  WHERE discharge_date IS NOT NULL)
SELECT chapter,
       COUNT(*) AS discharges,
       SUM(CASE WHEN next_admission <= discharge_date + INTERVAL '30 days' THEN 1 ELSE 0 END) AS readmitted_30d
FROM a
GROUP BY chapter
ORDER BY chapter;

-- name: q05_polypharmacy
WITH m AS (
  SELECT provider_id, patient_id, service_month, COUNT(DISTINCT code) AS n_drugs
  FROM drugs
  GROUP BY provider_id, patient_id, service_month)
SELECT CASE WHEN n_drugs >= 6 THEN 6 ELSE n_drugs END AS drugs_per_month,
       COUNT(*) AS patient_months
FROM m
GROUP BY 1
ORDER BY 1;

-- name: q06_points_by_month_and_kind
SELECT service_month, claim_kind,
       COUNT(*) AS claims, SUM(total_points) AS points, AVG(total_points) AS mean_points
FROM claims
GROUP BY service_month, claim_kind
ORDER BY 1, 2;

-- name: q07_top_main_diagnoses
SELECT icd10, COUNT(DISTINCT provider_id || patient_id) AS patients
FROM diagnoses
WHERE is_main AND icd10 IS NOT NULL
GROUP BY icd10
ORDER BY patients DESC, icd10
LIMIT 20;

-- name: q08_diabetes_and_hypertension_by_sex_age
WITH dm AS (SELECT DISTINCT provider_id, patient_id FROM diagnoses WHERE icd10 LIKE 'E11%'),
     ht AS (SELECT DISTINCT provider_id, patient_id FROM diagnoses WHERE icd10 LIKE 'I10%')
SELECT p.sex,
       CAST(FLOOR((2020 - EXTRACT(YEAR FROM p.birth_date)) / 20) * 20 AS INTEGER) AS age_band,
       COUNT(*) AS patients
FROM dm
JOIN ht ON ht.provider_id = dm.provider_id AND ht.patient_id = dm.patient_id
JOIN persons p ON p.provider_id = dm.provider_id AND p.patient_id = dm.patient_id
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: q09_drug_points_by_sex_age
SELECT c.sex,
       CAST(FLOOR((2020 - EXTRACT(YEAR FROM c.birth_date)) / 10) * 10 AS INTEGER) AS age_band,
       COUNT(*) AS drug_lines,
       SUM(d.points * d."count") AS drug_points
FROM drugs d
JOIN claims c ON c.claim_id = d.claim_id
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: q10_procedures_per_provider
SELECT provider_id,
       COUNT(*) AS lines,
       COUNT(DISTINCT patient_id) AS patients,
       SUM(points * "count") AS points
FROM procedures
GROUP BY provider_id
ORDER BY points DESC, provider_id
LIMIT 20;
