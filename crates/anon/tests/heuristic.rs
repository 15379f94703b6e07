//! Heuristic search on adult: labelled not optimal, satisfies the model, and its Loss stays
//! within 1.5x of the optimum ARX finds.

mod common;

use std::collections::HashMap;

use common::{ADULT_QIS, adult, adult_config};
use medinfra_anon::{SearchMode, anonymize, anonymize_with};

fn check(suppression: f64) {
    let t = adult();
    let config = adult_config(&ADULT_QIS, 5, suppression);
    let opt = anonymize(&t, &config).unwrap();
    let h = anonymize_with(
        &t,
        &config,
        SearchMode::Heuristic {
            max_evaluations: 1_000,
        },
    )
    .unwrap();
    assert!(opt.report.optimal);
    assert!(!h.report.optimal);
    let json = serde_json::to_value(&h.report).unwrap();
    assert_eq!(json["optimal"], false);
    assert!(h.report.nodes_evaluated <= 1_000);
    assert!(
        h.report.loss <= 1.5 * opt.report.loss,
        "heuristic {} vs optimum {}",
        h.report.loss,
        opt.report.loss
    );
    assert!(h.report.loss >= opt.report.loss - 1e-12);
    // Every released class has at least 5 records; suppression within the limit.
    let limit = (suppression * t.len() as f64).floor() as u64;
    assert!(h.report.suppressed <= limit);
    let mut classes: HashMap<Vec<String>, usize> = HashMap::new();
    for row in 0..t.len() {
        if h.suppressed_rows[row] {
            continue;
        }
        let key = ADULT_QIS
            .iter()
            .map(|q| h.table.column(q).unwrap().value(row).to_string())
            .collect();
        *classes.entry(key).or_insert(0) += 1;
    }
    assert_eq!(classes.len() as u64, h.report.classes);
    assert!(classes.values().all(|&n| n >= 5));
    println!(
        "suppression {suppression}: heuristic loss {:.4} ({} nodes) vs optimum {:.4}",
        h.report.loss, h.report.nodes_evaluated, opt.report.loss
    );
}

#[test]
fn heuristic_adult_no_suppression() {
    check(0.0);
}

#[test]
fn heuristic_adult_five_percent_suppression() {
    check(0.05);
}

#[test]
fn heuristic_budget_is_respected_and_still_anonymous() {
    let t = adult();
    let config = adult_config(&ADULT_QIS, 5, 0.0);
    let h = anonymize_with(&t, &config, SearchMode::Heuristic { max_evaluations: 3 }).unwrap();
    assert!(h.report.nodes_evaluated <= 3);
    // With almost no budget the top node (everything `*`) is the only safe answer.
    assert!(h.report.classes >= 1);
    assert!(!h.report.optimal);
}
