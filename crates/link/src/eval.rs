//! Evaluation against known truth: precision, recall, F1 and confusion counts at several
//! thresholds, accumulated while pairs stream by (no list of scored pairs is kept).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use serde::Serialize;

use crate::error::{LinkError, Result};
use crate::table::Table;

/// Thresholds at which confusion counts are reported.
pub const THRESHOLDS: &[f64] = &[0.01, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999];

/// True pairs as unordered pairs of record ids.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    pairs: HashSet<(String, String)>,
}

fn ordered(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

impl Truth {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Truth {
            pairs: pairs.into_iter().map(|(a, b)| ordered(a, b)).collect(),
        }
    }

    /// Reads a CSV of true pairs: a header, then two columns (`rec_id_a,rec_id_b` or any
    /// names). Identical pairs in either order count once.
    pub fn read(path: &Path) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_path(path)
            .map_err(|e| csv_error(path, &e))?;
        let mut pairs = HashSet::new();
        for row in reader.records() {
            let row = row.map_err(|e| csv_error(path, &e))?;
            let line = row.position().map_or(0, |p| p.line());
            match (row.get(0), row.get(1)) {
                (Some(a), Some(b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
                    pairs.insert(ordered(a.trim(), b.trim()));
                }
                _ => {
                    return Err(LinkError::Field {
                        path: path.to_owned(),
                        line,
                        field: "rec_id_a/rec_id_b".into(),
                        reason: "two non-empty record ids expected".into(),
                    });
                }
            }
        }
        Ok(Truth { pairs })
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn contains(&self, a: &str, b: &str) -> bool {
        let key = ordered(a, b);
        self.pairs.contains(&key)
    }

    /// The true pairs as record indexes of the tables being linked (`right: None` in dedupe
    /// mode), so that checking a candidate costs one integer lookup instead of two `String`s.
    /// Pairs naming a record that is not in the tables cannot be candidates and are dropped
    /// here (they still count in [`Truth::len`], i.e. against recall).
    pub fn index(&self, left: &Table, right: Option<&Table>) -> PairIndex {
        let l = IdIndex::new(left);
        let r = right.map(IdIndex::new);
        let mut pairs = HashSet::with_capacity_and_hasher(self.pairs.len(), Default::default());
        for (a, b) in &self.pairs {
            match &r {
                None => {
                    for i in l.all(a) {
                        for j in l.all(b) {
                            if i != j {
                                pairs.insert(pair_key(i.min(j), i.max(j)));
                            }
                        }
                    }
                }
                Some(r) => {
                    for (x, y) in [(a, b), (b, a)] {
                        for i in l.all(x) {
                            for j in r.all(y) {
                                pairs.insert(pair_key(i, j));
                            }
                        }
                    }
                }
            }
        }
        PairIndex { pairs }
    }
}

fn pair_key(i: u32, j: u32) -> u64 {
    u64::from(i) << 32 | u64::from(j)
}

/// Record indexes by id; duplicate ids are chained so every record with an id is found.
struct IdIndex<'a> {
    first: HashMap<&'a str, u32>,
    next: Vec<u32>,
}

impl<'a> IdIndex<'a> {
    fn new(t: &'a Table) -> Self {
        let mut first: HashMap<&str, u32> = HashMap::with_capacity(t.len());
        let mut next = vec![u32::MAX; t.len()];
        for i in (0..t.len()).rev() {
            if let Some(prev) = first.insert(t.id(i), i as u32) {
                next[i] = prev;
            }
        }
        IdIndex { first, next }
    }

    fn all(&self, id: &str) -> impl Iterator<Item = u32> + '_ {
        let mut cur = self.first.get(id).copied().unwrap_or(u32::MAX);
        std::iter::from_fn(move || {
            if cur == u32::MAX {
                return None;
            }
            let here = cur;
            cur = self.next.get(cur as usize).copied().unwrap_or(u32::MAX);
            Some(here)
        })
    }
}

/// True pairs by record index: `contains(i, j)` for left record `i` and right record `j`
/// (dedupe: `i < j`).
#[derive(Debug, Clone, Default)]
pub struct PairIndex {
    pairs: HashSet<u64, BuildHasherDefault<PairHasher>>,
}

impl PairIndex {
    pub fn contains(&self, i: usize, j: usize) -> bool {
        match (u32::try_from(i), u32::try_from(j)) {
            (Ok(i), Ok(j)) => self.pairs.contains(&pair_key(i, j)),
            _ => false,
        }
    }
}

/// Hasher for the packed pair keys: one multiply-xorshift (SplitMix64's finalizer). The keys
/// are record indexes, not attacker-chosen, so SipHash's flood resistance buys nothing and
/// costs a third of the scoring loop's lookups.
#[derive(Default)]
pub struct PairHasher(u64);

impl Hasher for PairHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8)) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

pub(crate) fn csv_error(path: &Path, e: &csv::Error) -> LinkError {
    let line = e.position().map_or(0, |p| p.line());
    // csv's messages may quote a field's bytes only for UTF-8 errors, which we map to a
    // fixed reason so no value leaks.
    let reason = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_owned(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields, header has {expected_len}")
        }
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => "malformed CSV".to_owned(),
    };
    LinkError::Csv {
        path: path.to_owned(),
        line,
        reason,
    }
}

/// Confusion counts at one threshold.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Confusion {
    pub threshold: f64,
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Streaming counters: per threshold, predicted pairs and true positives at or above it.
#[derive(Debug, Clone, Default)]
pub struct Counter {
    predicted: Vec<u64>,
    true_positive: Vec<u64>,
}

impl Counter {
    pub fn new() -> Self {
        Counter {
            predicted: vec![0; THRESHOLDS.len()],
            true_positive: vec![0; THRESHOLDS.len()],
        }
    }

    pub fn add(&mut self, probability: f64, is_true: bool) {
        for (k, t) in THRESHOLDS.iter().enumerate() {
            if probability >= *t {
                self.predicted[k] += 1;
                if is_true {
                    self.true_positive[k] += 1;
                }
            }
        }
    }

    pub fn merge(mut self, other: Counter) -> Counter {
        if self.predicted.is_empty() {
            return other;
        }
        for k in 0..other.predicted.len().min(self.predicted.len()) {
            self.predicted[k] += other.predicted[k];
            self.true_positive[k] += other.true_positive[k];
        }
        self
    }

    pub fn confusion(&self, n_true: usize) -> Vec<Confusion> {
        THRESHOLDS
            .iter()
            .enumerate()
            .map(|(k, &t)| {
                let tp = self.true_positive.get(k).copied().unwrap_or(0);
                let pred = self.predicted.get(k).copied().unwrap_or(0);
                confusion(t, tp, pred, n_true as u64)
            })
            .collect()
    }
}

/// Precision/recall/F1 from counts.
pub fn confusion(threshold: f64, tp: u64, predicted: u64, n_true: u64) -> Confusion {
    let precision = if predicted > 0 {
        tp as f64 / predicted as f64
    } else {
        0.0
    };
    let recall = if n_true > 0 {
        tp as f64 / n_true as f64
    } else {
        0.0
    };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Confusion {
        threshold,
        tp,
        fp: predicted - tp,
        fn_: n_true.saturating_sub(tp),
        precision,
        recall,
        f1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_and_truth() {
        let truth = Truth::from_pairs([("a", "b"), ("d", "c")]);
        assert!(truth.contains("b", "a"));
        assert!(truth.contains("c", "d"));
        let mut c = Counter::new();
        c.add(0.95, truth.contains("a", "b"));
        c.add(0.6, truth.contains("a", "c"));
        c.add(0.05, truth.contains("c", "d"));
        let rows = c.confusion(truth.len());
        let at = |t: f64| rows.iter().find(|r| r.threshold == t).unwrap().clone();
        assert_eq!((at(0.5).tp, at(0.5).fp, at(0.5).fn_), (1, 1, 1));
        assert!((at(0.5).f1 - 0.5).abs() < 1e-12);
        assert_eq!((at(0.01).tp, at(0.01).fp), (2, 1));
        assert_eq!((at(0.99).tp, at(0.99).fp, at(0.99).fn_), (0, 0, 2));
    }

    #[test]
    fn pair_index_matches_truth_by_record_index() {
        let truth = Truth::from_pairs([("a", "b"), ("d", "c"), ("a", "zz")]);
        let mut t = Table::new(0);
        for id in ["c", "a", "b", "d"] {
            t.push(id, &[]);
        }
        let idx = truth.index(&t, None);
        assert!(idx.contains(1, 2)); // a, b
        assert!(idx.contains(0, 3)); // c, d
        assert!(!idx.contains(0, 1));
        let mut r = Table::new(0);
        for id in ["b", "c"] {
            r.push(id, &[]);
        }
        let idx = truth.index(&t, Some(&r));
        assert!(idx.contains(1, 0)); // left a, right b
        assert!(idx.contains(3, 1)); // left d, right c
        assert!(!idx.contains(1, 1));
    }

    #[test]
    fn truth_file_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "a,b\nx,y\nz,\n").unwrap();
        let e = Truth::read(&p).unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
    }
}
