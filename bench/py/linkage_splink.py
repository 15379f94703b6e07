#!/usr/bin/env python3
"""Splink 5 (DuckDB) on FEBRL for bench/linkage.sh: febrl4 (link_only) or febrl3 (dedupe_only),
with the models of ../shared/bench/linkage/splink_febrl{4,3}.py. Prints one JSON line:
precision/recall/F1 of the pairs with match_probability >= 0.5, candidate pairs, and the
in-process time of register + train + predict.
Usage: linkage_splink.py febrl4|febrl3 FEBRL_DIR"""
import json
import logging
import sys
import time

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

logging.getLogger("splink").setLevel(logging.WARNING)
ds, febrl = sys.argv[1], sys.argv[2]


def truth_pairs(path):
    t = pd.read_csv(path, dtype=str)
    return {tuple(sorted(p)) for p in zip(t.rec_id_l, t.rec_id_r)}


def febrl4():
    a = pd.read_csv(f"{febrl}/febrl4a.csv", dtype=str).drop(columns=["true_id"])
    b = pd.read_csv(f"{febrl}/febrl4b.csv", dtype=str).drop(columns=["true_id"])
    settings = SettingsCreator(
        unique_id_column_name="rec_id", link_type="link_only",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"), block_on("soc_sec_id"), block_on("state", "address_1"),
            block_on("street_number", "address_1"), block_on("postcode")],
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                     datetime_format="%Y%m%d", invalid_dates_as_null=True),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True)])
    db = DuckDBAPI()
    linker = Linker([db.register(a), db.register(b)], settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), estimate_without_term_frequencies=True)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode"), estimate_without_term_frequencies=True)
    return linker.inference.predict()


def febrl3():
    df = pd.read_csv(f"{febrl}/febrl3.csv", dtype=str).drop(columns=["true_id"])
    settings = SettingsCreator(
        unique_id_column_name="rec_id", link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("soc_sec_id"), block_on("given_name"), block_on("surname"),
            block_on("date_of_birth"), block_on("postcode")],
        comparisons=[
            cl.NameComparison("given_name"), cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                     datetime_format="%Y%m%d", invalid_dates_as_null=True),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True)])
    db = DuckDBAPI()
    linker = Linker(db.register(df), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth"),
         "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth"],
        recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    return linker.inference.predict()


t0 = time.perf_counter()
pred = febrl4() if ds == "febrl4" else febrl3()
df = pred.as_pandas_dataframe()[["rec_id_l", "rec_id_r", "match_probability"]]
elapsed = time.perf_counter() - t0
truth = truth_pairs(f"{febrl}/{ds}_true_pairs.csv")
links = {tuple(sorted(p)) for p in zip(df.rec_id_l[df.match_probability >= 0.5],
                                        df.rec_id_r[df.match_probability >= 0.5])}
tp = len(links & truth)
p = tp / len(links) if links else 0.0
r = tp / len(truth)
f1 = 2 * p * r / (p + r) if p + r else 0.0
print(json.dumps(dict(tool="splink 5.0.0 duckdb", dataset=ds, candidate_pairs=len(df),
                      links=len(links), precision=p, recall=r, f1=f1,
                      elapsed_ms=round(elapsed * 1000))))
