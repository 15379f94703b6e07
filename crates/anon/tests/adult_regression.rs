//! ARX regression: adult with its hierarchies, k=5, Loss, 0 % and 5 % suppression.

mod common;

use common::{ADULT_QIS, adult, adult_config};
use medinfra_anon::anonymize;

fn levels(o: &medinfra_anon::Outcome) -> Vec<usize> {
    o.report.attributes.iter().map(|a| a.level).collect()
}

#[test]
fn adult_k5_no_suppression_matches_arx() {
    let t = adult();
    let o = anonymize(&t, &adult_config(&ADULT_QIS, 5, 0.0)).unwrap();
    assert_eq!(levels(&o), vec![0, 4, 1, 2, 3, 2, 0, 0]);
    assert_eq!(format!("{:.4}", o.report.loss), "0.5422");
    assert_eq!(o.report.classes, 26);
    assert_eq!(o.report.suppressed, 0);
    assert!(o.report.risk.after.max <= 0.2);
    // Pruning must stay effective (exhaustive search evaluates all 4,320 nodes).
    assert_eq!(o.report.lattice_size, 4320);
    assert!(
        o.report.nodes_evaluated < 400,
        "{}",
        o.report.nodes_evaluated
    );
}

#[test]
fn adult_k5_five_percent_suppression_matches_arx() {
    let t = adult();
    let o = anonymize(&t, &adult_config(&ADULT_QIS, 5, 0.05)).unwrap();
    assert_eq!(levels(&o), vec![0, 3, 0, 0, 2, 1, 1, 0]);
    assert_eq!(format!("{:.4}", o.report.loss), "0.1701");
    assert_eq!(o.report.suppressed, 1346);
    assert_eq!(o.suppressed_rows.iter().filter(|&&s| s).count(), 1346);
    // Output: suppressed rows carry * in every QI, released rows their generalized label.
    let age = o.table.column("age").unwrap();
    let sex = o.table.column("sex").unwrap();
    for (row, &sup) in o.suppressed_rows.iter().enumerate() {
        if sup {
            assert_eq!(age.value(row), "*");
            assert_eq!(sex.value(row), "*");
        } else {
            assert_ne!(age.value(row), "*");
        }
    }
    assert!(
        o.report.nodes_evaluated < 400,
        "{}",
        o.report.nodes_evaluated
    );
    let released = o.released_table();
    assert_eq!(released.len(), t.len() - 1346);
    assert!((0..released.len()).all(|r| released.column("age").unwrap().value(r) != "*"));
    let json = serde_json::to_value(&o.report).unwrap();
    assert_eq!(json["transformation"]["age"], 3);
    assert_eq!(json["suppressed"], 1346);
    assert!(json["risk"]["before"]["max"].as_f64().unwrap() == 1.0);
}
