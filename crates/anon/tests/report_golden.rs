//! Golden test of the report and the released rows on ARX's toy dataset.

use medinfra_anon::{AnonymizationConfig, Hierarchy, Metric, PrivacyModel, Table, anonymize};

#[test]
fn toy_report_and_rows() {
    let dir = format!("{}/../../../shared/data/arx", env!("CARGO_MANIFEST_DIR"));
    let t = Table::from_csv_path(format!("{dir}/toy_test.csv"), b';').unwrap();
    let qis = ["age", "gender", "zipcode"]
        .iter()
        .map(|q| {
            let h = Hierarchy::from_csv_path(format!("{dir}/toy_test_hierarchy_{q}.csv"));
            (q.to_string(), h.unwrap())
        })
        .collect();
    let config = AnonymizationConfig {
        qis,
        sensitive: None,
        models: vec![PrivacyModel::KAnonymity { k: 2 }],
        suppression_limit: 0.0,
        metric: Metric::loss(),
        risk_threshold: 0.5,
    };
    let o = anonymize(&t, &config).unwrap();
    // By hand: (age *, gender kept, zip 81***) gives classes male 4 / female 3 with Loss
    // ((1+1) * (1+0) * (1 + (0.7-0.0007)/(7-0.0007)))^(1/3) - 1 = 0.3006, below e.g.
    // (age <50/>=50, gender *, zip 816**/819**) = 0.4445.
    assert_eq!(format!("{:.4}", o.report.loss), "0.3006");
    let mut json = serde_json::to_value(&o.report).unwrap();
    let obj = json.as_object_mut().unwrap();
    for volatile in ["elapsed_ms", "search_ms", "nodes_evaluated", "loss"] {
        obj.remove(volatile);
    }
    let expected = serde_json::json!({
        "transformation": {"age": 2, "gender": 0, "zipcode": 3},
        "attributes": [
            {"attribute": "age", "level": 2, "height": 2},
            {"attribute": "gender", "level": 0, "height": 1},
            {"attribute": "zipcode", "level": 3, "height": 5}
        ],
        "records": 7,
        "suppressed": 0,
        "classes": 2,
        "metric": "loss",
        "models": ["2-anonymity"],
        "suppression_limit": 0.0,
        "risk": {
            "before": {"max": 1.0, "average": 1.0, "records_at_risk": 1.0, "threshold": 0.5, "marketer": 1.0},
            "after": {"max": 1.0 / 3.0, "average": 2.0 / 7.0, "records_at_risk": 0.0, "threshold": 0.5, "marketer": 2.0 / 7.0}
        },
        "optimal": true,
        "lattice_size": 36
    });
    assert_eq!(json, expected);
    let mut csv = Vec::new();
    o.table.write_csv(&mut csv, b';').unwrap();
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "age;gender;zipcode\n*;male;81***\n*;female;81***\n*;male;81***\n\
         *;female;81***\n*;female;81***\n*;male;81***\n*;male;81***\n"
    );
}
