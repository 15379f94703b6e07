//! Population-based risk: journalist risk with a population table, and estimates of the
//! number of population uniques from a sample (Pitman, Zayatz, SNB) with Dankar et al.'s
//! decision rule, following ARX's `RiskModelPopulationUniqueness`.
//!
//! Notation: the sample has `n` records in `u` equivalence classes, `c_i` classes of size
//! `i`; the population has `N` records; sampling fraction `f = n / N`.
//!
//! - **Journalist** (the target is in the population, not necessarily in the sample): a
//!   record whose sample class has `F` members in the population has risk `1/F`. Reported:
//!   max, record average `sum_j f_j / F_j / n`, and the share of records above a threshold.
//! - **Zayatz** (1991): with `h(i)` = P(hypergeometric draw of `n` from `N` with `i`
//!   successes yields exactly 1), the share of sample uniques that are population uniques
//!   is `c_1 h(1) / sum_i c_i h(i)`, and the estimate is `c_1 * share / f`. We use the
//!   exact ratio `h(i)/h(1) = i * prod_{m=1}^{i-1} (N - n - m + 1) / (N - m)`.
//! - **Pitman** (Hoshino 2001): maximum-likelihood `(theta, alpha)` of the Pitman sampling
//!   formula, the roots of
//!   `sum_{i=1}^{u-1} 1/(theta + i alpha) = sum_{i=1}^{n-1} 1/(theta + i)` and
//!   `sum_{i=1}^{u-1} i/(theta + i alpha) = sum_{j>=2} c_j sum_{l=1}^{j-1} 1/(l - alpha)`,
//!   solved by Newton's method in `0 < alpha < 1, theta > -alpha` from ARX's starting
//!   point, then from a few fixed ones; the estimate is
//!   `Gamma(theta + 1) / Gamma(theta + alpha) * N^alpha`, valid when in `[0, N]`.
//! - **SNB** (Chen & Keller-McNulty 1998): population class sizes `1 + NegBin(alpha, beta)`,
//!   sample by binomial thinning. With `K` the number of non-empty population classes
//!   (Haas et al.'s Shlosser-type estimate `K = u + c_1 * A/B * (C/D)^2`, `A = sum i f^2
//!   (1-f^2)^(i-1) c_i`, `B = sum (1-f)^i ((1+f)^i - 1) c_i`, `C = sum (1-f)^i c_i`,
//!   `D = sum i f (1-f)^(i-1) c_i`) and `d = (1-f)(1-beta)`, the expected numbers of sample
//!   classes of size 1 and 2 are set equal to `c_1`, `c_2`:
//!   `K f (beta/(1-d))^alpha (1 + alpha d/(1-d)) = c_1`,
//!   `K alpha beta^alpha f^2 (1-beta) (2 - (1-alpha) d) / (2 (1-d)^(alpha+2)) = c_2`;
//!   the estimate is `K beta^alpha`.
//!   Two deliberate differences from ARX 3.x's `ModelSNB`: ARX multiplies the second
//!   equation by `(1-d)^(alpha+2)` where the model (and ARX's own derivatives) divide, and
//!   computes `B` as `sum ((1-f)^i c_i (1+f)^i - 1)`; we use the model's formulas.
//! - **Dankar et al.** (2012): if `f <= 0.1`, Pitman when it gives a valid estimate, else
//!   Zayatz; otherwise the smaller of Zayatz and SNB when SNB is valid, else Zayatz. Without
//!   sample uniques every estimate is 0.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::error::AnonError;
use crate::table::Table;

/// Journalist risk of a sample against its population.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct JournalistRisk {
    /// Highest record risk `1 / min F`.
    pub max: f64,
    /// Average record risk.
    pub average: f64,
    /// Share of records whose risk exceeds `threshold`.
    pub records_at_risk: f64,
    /// The threshold used.
    pub threshold: f64,
}

impl JournalistRisk {
    /// From `(sample class size, population class size)` pairs; every population class
    /// must be at least as large as its sample class.
    pub fn from_class_sizes(
        pairs: impl IntoIterator<Item = (u64, u64)>,
        threshold: f64,
    ) -> Result<Self, AnonError> {
        let (mut n, mut sum, mut min_pop, mut at_risk) = (0u64, 0.0, u64::MAX, 0u64);
        for (i, (s, p)) in pairs.into_iter().enumerate() {
            if s == 0 {
                continue;
            }
            if p < s {
                return Err(AnonError::Config(format!(
                    "population class {} has {p} records but the sample has {s}",
                    i + 1
                )));
            }
            n += s;
            sum += s as f64 / p as f64;
            min_pop = min_pop.min(p);
            if 1.0 / p as f64 > threshold {
                at_risk += s;
            }
        }
        if n == 0 {
            return Ok(Self {
                max: 0.0,
                average: 0.0,
                records_at_risk: 0.0,
                threshold,
            });
        }
        Ok(Self {
            max: 1.0 / min_pop as f64,
            average: sum / n as f64,
            records_at_risk: at_risk as f64 / n as f64,
            threshold,
        })
    }
}

/// Journalist risk of `sample` over the quasi-identifiers `qis`, with the population given
/// as a table of the same quasi-identifier columns plus `count_column` (class size).
/// Values are compared as they are, so generalize the sample and the population alike.
pub fn journalist_risk(
    sample: &Table,
    qis: &[&str],
    population: &Table,
    count_column: &str,
    threshold: f64,
) -> Result<JournalistRisk, AnonError> {
    let key_of = |t: &Table, row: usize| -> Result<Vec<String>, AnonError> {
        qis.iter()
            .map(|q| {
                t.column(q)
                    .map(|c| c.value(row).to_string())
                    .ok_or_else(|| AnonError::Config(format!("{q} is not a column")))
            })
            .collect()
    };
    let counts = population
        .column(count_column)
        .ok_or_else(|| AnonError::Config(format!("{count_column} is not a column")))?;
    let mut pop: HashMap<Vec<String>, u64> = HashMap::new();
    for row in 0..population.len() {
        let v = counts.value(row).trim();
        let c: u64 = v.parse().map_err(|_| AnonError::Table {
            source_name: population.source_name().into(),
            line: row + 2,
            field: count_column.into(),
            reason: format!("value (length {}) is not a class size", v.len()),
        })?;
        *pop.entry(key_of(population, row)?).or_insert(0) += c;
    }
    let mut classes: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    for row in 0..sample.len() {
        *classes.entry(key_of(sample, row)?).or_insert(0) += 1;
    }
    let mut pairs = Vec::with_capacity(classes.len());
    for (i, (key, s)) in classes.iter().enumerate() {
        let p = pop.get(key).copied().ok_or_else(|| {
            AnonError::Config(format!(
                "sample class {} (of {}) is missing from the population table",
                i + 1,
                classes.len()
            ))
        })?;
        pairs.push((*s, p));
    }
    JournalistRisk::from_class_sizes(pairs, threshold)
}

/// Statistical model chosen by Dankar et al.'s rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UniquenessModel {
    /// Pitman sampling formula.
    Pitman,
    /// Zayatz.
    Zayatz,
    /// Slide negative binomial.
    Snb,
    /// No sample uniques: nothing to estimate.
    None,
}

/// Estimated population uniques (counts of records unique in the population).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PopulationUniqueness {
    /// Sample size `n`.
    pub sample_size: u64,
    /// Population size `N`.
    pub population_size: u64,
    /// `n / N`.
    pub sampling_fraction: f64,
    /// Classes of size 1 in the sample.
    pub sample_uniques: u64,
    /// Pitman estimate (`None` when the solver gives no valid value).
    pub pitman: Option<f64>,
    /// Zayatz estimate.
    pub zayatz: Option<f64>,
    /// SNB estimate (`None` when the solver gives no valid value).
    pub snb: Option<f64>,
    /// Estimate chosen by Dankar et al.'s rule.
    pub dankar: f64,
    /// Model behind `dankar`.
    pub dankar_model: UniquenessModel,
    /// `dankar / N`: share of the population that is unique.
    pub population_uniqueness: f64,
}

impl PopulationUniqueness {
    /// Estimates from the sample's equivalence class sizes and the population size.
    pub fn from_class_sizes(
        sizes: impl IntoIterator<Item = u64>,
        population_size: u64,
    ) -> Result<Self, AnonError> {
        let mut hist: BTreeMap<u64, u64> = BTreeMap::new();
        for s in sizes.into_iter().filter(|&s| s > 0) {
            *hist.entry(s).or_insert(0) += 1;
        }
        let n: u64 = hist.iter().map(|(s, c)| s * c).sum();
        if n == 0 || population_size < n {
            return Err(AnonError::Config(
                "population uniqueness needs a non-empty sample no larger than the population"
                    .into(),
            ));
        }
        let hist: Vec<(f64, f64)> = hist.iter().map(|(&s, &c)| (s as f64, c as f64)).collect();
        let big_n = population_size as f64;
        let f = n as f64 / big_n;
        let c1 = hist.first().filter(|h| h.0 == 1.0).map_or(0.0, |h| h.1);
        let mut out = Self {
            sample_size: n,
            population_size,
            sampling_fraction: f,
            sample_uniques: c1 as u64,
            pitman: Some(0.0),
            zayatz: Some(0.0),
            snb: Some(0.0),
            dankar: 0.0,
            dankar_model: UniquenessModel::None,
            population_uniqueness: 0.0,
        };
        if c1 == 0.0 {
            return Ok(out);
        }
        let valid = |v: Option<f64>| v.filter(|v| v.is_finite() && *v > 0.0 && *v <= big_n);
        out.zayatz = valid(Some(zayatz(&hist, n as f64, big_n)));
        out.pitman = valid(pitman(&hist, n as f64, big_n));
        out.snb = valid(snb(&hist, f));
        let (v, model) = if f <= 0.1 {
            match out.pitman {
                Some(p) => (Some(p), UniquenessModel::Pitman),
                None => (out.zayatz, UniquenessModel::Zayatz),
            }
        } else {
            match (out.snb, out.zayatz) {
                (Some(s), Some(z)) if s <= z => (Some(s), UniquenessModel::Snb),
                (Some(s), None) => (Some(s), UniquenessModel::Snb),
                _ => (out.zayatz, UniquenessModel::Zayatz),
            }
        };
        out.dankar = v.unwrap_or(0.0);
        out.dankar_model = if v.is_some() {
            model
        } else {
            UniquenessModel::None
        };
        out.population_uniqueness = out.dankar / big_n;
        Ok(out)
    }
}

/// Zayatz's estimate; `hist` = (class size, number of classes), sorted by size.
fn zayatz(hist: &[(f64, f64)], n: f64, big_n: f64) -> f64 {
    let c1 = hist.first().filter(|h| h.0 == 1.0).map_or(0.0, |h| h.1);
    let mut denom = 0.0;
    for &(size, count) in hist {
        // h(size) / h(1), as a running product (exact, no factorials of N).
        let mut ratio = size;
        let mut m = 1.0;
        while m < size && ratio > 0.0 {
            ratio *= ((big_n - n - m + 1.0) / (big_n - m)).max(0.0);
            m += 1.0;
        }
        denom += count * ratio;
    }
    let share = c1 / denom;
    c1 * share / (n / big_n)
}

/// Newton's method on two equations with a central-difference Jacobian (the closed-form
/// derivatives are long and easy to get wrong; the functions are smooth where we solve).
/// Returns the root when the residual gets below `tol`.
fn newton2(f: impl Fn(f64, f64) -> (f64, f64), mut x: (f64, f64), tol: f64) -> Option<(f64, f64)> {
    for _ in 0..200 {
        let r = f(x.0, x.1);
        if !(r.0.is_finite() && r.1.is_finite()) {
            return None;
        }
        if r.0.abs() < tol && r.1.abs() < tol {
            return Some(x);
        }
        let h0 = 1e-7 * x.0.abs().max(1e-7);
        let h1 = 1e-7 * x.1.abs().max(1e-7);
        let (a0, a1) = f(x.0 + h0, x.1);
        let (b0, b1) = f(x.0 - h0, x.1);
        let (c0, c1) = f(x.0, x.1 + h1);
        let (d0, d1) = f(x.0, x.1 - h1);
        let j = [
            [(a0 - b0) / (2.0 * h0), (c0 - d0) / (2.0 * h1)],
            [(a1 - b1) / (2.0 * h0), (c1 - d1) / (2.0 * h1)],
        ];
        let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
        if det == 0.0 || !det.is_finite() {
            return None;
        }
        let dx = (r.0 * j[1][1] - r.1 * j[0][1]) / det;
        let dy = (r.1 * j[0][0] - r.0 * j[1][0]) / det;
        // Damped step: halve until the residual is defined and does not blow up.
        let norm = r.0.abs() + r.1.abs();
        let mut step = 1.0;
        loop {
            let y = (x.0 - step * dx, x.1 - step * dy);
            let ry = f(y.0, y.1);
            if ry.0.is_finite() && ry.1.is_finite() && ry.0.abs() + ry.1.abs() < 2.0 * norm {
                x = y;
                break;
            }
            step /= 2.0;
            if step < 1e-6 {
                return None;
            }
        }
    }
    None
}

/// Pitman's estimate (see module docs); `None` when the solver fails.
fn pitman(hist: &[(f64, f64)], n: f64, big_n: f64) -> Option<f64> {
    let u: f64 = hist.iter().map(|h| h.1).sum();
    let c1 = hist.first().filter(|h| h.0 == 1.0).map_or(0.0, |h| h.1);
    let c2 = hist
        .iter()
        .find(|h| h.0 == 2.0)
        .map_or(1.0, |h| h.1)
        .max(1.0);
    // ARX's starting point (moment-type estimates).
    let c = c1 * (c1 - 1.0) / c2;
    let t0 = (n * u * c - c1 * (n - 1.0) * (2.0 * u + c)) / (2.0 * c1 * u + c1 * c - n * c);
    let a0 = (t0 * (c1 - n) + (n - 1.0) * c1) / (n * u);
    let equations = |t: f64, a: f64| {
        // The usual parameter region (0 < alpha < 1, theta > -alpha); outside it the sums
        // can vanish far away and fake a root.
        if !(a > 0.0 && a < 1.0) || t + a <= 0.0 {
            return (f64::NAN, f64::NAN);
        }
        let (mut s1, mut s3) = (0.0, 0.0);
        let mut i = 1.0;
        while i < u {
            let d = t + i * a;
            s1 += 1.0 / d;
            s3 += i / d;
            i += 1.0;
        }
        let mut s2 = 0.0;
        let mut i = 1.0;
        while i < n {
            s2 += 1.0 / (t + i);
            i += 1.0;
        }
        let mut s4 = 0.0;
        for &(size, count) in hist {
            let mut l = 1.0;
            let mut inner = 0.0;
            while l < size {
                inner += 1.0 / (l - a);
                l += 1.0;
            }
            s4 += count * inner;
        }
        (s1 - s2, s3 - s4)
    };
    // ARX's start first; Newton can leave the domain from it, so a few fixed starts follow.
    let starts = [
        (t0, a0),
        (1.0, 0.5),
        (10.0, 0.5),
        (100.0, 0.5),
        (10.0, 0.1),
        (10.0, 0.9),
    ];
    let (t, a) = starts
        .iter()
        .filter(|s| s.0.is_finite() && s.1.is_finite())
        .find_map(|&s| newton2(equations, s, 1e-9))?;
    if a == 0.0 || t + a <= 0.0 {
        return None;
    }
    Some((ln_gamma(t + 1.0) - ln_gamma(t + a)).exp() * big_n.powf(a))
}

/// SNB estimate (see module docs); `None` when the solver fails.
fn snb(hist: &[(f64, f64)], f: f64) -> Option<f64> {
    let u: f64 = hist.iter().map(|h| h.1).sum();
    let c1 = hist.first().filter(|h| h.0 == 1.0).map_or(0.0, |h| h.1);
    let c2 = hist.iter().find(|h| h.0 == 2.0).map_or(0.0, |h| h.1);
    let k = shlosser_classes(hist, u, c1, f);
    let equations = snb_equations(k, f, c1, c2);
    // The solver needs a start inside (alpha > 0, 0 < beta < 1); try a small grid.
    for a in [1.0, 0.5, 2.0, 0.1, 5.0] {
        for b in [0.5, 0.1, 0.9, 0.01, 0.99] {
            if let Some((a, b)) = newton2(&equations, (a, b), 1e-8)
                && a > 0.0
                && b > 0.0
                && b < 1.0
            {
                return Some(k * b.powf(a));
            }
        }
    }
    None
}

fn snb_equations(k: f64, f: f64, c1: f64, c2: f64) -> impl Fn(f64, f64) -> (f64, f64) {
    move |a: f64, b: f64| {
        if a <= 0.0 || b <= 0.0 || b >= 1.0 {
            return (f64::NAN, f64::NAN);
        }
        let d = (1.0 - f) * (1.0 - b);
        let e1 = k * f * (b / (1.0 - d)).powf(a) * (1.0 + a * d / (1.0 - d)) - c1;
        let e2 = k * a * b.powf(a) * f * f * (1.0 - b) * (2.0 - (1.0 - a) * d)
            / (2.0 * (1.0 - d).powf(a + 2.0))
            - c2;
        (e1, e2)
    }
}

/// Shlosser-type estimate of the number of non-empty population classes (Haas et al.).
fn shlosser_classes(hist: &[(f64, f64)], u: f64, c1: f64, f: f64) -> f64 {
    let (mut a, mut b, mut c, mut d) = (0.0, 0.0, 0.0, 0.0);
    for &(i, ci) in hist {
        a += i * f * f * (1.0 - f * f).powf(i - 1.0) * ci;
        b += (1.0 - f).powf(i) * ((1.0 + f).powf(i) - 1.0) * ci;
        c += (1.0 - f).powf(i) * ci;
        d += i * f * (1.0 - f).powf(i - 1.0) * ci;
    }
    u + c1 * (a / b) * (c / d) * (c / d)
}

/// `ln Gamma(x)` for `x > 0` (Lanczos, g = 7, 9 terms; ~15 significant digits). Written
/// here because only this one special function is needed.
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Gamma(x) Gamma(1-x) = pi / sin(pi x)
        let s = (std::f64::consts::PI * x).sin();
        return (std::f64::consts::PI / s.abs()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut acc = G[0];
    for (i, &g) in G.iter().enumerate().skip(1) {
        acc += g / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + acc.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    #[test]
    fn ln_gamma_known_values() {
        assert!(close(ln_gamma(1.0), 0.0, 1e-14));
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-14));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-14
        ));
        assert!(close(ln_gamma(101.0), 363.739_375_555_563_5, 1e-13));
    }

    #[test]
    fn journalist_by_hand() {
        // Sample classes 1, 2, 3 records; population classes 4, 2, 30.
        let r = JournalistRisk::from_class_sizes([(1, 4), (2, 2), (3, 30)], 0.3).unwrap();
        assert!(close(r.max, 0.5, 1e-15));
        // (1/4 + 2/2 + 3/30) / 6 = 1.35 / 6
        assert!(close(r.average, 1.35 / 6.0, 1e-15));
        assert!(close(r.records_at_risk, 2.0 / 6.0, 1e-15));
        assert!(JournalistRisk::from_class_sizes([(3, 2)], 0.3).is_err());
    }

    #[test]
    fn journalist_from_tables() {
        let sample = Table::from_columns(
            &["sex", "age"],
            &[vec!["M", "M", "F"], vec!["40-49", "40-49", "50-59"]],
            "sample",
        )
        .unwrap();
        let pop = Table::from_columns(
            &["sex", "age", "n"],
            &[
                vec!["M", "F", "F"],
                vec!["40-49", "50-59", "40-49"],
                vec!["10", "4", "7"],
            ],
            "population",
        )
        .unwrap();
        let r = journalist_risk(&sample, &["sex", "age"], &pop, "n", 0.2).unwrap();
        assert!(close(r.max, 0.25, 1e-15));
        assert!(close(r.average, (2.0 / 10.0 + 1.0 / 4.0) / 3.0, 1e-15));
        assert!(close(r.records_at_risk, 1.0 / 3.0, 1e-15));
        let small = Table::from_columns(
            &["sex", "age", "n"],
            &[vec!["M"], vec!["40-49"], vec!["1"]],
            "p",
        )
        .unwrap();
        assert!(journalist_risk(&sample, &["sex", "age"], &small, "n", 0.2).is_err());
    }

    #[test]
    fn zayatz_by_hand() {
        // Classes 1,1,2 (n = 4), N = 10, f = 0.4.
        // h(2)/h(1) = 2 * (10-4-1+1)/(10-1) = 12/9. share = 2 / (2 + 12/9) = 0.6.
        // estimate = 2 * 0.6 / 0.4 = 3.
        let z = zayatz(&[(1.0, 2.0), (2.0, 1.0)], 4.0, 10.0);
        assert!(close(z, 3.0, 1e-12), "{z}");
        // Census (f = 1): every sample unique is a population unique.
        let z = zayatz(&[(1.0, 3.0), (2.0, 2.0)], 7.0, 7.0);
        assert!(close(z, 3.0, 1e-12), "{z}");
        let p = PopulationUniqueness::from_class_sizes([1, 1, 2], 10).unwrap();
        assert!(close(p.zayatz.unwrap(), 3.0, 1e-12));
        assert!(p.sampling_fraction > 0.1);
        // f > 0.1: Zayatz unless SNB is valid and smaller.
        match p.snb {
            Some(s) if s <= 3.0 => assert_eq!(p.dankar_model, UniquenessModel::Snb),
            _ => assert_eq!(p.dankar_model, UniquenessModel::Zayatz),
        }
    }

    #[test]
    fn no_sample_uniques_means_zero() {
        let p = PopulationUniqueness::from_class_sizes([2, 3, 5], 1000).unwrap();
        assert_eq!(p.dankar, 0.0);
        assert_eq!(p.dankar_model, UniquenessModel::None);
        assert!(PopulationUniqueness::from_class_sizes([2, 3], 4).is_err());
    }

    #[test]
    fn snb_solver_recovers_generating_parameters() {
        // Forward: pick alpha, beta, K, f; compute the expected c1, c2; solve back.
        let (a, b, k, f) = (0.8, 0.3, 5000.0, 0.2);
        let eq = snb_equations(k, f, 0.0, 0.0);
        let (c1, c2) = eq(a, b);
        let solved = newton2(snb_equations(k, f, c1, c2), (1.0, 0.5), 1e-8).unwrap();
        assert!(
            close(solved.0, a, 1e-6) && close(solved.1, b, 1e-6),
            "{solved:?}"
        );
        // The Shlosser-type K equals u when there are no sample uniques' partners to add.
        let hist = [(2.0, 10.0), (3.0, 5.0)];
        assert!(close(shlosser_classes(&hist, 15.0, 0.0, 0.1), 15.0, 1e-12));
    }

    #[test]
    fn pitman_solves_its_likelihood_equations_and_dankar_prefers_it_for_small_samples() {
        // 260 records: 60 uniques, 30 pairs, 20 classes of 4, one of 60; N = 100,000.
        let mut sizes = vec![1u64; 60];
        sizes.extend(std::iter::repeat_n(2, 30));
        sizes.extend(std::iter::repeat_n(4, 20));
        sizes.push(60);
        let n: u64 = sizes.iter().sum();
        assert_eq!(n, 260);
        let p = PopulationUniqueness::from_class_sizes(sizes.iter().copied(), 100_000).unwrap();
        assert!(p.sampling_fraction <= 0.1);
        let pit = p.pitman.expect("Pitman converges here");
        assert_eq!(p.dankar_model, UniquenessModel::Pitman);
        assert_eq!(p.dankar, pit);
        // Cross-checked with an independent Python solve (plain Newton on the same two
        // equations from (10, 0.5): theta 32.8545, alpha 0.36950, math.lgamma).
        assert!(close(pit, 638.648_424_617_465_7, 1e-6), "{pit}");
        assert!(close(p.population_uniqueness, pit / 100_000.0, 1e-15));
    }
}
