//! k^m-anonymity for set-valued attributes (a person's set of diagnoses or drugs).
//!
//! **Model** (Terrovitis, Mamoulis, Kalnis, "Privacy-preserving anonymization of set-valued
//! data", VLDB 2008): an adversary knows up to `m` items of a person's set. The data is
//! k^m-anonymous when every itemset of size `1..=m` that at least one person's set contains
//! is contained in the sets of at least `k` persons. Persons, not records, are counted.
//!
//! **Anonymizer**, in the spirit of their Apriori-based anonymization (AA): global recoding
//! along a hierarchy — every occurrence of an item is replaced by the same hierarchy node —
//! fixing itemset sizes `i = 1, 2, ..., m` in turn. While some `i`-itemset is supported by
//! `1..k-1` persons, take the one with the smallest support and generalize one of its items
//! one level up (the one whose parent node covers the fewest hierarchy leaves, i.e. the
//! smallest loss); when none of its items may be generalized further (`max_level`),
//! suppress the item with the smallest support from every set instead. Fixing size `i`
//! never breaks a smaller size: merging items or removing an item only unions or keeps the
//! supporters of smaller itemsets, whose supports were already 0 or `>= k`. Every step
//! raises a node or removes an item, so the loop ends. The result is re-checked anyway.
//!
//! Cost: each step recounts the `i`-itemsets, `O(sum over persons of C(|set|, i))`; meant
//! for per-person diagnosis sets (tens of items) and `m <= 3`.
//!
//! **Loss** reported (normalized certainty penalty): an occurrence generalized to a node
//! covering `s` of the hierarchy's `D` leaves costs `(s - 1) / (D - 1)`, a suppressed
//! occurrence 1; the loss is the mean over all original occurrences.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::error::AnonError;
use crate::hierarchy::Hierarchy;
use crate::table::Table;

/// Persons with their sets of items (deduplicated), dictionary-encoded.
#[derive(Debug, Clone, Default)]
pub struct SetValuedData {
    items: Vec<String>,
    sets: Vec<Vec<u32>>,
}

impl SetValuedData {
    /// One set per person; duplicates inside a set are dropped.
    pub fn from_sets<S: AsRef<str>>(sets: &[Vec<S>]) -> Self {
        let mut d = Self::default();
        let mut index = HashMap::new();
        for set in sets {
            let mut s: Vec<u32> = set
                .iter()
                .map(|v| intern(&mut d.items, &mut index, v.as_ref()))
                .collect();
            s.sort_unstable();
            s.dedup();
            d.sets.push(s);
        }
        d
    }

    /// From a long table with one row per (person, item); persons in order of first
    /// appearance, empty items skipped (a person with only empty items has an empty set).
    pub fn from_table(table: &Table, person: &str, item: &str) -> Result<Self, AnonError> {
        let col = |n: &str| {
            table
                .column(n)
                .ok_or_else(|| AnonError::Config(format!("{n} is not a column")))
        };
        let (pc, ic) = (col(person)?, col(item)?);
        let mut slot: Vec<u32> = vec![u32::MAX; pc.dictionary().len()];
        let mut d = Self::default();
        let mut index = HashMap::new();
        for (&p, &i) in pc.codes().iter().zip(ic.codes()) {
            if slot[p as usize] == u32::MAX {
                slot[p as usize] = d.sets.len() as u32;
                d.sets.push(Vec::new());
            }
            let v = &ic.dictionary()[i as usize];
            if !v.trim().is_empty() {
                let id = intern(&mut d.items, &mut index, v);
                d.sets[slot[p as usize] as usize].push(id);
            }
        }
        for s in &mut d.sets {
            s.sort_unstable();
            s.dedup();
        }
        Ok(d)
    }

    /// Number of persons.
    pub fn persons(&self) -> usize {
        self.sets.len()
    }

    /// The set of person `p`, as item labels.
    pub fn set(&self, p: usize) -> Vec<&str> {
        self.sets[p]
            .iter()
            .map(|&i| self.items[i as usize].as_str())
            .collect()
    }
}

fn intern(items: &mut Vec<String>, index: &mut HashMap<String, u32>, v: &str) -> u32 {
    if let Some(&i) = index.get(v) {
        return i;
    }
    let i = items.len() as u32;
    items.push(v.to_string());
    index.insert(v.to_string(), i);
    i
}

/// An itemset supported by `1..k-1` persons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KmViolation {
    /// The items (sorted).
    pub itemset: Vec<String>,
    /// Number of persons whose set contains it.
    pub support: u64,
}

/// Counts the supports of all itemsets of size `size` in `sets` (each sorted, deduplicated).
fn count_itemsets(sets: &[Vec<u32>], size: usize) -> HashMap<Vec<u32>, u64> {
    let mut counts: HashMap<Vec<u32>, u64> = HashMap::new();
    let mut idx = Vec::with_capacity(size);
    let mut key = Vec::with_capacity(size);
    for s in sets {
        if s.len() < size {
            continue;
        }
        // Iterate over all `size`-combinations of indices in lexicographic order.
        idx.clear();
        idx.extend(0..size);
        loop {
            key.clear();
            key.extend(idx.iter().map(|&i| s[i]));
            *counts.entry(key.clone()).or_insert(0) += 1;
            let mut j = size;
            while j > 0 && idx[j - 1] == s.len() - size + j - 1 {
                j -= 1;
            }
            if j == 0 {
                break;
            }
            idx[j - 1] += 1;
            for t in j..size {
                idx[t] = idx[t - 1] + 1;
            }
        }
    }
    counts
}

/// All itemsets of size `1..=m` supported by `1..k-1` persons, sorted by size, support,
/// then items. Empty when the data is k^m-anonymous.
pub fn km_violations(
    data: &SetValuedData,
    k: usize,
    m: usize,
) -> Result<Vec<KmViolation>, AnonError> {
    check_params(k, m)?;
    let mut out = Vec::new();
    for size in 1..=m {
        let mut v: Vec<(Vec<u32>, u64)> = count_itemsets(&data.sets, size)
            .into_iter()
            .filter(|&(_, c)| c < k as u64)
            .collect();
        v.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        out.extend(v.into_iter().map(|(set, support)| {
            KmViolation {
                itemset: set
                    .iter()
                    .map(|&i| data.items[i as usize].clone())
                    .collect(),
                support,
            }
        }));
    }
    for v in &mut out {
        v.itemset.sort();
    }
    Ok(out)
}

fn check_params(k: usize, m: usize) -> Result<(), AnonError> {
    if k == 0 || m == 0 {
        return Err(AnonError::Config(
            "k^m-anonymity needs k >= 1 and m >= 1".into(),
        ));
    }
    Ok(())
}

/// Configuration of [`km_anonymize`].
#[derive(Debug, Clone)]
pub struct KmConfig {
    /// Minimal support of every released itemset of size `<= m`.
    pub k: usize,
    /// Adversary knowledge (items).
    pub m: usize,
    /// Item hierarchy (e.g. [`Hierarchy::icd10`]); without one, items are only suppressed.
    pub hierarchy: Option<Hierarchy>,
    /// Highest level items may be generalized to; `None` means one below the hierarchy's
    /// top (the top is usually `*`, which says nothing, so suppression is preferred).
    pub max_level: Option<usize>,
}

/// Result of [`km_anonymize`].
#[derive(Debug, Clone, Serialize)]
pub struct KmOutcome {
    /// Released set of each person (labels, sorted), in input order.
    pub sets: Vec<Vec<String>>,
    /// Original item -> released label, for every item that was generalized.
    pub recoding: BTreeMap<String, String>,
    /// Labels removed from every set.
    pub suppressed_items: Vec<String>,
    /// Original item occurrences replaced by a more general label.
    pub occurrences_generalized: u64,
    /// Original item occurrences removed.
    pub occurrences_suppressed: u64,
    /// Normalized certainty penalty (see module docs), in `[0, 1]`.
    pub loss: f64,
}

/// Recoding state: each distinct item's current hierarchy level, and removed nodes.
struct Recoding<'h> {
    hierarchy: Option<&'h Hierarchy>,
    /// item -> hierarchy level-0 code (identity without hierarchy)
    leaf: Vec<u32>,
    level: Vec<usize>,
    offsets: Vec<u32>,
    suppressed: std::collections::HashSet<u32>,
}

impl Recoding<'_> {
    fn node(&self, item: usize) -> u32 {
        match self.hierarchy {
            None => self.leaf[item],
            Some(h) => {
                let l = self.level[item];
                self.offsets[l] + h.generalize(self.leaf[item], l)
            }
        }
    }

    fn label(&self, node: u32, items: &[String]) -> String {
        match self.hierarchy {
            None => items[node as usize].clone(),
            Some(h) => {
                let l = self.offsets.partition_point(|&o| o <= node) - 1;
                h.label(l, node - self.offsets[l]).to_string()
            }
        }
    }

    fn apply(&self, sets: &[Vec<u32>]) -> Vec<Vec<u32>> {
        sets.iter()
            .map(|s| {
                let mut g: Vec<u32> = s
                    .iter()
                    .map(|&i| self.node(i as usize))
                    .filter(|n| !self.suppressed.contains(n))
                    .collect();
                g.sort_unstable();
                g.dedup();
                g
            })
            .collect()
    }

    /// Leaves under the parent of `item`'s node, if it may be generalized.
    fn parent_size(&self, item: usize, max_level: usize) -> Option<u32> {
        let h = self.hierarchy?;
        let l = self.level[item] + 1;
        (l <= max_level).then(|| h.leaf_count(l, h.generalize(self.leaf[item], l)))
    }

    fn generalize(&mut self, item: usize) {
        let Some(h) = self.hierarchy else { return };
        let l = self.level[item] + 1;
        let parent = h.generalize(self.leaf[item], l);
        for y in 0..self.leaf.len() {
            if h.generalize(self.leaf[y], l) == parent {
                self.level[y] = self.level[y].max(l);
            }
        }
    }
}

/// Makes `data` k^m-anonymous by global generalization along the hierarchy and, failing
/// that, global suppression of items (see module docs).
pub fn km_anonymize(data: &SetValuedData, config: &KmConfig) -> Result<KmOutcome, AnonError> {
    check_params(config.k, config.m)?;
    let h = config.hierarchy.as_ref();
    let leaf: Vec<u32> = match h {
        None => (0..data.items.len() as u32).collect(),
        Some(h) => data
            .items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                h.code(v).ok_or_else(|| AnonError::ValueNotInHierarchy {
                    attribute: "set-valued items".into(),
                    line: i + 1,
                    value_len: v.chars().count(),
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let max_level = match h {
        None => 0,
        Some(h) => config
            .max_level
            .unwrap_or(h.height().saturating_sub(1))
            .min(h.height()),
    };
    let mut offsets = vec![0u32];
    if let Some(h) = h {
        for l in 0..h.height() {
            offsets.push(offsets[l] + h.level_size(l) as u32);
        }
    }
    let mut rec = Recoding {
        hierarchy: h,
        leaf,
        level: vec![0; data.items.len()],
        offsets,
        suppressed: Default::default(),
    };
    let k = config.k as u64;
    for size in 1..=config.m {
        loop {
            let sets = rec.apply(&data.sets);
            let counts = count_itemsets(&sets, size);
            let Some((worst, _)) = counts
                .iter()
                .filter(|&(_, &c)| c < k)
                .min_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)))
            else {
                break;
            };
            let worst = worst.clone();
            let singles = count_itemsets(&sets, 1);
            let support = |node: u32| singles.get(&vec![node]).copied().unwrap_or(0);
            // Items of the data currently recoded to a node of the violating itemset.
            let mut best: Option<(u32, u64, usize)> = None;
            for item in 0..data.items.len() {
                let node = rec.node(item);
                if !worst.contains(&node) || rec.suppressed.contains(&node) {
                    continue;
                }
                if let Some(s) = rec.parent_size(item, max_level) {
                    let cand = (s, support(node), item);
                    if best.is_none_or(|b| cand < b) {
                        best = Some(cand);
                    }
                }
            }
            match best {
                Some((_, _, item)) => rec.generalize(item),
                None => {
                    // Suppress the item taking part in most violating itemsets of this
                    // size (one removal may fix several), then the rarest.
                    let mut involved: HashMap<u32, usize> = HashMap::new();
                    for (set, _) in counts.iter().filter(|&(_, &c)| c < k) {
                        for &n in set {
                            *involved.entry(n).or_insert(0) += 1;
                        }
                    }
                    let victim = worst
                        .iter()
                        .copied()
                        .min_by_key(|&n| {
                            let hits = involved.get(&n).copied().unwrap_or(0);
                            (std::cmp::Reverse(hits), support(n), n)
                        })
                        .unwrap_or(worst[0]);
                    rec.suppressed.insert(victim);
                }
            }
        }
    }

    // Compile the outcome.
    let sets = rec.apply(&data.sets);
    let domain = h.map_or(1, Hierarchy::domain_size);
    let (mut gen_occ, mut sup_occ, mut cost, mut total) = (0u64, 0u64, 0.0f64, 0u64);
    for s in &data.sets {
        for &i in s {
            total += 1;
            let node = rec.node(i as usize);
            if rec.suppressed.contains(&node) {
                sup_occ += 1;
                cost += 1.0;
            } else if let Some(h) = h
                && rec.level[i as usize] > 0
            {
                gen_occ += 1;
                let l = rec.level[i as usize];
                let s = h.leaf_count(l, h.generalize(rec.leaf[i as usize], l));
                if domain > 1 {
                    cost += f64::from(s - 1) / (domain - 1) as f64;
                }
            }
        }
    }
    let recoding = (0..data.items.len())
        .filter(|&i| rec.level[i] > 0 && !rec.suppressed.contains(&rec.node(i)))
        .map(|i| (data.items[i].clone(), rec.label(rec.node(i), &data.items)))
        .collect();
    let mut suppressed_items: Vec<String> = rec
        .suppressed
        .iter()
        .map(|&n| rec.label(n, &data.items))
        .collect();
    suppressed_items.sort();
    let out_sets: Vec<Vec<String>> = sets
        .iter()
        .map(|s| {
            let mut v: Vec<String> = s.iter().map(|&n| rec.label(n, &data.items)).collect();
            v.sort();
            v
        })
        .collect();
    let released = SetValuedData::from_sets(&out_sets);
    if !km_violations(&released, config.k, config.m)?.is_empty() {
        // Unreachable by the argument in the module docs; never release on a broken proof.
        return Err(AnonError::NoSolution);
    }
    Ok(KmOutcome {
        sets: out_sets,
        recoding,
        suppressed_items,
        occurrences_generalized: gen_occ,
        occurrences_suppressed: sup_occ,
        loss: if total == 0 { 0.0 } else { cost / total as f64 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(v: &[&[&str]]) -> SetValuedData {
        let owned: Vec<Vec<&str>> = v.iter().map(|s| s.to_vec()).collect();
        SetValuedData::from_sets(&owned)
    }

    #[test]
    fn checker_finds_rare_itemsets() {
        // a: 3 persons, b: 3, c: 1; {a,b}: 2 persons.
        let d = sets(&[&["a", "b"], &["a", "b"], &["a", "c"], &["b"]]);
        let v = km_violations(&d, 2, 1).unwrap();
        assert_eq!(
            v,
            [KmViolation {
                itemset: vec!["c".into()],
                support: 1
            }]
        );
        let v = km_violations(&d, 3, 2).unwrap();
        let names: Vec<(Vec<String>, u64)> =
            v.into_iter().map(|x| (x.itemset, x.support)).collect();
        assert_eq!(
            names,
            [
                (vec!["c".to_string()], 1),
                (vec!["a".to_string(), "c".to_string()], 1),
                (vec!["a".to_string(), "b".to_string()], 2),
            ]
        );
        assert!(km_violations(&d, 1, 3).unwrap().is_empty());
        assert!(km_violations(&d, 0, 1).is_err());
    }

    #[test]
    fn generalizes_along_icd10_before_suppressing() {
        let h = Hierarchy::icd10(&["E11.9", "E11.2", "E10.1", "I10", "I11.9", "J45.0"]).unwrap();
        // Two E11 codes held by one person each; together with E10.1 they form block E10-E14.
        let d = sets(&[
            &["E11.9", "I10"],
            &["E11.2", "I10"],
            &["E10.1", "I10"],
            &["I10"],
            &["J45.0"],
        ]);
        let cfg = KmConfig {
            k: 2,
            m: 1,
            hierarchy: Some(h.clone()),
            max_level: None,
        };
        let o = km_anonymize(&d, &cfg).unwrap();
        // E11.9 and E11.2 -> E11 (support 2); E10.1 alone must climb to the block, which
        // pulls E11 up too (global recoding). J45.0 climbs to chapter X (max level 3) and is
        // still alone, so it is suppressed.
        assert_eq!(o.recoding["E10.1"], "E10-E14");
        assert_eq!(o.recoding["E11.9"], "E10-E14");
        assert_eq!(o.suppressed_items, ["X"]);
        assert_eq!(o.sets[0], ["E10-E14", "I10"]);
        assert!(o.sets[4].is_empty());
        assert_eq!(o.occurrences_generalized, 3);
        assert_eq!(o.occurrences_suppressed, 1);
        assert!(o.loss > 0.0 && o.loss < 1.0);
        // With m = 2 the pair {E10-E14, I10} has support 3: still fine.
        let o2 = km_anonymize(&d, &KmConfig { m: 2, ..cfg }).unwrap();
        assert_eq!(o2.sets, o.sets);
    }

    #[test]
    fn pairs_are_fixed_by_suppression_without_hierarchy() {
        // Every single item has support >= 2, but {a, c} is held by one person only.
        let d = sets(&[&["a", "b"], &["a", "b"], &["a", "c"], &["b", "c"], &["c"]]);
        assert!(km_violations(&d, 2, 1).unwrap().is_empty());
        let cfg = KmConfig {
            k: 2,
            m: 2,
            hierarchy: None,
            max_level: None,
        };
        let o = km_anonymize(&d, &cfg).unwrap();
        let released = SetValuedData::from_sets(&o.sets);
        assert!(km_violations(&released, 2, 2).unwrap().is_empty());
        assert_eq!(o.suppressed_items.len(), 1);
        assert_eq!(o.occurrences_generalized, 0);
    }

    #[test]
    fn from_long_table() {
        let t = Table::from_columns(
            &["pid", "dx"],
            &[
                vec!["p1", "p2", "p1", "p1", "p3"],
                vec!["I10", "E11", "E11", "I10", ""],
            ],
            "claims",
        )
        .unwrap();
        let d = SetValuedData::from_table(&t, "pid", "dx").unwrap();
        assert_eq!(d.persons(), 3);
        assert_eq!(d.set(0), ["I10", "E11"]);
        assert!(d.set(2).is_empty());
    }
}
