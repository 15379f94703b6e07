//! Deterministic regressions for cases where the pruned optimal search once disagreed with
//! exhaustive search. Each one was found by `properties.rs`; it is pinned here so it runs on
//! every CI run, not only when proptest replays its seed file.

use medinfra_anon::{
    AnonymizationConfig, Hierarchy, Metric, PrivacyModel, SearchMode, Table, anonymize_with,
};

/// Same hierarchy as `properties.rs`: level i groups values by `v >> i` (i < levels), then `*`.
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

/// The `properties.rs` configuration for model 2 (k = 2 plus entropy l = 2) and metric 0.
fn entropy_case(rows: &[(u32, u32, u32, u32)], suppression: f64) -> (Table, AnonymizationConfig) {
    let cols: Vec<Vec<String>> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|r| [r.0, r.1, r.2, r.3][i].to_string())
                .collect()
        })
        .collect();
    let table = Table::from_columns(&["a", "b", "c", "s"], &cols, "random").unwrap();
    let config = AnonymizationConfig {
        qis: vec![
            ("a".into(), halving(8, 2)),
            ("b".into(), halving(5, 1)),
            ("c".into(), halving(4, 1)),
        ],
        sensitive: Some("s".into()),
        models: vec![
            PrivacyModel::KAnonymity { k: 2 },
            PrivacyModel::EntropyLDiversity { l: 2.0 },
        ],
        suppression_limit: suppression,
        metric: Metric::loss(),
        risk_threshold: 0.5,
    };
    (table, config)
}

/// proptest seed `cc becbcb14…`: 5 records, suppression limit floor(0.2 * 5) = 1.
///
/// The top node (everything `*`) is one class with sensitive values {3,2,3,2,2}: entropy
/// 0.673 < ln 2, so all 5 records would be suppressed and the top is not anonymous. The
/// bottom node, however, has classes {r1,r2} and {r3,r5} (balanced, entropy ln 2) and {r4}
/// (too small, suppressed: 1 <= 1), so it is anonymous. The pruned search used to return
/// `NoSolution` after looking only at the top.
#[test]
fn entropy_l_diversity_with_suppression_top_not_anonymous() {
    let rows = [
        (0, 2, 0, 3),
        (0, 2, 0, 2),
        (0, 0, 1, 3),
        (0, 0, 0, 2),
        (0, 0, 1, 2),
    ];
    let (table, config) = entropy_case(&rows, 0.2);
    let full = anonymize_with(&table, &config, SearchMode::Exhaustive)
        .expect("exhaustive search finds a solution");
    let fast = anonymize_with(&table, &config, SearchMode::Optimal)
        .expect("optimal search must find the solution exhaustive search finds");

    assert_eq!(fast.report.attributes, full.report.attributes);
    assert_eq!(fast.report.loss.to_bits(), full.report.loss.to_bits());
    assert_eq!(fast.report.suppressed, full.report.suppressed);
    assert_eq!(fast.report.classes, full.report.classes);
    assert_eq!(fast.suppressed_rows, full.suppressed_rows);

    // Pin the optimum itself, not only the agreement: nothing generalized, r4 suppressed.
    let levels: Vec<usize> = fast.report.attributes.iter().map(|a| a.level).collect();
    assert_eq!(levels, vec![0, 0, 0]);
    assert_eq!(fast.report.suppressed, 1);
    assert_eq!(fast.suppressed_rows, vec![false, false, false, true, false]);
}

/// Same rows without suppression: the model is monotone again and the top node failing
/// really does mean there is no solution; both searches must say so.
#[test]
fn entropy_l_diversity_without_suppression_has_no_solution() {
    let rows = [
        (0, 2, 0, 3),
        (0, 2, 0, 2),
        (0, 0, 1, 3),
        (0, 0, 0, 2),
        (0, 0, 1, 2),
    ];
    let (table, config) = entropy_case(&rows, 0.0);
    let fast = anonymize_with(&table, &config, SearchMode::Optimal);
    let full = anonymize_with(&table, &config, SearchMode::Exhaustive);
    assert!(matches!(fast, Err(medinfra_anon::AnonError::NoSolution)));
    assert!(matches!(full, Err(medinfra_anon::AnonError::NoSolution)));
}
