//! Property tests on random tables and hierarchies: every released class satisfies the
//! privacy models, suppression stays within the limit, output rows are consistent, and the
//! pruned search equals exhaustive search.

use std::collections::HashMap;

use medinfra_anon::{
    AnonymizationConfig, Hierarchy, Metric, PrivacyModel, SearchMode, Table, anonymize_with,
};
use proptest::prelude::*;

/// Hierarchy over `0..m`: level i groups values by `v >> i` (i < levels), then `*`.
fn halving(m: u32, levels: u32) -> Hierarchy {
    let rows: Vec<Vec<String>> = (0..m)
        .map(|v| {
            let mut r = vec![v.to_string()];
            for i in 1..=levels {
                r.push(format!("g{i}:{}", v >> i));
            }
            r.push("*".into());
            r
        })
        .collect();
    Hierarchy::from_rows(&rows, "random").unwrap()
}

#[derive(Debug, Clone)]
struct Case {
    rows: Vec<(u32, u32, u32, u32)>,
    model: u8,
    param: usize,
    suppression: f64,
    metric: u8,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((0u32..8, 0u32..5, 0u32..4, 0u32..4), 5..120),
        0u8..4,
        2usize..5,
        prop_oneof![Just(0.0), Just(0.05), Just(0.2)],
        0u8..4,
    )
        .prop_map(|(rows, model, param, suppression, metric)| Case {
            rows,
            model,
            param,
            suppression,
            metric,
        })
}

fn run(c: &Case) -> Result<(), TestCaseError> {
    let cols: Vec<Vec<String>> = (0..4)
        .map(|i| {
            c.rows
                .iter()
                .map(|r| [r.0, r.1, r.2, r.3][i].to_string())
                .collect()
        })
        .collect();
    let table = Table::from_columns(&["a", "b", "c", "s"], &cols, "random").unwrap();
    let models = match c.model {
        0 => vec![PrivacyModel::KAnonymity { k: c.param }],
        1 => vec![PrivacyModel::DistinctLDiversity { l: c.param.min(4) }],
        2 => vec![
            PrivacyModel::KAnonymity { k: 2 },
            PrivacyModel::EntropyLDiversity { l: 2.0 },
        ],
        _ => vec![PrivacyModel::TClosenessEqual {
            t: 0.1 * c.param as f64,
        }],
    };
    let metric = [
        Metric::loss(),
        Metric::Discernibility,
        Metric::NonUniformEntropy,
        Metric::Precision,
    ][c.metric as usize];
    let config = AnonymizationConfig {
        qis: vec![
            ("a".into(), halving(8, 2)),
            ("b".into(), halving(5, 1)),
            ("c".into(), halving(4, 1)),
        ],
        sensitive: Some("s".into()),
        models: models.clone(),
        suppression_limit: c.suppression,
        metric,
        risk_threshold: 0.5,
    };
    let fast = anonymize_with(&table, &config, SearchMode::Optimal);
    let full = anonymize_with(&table, &config, SearchMode::Exhaustive);
    let (o, e) = match (fast, full) {
        (Ok(o), Ok(e)) => (o, e),
        (Err(_), Err(_)) => return Ok(()),
        (a, b) => {
            return Err(TestCaseError::fail(format!(
                "optimal {:?} vs exhaustive {:?}",
                a.err(),
                b.err()
            )));
        }
    };
    prop_assert_eq!(&o.report.attributes, &e.report.attributes);
    prop_assert_eq!(o.report.loss.to_bits(), e.report.loss.to_bits());

    let n = c.rows.len();
    let limit = (c.suppression * n as f64).floor() as u64;
    prop_assert!(o.report.suppressed <= limit);
    let suppressed = o.suppressed_rows.iter().filter(|&&s| s).count() as u64;
    prop_assert_eq!(suppressed, o.report.suppressed);

    // Group released rows by their output QI values and check each class independently.
    let out = &o.table;
    let mut classes: HashMap<(String, String, String), Vec<u32>> = HashMap::new();
    for row in 0..n {
        let qi = (
            out.column("a").unwrap().value(row).to_string(),
            out.column("b").unwrap().value(row).to_string(),
            out.column("c").unwrap().value(row).to_string(),
        );
        if o.suppressed_rows[row] {
            prop_assert_eq!(&qi, &("*".to_string(), "*".to_string(), "*".to_string()));
            continue;
        }
        let s: u32 = out.column("s").unwrap().value(row).parse().unwrap();
        prop_assert_eq!(s, c.rows[row].3, "sensitive column must pass through");
        classes.entry(qi).or_default().push(s);
    }
    prop_assert_eq!(classes.len() as u64, o.report.classes);
    let mut global: HashMap<u32, f64> = HashMap::new();
    for r in &c.rows {
        *global.entry(r.3).or_default() += 1.0 / n as f64;
    }
    for members in classes.values() {
        let size = members.len() as f64;
        let mut hist: HashMap<u32, f64> = HashMap::new();
        for &s in members {
            *hist.entry(s).or_default() += 1.0;
        }
        for m in &models {
            let ok = match m {
                PrivacyModel::KAnonymity { k } => members.len() >= *k,
                PrivacyModel::DistinctLDiversity { l } => hist.len() >= *l,
                PrivacyModel::EntropyLDiversity { l } => {
                    let h: f64 = hist.values().map(|&x| -(x / size) * (x / size).ln()).sum();
                    h >= l.ln() - 1e-9
                }
                PrivacyModel::TClosenessEqual { t } => {
                    let d: f64 = global
                        .iter()
                        .map(|(v, q)| (hist.get(v).copied().unwrap_or(0.0) / size - q).abs())
                        .sum();
                    0.5 * d <= t + 1e-9
                }
                _ => true,
            };
            prop_assert!(ok, "class of size {} violates {:?}", members.len(), m);
        }
    }
    Ok(())
}

/// 1000 cases per run, unless `PROPTEST_CASES` asks for another number (for deeper local or
/// nightly runs). `ProptestConfig::with_cases` alone would override the variable.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 1000;
    }
    config
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn released_classes_satisfy_models(c in case()) {
        run(&c)?;
    }
}
