//! Utility (quality) metrics. Lower is better for all of them.
//!
//! Notation: `n` records, quasi-identifiers `a = 1..d` with hierarchy heights `h_a`, a
//! transformation assigns level `l_a`; `S` = suppressed records; classes `E` are the
//! released (not suppressed) equivalence classes.
//!
//! - **Loss** (ARX 3.9 default, `MetricMDNMLoss`, gs-factor `g` in `[0,1]`, default 0.5):
//!   `sFactor = 2g if g < 0.5 else 1`, `gFactor = 1 if g <= 0.5 else 1 - 2(g - 0.5)`.
//!   `share_a(v)` = leaves below the generalized value `v` / hierarchy rows (domain share).
//!   Per attribute, `raw_a = sum over released records of gFactor * share_a(v)` plus, per
//!   suppressed record, `1` if `sFactor = 1` else `share + sFactor * (1 - share)`.
//!   Normalized: `L_a = max(0, (raw_a - m_a) / (n - m_a))` with `m_a = gFactor * n / |domain_a|`.
//!   Aggregated by ARX's geometric mean: `Loss = prod_a (L_a + 1)^(1/d) - 1` (attribute weights 1).
//! - **Height**: `sum_a l_a` (suppression ignored).
//! - **Precision**: `mean_a [((n - |S|) * l_a / h_a + |S|) / n]` (`l_a / h_a = 0` when `h_a = 0`);
//!   suppressed records count as fully generalized.
//! - **Discernibility**: `sum_E |E|^2 + |S| * n`.
//! - **AECS** (average equivalence class size): `n / (#classes + [|S| > 0])`; the suppressed
//!   records form one class, as they do in the output where all their QIs are `*`.
//! - **Non-uniform entropy**: `sum_a sum_records log2(f_a(generalized) / f_a(original))`, with
//!   `f_a` value frequencies in the input; a suppressed record's generalized value is `*`
//!   (frequency `n`).
//!
//! Each metric has a lower bound computable without looking at classes (the value with no
//! suppression for Loss, Height, Precision and entropy; trivial bounds for Discernibility
//! and AECS). The bound is monotone in the lattice and never exceeds the metric of an
//! anonymous transformation, which is what the search prunes with.

use serde::{Deserialize, Serialize};

use crate::encode::Encoded;

/// The utility metric to optimize.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// ARX's Loss with the given gs-factor (ARX default 0.5).
    Loss {
        /// Weighting of generalization vs suppression in `[0, 1]`.
        gs_factor: f64,
    },
    /// Sum of generalization levels.
    Height,
    /// Sweeney's precision.
    Precision,
    /// Discernibility.
    Discernibility,
    /// Average equivalence class size.
    Aecs,
    /// Non-uniform entropy.
    NonUniformEntropy,
}

impl Metric {
    /// ARX's default quality model.
    pub fn loss() -> Self {
        Metric::Loss { gs_factor: 0.5 }
    }

    /// Short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Loss { .. } => "loss",
            Metric::Height => "height",
            Metric::Precision => "precision",
            Metric::Discernibility => "discernibility",
            Metric::Aecs => "aecs",
            Metric::NonUniformEntropy => "non_uniform_entropy",
        }
    }
}

/// Class-level facts about a transformation the metrics need.
pub(crate) struct ClassFacts<'a> {
    pub released_classes: u64,
    /// `sum |E|^2` over released classes.
    pub released_square_sum: f64,
    pub suppressed: u64,
    /// `(count, representative entry)` of each suppressed class.
    pub suppressed_classes: &'a [(u32, u32)],
}

/// Metric prepared against an encoded input.
pub(crate) struct PreparedMetric {
    metric: Metric,
    n: f64,
    g_factor: f64,
    s_factor: f64,
    /// `[a][level]` sum over records of `share`.
    share_sum: Vec<Vec<f64>>,
    /// `[a][level]` non-uniform entropy of the attribute at that level.
    entropy: Vec<Vec<f64>>,
    heights: Vec<usize>,
    domain: Vec<f64>,
}

impl PreparedMetric {
    pub fn new(metric: Metric, enc: &Encoded) -> Result<Self, crate::AnonError> {
        let (g_factor, s_factor) = match metric {
            Metric::Loss { gs_factor } => {
                if !(0.0..=1.0).contains(&gs_factor) {
                    return Err(crate::AnonError::Config(
                        "gs-factor must be in [0, 1]".into(),
                    ));
                }
                (
                    if gs_factor <= 0.5 {
                        1.0
                    } else {
                        1.0 - 2.0 * (gs_factor - 0.5)
                    },
                    if gs_factor < 0.5 {
                        2.0 * gs_factor
                    } else {
                        1.0
                    },
                )
            }
            _ => (1.0, 1.0),
        };
        let n = enc.n as f64;
        // Per-level sums over records, accumulated per dense value first so the expensive
        // parts (log2) run once per distinct value, not once per entry.
        let with_entropy = metric == Metric::NonUniformEntropy;
        let mut share_sum = Vec::new();
        let mut entropy = Vec::new();
        for (a, q) in enc.qi.iter().enumerate() {
            let mut ss = Vec::new();
            let mut en = Vec::new();
            for level in 0..=q.height {
                let s: f64 = q.freq[level]
                    .iter()
                    .zip(&q.share[level])
                    .map(|(&f, &sh)| f as f64 * sh)
                    .sum();
                let mut h = 0.0;
                if with_entropy {
                    let log0: Vec<f64> = q.freq[0].iter().map(|&f| (f as f64).log2()).collect();
                    let logl: Vec<f64> = q.freq[level].iter().map(|&f| (f as f64).log2()).collect();
                    for (e, &c0) in enc.codes[a].iter().enumerate() {
                        let d = q.dense[level][c0 as usize] as usize;
                        let d0 = q.dense[0][c0 as usize] as usize;
                        h += f64::from(enc.counts[e]) * (logl[d] - log0[d0]);
                    }
                }
                ss.push(s);
                en.push(h);
            }
            share_sum.push(ss);
            entropy.push(en);
        }
        Ok(Self {
            metric,
            n,
            g_factor,
            s_factor,
            share_sum,
            entropy,
            heights: enc.heights(),
            domain: enc.qi.iter().map(|q| q.domain_size as f64).collect(),
        })
    }

    fn normalize_loss(&self, raw: f64, a: usize) -> f64 {
        let min = self.g_factor * self.n / self.domain[a];
        let span = self.n - min;
        if span <= 0.0 {
            return 0.0;
        }
        ((raw - min) / span).max(0.0)
    }

    fn geometric(values: impl ExactSizeIterator<Item = f64>) -> f64 {
        let d = values.len() as f64;
        values.fold(1.0, |acc, v| acc * (v + 1.0).powf(1.0 / d)) - 1.0
    }

    /// Lower bound from the levels alone (see module docs).
    pub fn lower_bound(&self, levels: &[usize]) -> f64 {
        match self.metric {
            Metric::Loss { .. } => Self::geometric(
                levels
                    .iter()
                    .enumerate()
                    .map(|(a, &l)| self.normalize_loss(self.g_factor * self.share_sum[a][l], a)),
            ),
            Metric::Height => levels.iter().sum::<usize>() as f64,
            Metric::Precision => self.precision(levels, 0.0),
            Metric::NonUniformEntropy => levels
                .iter()
                .enumerate()
                .map(|(a, &l)| self.entropy[a][l])
                .sum(),
            Metric::Discernibility => self.n,
            Metric::Aecs => 1.0,
        }
    }

    fn precision(&self, levels: &[usize], suppressed: f64) -> f64 {
        let d = levels.len().max(1) as f64;
        levels
            .iter()
            .zip(&self.heights)
            .map(|(&l, &h)| {
                let r = if h == 0 { 0.0 } else { l as f64 / h as f64 };
                ((self.n - suppressed) * r + suppressed) / self.n
            })
            .sum::<f64>()
            / d
    }

    /// Metric value of an anonymous transformation.
    pub fn value(&self, enc: &Encoded, levels: &[usize], f: &ClassFacts<'_>) -> f64 {
        match self.metric {
            Metric::Loss { .. } => Self::geometric(levels.iter().enumerate().map(|(a, &l)| {
                let q = &enc.qi[a];
                let mut raw = self.g_factor * self.share_sum[a][l];
                for &(cnt, rep) in f.suppressed_classes {
                    let c = f64::from(cnt);
                    let d = q.dense[l][enc.codes[a][rep as usize] as usize] as usize;
                    let share = c * q.share[l][d];
                    let suppressed = if self.s_factor == 1.0 {
                        c
                    } else {
                        share + self.s_factor * (c - share)
                    };
                    raw += suppressed - self.g_factor * share;
                }
                self.normalize_loss(raw, a)
            })),
            Metric::Height => levels.iter().sum::<usize>() as f64,
            Metric::Precision => self.precision(levels, f.suppressed as f64),
            Metric::NonUniformEntropy => {
                let mut v = self.lower_bound(levels);
                for (a, &l) in levels.iter().enumerate() {
                    let q = &enc.qi[a];
                    for &(cnt, rep) in f.suppressed_classes {
                        let d = q.dense[l][enc.codes[a][rep as usize] as usize] as usize;
                        v += f64::from(cnt) * (self.n.log2() - (q.freq[l][d] as f64).log2());
                    }
                }
                v
            }
            Metric::Discernibility => f.released_square_sum + f.suppressed as f64 * self.n,
            Metric::Aecs => {
                let classes = f.released_classes + u64::from(f.suppressed > 0);
                self.n / classes.max(1) as f64
            }
        }
    }
}
