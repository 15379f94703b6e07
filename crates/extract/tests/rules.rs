//! Each §8.3 rule on small hand-built canonical tables.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use arrow::array::{Array, Date32Array, Int32Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use medinfra_extract::report::RowCounts;
use medinfra_extract::rules::ClaimKind;
use medinfra_extract::{
    ExtractConfig, ExtractError, ExtractKind, ExtractReport, MemoryTables, extract_to_memory,
};
use medinfra_model::buffers::{AdmissionsBuf, ClaimsBuf, DiagnosesBuf, ItemsBuf, PersonsBuf};
use medinfra_model::{CanonicalTable, Tier};

// ---------- builders ----------

fn days(y: i32, m: u32, d: u32) -> i32 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    (era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468) as i32
}

#[derive(Clone)]
struct Claim {
    id: String,
    patient: String,
    month: String,
    kind: &'static str,
    sex: i32,
    birth_year: i32,
    points: i64,
    admission: Option<i32>,
}

fn claim(id: usize, kind: &'static str, month: &str, points: i64) -> Claim {
    Claim {
        id: format!("C{id:06}"),
        patient: format!("P{id:06}"),
        month: month.into(),
        kind,
        sex: 1,
        birth_year: 1960,
        points,
        admission: None,
    }
}

fn claims_batch(rows: &[Claim]) -> RecordBatch {
    let mut b = ClaimsBuf::default();
    for c in rows {
        b.claim_id.append_value(&c.id);
        b.provider_id.append_value("1311234567");
        b.patient_id.append_value(&c.patient);
        b.service_month.append_value(&c.month);
        b.claim_kind.append_value(c.kind);
        b.receipt_type.append_value("1112");
        b.name_kanji.append_value("山田太郎");
        b.name_kana.append_value("ﾔﾏﾀﾞﾀﾛｳ");
        b.sex.append_value(c.sex);
        b.birth_date.append_value(days(c.birth_year, 6, 15));
        b.insurer_number.append_value("06130012");
        b.card_symbol.append_value("記号");
        b.card_number.append_value("1234");
        b.card_branch.append_value("01");
        b.admission_date.append_option(c.admission);
        b.days.append_value(1);
        b.total_points.append_value(c.points);
        b.rows += 1;
    }
    b.take_batch().unwrap()
}

fn diagnoses_batch(rows: &[(&str, &str)]) -> RecordBatch {
    let mut b = DiagnosesBuf::default();
    for (claim_id, code) in rows {
        b.claim_id.append_value(claim_id);
        b.provider_id.append_value("1311234567");
        b.patient_id.append_value("P");
        b.disease_code.append_value(code);
        b.icd10.append_value("E119");
        b.modifiers.append_null();
        b.disease_name.append_value("糖尿病");
        b.start_date.append_value(days(2020, 1, 1));
        b.outcome.append_value("0");
        b.is_main.append_value(true);
        b.is_suspected.append_value(false);
        b.rows += 1;
    }
    b.take_batch().unwrap()
}

fn items_batch(rows: &[(&str, &str, i64)]) -> RecordBatch {
    let mut b = ItemsBuf::default();
    for (claim_id, code, points) in rows {
        b.claim_id.append_value(claim_id);
        b.provider_id.append_value("1311234567");
        b.patient_id.append_value("P");
        b.service_month.append_value("202401");
        b.category.append_value("60");
        b.code.append_value(code);
        b.quantity.append_null();
        b.points.append_value(*points);
        b.count.append_value(1);
        b.day_counts.0.append_single(31, 1, 1);
        b.payer_share.append_value("1");
        b.unit_no.append_value(1);
        b.source_record.append_value("SI");
        b.rows += 1;
    }
    b.take_batch().unwrap()
}

fn tables(pairs: Vec<(CanonicalTable, RecordBatch)>) -> MemoryTables {
    let mut t = MemoryTables::new();
    for (k, b) in pairs {
        t.entry(k).or_default().push(b);
    }
    t
}

/// The tests fix the release key so released keys can be compared with the input's.
const KEY: [u8; 32] = [9; 32];

fn tok(column: &str, value: &str) -> String {
    medinfra_extract::release_local_token(KEY, column, value)
}

fn run(input: &MemoryTables, kind: ExtractKind, seed: u64) -> (MemoryTables, ExtractReport) {
    let mut cfg = ExtractConfig::new(kind, seed, Tier::Pseudonymized);
    cfg.release_key = Some(KEY);
    extract_to_memory(input, &cfg).unwrap()
}

fn strings(out: &MemoryTables, t: CanonicalTable, col: &str) -> Vec<Option<String>> {
    let mut v = Vec::new();
    for b in out.get(&t).into_iter().flatten() {
        let a = b
            .column_by_name(col)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        v.extend(a.iter().map(|s| s.map(str::to_string)));
    }
    v
}

fn released_ids(out: &MemoryTables, t: CanonicalTable) -> BTreeSet<String> {
    strings(out, t, "claim_id").into_iter().flatten().collect()
}

fn rows(r: &ExtractReport, t: CanonicalTable) -> &RowCounts {
    &r.rows[t.name()]
}

fn assert_rows_add_up(r: &ExtractReport) {
    for (t, c) in &r.rows {
        let sum = c.outside_months + c.high_cost + c.not_sampled + c.trial_rare_code + c.orphan;
        assert_eq!(c.input, sum + c.output, "{t}: {c:?}");
    }
}

// ---------- month selection ----------

#[test]
fn one_month_per_quarter_is_selected() {
    // 12 months x 100 inpatient claims of one stratum; 10 % of the 4 selected months survive.
    let mut cs = Vec::new();
    for m in 1..=12 {
        for i in 0..100 {
            cs.push(claim(
                m * 1000 + i,
                "inpatient",
                &format!("2024{m:02}"),
                1000,
            ));
        }
    }
    let input = tables(vec![(CanonicalTable::Claims, claims_batch(&cs))]);
    let (out, r) = run(&input, ExtractKind::Sampling, 1);
    assert_eq!(
        r.months.selected_service_months,
        ["202401", "202404", "202407", "202410"]
    );
    assert_eq!(r.months.claims_dropped, 800);
    assert_eq!(rows(&r, CanonicalTable::Claims).outside_months, 800);
    let months: BTreeSet<_> = strings(&out, CanonicalTable::Claims, "service_month")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        months,
        BTreeSet::from(["202401", "202404", "202407", "202410"].map(String::from))
    );
    assert_eq!(rows(&r, CanonicalTable::Claims).output, 40);

    // Another month per quarter, chosen by the caller.
    let mut cfg = ExtractConfig::new(ExtractKind::Sampling, 1, Tier::Pseudonymized);
    cfg.quarter_months = [3, 5, 9, 12];
    let (_, r) = extract_to_memory(&input, &cfg).unwrap();
    assert_eq!(
        r.months.selected_service_months,
        ["202403", "202405", "202409", "202412"]
    );
    // A month outside its quarter is refused.
    cfg.quarter_months = [1, 1, 7, 10];
    assert!(matches!(
        extract_to_memory(&input, &cfg),
        Err(ExtractError::Config(_))
    ));
}

// ---------- rule 1: high cost ----------

#[test]
fn high_cost_thresholds_at_the_boundary() {
    let mut cs = Vec::new();
    let mut id = 0;
    let mut push = |kind, points, n: usize, cs: &mut Vec<Claim>| {
        for _ in 0..n {
            id += 1;
            cs.push(claim(id, kind, "202401", points));
        }
    };
    // 10 claims just below the threshold in one stratum: the 10 % sample keeps exactly one.
    push("inpatient", 699_999, 10, &mut cs);
    push("inpatient", 700_000, 1, &mut cs);
    push("dpc", 699_999, 10, &mut cs);
    push("dpc", 700_000, 2, &mut cs);
    push("outpatient", 49_999, 100, &mut cs);
    push("outpatient", 50_000, 3, &mut cs);
    push("pharmacy", 49_999, 100, &mut cs);
    push("pharmacy", 50_000, 1, &mut cs);
    push("pharmacy", 1_000_000, 1, &mut cs);
    // A diagnosis on every claim: those of dropped claims must go too.
    let ids: Vec<String> = cs.iter().map(|c| c.id.clone()).collect();
    let dx: Vec<(&str, &str)> = ids.iter().map(|i| (i.as_str(), "2500013")).collect();
    let input = tables(vec![
        (CanonicalTable::Claims, claims_batch(&cs)),
        (CanonicalTable::Diagnoses, diagnoses_batch(&dx)),
    ]);
    let (out, r) = run(&input, ExtractKind::Sampling, 3);
    let dropped: BTreeMap<ClaimKind, (u64, i64, Option<i64>)> = r
        .high_cost
        .iter()
        .map(|h| {
            (
                h.claim_kind,
                (h.claims_dropped, h.threshold_points, h.max_points_kept),
            )
        })
        .collect();
    assert_eq!(dropped[&ClaimKind::Inpatient], (1, 700_000, Some(699_999)));
    assert_eq!(dropped[&ClaimKind::Dpc], (2, 700_000, Some(699_999)));
    assert_eq!(dropped[&ClaimKind::Outpatient], (3, 50_000, Some(49_999)));
    assert_eq!(dropped[&ClaimKind::Pharmacy], (2, 50_000, Some(49_999)));
    assert_eq!(rows(&r, CanonicalTable::Claims).high_cost, 8);
    assert_eq!(rows(&r, CanonicalTable::Diagnoses).high_cost, 8);
    // 699,999 and 49,999 are released: one claim of each kind survives the sample.
    let mut points = Vec::new();
    for b in &out[&CanonicalTable::Claims] {
        let a = b
            .column_by_name("total_points")
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        points.extend(a.values().iter().copied());
    }
    points.sort();
    assert_eq!(points, [49_999, 49_999, 699_999, 699_999]);
    assert_eq!(
        released_ids(&out, CanonicalTable::Diagnoses),
        released_ids(&out, CanonicalTable::Claims)
    );
    assert_rows_add_up(&r);
}

// ---------- rule 2: rare codes ----------

#[test]
fn rare_codes_replaced_up_to_but_not_past_the_share() {
    // 1,000 DPC claims with 10 procedure rows each: 10,000 occurrences, 0.1 % = 10.
    // Rare codes: A x1, B x2, C x3 (6, fits), D x5 (6 + 5 = 11 would pass the share).
    let cs: Vec<Claim> = (0..1000).map(|i| claim(i, "dpc", "202401", 5000)).collect();
    let mut px: Vec<(String, String, i64)> = Vec::new();
    let rare = [("A", 1), ("B", 2), ("C", 3), ("D", 5)];
    let mut k = 0;
    for (code, n) in rare {
        for _ in 0..n {
            // Rare rows are spread over claims so some land in the sample.
            px.push((cs[k * 37 % 1000].id.clone(), format!("11{code}000000"), 100));
            k += 1;
        }
    }
    let mut per_claim: BTreeMap<String, usize> = BTreeMap::new();
    for p in &px {
        *per_claim.entry(p.0.clone()).or_default() += 1;
    }
    for c in &cs {
        for _ in per_claim.get(&c.id).copied().unwrap_or(0)..10 {
            px.push((c.id.clone(), "160000000".into(), 50));
        }
    }
    assert_eq!(px.len(), 10_000);
    // An inpatient claim holding a code rare everywhere: 0.01 % of 1 occurrence is < 1, so
    // nothing is replaced for inpatient claims.
    let mut all = cs.clone();
    all.push(claim(5000, "inpatient", "202401", 100));
    px.push(("C005000".into(), "11Z000000".into(), 10));
    let rows_ref: Vec<(&str, &str, i64)> = px
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), *c))
        .collect();
    let input = tables(vec![
        (CanonicalTable::Claims, claims_batch(&all)),
        (CanonicalTable::Procedures, items_batch(&rows_ref)),
    ]);

    let mut hit = false;
    for seed in 0..20 {
        let (out, r) = run(&input, ExtractKind::Sampling, seed);
        let rule = r
            .rare_codes
            .iter()
            .find(|x| x.table == "procedures" && x.claim_kind == ClaimKind::Dpc)
            .unwrap();
        assert_eq!(rule.occurrences, 10_000);
        let replaced: Vec<(&str, u64)> = rule
            .codes
            .iter()
            .map(|c| (c.code.as_str(), c.occurrences))
            .collect();
        assert_eq!(
            replaced,
            [("11A000000", 1), ("11B000000", 2), ("11C000000", 3)]
        );
        assert_eq!(rule.replaced_occurrences, 6);
        assert!(rule.replaced_share <= 0.001);
        assert_eq!(rule.next_rarest_occurrences, Some(5));
        let inpatient = r
            .rare_codes
            .iter()
            .find(|x| x.table == "procedures" && x.claim_kind == ClaimKind::Inpatient)
            .unwrap();
        assert!(inpatient.codes.is_empty());

        // The release: no replaced code, dummy rows have null points, others keep theirs.
        let codes = strings(&out, CanonicalTable::Procedures, "code");
        let mut pts = Vec::new();
        for b in &out[&CanonicalTable::Procedures] {
            let a = b
                .column_by_name("points")
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            pts.extend(a.iter());
        }
        let mut dummies = 0;
        for (c, p) in codes.iter().zip(&pts) {
            let c = c.as_deref().unwrap();
            assert!(!["11A000000", "11B000000", "11C000000"].contains(&c));
            if c == "999999999" {
                dummies += 1;
                assert_eq!(*p, None);
            } else {
                assert!(p.is_some());
            }
        }
        assert_eq!(dummies, rule.sampled_replaced);
        hit |= dummies > 0;
    }
    assert!(hit, "no seed put a replaced row into the sample");
}

// ---------- rule 3: stratified sample ----------

fn stratified_claims() -> Vec<Claim> {
    // Inpatient strata of unequal sizes (sex x birth year), 4,000 claims; 5,000 outpatient.
    let sizes = [
        (1, 1950, 1500),
        (2, 1950, 1000),
        (1, 1980, 700),
        (2, 1980, 500),
        (1, 2010, 200),
        (2, 2010, 100),
    ];
    let mut cs = Vec::new();
    let mut id = 0;
    for (sex, year, n) in sizes {
        for _ in 0..n {
            id += 1;
            let mut c = claim(id, "inpatient", "202404", 3000);
            c.sex = sex;
            c.birth_year = year;
            cs.push(c);
        }
    }
    for i in 0..5000 {
        id += 1;
        let mut c = claim(id, "outpatient", "202404", 300);
        c.sex = 1 + (i % 2);
        c.birth_year = 1940 + (i % 60);
        cs.push(c);
    }
    cs
}

#[test]
fn stratified_sample_hits_its_fractions_per_stratum() {
    let cs = stratified_claims();
    let input = tables(vec![(CanonicalTable::Claims, claims_batch(&cs))]);
    let (out, r) = run(&input, ExtractKind::Sampling, 42);
    let by_kind: BTreeMap<ClaimKind, (u64, u64)> = r
        .sampling
        .iter()
        .map(|s| (s.claim_kind, (s.eligible, s.sampled)))
        .collect();
    assert_eq!(by_kind[&ClaimKind::Inpatient], (4000, 400));
    assert_eq!(by_kind[&ClaimKind::Outpatient], (5000, 50));
    for s in r
        .strata
        .iter()
        .filter(|s| s.claim_kind == ClaimKind::Inpatient)
    {
        // Within one claim of the exact share.
        let exact = s.eligible as f64 * 0.1;
        assert!((s.sampled as f64 - exact).abs() < 1.0, "{s:?}");
    }
    // The report's strata agree with the released rows themselves.
    let mut seen: BTreeMap<(i32, String), u64> = BTreeMap::new();
    for b in &out[&CanonicalTable::Claims] {
        let sex = b
            .column_by_name("sex")
            .unwrap()
            .as_any()
            .downcast_ref::<Int32Array>()
            .unwrap();
        let band = b
            .column_by_name("age_band")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let kind = b
            .column_by_name("claim_kind")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        for i in 0..b.num_rows() {
            if kind.value(i) == "inpatient" {
                *seen
                    .entry((sex.value(i), band.value(i).to_string()))
                    .or_default() += 1;
            }
        }
    }
    let reported: BTreeMap<(i32, String), u64> = r
        .strata
        .iter()
        .filter(|s| s.claim_kind == ClaimKind::Inpatient)
        .map(|s| ((s.sex, s.age_band.clone()), s.sampled))
        .collect();
    assert_eq!(seen, reported);
    // Born mid-1950, aged 73 at the end of April 2024.
    assert_eq!(reported[&(1, "70-74".to_string())], 150);
}

#[test]
fn sample_is_deterministic_by_seed_and_independent_of_input_order() {
    let cs = stratified_claims();
    let input = tables(vec![(CanonicalTable::Claims, claims_batch(&cs))]);
    let a = released_ids(
        &run(&input, ExtractKind::Sampling, 7).0,
        CanonicalTable::Claims,
    );
    let b = released_ids(
        &run(&input, ExtractKind::Sampling, 7).0,
        CanonicalTable::Claims,
    );
    let c = released_ids(
        &run(&input, ExtractKind::Sampling, 8).0,
        CanonicalTable::Claims,
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.len(), c.len());
    // Same rows in reverse, split over two batches: same sample.
    let mut rev = cs.clone();
    rev.reverse();
    let mut input2 = MemoryTables::new();
    input2.insert(
        CanonicalTable::Claims,
        vec![claims_batch(&rev[..3000]), claims_batch(&rev[3000..])],
    );
    let d = released_ids(
        &run(&input2, ExtractKind::Sampling, 7).0,
        CanonicalTable::Claims,
    );
    assert_eq!(a, d);
}

// ---------- children follow their claims ----------

#[test]
fn child_rows_of_dropped_claims_are_dropped() {
    let mut cs = Vec::new();
    for i in 0..200 {
        let mut c = claim(i, "inpatient", "202401", 2000);
        c.admission = Some(days(2023, 12, 20) + (i as i32 % 5));
        cs.push(c);
    }
    cs.push(claim(900, "inpatient", "202402", 2000)); // outside the months
    cs.push(claim(901, "inpatient", "202401", 800_000)); // high cost
    let ids: Vec<String> = cs.iter().map(|c| c.id.clone()).collect();
    let mut dx: Vec<(&str, &str)> = ids.iter().map(|i| (i.as_str(), "2500013")).collect();
    dx.push(("NO-SUCH-CLAIM", "2500013"));
    let drugs: Vec<(&str, &str, i64)> = ids.iter().map(|i| (i.as_str(), "620000001", 12)).collect();
    let devices: Vec<(&str, &str, i64)> =
        ids.iter().map(|i| (i.as_str(), "700000001", 99)).collect();
    let mut persons = PersonsBuf::default();
    for c in &cs {
        persons.provider_id.append_value("1311234567");
        persons.patient_id.append_value(&c.patient);
        persons.name_kanji.append_value("山田太郎");
        persons.name_kana.append_null();
        persons.sex.append_value(1);
        persons.birth_date.append_value(days(1960, 6, 15));
        persons.postcode.append_value("1000001");
        persons.prefecture_code.append_value("13");
        persons.address.append_value("東京都千代田区");
        persons.phone.append_value("0300000000");
        persons.rows += 1;
    }
    let mut adm = AdmissionsBuf::default();
    for c in cs.iter().filter(|c| c.admission.is_some()) {
        adm.admission_id.append_value(format!("{}-A", c.id));
        adm.provider_id.append_value("1311234567");
        adm.patient_id.append_value(&c.patient);
        adm.admission_date.append_option(c.admission);
        adm.discharge_date.append_null();
        adm.dpc_code.append_value("010060xx99x0xx");
        adm.main_icd10.append_value("I639");
        adm.resource_icd10.append_value("I639");
        adm.discharge_outcome.append_null();
        adm.rows += 1;
    }
    let input = tables(vec![
        (CanonicalTable::Claims, claims_batch(&cs)),
        (CanonicalTable::Diagnoses, diagnoses_batch(&dx)),
        (CanonicalTable::Drugs, items_batch(&drugs)),
        (CanonicalTable::Devices, items_batch(&devices)),
        (CanonicalTable::Persons, persons.take_batch().unwrap()),
        (CanonicalTable::Admissions, adm.take_batch().unwrap()),
    ]);
    let (out, r) = run(&input, ExtractKind::Sampling, 5);
    let kept = released_ids(&out, CanonicalTable::Claims);
    assert_eq!(kept.len(), 20);
    for t in [
        CanonicalTable::Diagnoses,
        CanonicalTable::Drugs,
        CanonicalTable::Devices,
    ] {
        assert_eq!(released_ids(&out, t), kept, "{}", t.name());
        let c = rows(&r, t);
        assert_eq!(c.outside_months, 1, "{}", t.name());
        assert_eq!(c.high_cost, 1, "{}", t.name());
        assert_eq!(c.not_sampled, 180, "{}", t.name());
        assert_eq!(c.output, 20, "{}", t.name());
    }
    assert_eq!(rows(&r, CanonicalTable::Diagnoses).orphan, 1);
    // Patients and stays follow their claims.
    let patients: BTreeSet<String> = strings(&out, CanonicalTable::Persons, "patient_id")
        .into_iter()
        .flatten()
        .collect();
    // The input claims whose (release-local) id was released.
    let kept_input: Vec<&String> = cs
        .iter()
        .map(|c| &c.id)
        .filter(|id| kept.contains(&tok("claim_id", id)))
        .collect();
    assert_eq!(kept_input.len(), kept.len());
    let expected: BTreeSet<String> = kept_input
        .iter()
        .map(|c| tok("patient_id", &c.replacen('C', "P", 1)))
        .collect();
    assert_eq!(patients, expected);
    let stays: BTreeSet<String> = strings(&out, CanonicalTable::Admissions, "admission_id")
        .into_iter()
        .flatten()
        .collect();
    let expected: BTreeSet<String> = kept_input
        .iter()
        .map(|c| tok("admission_id", &format!("{c}-A")))
        .collect();
    assert_eq!(stays, expected);
    assert_rows_add_up(&r);
}

// ---------- rule 4: identity fields ----------

#[test]
fn identity_fields_are_blanked_or_dropped() {
    let cs: Vec<Claim> = (0..50)
        .map(|i| claim(i, "inpatient", "202401", 100))
        .collect();
    let mut persons = PersonsBuf::default();
    for c in &cs {
        persons.provider_id.append_value("1311234567");
        persons.patient_id.append_value(&c.patient);
        persons.name_kanji.append_value("山田太郎");
        persons.name_kana.append_value("ﾔﾏﾀﾞ");
        persons.sex.append_value(1);
        persons.birth_date.append_value(days(1960, 6, 15));
        persons.postcode.append_value("1000001");
        persons.prefecture_code.append_value("13");
        persons.address.append_value("東京都千代田区");
        persons.phone.append_value("0300000000");
        persons.rows += 1;
    }
    let ids: Vec<String> = cs.iter().map(|c| c.id.clone()).collect();
    let dx: Vec<(&str, &str)> = ids.iter().map(|i| (i.as_str(), "2500013")).collect();
    let input = tables(vec![
        (CanonicalTable::Claims, claims_batch(&cs)),
        (CanonicalTable::Persons, persons.take_batch().unwrap()),
        (CanonicalTable::Diagnoses, diagnoses_batch(&dx)),
    ]);
    for (tier, patient_kept) in [(Tier::Pseudonymized, true), (Tier::Identified, false)] {
        let cfg = ExtractConfig::new(ExtractKind::Sampling, 1, tier);
        let (out, r) = extract_to_memory(&input, &cfg).unwrap();
        assert_eq!(r.patient_id_kept, patient_kept);
        let claims = &out[&CanonicalTable::Claims][0];
        let persons = &out[&CanonicalTable::Persons][0];
        assert_eq!(claims.num_rows(), 5);
        assert_eq!(persons.num_rows(), 5);
        for gone in [
            "name_kanji",
            "name_kana",
            "card_symbol",
            "card_number",
            "card_branch",
        ] {
            assert!(claims.column_by_name(gone).is_none(), "claims.{gone}");
        }
        for gone in ["name_kanji", "name_kana", "phone"] {
            assert!(persons.column_by_name(gone).is_none(), "persons.{gone}");
        }
        assert_eq!(claims.column_by_name("patient_id").is_some(), patient_kept);
        for (b, blank) in [
            (claims, "insurer_number"),
            (claims, "provider_id"),
            (claims, "birth_date"),
            (persons, "address"),
            (persons, "prefecture_code"),
            (persons, "postcode"),
            (persons, "provider_id"),
            (persons, "birth_date"),
            (&out[&CanonicalTable::Diagnoses][0], "disease_name"),
        ] {
            let c = b.column_by_name(blank).unwrap();
            assert_eq!(c.null_count(), c.len(), "{blank}");
        }
        // What remains: sex, the age band, the clinical content.
        let band = claims
            .column_by_name("age_band")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert!(band.iter().all(|b| b == Some("60-64")));
        assert!(
            claims
                .column_by_name("birth_date")
                .unwrap()
                .as_any()
                .downcast_ref::<Date32Array>()
                .is_some()
        );
        assert_eq!(
            claims.schema(),
            medinfra_extract::release_schema(CanonicalTable::Claims, patient_kept)
        );
        // No identifier reaches the report.
        let json = r.to_json().unwrap();
        for secret in ["山田", "1311234567", "06130012", "C0000", "P0000"] {
            assert!(!json.contains(secret), "{secret} in report");
        }
    }
    let cfg = ExtractConfig::new(ExtractKind::Sampling, 1, Tier::Anonymized);
    assert!(matches!(
        extract_to_memory(&input, &cfg),
        Err(ExtractError::Config(_))
    ));
}

// ---------- trial: frequency < 10 removed ----------

#[test]
fn trial_removes_rows_of_codes_seen_fewer_than_ten_times() {
    // 100 inpatient claims in one stratum: the sample keeps exactly 10.
    let cs: Vec<Claim> = (0..100)
        .map(|i| claim(i, "inpatient", "202407", 100))
        .collect();
    let input = tables(vec![(CanonicalTable::Claims, claims_batch(&cs))]);
    let released = released_ids(
        &run(&input, ExtractKind::Trial, 11).0,
        CanonicalTable::Claims,
    );
    // The input ids of the released (release-local) ones.
    let sampled: Vec<String> = cs
        .iter()
        .map(|c| c.id.clone())
        .filter(|id| released.contains(&tok("claim_id", id)))
        .collect();
    assert_eq!(sampled.len(), 10);
    let unsampled: Vec<String> = cs
        .iter()
        .map(|c| c.id.clone())
        .filter(|id| !sampled.contains(id))
        .collect();
    // In the release: TEN on all 10 sampled claims (kept, at the boundary), NINE on 9 of them
    // (removed), plus both on every unsampled claim (counts outside the release don't help).
    let mut dx: Vec<(&str, &str)> = Vec::new();
    for id in &sampled {
        dx.push((id, "1000010"));
    }
    for id in &sampled[..9] {
        dx.push((id, "1000009"));
    }
    for id in &unsampled {
        dx.push((id, "1000010"));
        dx.push((id, "1000009"));
    }
    let input = tables(vec![
        (CanonicalTable::Claims, claims_batch(&cs)),
        (CanonicalTable::Diagnoses, diagnoses_batch(&dx)),
    ]);
    let (trial_out, r) = run(&input, ExtractKind::Trial, 11);
    assert_eq!(released_ids(&trial_out, CanonicalTable::Claims).len(), 10);
    let codes = strings(&trial_out, CanonicalTable::Diagnoses, "disease_code");
    assert_eq!(
        codes
            .iter()
            .filter(|c| c.as_deref() == Some("1000010"))
            .count(),
        10
    );
    assert_eq!(
        codes
            .iter()
            .filter(|c| c.as_deref() == Some("1000009"))
            .count(),
        0
    );
    assert_eq!(rows(&r, CanonicalTable::Diagnoses).trial_rare_code, 9);
    let rule = r
        .trial
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.table == "diagnoses" && t.claim_kind == ClaimKind::Inpatient)
        .unwrap();
    assert_eq!(rule.rows_removed, 9);
    assert_eq!(rule.codes_removed.len(), 1);
    assert_eq!(
        (
            rule.codes_removed[0].code.as_str(),
            rule.codes_removed[0].occurrences
        ),
        ("1000009", 9)
    );
    assert_rows_add_up(&r);

    // The sampling dataset keeps them: the rule belongs to the trial dataset only.
    let (sampling_out, r) = run(&input, ExtractKind::Sampling, 11);
    assert!(r.trial.is_none());
    let codes = strings(&sampling_out, CanonicalTable::Diagnoses, "disease_code");
    assert_eq!(
        codes
            .iter()
            .filter(|c| c.as_deref() == Some("1000009"))
            .count(),
        9
    );
    let ids: HashSet<_> = released_ids(&sampling_out, CanonicalTable::Claims)
        .into_iter()
        .collect();
    assert_eq!(ids.len(), 10);
}

#[test]
fn bad_input_names_table_row_and_field_but_no_value() {
    let mut cs = vec![claim(1, "inpatient", "202401", 100)];
    cs.push(claim(2, "surgery", "202401", 100));
    let input = tables(vec![(CanonicalTable::Claims, claims_batch(&cs))]);
    let err = extract_to_memory(
        &input,
        &ExtractConfig::new(ExtractKind::Sampling, 1, Tier::Pseudonymized),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("claims batch 0 row 1: field claim_kind"),
        "{err}"
    );
    assert!(
        !err.contains("surgery") && !err.contains("C000002"),
        "{err}"
    );
    let none = MemoryTables::new();
    assert!(matches!(
        extract_to_memory(
            &none,
            &ExtractConfig::new(ExtractKind::Sampling, 1, Tier::Pseudonymized)
        ),
        Err(ExtractError::MissingTable { .. })
    ));
}
