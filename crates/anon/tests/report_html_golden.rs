//! Golden test of the auditor's HTML report on ARX's toy dataset. Regenerate after an
//! intended change with `UPDATE_GOLDEN=1 cargo test -p medinfra-anon --test report_html_golden`
//! and review the diff.

use medinfra_anon::{
    AnonymizationConfig, Hierarchy, Metric, PrivacyModel, Table, anonymize, render_html,
};

#[test]
fn toy_html_report_matches_golden_file() {
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
    let mut o = anonymize(&t, &config).unwrap();
    // The number of nodes the parallel search evaluates may vary run to run; the result does not.
    o.report.nodes_evaluated = 0;
    let html = render_html(
        &o.report,
        &t,
        &o.table,
        &o.suppressed_rows,
        "Anonymization report: toy <test>",
    );
    let golden = format!(
        "{}/tests/golden/toy_report.html",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &html).unwrap();
    }
    let expected =
        std::fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 to create)");
    assert_eq!(html, expected);
    // Escaping and the essentials an auditor looks for.
    assert!(html.contains("toy &lt;test&gt;"));
    assert!(html.contains("proven optimal"));
    assert!(html.contains("<svg role=\"img\""));
}
