//! Shared helpers: ARX benchmark data from ../shared/data/arx.
#![allow(dead_code)]

use medinfra_anon::{AnonymizationConfig, Hierarchy, Metric, PrivacyModel, Table};

pub fn arx_dir() -> String {
    format!("{}/../../../shared/data/arx", env!("CARGO_MANIFEST_DIR"))
}

pub const ADULT_QIS: [&str; 8] = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "salary-class",
];

pub fn adult() -> Table {
    Table::from_csv_path(format!("{}/adult.csv", arx_dir()), b';').unwrap()
}

pub fn adult_hierarchy(name: &str) -> Hierarchy {
    Hierarchy::from_csv_path(format!("{}/adult_hierarchy_{name}.csv", arx_dir())).unwrap()
}

pub fn adult_config(qis: &[&str], k: usize, suppression: f64) -> AnonymizationConfig {
    AnonymizationConfig {
        qis: qis
            .iter()
            .map(|q| (q.to_string(), adult_hierarchy(q)))
            .collect(),
        sensitive: Some("occupation".into()),
        models: vec![PrivacyModel::KAnonymity { k }],
        suppression_limit: suppression,
        metric: Metric::loss(),
        risk_threshold: 0.2,
    }
}
