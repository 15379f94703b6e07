//! The pruned search must return exactly what exhaustive search returns (same levels, same
//! metric value, same suppression), for every privacy model and metric, on small lattices.

mod common;

use common::{adult, adult_hierarchy, arx_dir};
use medinfra_anon::{
    AnonymizationConfig, Hierarchy, Metric, PrivacyModel, SearchMode, Table, anonymize_with,
};

const METRICS: [Metric; 7] = [
    Metric::Loss { gs_factor: 0.5 },
    Metric::Loss { gs_factor: 0.2 },
    Metric::Height,
    Metric::Precision,
    Metric::Discernibility,
    Metric::Aecs,
    Metric::NonUniformEntropy,
];

fn models() -> Vec<Vec<PrivacyModel>> {
    let occupation = adult_hierarchy("occupation");
    vec![
        vec![PrivacyModel::KAnonymity { k: 5 }],
        vec![PrivacyModel::KAnonymity { k: 50 }],
        vec![PrivacyModel::DistinctLDiversity { l: 4 }],
        vec![PrivacyModel::EntropyLDiversity { l: 3.0 }],
        vec![
            PrivacyModel::KAnonymity { k: 3 },
            PrivacyModel::RecursiveCLDiversity { c: 3.0, l: 3 },
        ],
        vec![PrivacyModel::TClosenessEqual { t: 0.3 }],
        vec![PrivacyModel::TClosenessHierarchical {
            t: 0.2,
            hierarchy: occupation,
        }],
    ]
}

/// Returns the optimum's levels and suppressed count (None when no solution).
fn assert_same(
    table: &Table,
    config: &AnonymizationConfig,
    what: &str,
) -> Option<(Vec<usize>, u64)> {
    let fast = anonymize_with(table, config, SearchMode::Optimal);
    let full = anonymize_with(table, config, SearchMode::Exhaustive);
    match (fast, full) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.report.attributes, b.report.attributes, "{what}");
            assert_eq!(a.report.loss.to_bits(), b.report.loss.to_bits(), "{what}");
            assert_eq!(a.report.suppressed, b.report.suppressed, "{what}");
            assert_eq!(a.report.classes, b.report.classes, "{what}");
            assert!(a.report.nodes_evaluated <= b.report.nodes_evaluated);
            let levels = a.report.attributes.iter().map(|x| x.level).collect();
            Some((levels, a.report.suppressed))
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "{what}");
            None
        }
        (a, b) => panic!("{what}: optimal {:?} vs exhaustive {:?}", a.err(), b.err()),
    }
}

#[test]
fn adult_three_qis_all_models_and_metrics() {
    let t = adult();
    let qis = ["age", "education", "marital-status"];
    let mut optima = std::collections::HashSet::new();
    let mut with_suppression = 0;
    for models in models() {
        for metric in METRICS {
            for suppression in [0.0, 0.02, 0.1] {
                let config = AnonymizationConfig {
                    qis: qis
                        .iter()
                        .map(|q| (q.to_string(), adult_hierarchy(q)))
                        .collect(),
                    sensitive: Some("occupation".into()),
                    models: models.clone(),
                    suppression_limit: suppression,
                    metric,
                    risk_threshold: 0.2,
                };
                let what = format!("{models:?} {metric:?} {suppression}");
                if let Some((levels, suppressed)) = assert_same(&t, &config, &what) {
                    with_suppression += usize::from(suppressed > 0);
                    optima.insert(levels);
                }
            }
        }
    }
    // The grid must exercise the search: many different optima, some with suppression.
    assert!(optima.len() >= 8, "only {} distinct optima", optima.len());
    assert!(
        with_suppression >= 10,
        "only {with_suppression} optima with suppression"
    );
}

#[test]
fn adult_full_lattice_loss_k5() {
    let t = adult();
    for suppression in [0.0, 0.01, 0.05] {
        let config = common::adult_config(&common::ADULT_QIS, 5, suppression);
        assert_same(&t, &config, &format!("adult 8 QIs, {suppression}"));
    }
}

#[test]
fn toy_datasets() {
    let dir = arx_dir();
    let t = Table::from_csv_path(format!("{dir}/toy_test.csv"), b';').unwrap();
    for metric in METRICS {
        for (k, sup) in [(2, 0.0), (3, 0.0), (2, 0.3)] {
            let config = AnonymizationConfig {
                qis: ["age", "gender", "zipcode"]
                    .iter()
                    .map(|q| {
                        let h =
                            Hierarchy::from_csv_path(format!("{dir}/toy_test_hierarchy_{q}.csv"));
                        (q.to_string(), h.unwrap())
                    })
                    .collect(),
                sensitive: None,
                models: vec![PrivacyModel::KAnonymity { k }],
                suppression_limit: sup,
                metric,
                risk_threshold: 0.5,
            };
            assert_same(&t, &config, &format!("toy_test k={k} {metric:?} {sup}"));
        }
    }
    let t2 = Table::from_csv_path(format!("{dir}/toy_test2.csv"), b';').unwrap();
    let disease =
        Hierarchy::from_csv_path(format!("{dir}/toy_test2_hierarchy_Disease.csv")).unwrap();
    for models in [
        vec![PrivacyModel::KAnonymity { k: 3 }],
        vec![PrivacyModel::DistinctLDiversity { l: 2 }],
        vec![PrivacyModel::TClosenessEqual { t: 0.4 }],
        vec![PrivacyModel::TClosenessHierarchical {
            t: 0.3,
            hierarchy: disease.clone(),
        }],
    ] {
        for metric in METRICS {
            let config = AnonymizationConfig {
                qis: ["ZIPCode", "Age"]
                    .iter()
                    .map(|q| {
                        let h =
                            Hierarchy::from_csv_path(format!("{dir}/toy_test2_hierarchy_{q}.csv"));
                        (q.to_string(), h.unwrap())
                    })
                    .collect(),
                sensitive: Some("Disease".into()),
                models: models.clone(),
                suppression_limit: 0.0,
                metric,
                risk_threshold: 0.5,
            };
            assert_same(&t2, &config, &format!("toy_test2 {models:?} {metric:?}"));
        }
    }
}
