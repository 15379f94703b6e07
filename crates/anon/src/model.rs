//! Privacy models, checked per equivalence class.
//!
//! Definitions (class `E` with `|E|` records; `p_s` = share of sensitive value `s` in `E`,
//! `q_s` = its share in the whole input):
//! - k-anonymity: `|E| >= k`.
//! - distinct l-diversity: at least `l` distinct sensitive values in `E`.
//! - entropy l-diversity: `-sum_s p_s ln p_s >= ln l`.
//! - recursive (c,l)-diversity: with sensitive counts sorted descending `r_1 >= ... >= r_m`,
//!   `m >= l` and `r_1 < c * (r_l + r_{l+1} + ... + r_m)`.
//! - t-closeness, equal distance: `EMD = 1/2 * sum_s |p_s - q_s| <= t` (all sensitive values).
//! - t-closeness, hierarchical distance (Li et al. 2007): with a sensitive hierarchy of height
//!   `H` and `extra(leaf s) = p_s - q_s`, every inner node `N` on level `h` costs
//!   `h / H * min(pos(N), neg(N))`, where `pos`/`neg` sum the positive / negated negative
//!   extras of its children and `extra(N)` is the sum of its children's extras;
//!   `EMD = sum of costs <= t`.
//!
//! **Monotonicity** (what the search may prune with). Without suppression every model is
//! monotone: if all classes satisfy it, so do all unions of classes (counts add, entropy is
//! concave, EMD is convex), hence so does every generalization. With a suppression limit
//! a transformation is anonymous when the records of violating classes fit the limit; then
//! only models for which *a satisfying class stays satisfying whatever it is merged with*
//! stay monotone: k-anonymity and distinct l-diversity. Entropy and recursive
//! l-diversity and t-closeness are not (merging a satisfying class with a violating one can
//! violate, so generalizing can increase suppression) — the same classification as ARX's
//! `isMonotonicWithSuppression`. For them the search does not infer anonymity (see `search`).

use crate::error::AnonError;
use crate::hierarchy::Hierarchy;

/// A privacy model every released equivalence class must satisfy.
#[derive(Debug, Clone)]
pub enum PrivacyModel {
    /// k-anonymity.
    KAnonymity {
        /// Minimal class size.
        k: usize,
    },
    /// Distinct l-diversity of the sensitive attribute.
    DistinctLDiversity {
        /// Minimal number of distinct sensitive values.
        l: usize,
    },
    /// Entropy l-diversity of the sensitive attribute.
    EntropyLDiversity {
        /// `l` (entropy must reach `ln l`).
        l: f64,
    },
    /// Recursive (c,l)-diversity of the sensitive attribute.
    RecursiveCLDiversity {
        /// `c`.
        c: f64,
        /// `l`.
        l: usize,
    },
    /// t-closeness with the equal ground distance.
    TClosenessEqual {
        /// Maximal earth mover's distance.
        t: f64,
    },
    /// t-closeness with the hierarchical ground distance.
    TClosenessHierarchical {
        /// Maximal earth mover's distance.
        t: f64,
        /// Hierarchy of the sensitive attribute (single root required).
        hierarchy: Hierarchy,
    },
}

impl PrivacyModel {
    /// Whether the model looks at the sensitive attribute.
    pub fn needs_sensitive(&self) -> bool {
        !matches!(self, PrivacyModel::KAnonymity { .. })
    }
}

/// Models prepared against one encoded input.
#[derive(Debug)]
pub(crate) struct PreparedModels {
    /// Classes smaller than this fail (max of k and distinct l).
    pub min_size: u32,
    pub needs_sensitive: bool,
    /// Anonymity is monotone in the lattice even when records may be suppressed.
    pub monotone_with_suppression: bool,
    checks: Vec<Check>,
}

#[derive(Debug)]
enum Check {
    Distinct(usize),
    Entropy(f64),
    Recursive(f64, usize),
    Equal { t: f64, q: Vec<f64> },
    Hier(Box<HierCheck>),
}

#[derive(Debug)]
struct HierCheck {
    t: f64,
    q: Vec<f64>,
    /// sensitive code -> hierarchy level-0 code
    leaf: Vec<u32>,
    /// level -> (code at level-1 -> code at level), for levels 1..=H
    parent: Vec<Vec<u32>>,
    /// level -> number of codes
    sizes: Vec<usize>,
}

/// Reusable buffers for class checks.
#[derive(Debug, Default)]
pub(crate) struct CheckScratch {
    counts: Vec<u32>,
    levels: Vec<Vec<f64>>,
}

impl PreparedModels {
    /// `sens_values`: dictionary of the sensitive column; `sens_freq`: counts per code.
    pub fn new(
        models: &[PrivacyModel],
        sens_values: &[String],
        sens_freq: &[u64],
    ) -> Result<Self, AnonError> {
        let n: u64 = sens_freq.iter().sum();
        let q: Vec<f64> = sens_freq
            .iter()
            .map(|&f| f as f64 / n.max(1) as f64)
            .collect();
        let mut min_size = 1u32;
        let mut checks = Vec::new();
        for m in models {
            match m {
                PrivacyModel::KAnonymity { k } => {
                    if *k == 0 {
                        return Err(AnonError::Config("k must be at least 1".into()));
                    }
                    min_size = min_size.max(u32::try_from(*k).unwrap_or(u32::MAX));
                }
                PrivacyModel::DistinctLDiversity { l } => {
                    min_size = min_size.max(u32::try_from(*l).unwrap_or(u32::MAX));
                    checks.push(Check::Distinct(*l));
                }
                PrivacyModel::EntropyLDiversity { l } => {
                    if l.is_nan() || *l < 1.0 {
                        return Err(AnonError::Config("entropy l must be >= 1".into()));
                    }
                    checks.push(Check::Entropy(l.ln()));
                }
                PrivacyModel::RecursiveCLDiversity { c, l } => {
                    if c.is_nan() || *c <= 0.0 || *l == 0 {
                        return Err(AnonError::Config("recursive (c,l): c > 0, l >= 1".into()));
                    }
                    checks.push(Check::Recursive(*c, *l));
                }
                PrivacyModel::TClosenessEqual { t } => {
                    if t.is_nan() || *t < 0.0 {
                        return Err(AnonError::Config("t must be >= 0".into()));
                    }
                    checks.push(Check::Equal {
                        t: *t,
                        q: q.clone(),
                    });
                }
                PrivacyModel::TClosenessHierarchical { t, hierarchy } => {
                    let h = hierarchy.height();
                    if h == 0 || hierarchy.level_size(h) != 1 {
                        return Err(AnonError::Config(
                            "hierarchical t-closeness needs a sensitive hierarchy with a single root"
                                .into(),
                        ));
                    }
                    let leaf = sens_values
                        .iter()
                        .map(|v| {
                            hierarchy.code(v).ok_or_else(|| {
                                AnonError::Config(format!(
                                    "a sensitive value (length {}) is missing from the sensitive hierarchy",
                                    v.chars().count()
                                ))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut parent = vec![Vec::new()];
                    for level in 1..=h {
                        let mut p = vec![0u32; hierarchy.level_size(level - 1)];
                        for c0 in 0..hierarchy.domain_size() as u32 {
                            p[hierarchy.generalize(c0, level - 1) as usize] =
                                hierarchy.generalize(c0, level);
                        }
                        parent.push(p);
                    }
                    let sizes = (0..=h).map(|l| hierarchy.level_size(l)).collect();
                    checks.push(Check::Hier(Box::new(HierCheck {
                        t: *t,
                        q: q.clone(),
                        leaf,
                        parent,
                        sizes,
                    })));
                }
            }
        }
        Ok(Self {
            min_size,
            needs_sensitive: models.iter().any(PrivacyModel::needs_sensitive),
            monotone_with_suppression: checks.iter().all(|c| matches!(c, Check::Distinct(_))),
            checks,
        })
    }

    /// Checks one class given its size and `(sensitive code, count)` pairs (distinct codes).
    pub fn class_ok(&self, size: u32, hist: &[(u32, u32)], s: &mut CheckScratch) -> bool {
        if size < self.min_size {
            return false;
        }
        self.checks.iter().all(|c| c.ok(size, hist, s))
    }
}

impl Check {
    fn ok(&self, size: u32, hist: &[(u32, u32)], s: &mut CheckScratch) -> bool {
        let n = f64::from(size);
        match self {
            Check::Distinct(l) => hist.len() >= *l,
            Check::Entropy(ln_l) => {
                let h: f64 = hist
                    .iter()
                    .map(|&(_, c)| {
                        let p = f64::from(c) / n;
                        -p * p.ln()
                    })
                    .sum();
                // Tolerance: entropy of a uniform class equals ln l up to rounding.
                h >= ln_l - 1e-12
            }
            Check::Recursive(c, l) => {
                if hist.len() < *l {
                    return false;
                }
                s.counts.clear();
                s.counts.extend(hist.iter().map(|&(_, c)| c));
                s.counts.sort_unstable_by(|a, b| b.cmp(a));
                let tail: u64 = s.counts[l - 1..].iter().map(|&x| u64::from(x)).sum();
                f64::from(s.counts[0]) < c * tail as f64
            }
            Check::Equal { t, q } => {
                // sum over all values |p - q| = 1 + sum over present values (|p - q| - q)
                let mut d = 1.0;
                for &(code, cnt) in hist {
                    let qs = q[code as usize];
                    d += (f64::from(cnt) / n - qs).abs() - qs;
                }
                0.5 * d <= t + 1e-12
            }
            Check::Hier(h) => h.emd(size, hist, s) <= h.t + 1e-12,
        }
    }
}

impl HierCheck {
    fn emd(&self, size: u32, hist: &[(u32, u32)], s: &mut CheckScratch) -> f64 {
        let n = f64::from(size);
        let height = self.sizes.len() - 1;
        s.levels.resize(self.sizes.len(), Vec::new());
        for (l, v) in s.levels.iter_mut().enumerate() {
            v.clear();
            v.resize(self.sizes[l], 0.0);
        }
        for (code, &qs) in self.q.iter().enumerate() {
            s.levels[0][self.leaf[code] as usize] -= qs;
        }
        for &(code, cnt) in hist {
            s.levels[0][self.leaf[code as usize] as usize] += f64::from(cnt) / n;
        }
        let mut cost = 0.0;
        let mut pos = Vec::new();
        let mut neg = Vec::new();
        for level in 1..=height {
            pos.clear();
            pos.resize(self.sizes[level], 0.0);
            neg.clear();
            neg.resize(self.sizes[level], 0.0);
            let (lower, upper) = s.levels.split_at_mut(level);
            for (child, &extra) in lower[level - 1].iter().enumerate() {
                let p = self.parent[level][child] as usize;
                upper[0][p] += extra;
                if extra > 0.0 {
                    pos[p] += extra;
                } else {
                    neg[p] -= extra;
                }
            }
            let w = level as f64 / height as f64;
            cost += pos
                .iter()
                .zip(&neg)
                .map(|(a, b)| w * a.min(*b))
                .sum::<f64>();
        }
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep(m: PrivacyModel, freq: &[u64]) -> PreparedModels {
        let vals: Vec<String> = (0..freq.len()).map(|i| format!("v{i}")).collect();
        PreparedModels::new(&[m], &vals, freq).unwrap()
    }

    #[test]
    fn diversity_checks() {
        let mut s = CheckScratch::default();
        let d = prep(PrivacyModel::DistinctLDiversity { l: 2 }, &[5, 5]);
        assert!(d.class_ok(3, &[(0, 2), (1, 1)], &mut s));
        assert!(!d.class_ok(3, &[(0, 3)], &mut s));
        let e = prep(PrivacyModel::EntropyLDiversity { l: 2.0 }, &[5, 5]);
        assert!(e.class_ok(2, &[(0, 1), (1, 1)], &mut s));
        assert!(!e.class_ok(3, &[(0, 2), (1, 1)], &mut s));
        let r = prep(
            PrivacyModel::RecursiveCLDiversity { c: 2.0, l: 2 },
            &[5, 5, 5],
        );
        // r1=3 < 2*(2+1)=6
        assert!(r.class_ok(6, &[(0, 3), (1, 2), (2, 1)], &mut s));
        // r1=5 < 2*1 fails
        assert!(!r.class_ok(6, &[(0, 5), (1, 1)], &mut s));
    }

    #[test]
    fn t_closeness_equal_distance() {
        let mut s = CheckScratch::default();
        // global q = (0.5, 0.5); class all value 0 -> EMD 0.5
        let t = prep(PrivacyModel::TClosenessEqual { t: 0.4 }, &[5, 5]);
        assert!(!t.class_ok(2, &[(0, 2)], &mut s));
        let t = prep(PrivacyModel::TClosenessEqual { t: 0.5 }, &[5, 5]);
        assert!(t.class_ok(2, &[(0, 2)], &mut s));
    }

    #[test]
    fn t_closeness_hierarchical_distance() {
        let h = Hierarchy::from_csv_str("a;x;*\nb;x;*\nc;y;*\nd;y;*\n", "s").unwrap();
        let mut s = CheckScratch::default();
        let vals: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let m = |t| {
            let model = PrivacyModel::TClosenessHierarchical {
                t,
                hierarchy: h.clone(),
            };
            PreparedModels::new(&[model], &vals, &[1, 1, 1, 1]).unwrap()
        };
        // class {a}: extras a=.75, b=c=d=-.25. Level 1: x: pos .75 neg .25 -> .5*.25;
        // y: pos 0. Level 2 (root): extras x=.5, y=-.5 -> 1*.5. Total .625
        assert!(m(0.63).class_ok(1, &[(0, 1)], &mut s));
        assert!(!m(0.62).class_ok(1, &[(0, 1)], &mut s));
        // class {a, b}: level1 costs 0, root .5
        assert!(m(0.5).class_ok(2, &[(0, 1), (1, 1)], &mut s));
    }
}
