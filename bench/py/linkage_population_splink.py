#!/usr/bin/env python3
"""Splink 5 (DuckDB) dedupe of the sample population's identity records for
bench/linkage-population.sh, with a model equivalent to medinfra-link's `japan-person`:
the same blocking rules (birth date + prefecture; kana name; kanji name; insurer + card; postcode + first
two kana), comparisons on kanji/kana names (term-frequency adjusted), sex, birth date,
insurer, card, card branch, postcode prefixes and prefecture, and training like
bench/py/linkage_splink.py (prior from deterministic rules, u by random sampling, two EM
sessions). Names and card digits are normalized first the way a Splink user would (NFKC,
no spaces, hiragana -> katakana); medinfra's normalizer also folds small kana and variant
kanji. Prints one JSON line: pairwise precision/recall/F1 of pairs with match_probability >= 0.5
against truth.csv, candidate pairs, and the in-process time.
Usage: linkage_population_splink.py RECORDS.csv TRUTH.csv"""
import json
import logging
import sys
import time
import unicodedata

import numpy as np
import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import ColumnExpression, DuckDBAPI, Linker, SettingsCreator, block_on

logging.getLogger("splink").setLevel(logging.WARNING)
records_path, truth_path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()

HIRA_TO_KATA = {c: c + 0x60 for c in range(0x3041, 0x3097)}


def norm(s, kana=False):
    if not isinstance(s, str):
        return None
    s = "".join(unicodedata.normalize("NFKC", s).split())
    if kana:
        s = s.translate(HIRA_TO_KATA)
    return s or None


df = pd.read_csv(records_path, dtype=str, keep_default_na=False, na_values=[""])
df = df.drop(columns=["month"], errors="ignore")
df["name_kanji"] = df.name_kanji.map(norm)
df["name_kana"] = df.name_kana.map(lambda s: norm(s, kana=True))
for c in ["insurer_number", "card_symbol", "card_number", "card_branch", "postcode"]:
    df[c] = df[c].map(norm)
df["postcode"] = df.postcode.str.replace("-", "", regex=False)
df["card"] = (df.card_symbol.fillna("") + "-" + df.card_number.fillna("")).where(
    df.card_number.notna())
df = df.drop(columns=["card_symbol", "card_number"])
prep_s = time.perf_counter() - t0


def prefix_level(n):
    return cll.ExactMatchLevel(ColumnExpression("postcode").substr(1, n))


settings = SettingsCreator(
    unique_id_column_name="rec_id", link_type="dedupe_only",
    blocking_rules_to_generate_predictions=[
        block_on("birth_date", "prefecture"), block_on("name_kana"), block_on("name_kanji"),
        block_on("insurer_number", "card"),
        block_on("postcode", ColumnExpression("name_kana").substr(1, 2))],
    comparisons=[
        cl.LevenshteinAtThresholds("name_kanji", [1, 2]).configure(
            term_frequency_adjustments=True),
        cl.CustomComparison(output_column_name="name_kana", comparison_levels=[
            cll.NullLevel("name_kana"),
            cll.ExactMatchLevel("name_kana", term_frequency_adjustments=True),
            cll.JaroWinklerLevel("name_kana", 0.92),
            cll.LevenshteinLevel("name_kana", 2),
            cll.JaroWinklerLevel("name_kana", 0.8),
            cll.ElseLevel()]),
        cl.ExactMatch("sex"),
        cl.DateOfBirthComparison("birth_date", input_is_string=True,
                                 datetime_format="%Y%m%d", invalid_dates_as_null=True),
        cl.ExactMatch("insurer_number"),
        cl.DamerauLevenshteinAtThresholds("card", [1]),
        cl.ExactMatch("card_branch"),
        cl.CustomComparison(output_column_name="postcode", comparison_levels=[
            cll.NullLevel("postcode"), cll.ExactMatchLevel("postcode"),
            prefix_level(5), prefix_level(3), cll.ElseLevel()]),
        cl.ExactMatch("prefecture")])
db = DuckDBAPI()
linker = Linker(db.register(df), settings, log_level=logging.WARNING)
linker.training.estimate_probability_two_random_records_match(
    [block_on("insurer_number", "card", "birth_date"),
     block_on("name_kanji", "birth_date", "sex")], recall=0.8)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
linker.training.estimate_parameters_using_expectation_maximisation(
    block_on("birth_date"), estimate_without_term_frequencies=True)
linker.training.estimate_parameters_using_expectation_maximisation(
    block_on("insurer_number", "card"), estimate_without_term_frequencies=True)
train_s = time.perf_counter() - t0 - prep_s
pred = linker.inference.predict(threshold_match_probability=0.5)
links = pred.as_pandas_dataframe()[["rec_id_l", "rec_id_r", "match_probability"]]
elapsed = time.perf_counter() - t0


def keys(a, b):
    a, b = a.astype(np.int64), b.astype(np.int64)
    return np.minimum(a, b) << 32 | np.maximum(a, b)


truth = pd.read_csv(truth_path, dtype=np.int64)
truth_keys = np.unique(keys(truth.rec_id_a.to_numpy(), truth.rec_id_b.to_numpy()))
link_keys = np.unique(keys(links.rec_id_l.to_numpy(), links.rec_id_r.to_numpy()))
tp = int(np.isin(link_keys, truth_keys, assume_unique=True).sum())
p = tp / len(link_keys) if len(link_keys) else 0.0
r = tp / len(truth_keys) if len(truth_keys) else 0.0
f1 = 2 * p * r / (p + r) if p + r else 0.0
print(json.dumps(dict(tool="splink 5.0.0 duckdb", records=len(df), links=len(link_keys),
                      true_pairs=len(truth_keys), tp=tp, precision=p, recall=r, f1=f1,
                      prep_ms=round(prep_s * 1000), train_ms=round(train_s * 1000),
                      elapsed_ms=round(elapsed * 1000))))
