//! The release workflow end to end: checks -> suppression (primary + secondary) -> ledger ->
//! outputs, including a differencing attack the ledger must catch.

use medinfra_disclosure::render::{assessment_json, assessment_text, cleaned_csv};
use medinfra_disclosure::secondary::{Grid, lines_with_one_suppressed, recomputable_cells};
use medinfra_disclosure::{
    CellState, CheckName, DisclosureConfig, FindingKind, Mitigation, ReleaseLedger, Status, Table,
    TableBuilder, TableSpec, check_release,
};

/// Age band x sex person counts: (band, female, male).
const POP: [(&str, u64, u64); 4] = [
    ("20-39", 40, 45),
    ("40-59", 50, 52),
    ("60-79", 35, 38),
    ("80+", 2, 1),
];

fn band_by_sex(name: &str, keep: &[&str]) -> Table {
    let mut spec = TableSpec::count(name, &["band"], &["sex"]).with_margins(true);
    spec.scope = "claims-v3/diabetes".into();
    spec.filters
        .insert("band".into(), keep.iter().map(|s| s.to_string()).collect());
    let mut b = TableBuilder::new(spec, 2).unwrap();
    for (band, f, m) in POP.iter().filter(|p| keep.contains(&p.0)) {
        b.push_count(&[band], &["F"], *f).unwrap();
        b.push_count(&[band], &["M"], *m).unwrap();
    }
    b.finish()
}

fn all_bands() -> Vec<&'static str> {
    POP.iter().map(|p| p.0).collect()
}

fn published_total(t: &medinfra_disclosure::CleanedTable) -> Option<f64> {
    t.value(t.height - 1, t.width - 1, 0)
}

#[test]
fn secondary_suppression_protects_the_small_band() {
    let cfg = DisclosureConfig::default();
    let t = band_by_sex("t1", &all_bands());
    let r = check_release(&t, &cfg, None, Mitigation::Suppress).unwrap();
    assert_eq!(r.assessment.status, Status::Fail);
    let c = &r.cleaned;
    // 80+ F and M (2, 1) are primary, so is the 80+ total (3).
    for j in 0..3 {
        assert_eq!(c.state(3, j), CellState::Primary, "80+ col {j}");
    }
    // Nothing blank can be recomputed from what is shown.
    let s: Vec<bool> = c.state.iter().map(|s| *s != CellState::Published).collect();
    let g = Grid { rows: 5, cols: 3 };
    assert!(recomputable_cells(g, &s).is_empty(), "{:?}", c.state);
    assert!(lines_with_one_suppressed(g, &s).is_empty());
    assert!(c.state.contains(&CellState::Secondary));
    assert_eq!(c.status, Status::Review);
    // The CSV shows blanks where suppressed.
    let csv = cleaned_csv(c).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "band,F,M,All");
    assert_eq!(lines[4], "80+,,,");
    assert!(lines[5].starts_with("All,"));
}

#[test]
fn differencing_attack_is_caught_by_the_ledger() {
    let cfg = DisclosureConfig::default();
    let mut ledger = ReleaseLedger::new("project-a");

    // Release 1: the full table, suppressed and approved.
    let t1 = band_by_sex("t1", &all_bands());
    let r1 = check_release(&t1, &cfg, Some(&ledger), Mitigation::Suppress).unwrap();
    assert!(r1.differencing.is_empty());
    let total1 = published_total(&r1.cleaned).expect("grand total published");
    ledger.record("rel-1", &t1, &r1.cleaned).unwrap();

    // Attack: the same table without the 80+ band. Its totals differ from release 1's by the
    // suppressed 80+ group (3 persons).
    let t2 = band_by_sex("t2", &["20-39", "40-59", "60-79"]);
    let naive = check_release(&t2, &cfg, None, Mitigation::Suppress).unwrap();
    assert_eq!(
        naive.assessment.status,
        Status::Pass,
        "t2 alone is harmless"
    );
    let leaked = total1 - published_total(&naive.cleaned).unwrap();
    assert_eq!(
        leaked, 3.0,
        "without the ledger the suppressed 80+ total is recovered"
    );

    let r2 = check_release(&t2, &cfg, Some(&ledger), Mitigation::Suppress).unwrap();
    assert!(!r2.differencing.is_empty());
    assert!(r2.differencing.iter().all(|f| f.release_id == "rel-1"));
    assert!(
        r2.differencing
            .iter()
            .any(|f| f.kind == FindingKind::SmallGroup && f.group_records == 3)
    );
    // grand total and both sex totals are the differencing cells
    for j in 0..3 {
        assert!(
            r2.assessment.cell(3, j).has(CheckName::DifferencingCheck),
            "total col {j}"
        );
    }
    assert_eq!(published_total(&r2.cleaned), None);
    // After mitigation nothing in t2 differences against release 1.
    assert!(ledger.check(&t2, &r2.cleaned, 10).unwrap().is_empty());
    let s: Vec<bool> = r2
        .cleaned
        .state
        .iter()
        .map(|s| *s != CellState::Published)
        .collect();
    assert!(recomputable_cells(Grid { rows: 4, cols: 3 }, &s).is_empty());

    // The ledger is serializable state.
    let json = ledger.to_json().unwrap();
    assert_eq!(
        ReleaseLedger::from_json(&json, "ledger.json").unwrap(),
        ledger
    );
    assert!(
        ReleaseLedger::from_json("{", "ledger.json")
            .unwrap_err()
            .to_string()
            .contains("ledger.json")
    );
}

#[test]
fn category_added_later_cannot_reveal_a_suppressed_cell() {
    let cfg = DisclosureConfig::default();
    let mut ledger = ReleaseLedger::new("p");
    // Release 1 without 80+, release 2 adds 80+ (small): 80+ = total2 - total1.
    let t1 = band_by_sex("t1", &["20-39", "40-59", "60-79"]);
    let r1 = check_release(&t1, &cfg, Some(&ledger), Mitigation::Suppress).unwrap();
    ledger.record("rel-1", &t1, &r1.cleaned).unwrap();
    let t2 = band_by_sex("t2", &all_bands());
    let r2 = check_release(&t2, &cfg, Some(&ledger), Mitigation::Suppress).unwrap();
    assert!(!r2.differencing.is_empty());
    assert!(ledger.check(&t2, &r2.cleaned, 10).unwrap().is_empty());
    // Every published margin of t2 now differs from release 1 by a group >= 10, or is blank.
    let t1_total = published_total(&r1.cleaned);
    assert!(t1_total.is_none() || published_total(&r2.cleaned).is_none());
    // A different population scope is never compared.
    let mut t3 = band_by_sex("t3", &all_bands());
    t3.spec.scope = "claims-v3/asthma".into();
    assert!(
        check_release(&t3, &cfg, Some(&ledger), Mitigation::Suppress)
            .unwrap()
            .differencing
            .is_empty()
    );
}

#[test]
fn outputs_json_and_text() {
    let cfg = DisclosureConfig::default();
    let t = band_by_sex("t1", &all_bands());
    let r = check_release(&t, &cfg, None, Mitigation::Suppress).unwrap();
    let json = assessment_json(&r.assessment).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["status"], "fail");
    assert_eq!(v["cells"].as_array().unwrap().len(), 15);
    assert_eq!(v["cells"][9]["flags"][0]["check"], "MinimumThresholdCheck");
    assert_eq!(v["config"]["acro"]["safe_threshold"], 10);
    let text = assessment_text(&r.assessment);
    assert!(
        text.contains("FAIL") && text.contains("cell [80+ | F]: MinimumThresholdCheck"),
        "{text}"
    );
}

#[test]
fn config_loads_from_toml_and_names_bad_fields() {
    let cfg = DisclosureConfig::from_toml_str(
        "compat = \"acro\"\n[acro]\nsafe_threshold = 5\ncheck_missing_values = true\n[ndb]\nmin_quantity_injection = 500.0\n",
        "policy.toml",
    )
    .unwrap();
    assert_eq!(cfg.compat, medinfra_disclosure::Compat::Acro);
    assert_eq!(cfg.acro.safe_threshold, 5);
    assert_eq!(cfg.acro.safe_nk_k, 0.9, "unset fields keep ACRO's defaults");
    assert_eq!(cfg.ndb.min_quantity_injection, 500.0);
    let round = DisclosureConfig::from_toml_str(&cfg.to_toml_string().unwrap(), "x").unwrap();
    assert_eq!(round, cfg);
    let e = DisclosureConfig::from_toml_str("[acro]\nsafe_treshold = 5\n", "policy.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("policy.toml") && e.contains("safe_treshold"),
        "{e}"
    );
    let e = DisclosureConfig::from_toml_str("[acro]\nsafe_nk_k = 1.5\n", "policy.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("acro.safe_nk_k"), "{e}");
}

#[test]
fn rounding_mitigation_base_5() {
    let cfg = DisclosureConfig::default();
    let t = band_by_sex("t1", &all_bands());
    let r = check_release(&t, &cfg, None, Mitigation::Round { base: 5 }).unwrap();
    let c = &r.cleaned;
    assert_eq!(c.value(0, 0, 0), Some(40.0));
    assert_eq!(c.value(1, 1, 0), Some(50.0)); // 52
    assert_eq!(c.value(2, 1, 0), Some(40.0)); // 38
    assert_eq!(c.value(3, 0, 0), Some(0.0)); // 2
    assert_eq!(c.value(3, 1, 0), Some(0.0)); // 1
    // margins are sums of rounded cells, rounded: row 20-39: 40 + 45 = 85
    assert_eq!(c.value(0, 2, 0), Some(85.0));
    assert!(
        c.values
            .iter()
            .all(|v| v[0].is_some_and(|x| x % 5.0 == 0.0))
    );
    assert_eq!(c.status, Status::Review);
}

/// Finding 2 of the attack on the served demo: cells counted records, so one person's many
/// claims (or a constant count column) made a cell look big. With the person column, cells
/// count distinct persons, margins count the union, and the thresholds see persons.
#[test]
fn cells_count_distinct_persons_not_records() {
    let cfg = DisclosureConfig::default();
    let mut spec = TableSpec::count("claims", &["dx"], &["sex"]).with_margins(true);
    spec.ndb = Some(medinfra_disclosure::NdbMeasure::PersonCount);
    let mut b = TableBuilder::new(spec, 2).unwrap();
    // Person 1 has 40 claims of E11; persons 2..=30 have one each of I10; person 2 is in
    // both cells.
    for _ in 0..40 {
        b.push_person(&["E11"], &["F"], 1, None).unwrap();
    }
    b.push_person(&["E11"], &["F"], 2, None).unwrap();
    for p in 2..=30u64 {
        b.push_person(&["I10"], &["F"], p, None).unwrap();
    }
    let t = b.finish();
    assert_eq!(t.cell(0, 0).records, 41);
    assert_eq!(t.cell(0, 0).subjects(), 2, "E11: persons 1 and 2");
    assert_eq!(t.cell(1, 0).subjects(), 29);
    // The margin is the union (30 persons), not 2 + 29.
    assert_eq!(t.cell(2, 0).subjects(), 30);
    let r = check_release(&t, &cfg, None, Mitigation::Suppress).unwrap();
    let e11 = r.assessment.cell(0, 0);
    assert!(
        e11.has(CheckName::MinimumThresholdCheck),
        "41 records of 2 persons passed"
    );
    assert!(e11.has(CheckName::NdbMinimumCellCheck));
    assert_eq!(r.cleaned.state(0, 0), CellState::Primary);
    assert_eq!(
        t.value(1, 0, medinfra_disclosure::Statistic::Count),
        Some(29.0),
        "a count is of persons"
    );
}

/// Finding 2: the differencing ledger ignored the queries' filters. Two tables over the same
/// dataset versions (one scope) whose SQL filtered the population differently — everyone, then
/// everyone but one person — have the same cells with counts one apart.
#[test]
fn a_differently_filtered_population_is_caught_by_the_ledger() {
    let cfg = DisclosureConfig::default();
    let mut ledger = ReleaseLedger::new("p");
    let table = |name: &str, without: Option<u64>| {
        let mut spec = TableSpec::count(name, &["band"], &["sex"]);
        spec.scope = "research@v3".into();
        let mut b = TableBuilder::new(spec, 2).unwrap();
        for p in 0..100u64 {
            if Some(p) == without {
                continue;
            }
            let band = if p < 50 { "40-59" } else { "60-79" };
            let sex = if p % 2 == 0 { "F" } else { "M" };
            b.push_person(&[band], &[sex], p, None).unwrap();
        }
        b.finish()
    };
    let t1 = table("everyone", None);
    let r1 = check_release(&t1, &cfg, Some(&ledger), Mitigation::Suppress).unwrap();
    assert_eq!(r1.cleaned.status, Status::Pass);
    ledger.record("rel-1", &t1, &r1.cleaned).unwrap();
    // WHERE NOT (the target's birth date and postcode): the target's cell is one smaller.
    let t2 = table("everyone-but-one", Some(7));
    let r2 = check_release(&t2, &cfg, Some(&ledger), Mitigation::Suppress).unwrap();
    assert!(
        r2.differencing
            .iter()
            .any(|f| f.kind == FindingKind::SmallGroup && f.group_records == 1),
        "{:?}",
        r2.differencing
    );
}

/// Finding 2: `round:1` changed nothing, ended in "review" and was approved with counts of
/// 3–8 published.
#[test]
fn rounding_below_the_base_or_over_small_person_cells_fails() {
    let cfg = DisclosureConfig::default();
    let mut spec = TableSpec::count("t", &["band"], &["sex"]);
    spec.ndb = Some(medinfra_disclosure::NdbMeasure::PersonCount);
    let mut b = TableBuilder::new(spec, 2).unwrap();
    for p in 0..40u64 {
        let band = if p < 36 { "40-59" } else { "80+" };
        b.push_person(&[band], &[if p % 2 == 0 { "F" } else { "M" }], p, None)
            .unwrap();
    }
    let t = b.finish();
    for base in [1, 5] {
        let r = check_release(&t, &cfg, None, Mitigation::Round { base }).unwrap();
        assert_eq!(r.cleaned.status, Status::Fail, "round:{base}");
    }
}
