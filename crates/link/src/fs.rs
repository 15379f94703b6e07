//! Fellegi–Sunter parameters: m (P(level | match)) and u (P(level | non-match)) per comparison
//! level and λ (probability that two random records match).
//!
//! Training follows Splink: u comes from random record pairs (nearly all non-matches) and stays
//! fixed; m is estimated by expectation–maximisation in one session per training blocking rule,
//! on (a deterministic sample of) that rule's pairs, leaving out the comparisons of the fields
//! the rule blocks on (they agree by construction there). Re-estimating u on the candidate
//! pairs instead lets the "match" class drift to whatever the blocking made common (at a million
//! persons: "same kana name"), so it is not done.
//!
//! EM runs on pattern counts, not on pairs: pairs are streamed once to count their comparison
//! vectors (a few thousand distinct vectors even for millions of pairs), so each EM iteration
//! costs microseconds and memory stays bounded.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::blocking::{BlockIndex, Sides};
use crate::compare::{Gamma, NULL_LEVEL, gamma, level_of};
use crate::spec::ComparisonSpec;

/// Probabilities never reach 0 or 1 exactly, so every weight stays finite.
const FLOOR: f64 = 1e-6;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Params {
    /// Probability that two random records match (the prior of every pair; EM sessions use it
    /// for the share of their rule's pairs that match).
    pub lambda: f64,
    /// `m[c][level]`, levels best first, the last one "else".
    pub m: Vec<Vec<f64>>,
    pub u: Vec<Vec<f64>>,
    /// u as estimated from random pairs, kept for the model report.
    pub u_sampled: Option<Vec<Vec<f64>>>,
    /// EM iterations and convergence (of the last session when there are several).
    pub em_iterations: usize,
    pub converged: bool,
    /// The EM training sessions, one per training blocking rule.
    pub sessions: Vec<Session>,
}

/// One EM session: m (and the session's own λ) estimated on one training rule's pairs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    pub rule: String,
    /// Pairs the rule generates.
    pub rule_pairs: u64,
    /// Pairs of the rule sampled for EM.
    pub sampled_pairs: u64,
    /// Comparisons left out (the rule's own fields).
    pub left_out: Vec<String>,
    /// Share of the rule's pairs that match.
    pub lambda: f64,
    /// λ for two random records implied by this session: matches in the rule divided by the
    /// rule's recall (product of m(exact) of its fields, from the other sessions) and by all
    /// pairs. `None` when the recall cannot be estimated.
    pub lambda_random: Option<f64>,
    pub em_iterations: usize,
    pub converged: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct EmOptions {
    pub max_iterations: usize,
    /// Stop when no parameter moves more than this.
    pub tolerance: f64,
    /// Keep u at its initial (sampled) value and estimate only m and λ.
    pub fix_u: bool,
}

impl Default for EmOptions {
    fn default() -> Self {
        EmOptions {
            max_iterations: 200,
            tolerance: 1e-6,
            fix_u: false,
        }
    }
}

/// Counts of each distinct comparison vector over all candidate pairs, and the pair count.
pub fn pattern_counts(
    index: &BlockIndex,
    sides: Sides<'_>,
    specs: &[ComparisonSpec],
) -> (HashMap<Gamma, u64>, u64) {
    let right = sides.right_table();
    let counts = index.fold_pairs(
        HashMap::new,
        |mut acc: HashMap<Gamma, u64>, i, j| {
            *acc.entry(gamma(specs, sides.left, i, right, j))
                .or_default() += 1;
            acc
        },
        |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
            a
        },
    );
    let total = counts.values().sum();
    (counts, total)
}

/// u from `n` random pairs (nearly all non-matches), seeded. Laplace smoothing (+1 per level)
/// keeps levels never seen in the sample at a small non-zero probability. The sample is drawn
/// in fixed chunks with their own seeds, so the result is the same whatever the thread count.
pub fn sample_u(sides: Sides<'_>, specs: &[ComparisonSpec], n: usize, seed: u64) -> Vec<Vec<f64>> {
    const CHUNK: usize = 16_384;
    let zero = || -> Vec<Vec<f64>> { specs.iter().map(|s| vec![0.0; s.n_levels()]).collect() };
    let (nl, nr) = (sides.left.len(), sides.right_table().len());
    let usable = nl > 0 && nr > 0 && !(sides.is_dedupe() && nl < 2);
    let right = sides.right_table();
    let chunks: Vec<usize> = if usable {
        (0..n.div_ceil(CHUNK)).collect()
    } else {
        Vec::new()
    };
    let counts = chunks
        .par_iter()
        .map(|&chunk| {
            let mut counts = zero();
            let mut rng = ChaCha8Rng::seed_from_u64(
                seed ^ (chunk as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            for _ in 0..CHUNK.min(n - chunk * CHUNK) {
                let i = rng.random_range(0..nl);
                let mut j = rng.random_range(0..nr);
                if sides.is_dedupe() && i == j {
                    j = (j + 1) % nr;
                }
                let g = gamma(specs, sides.left, i, right, j);
                for (c, row) in counts.iter_mut().enumerate() {
                    let l = level_of(g, c);
                    if l != NULL_LEVEL
                        && let Some(x) = row.get_mut(usize::from(l))
                    {
                        *x += 1.0;
                    }
                }
            }
            counts
        })
        .reduce(zero, |mut a, b| {
            for (ra, rb) in a.iter_mut().zip(b) {
                ra.iter_mut().zip(rb).for_each(|(x, y)| *x += y);
            }
            a
        });
    let smoothed = counts
        .into_iter()
        .map(|row| row.into_iter().map(|x| x + 1.0).collect())
        .collect();
    normalize_rows(smoothed)
}

fn normalize_rows(mut rows: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    for row in &mut rows {
        let s: f64 = row.iter().sum();
        if s > 0.0 {
            row.iter_mut().for_each(|x| *x /= s);
        }
    }
    rows
}

/// Rows normalized to sum 1; a row that saw no pair (a comparison left out of an EM session,
/// or always null) keeps its previous value instead of becoming all zeros.
fn normalize_or_keep(rows: Vec<Vec<f64>>, previous: &[Vec<f64>]) -> Vec<Vec<f64>> {
    rows.into_iter()
        .zip(previous)
        .map(|(row, prev)| {
            let s: f64 = row.iter().sum();
            if s > 0.0 {
                row.into_iter().map(|x| x / s).collect()
            } else {
                prev.clone()
            }
        })
        .collect()
}

/// Whether a pair is in a deterministic sample: a SplitMix64 hash of the pair and seed below
/// `threshold` (a share of 2⁶⁴). The same pairs are kept whatever the thread count.
pub fn in_sample(i: usize, j: usize, seed: u64, threshold: u64) -> bool {
    if threshold == u64::MAX {
        return true;
    }
    let mut z = (i as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((j as u64) ^ seed.rotate_left(17));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z < threshold
}

/// The sampling threshold that keeps about `max` of `total` pairs.
pub fn sample_threshold(max: u64, total: u64) -> u64 {
    if total <= max {
        u64::MAX
    } else {
        ((max as f64 / total as f64) * u64::MAX as f64) as u64
    }
}

/// Pattern counts of one training rule's pairs (about `max_pairs` of them, sampled), with the
/// comparisons in `left_out` set to null; returns the counts and the pairs counted.
pub fn rule_pattern_counts(
    index: &BlockIndex,
    rule: usize,
    sides: Sides<'_>,
    specs: &[ComparisonSpec],
    left_out: &[bool],
    threshold: u64,
    seed: u64,
) -> (HashMap<Gamma, u64>, u64) {
    let right = sides.right_table();
    let kept: Vec<ComparisonSpec> = specs
        .iter()
        .zip(left_out)
        .filter(|(_, out)| !**out)
        .map(|(s, _)| s.clone())
        .collect();
    let positions: Vec<usize> = (0..specs.len())
        .filter(|&c| !left_out.get(c).copied().unwrap_or(false))
        .collect();
    let counts = index.fold_rule_pairs(
        rule,
        HashMap::new,
        |mut acc: HashMap<Gamma, u64>, i, j| {
            if in_sample(i, j, seed, threshold) {
                // Compare only the comparisons kept, then spread their levels back to their
                // places; the left-out ones read as null.
                let small = gamma(&kept, sides.left, i, right, j);
                let mut g: Gamma = u64::MAX;
                for (k, &c) in positions.iter().enumerate() {
                    g &= !(0xF << (4 * c));
                    g |= u64::from(level_of(small, k)) << (4 * c);
                }
                *acc.entry(g).or_default() += 1;
            }
            acc
        },
        |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
            a
        },
    );
    let total = counts.values().sum();
    (counts, total)
}

/// Starting m: most matches agree exactly (0.9 on the best level), the rest spread evenly.
pub fn initial_m(specs: &[ComparisonSpec]) -> Vec<Vec<f64>> {
    specs
        .iter()
        .map(|s| {
            let n = s.n_levels();
            let rest = 0.1 / (n - 1).max(1) as f64;
            (0..n).map(|l| if l == 0 { 0.9 } else { rest }).collect()
        })
        .collect()
}

/// Expectation–maximisation over pattern counts, from `init`.
pub fn em(
    counts: &HashMap<Gamma, u64>,
    specs: &[ComparisonSpec],
    init: Params,
    opts: EmOptions,
) -> Params {
    let mut p = init;
    let patterns: Vec<(Gamma, f64)> = counts.iter().map(|(g, n)| (*g, *n as f64)).collect();
    let total: f64 = patterns.iter().map(|x| x.1).sum();
    if total == 0.0 {
        return p;
    }
    for iteration in 1..=opts.max_iterations {
        let mut m_acc: Vec<Vec<f64>> = specs.iter().map(|s| vec![0.0; s.n_levels()]).collect();
        let mut u_acc = m_acc.clone();
        let mut matches = 0.0;
        for &(g, n) in &patterns {
            let mut a = p.lambda.clamp(FLOOR, 1.0 - FLOOR);
            let mut b = 1.0 - a;
            for c in 0..specs.len() {
                let l = level_of(g, c);
                if l != NULL_LEVEL {
                    let l = usize::from(l);
                    a *= p.m[c][l].max(FLOOR);
                    b *= p.u[c][l].max(FLOOR);
                }
            }
            let post = if a + b > 0.0 { a / (a + b) } else { 0.0 };
            matches += n * post;
            for c in 0..specs.len() {
                let l = level_of(g, c);
                if l != NULL_LEVEL {
                    m_acc[c][usize::from(l)] += n * post;
                    u_acc[c][usize::from(l)] += n * (1.0 - post);
                }
            }
        }
        let new_m = normalize_or_keep(m_acc, &p.m);
        let new_u = if opts.fix_u {
            p.u.clone()
        } else {
            normalize_or_keep(u_acc, &p.u)
        };
        let new_lambda = matches / total;
        let delta = max_delta(&p.m, &new_m)
            .max(max_delta(&p.u, &new_u))
            .max((p.lambda - new_lambda).abs());
        p.m = new_m;
        p.u = new_u;
        p.lambda = new_lambda;
        p.em_iterations = iteration;
        if delta < opts.tolerance {
            p.converged = true;
            break;
        }
    }
    p
}

fn max_delta(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f64::max)
}

/// log2(m/u) of one level.
pub fn level_weight(p: &Params, c: usize, level: usize) -> f64 {
    let m = p.m[c].get(level).copied().unwrap_or(FLOOR).max(FLOOR);
    let u = p.u[c].get(level).copied().unwrap_or(FLOOR).max(FLOOR);
    (m / u).log2()
}

/// log2 of the prior odds λ/(1-λ).
pub fn prior_weight(p: &Params) -> f64 {
    let l = p.lambda.clamp(FLOOR, 1.0 - FLOOR);
    (l / (1.0 - l)).log2()
}

/// Match probability of a total weight (log2 odds).
pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Level;

    fn specs(n: usize) -> Vec<ComparisonSpec> {
        (0..n)
            .map(|field| ComparisonSpec {
                name: "c",
                field,
                levels: vec![Level::Exact],
                term_frequency: false,
            })
            .collect()
    }

    /// Synthetic pattern counts drawn from known m/u/λ (expected counts, no noise): EM must
    /// recover the generating parameters.
    #[test]
    fn em_recovers_generating_parameters() {
        let k = 4;
        let specs = specs(k);
        let true_m = [0.95, 0.9, 0.85, 0.8];
        let true_u = [0.01, 0.05, 0.2, 0.1];
        let lambda = 0.05;
        let total: f64 = 1_000_000.0;
        let mut counts = HashMap::new();
        for bits in 0u64..(1 << k) {
            let mut pm: f64 = lambda;
            let mut pu: f64 = 1.0 - lambda;
            let mut g: Gamma = 0;
            for c in 0..k {
                let agree = bits >> c & 1 == 1;
                pm *= if agree { true_m[c] } else { 1.0 - true_m[c] };
                pu *= if agree { true_u[c] } else { 1.0 - true_u[c] };
                g |= u64::from(if agree { 0u8 } else { 1u8 }) << (4 * c);
            }
            counts.insert(g, ((pm + pu) * total).round() as u64);
        }
        let init = Params {
            lambda: 0.2,
            m: initial_m(&specs),
            u: vec![vec![0.3, 0.7]; k],
            u_sampled: None,
            em_iterations: 0,
            converged: false,
            sessions: vec![],
        };
        let p = em(&counts, &specs, init, EmOptions::default());
        assert!(
            p.converged,
            "EM did not converge in {} iterations",
            p.em_iterations
        );
        assert!((p.lambda - lambda).abs() < 1e-3, "lambda {}", p.lambda);
        for c in 0..k {
            assert!((p.m[c][0] - true_m[c]).abs() < 1e-2, "m[{c}] {}", p.m[c][0]);
            assert!((p.u[c][0] - true_u[c]).abs() < 1e-2, "u[{c}] {}", p.u[c][0]);
        }
    }

    #[test]
    fn probability_of_weight() {
        assert!((probability(0.0) - 0.5).abs() < 1e-12);
        assert!((probability(10.0) - 1024.0 / 1025.0).abs() < 1e-12);
        let p = Params {
            lambda: 0.5,
            m: vec![vec![0.9, 0.1]],
            u: vec![vec![0.1, 0.9]],
            u_sampled: None,
            em_iterations: 0,
            converged: true,
            sessions: vec![],
        };
        assert_eq!(prior_weight(&p), 0.0);
        assert!((level_weight(&p, 0, 0) - 9f64.log2()).abs() < 1e-12);
    }
}
