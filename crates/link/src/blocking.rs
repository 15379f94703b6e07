//! Blocking: which record pairs are compared at all.
//!
//! Every rule gives each record a 64-bit key hash (0 when a key part is missing, so the record
//! is in no block of that rule). Records are sorted by hash one rule at a time and each run of
//! equal hashes is a block; the pairs of a block are generated on the fly and handed to the
//! caller, so memory is O(records), never O(pairs). A pair that an earlier rule already
//! generated is skipped by re-checking the earlier rules' hashes for the two records, which
//! deduplicates the union of rules without any set of seen pairs (Splink's approach).
//!
//! Hash equality stands for key equality: with 64-bit hashes the chance of any collision among
//! a million distinct keys is about 3·10⁻⁸, and a collision only adds a candidate pair (the
//! comparisons still score it), never loses one.

use std::hash::{Hash, Hasher};

use rayon::prelude::*;
use serde::Serialize;

use crate::spec::{BlockingRule, KeyPart};
use crate::table::Table;

/// Marks right-side records in the sorted entries of link mode.
const RIGHT: u32 = 1 << 31;

/// The records to link: one table (dedupe) or two (link).
#[derive(Clone, Copy)]
pub struct Sides<'a> {
    pub left: &'a Table,
    pub right: Option<&'a Table>,
}

impl<'a> Sides<'a> {
    pub fn right_table(&self) -> &'a Table {
        self.right.unwrap_or(self.left)
    }

    pub fn is_dedupe(&self) -> bool {
        self.right.is_none()
    }

    /// Number of pairs a full comparison would make.
    pub fn all_pairs(&self) -> u64 {
        let n = self.left.len() as u64;
        match self.right {
            Some(r) => n * r.len() as u64,
            None => n * n.saturating_sub(1) / 2,
        }
    }
}

/// Key hashes of every record under every rule.
pub struct BlockIndex {
    pub rules: Vec<BlockingRule>,
    left: Vec<Vec<u64>>,
    right: Vec<Vec<u64>>,
}

/// How many comparisons one rule generates, computed before any pair is compared.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuleCount {
    pub rule: String,
    /// Pairs the rule generates on its own.
    pub comparisons: u64,
    /// Records with a complete key under the rule.
    pub keyed_records: u64,
    /// Size of its largest block (left + right records).
    pub largest_block: u64,
}

impl BlockIndex {
    pub fn build(rules: &[BlockingRule], sides: Sides<'_>) -> Self {
        let hashes = |t: &Table| -> Vec<Vec<u64>> {
            rules
                .iter()
                .map(|rule| (0..t.len()).map(|i| key_hash(rule, t, i)).collect())
                .collect()
        };
        BlockIndex {
            rules: rules.to_vec(),
            left: hashes(sides.left),
            right: sides.right.map(hashes).unwrap_or_default(),
        }
    }

    fn right_hashes(&self, rule: usize) -> &[u64] {
        if self.right.is_empty() {
            &self.left[rule]
        } else {
            &self.right[rule]
        }
    }

    /// Sorted (hash, tagged record) entries of one rule; right records carry [`RIGHT`].
    fn entries(&self, rule: usize) -> Vec<(u64, u32)> {
        let mut v: Vec<(u64, u32)> = self.left[rule]
            .iter()
            .enumerate()
            .filter(|(_, h)| **h != 0)
            .map(|(i, h)| (*h, i as u32))
            .collect();
        if !self.right.is_empty() {
            v.extend(
                self.right[rule]
                    .iter()
                    .enumerate()
                    .filter(|(_, h)| **h != 0)
                    .map(|(j, h)| (*h, j as u32 | RIGHT)),
            );
        }
        v.par_sort_unstable();
        v
    }

    /// Comparisons per rule, before running (Splink's `count_comparisons_from_blocking_rule`).
    pub fn count_comparisons(&self) -> Vec<RuleCount> {
        let link = !self.right.is_empty();
        (0..self.rules.len())
            .map(|r| {
                let entries = self.entries(r);
                let mut comparisons = 0u64;
                let mut largest = 0u64;
                for run in runs(&entries) {
                    let block = &entries[run.0..run.1];
                    let n = block.len() as u64;
                    largest = largest.max(n);
                    comparisons += if link {
                        let nl = block.iter().filter(|e| e.1 & RIGHT == 0).count() as u64;
                        nl * (n - nl)
                    } else {
                        n * (n - 1) / 2
                    };
                }
                RuleCount {
                    rule: self.rules[r].name.to_owned(),
                    comparisons,
                    keyed_records: entries.len() as u64,
                    largest_block: largest,
                }
            })
            .collect()
    }

    /// Whether a rule before `rule` already pairs left record `i` with right record `j`.
    fn seen_before(&self, rule: usize, i: usize, j: usize) -> bool {
        (0..rule).any(|r| {
            let h = self.left[r][i];
            h != 0 && h == self.right_hashes(r)[j]
        })
    }

    /// Folds every candidate pair `(left record, right record)` exactly once (in dedupe mode
    /// `i < j`, both indexes into the one table). Blocks are processed in parallel; each
    /// worker folds into its own accumulator, and accumulators are merged with `reduce`.
    pub fn fold_pairs<T, ID, F, R>(&self, identity: ID, fold: F, reduce: R) -> T
    where
        T: Send,
        ID: Fn() -> T + Sync + Send,
        F: Fn(T, usize, usize) -> T + Sync + Send,
        R: Fn(T, T) -> T + Sync + Send,
    {
        let mut total = identity();
        for rule in 0..self.rules.len() {
            let part = self.fold_rule(rule, true, &identity, &fold, &reduce);
            total = reduce(total, part);
        }
        total
    }

    /// Folds the pairs of one rule on its own (pairs other rules also generate included): the
    /// pairs of an EM training session.
    pub fn fold_rule_pairs<T, ID, F, R>(&self, rule: usize, identity: ID, fold: F, reduce: R) -> T
    where
        T: Send,
        ID: Fn() -> T + Sync + Send,
        F: Fn(T, usize, usize) -> T + Sync + Send,
        R: Fn(T, T) -> T + Sync + Send,
    {
        if rule >= self.rules.len() {
            return identity();
        }
        self.fold_rule(rule, false, &identity, &fold, &reduce)
    }

    fn fold_rule<T, ID, F, R>(
        &self,
        rule: usize,
        skip_seen: bool,
        identity: &ID,
        fold: &F,
        reduce: &R,
    ) -> T
    where
        T: Send,
        ID: Fn() -> T + Sync + Send,
        F: Fn(T, usize, usize) -> T + Sync + Send,
        R: Fn(T, T) -> T + Sync + Send,
    {
        let link = !self.right.is_empty();
        let entries = self.entries(rule);
        let blocks: Vec<(usize, usize)> = runs(&entries).collect();
        let new_pair = |i: usize, j: usize| !skip_seen || !self.seen_before(rule, i, j);
        blocks
            .par_iter()
            .fold(identity, |mut acc, &(s, e)| {
                let block = &entries[s..e];
                if link {
                    let split = block.partition_point(|x| x.1 & RIGHT == 0);
                    for &(_, i) in &block[..split] {
                        for &(_, j) in &block[split..] {
                            let (i, j) = (i as usize, (j & !RIGHT) as usize);
                            if new_pair(i, j) {
                                acc = fold(acc, i, j);
                            }
                        }
                    }
                } else {
                    for (a, &(_, i)) in block.iter().enumerate() {
                        for &(_, j) in &block[a + 1..] {
                            let (i, j) = (i.min(j) as usize, i.max(j) as usize);
                            if new_pair(i, j) {
                                acc = fold(acc, i, j);
                            }
                        }
                    }
                }
                acc
            })
            .reduce(identity, reduce)
    }

    /// The fields a rule's key is made of (its comparisons are left out of the rule's EM
    /// session: within the rule they agree by construction).
    pub fn rule_fields(&self, rule: usize) -> Vec<usize> {
        self.rules.get(rule).map_or_else(Vec::new, |r| {
            r.parts
                .iter()
                .flat_map(|p| match *p {
                    KeyPart::Field { field } | KeyPart::Prefix { field, .. } => vec![field],
                    KeyPart::Unordered { a, b } => vec![a, b],
                })
                .collect()
        })
    }
}

/// Half-open ranges of equal hashes in sorted entries.
fn runs(entries: &[(u64, u32)]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= entries.len() {
            return None;
        }
        let h = entries[start].0;
        let len = entries[start..].partition_point(|e| e.0 == h);
        let run = (start, start + len);
        start += len;
        Some(run)
    })
}

/// The key hash of record `i` under `rule`, 0 when any part is missing.
pub fn key_hash(rule: &BlockingRule, t: &Table, i: usize) -> u64 {
    // SipHash with fixed keys (DefaultHasher::new): deterministic within and across runs of
    // one build, which is all blocking needs; hashes are never stored.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for part in &rule.parts {
        match *part {
            KeyPart::Field { field } => {
                let v = t.value(field, i);
                if v.is_empty() {
                    return 0;
                }
                v.hash(&mut h);
            }
            KeyPart::Prefix { field, n } => {
                let v = t.value(field, i);
                if v.chars().count() < n {
                    return 0;
                }
                v.chars().take(n).for_each(|c| c.hash(&mut h));
                0xFFu8.hash(&mut h);
            }
            KeyPart::Unordered { a, b } => {
                let (x, y) = (t.value(a, i), t.value(b, i));
                if x.is_empty() || y.is_empty() {
                    return 0;
                }
                x.min(y).hash(&mut h);
                x.max(y).hash(&mut h);
            }
        }
    }
    h.finish().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &'static str, parts: Vec<KeyPart>) -> BlockingRule {
        BlockingRule { name, parts }
    }

    fn table(rows: &[(&str, &str, &str)]) -> Table {
        let mut t = Table::new(2);
        for (id, a, b) in rows {
            t.push(id, &[a, b]);
        }
        t
    }

    fn collect(index: &BlockIndex) -> Vec<(usize, usize)> {
        let mut v = index.fold_pairs(
            Vec::new,
            |mut acc, i, j| {
                acc.push((i, j));
                acc
            },
            |mut a, b| {
                a.extend(b);
                a
            },
        );
        v.sort();
        v
    }

    #[test]
    fn union_of_rules_is_deduplicated_and_counted_before_running() {
        let t = table(&[
            ("0", "x", "1"),
            ("1", "x", "1"),
            ("2", "y", "1"),
            ("3", "x", ""),
        ]);
        let rules = vec![
            rule("a", vec![KeyPart::Field { field: 0 }]),
            rule("b", vec![KeyPart::Field { field: 1 }]),
        ];
        let index = BlockIndex::build(
            &rules,
            Sides {
                left: &t,
                right: None,
            },
        );
        let counts = index.count_comparisons();
        assert_eq!(counts[0].comparisons, 3); // x: 0,1,3
        assert_eq!(counts[1].comparisons, 3); // 1: 0,1,2
        assert_eq!(counts[0].largest_block, 3);
        let pairs = collect(&index);
        // (0,1) is in both rules but appears once.
        assert_eq!(pairs, vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]);
    }

    #[test]
    fn link_mode_pairs_left_with_right_only() {
        let l = table(&[("l0", "x", "a"), ("l1", "y", "b")]);
        let r = table(&[("r0", "x", "b"), ("r1", "x", "z"), ("r2", "q", "b")]);
        let rules = vec![
            rule("a", vec![KeyPart::Field { field: 0 }]),
            rule("b", vec![KeyPart::Field { field: 1 }]),
        ];
        let index = BlockIndex::build(
            &rules,
            Sides {
                left: &l,
                right: Some(&r),
            },
        );
        assert_eq!(index.count_comparisons()[0].comparisons, 2);
        assert_eq!(index.count_comparisons()[1].comparisons, 2);
        assert_eq!(collect(&index), vec![(0, 0), (0, 1), (1, 0), (1, 2)]);
    }

    #[test]
    fn unordered_key_matches_swapped_names_and_prefix_needs_length() {
        let t = table(&[("0", "ann", "lee"), ("1", "lee", "ann"), ("2", "an", "")]);
        let r = rule("swap", vec![KeyPart::Unordered { a: 0, b: 1 }]);
        assert_eq!(key_hash(&r, &t, 0), key_hash(&r, &t, 1));
        assert_eq!(key_hash(&r, &t, 2), 0);
        let p = rule("p", vec![KeyPart::Prefix { field: 0, n: 3 }]);
        assert_ne!(key_hash(&p, &t, 0), 0);
        assert_eq!(key_hash(&p, &t, 2), 0);
    }
}
