//! Term frequencies: the share of records (both sides together) carrying each value of a field,
//! stored per record so that scoring needs no lookup table.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::table::Table;

fn value_hash(v: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// Fills `table.tf[field]` for each of `fields` on the tables given (link: both; dedupe: one).
pub fn fill_term_frequencies(tables: &mut [&mut Table], fields: &[usize]) {
    for &field in fields {
        let mut counts: HashMap<u64, u32> = HashMap::new();
        let mut total = 0u64;
        for t in tables.iter() {
            for i in 0..t.len() {
                let v = t.value(field, i);
                if !v.is_empty() {
                    *counts.entry(value_hash(v)).or_default() += 1;
                    total += 1;
                }
            }
        }
        let total = total.max(1) as f64;
        for t in tables.iter_mut() {
            let tf: Vec<f32> = (0..t.len())
                .map(|i| {
                    let v = t.value(field, i);
                    if v.is_empty() {
                        0.0
                    } else {
                        (f64::from(counts.get(&value_hash(v)).copied().unwrap_or(1)) / total) as f32
                    }
                })
                .collect();
            if let Some(slot) = t.tf.get_mut(field) {
                *slot = tf;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_span_both_tables() {
        let mut a = Table::new(1);
        a.push("1", &["sato"]);
        a.push("2", &["sato"]);
        a.push("3", &[""]);
        let mut b = Table::new(1);
        b.push("4", &["sato"]);
        b.push("5", &["kudo"]);
        fill_term_frequencies(&mut [&mut a, &mut b], &[0]);
        assert!((a.tf[0][0] - 0.75).abs() < 1e-6);
        assert_eq!(a.tf[0][2], 0.0);
        assert!((b.tf[0][1] - 0.25).abs() < 1e-6);
    }
}
