//! Pairwise quality of the registry's record → person assignment against a truth (the sample
//! data's `truth` table): precision, recall and F1 over all pairs of records, computed from
//! cluster sizes (no pair is materialized).

use std::collections::HashMap;

use serde::Serialize;

use crate::record::RecordKey;
use crate::registry::Registry;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Registry records that the truth knows (only these are scored).
    pub records: u64,
    pub records_without_truth: u64,
    pub persons_true: u64,
    pub persons_found: u64,
    pub true_pairs: u64,
    pub found_pairs: u64,
    pub correct_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores the registry against `truth` (record → true person).
pub fn evaluate(reg: &Registry, truth: &HashMap<RecordKey, i64>) -> Evaluation {
    let mut found: HashMap<i64, u64> = HashMap::new();
    let mut real: HashMap<i64, u64> = HashMap::new();
    let mut both: HashMap<(i64, i64), u64> = HashMap::new();
    let mut scored = 0;
    let mut missing = 0;
    for r in &reg.records {
        let Some(&t) = truth.get(&r.key) else {
            missing += 1;
            continue;
        };
        scored += 1;
        *found.entry(r.person_id).or_default() += 1;
        *real.entry(t).or_default() += 1;
        *both.entry((r.person_id, t)).or_default() += 1;
    }
    let found_pairs: u64 = found.values().map(|&n| pairs(n)).sum();
    let true_pairs: u64 = real.values().map(|&n| pairs(n)).sum();
    let correct_pairs: u64 = both.values().map(|&n| pairs(n)).sum();
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let precision = ratio(correct_pairs, found_pairs);
    let recall = ratio(correct_pairs, true_pairs);
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Evaluation {
        records: scored,
        records_without_truth: missing,
        persons_true: real.len() as u64,
        persons_found: found.len() as u64,
        true_pairs,
        found_pairs,
        correct_pairs,
        precision,
        recall,
        f1,
    }
}
