//! Evaluating one transformation (a lattice node): group entries into equivalence classes,
//! check the privacy models per class, apply the suppression limit, compute the metric.
//!
//! Suppression follows ARX: classes that violate a model are suppressed if their records in
//! total do not exceed `floor(limit * n)`; otherwise the transformation is not anonymous.

use crate::encode::Encoded;
use crate::metric::{ClassFacts, PreparedMetric};
use crate::model::{CheckScratch, PreparedModels};

/// Result of evaluating one node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeResult {
    pub anonymous: bool,
    pub suppressed: u64,
    pub released_classes: u64,
    pub value: f64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Class {
    pub count: u32,
    pub rep: u32,
    slot: u32,
    pub ok: bool,
}

const EMPTY: u64 = u64::MAX;

/// Per-thread buffers, reused across nodes.
#[derive(Default)]
pub(crate) struct Scratch {
    keys: Vec<u64>,
    pub class_of: Vec<u32>,
    pub classes: Vec<Class>,
    // Open-addressing table key -> class. Hand-written rather than std HashMap: the keys
    // are already well-mixed integers, and this is the hot loop of the whole search.
    table_keys: Vec<u64>,
    table_vals: Vec<u32>,
    order: Vec<u32>,
    offsets: Vec<u32>,
    hist_counts: Vec<u32>,
    hist: Vec<(u32, u32)>,
    check: CheckScratch,
    suppressed: Vec<(u32, u32)>,
}

pub(crate) struct Evaluator<'a> {
    pub enc: &'a Encoded,
    pub models: &'a PreparedModels,
    pub metric: &'a PreparedMetric,
    pub max_outliers: u64,
}

impl Evaluator<'_> {
    /// Whether anonymity is monotone in the lattice for this configuration: always without
    /// suppression, and with suppression only for models that stay monotone.
    pub fn anonymity_monotone(&self) -> bool {
        self.max_outliers == 0 || self.models.monotone_with_suppression
    }
}

impl Evaluator<'_> {
    /// Groups entries into classes for `levels`, filling `s.classes` / `s.class_of` and the
    /// `ok` flag of each class.
    pub fn groupify(&self, levels: &[usize], s: &mut Scratch) {
        let enc = self.enc;
        let m = enc.entries();
        s.keys.clear();
        s.keys.resize(m, 0);
        for (a, &l) in levels.iter().enumerate() {
            let q = &enc.qi[a];
            let dense = &q.dense[l];
            let radix = q.radix[l];
            for (k, &c0) in s.keys.iter_mut().zip(&enc.codes[a]) {
                *k = *k * radix + u64::from(dense[c0 as usize]);
            }
        }
        let cap = (2 * m).next_power_of_two().max(16);
        if s.table_keys.len() != cap {
            s.table_keys = vec![EMPTY; cap];
            s.table_vals = vec![0; cap];
        }
        let mask = cap - 1;
        let shift = 64 - cap.trailing_zeros();
        s.classes.clear();
        s.class_of.clear();
        s.class_of.reserve(m);
        for (e, (&k, &cnt)) in s.keys.iter().zip(&enc.counts).enumerate() {
            let mut slot = (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize;
            let cls = loop {
                let t = s.table_keys[slot];
                if t == k {
                    let c = s.table_vals[slot];
                    s.classes[c as usize].count += cnt;
                    break c;
                }
                if t == EMPTY {
                    let c = s.classes.len() as u32;
                    s.table_keys[slot] = k;
                    s.table_vals[slot] = c;
                    s.classes.push(Class {
                        count: cnt,
                        rep: e as u32,
                        slot: slot as u32,
                        ok: true,
                    });
                    break c;
                }
                slot = (slot + 1) & mask;
            };
            s.class_of.push(cls);
        }
        for c in &s.classes {
            s.table_keys[c.slot as usize] = EMPTY;
        }
        if self.models.needs_sensitive {
            self.check_with_sensitive(s);
        } else {
            let min = self.models.min_size;
            for c in &mut s.classes {
                c.ok = c.count >= min;
            }
        }
    }

    fn check_with_sensitive(&self, s: &mut Scratch) {
        let enc = self.enc;
        let nc = s.classes.len();
        // Counting sort of entries by class.
        s.offsets.clear();
        s.offsets.resize(nc + 1, 0);
        for &c in &s.class_of {
            s.offsets[c as usize + 1] += 1;
        }
        for i in 0..nc {
            s.offsets[i + 1] += s.offsets[i];
        }
        s.order.clear();
        s.order.resize(s.class_of.len(), 0);
        let mut fill = s.offsets.clone();
        for (e, &c) in s.class_of.iter().enumerate() {
            s.order[fill[c as usize] as usize] = e as u32;
            fill[c as usize] += 1;
        }
        s.hist_counts.resize(enc.sens_values.len().max(1), 0);
        for c in 0..nc {
            s.hist.clear();
            for &e in &s.order[s.offsets[c] as usize..s.offsets[c + 1] as usize] {
                let v = enc.sens[e as usize];
                if s.hist_counts[v as usize] == 0 {
                    s.hist.push((v, 0));
                }
                s.hist_counts[v as usize] += enc.counts[e as usize];
            }
            for h in &mut s.hist {
                h.1 = s.hist_counts[h.0 as usize];
                s.hist_counts[h.0 as usize] = 0;
            }
            let size = s.classes[c].count;
            s.classes[c].ok = self.models.class_ok(size, &s.hist, &mut s.check);
        }
    }

    /// Evaluates a node.
    pub fn evaluate(&self, levels: &[usize], s: &mut Scratch) -> NodeResult {
        self.groupify(levels, s);
        let mut suppressed = 0u64;
        let mut released = 0u64;
        let mut square = 0f64;
        s.suppressed.clear();
        for c in &s.classes {
            if c.ok {
                released += 1;
                square += f64::from(c.count) * f64::from(c.count);
            } else {
                suppressed += u64::from(c.count);
                s.suppressed.push((c.count, c.rep));
            }
        }
        if suppressed > self.max_outliers {
            return NodeResult {
                anonymous: false,
                suppressed,
                released_classes: released,
                value: f64::INFINITY,
            };
        }
        let facts = ClassFacts {
            released_classes: released,
            released_square_sum: square,
            suppressed,
            suppressed_classes: &s.suppressed,
        };
        NodeResult {
            anonymous: true,
            suppressed,
            released_classes: released,
            value: self.metric.value(self.enc, levels, &facts),
        }
    }
}
