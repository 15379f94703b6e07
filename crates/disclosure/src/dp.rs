//! Optional differentially private release of count and sum tables, with a per-project
//! epsilon budget that refuses releases once spent.
//!
//! Why hand-written: the maintained DP library (OpenDP) builds OpenSSL from C and costs
//! minutes of CPU per cold build; the small crates found (diff-priv, chie-crypto's module,
//! laplace-rs) are unmaintained or sample Laplace noise in floating point, which leaks the
//! true value through the low-order bits of the result (Mironov, CCS 2012). Here every
//! released number is an integer plus *discrete* Laplace (two-sided geometric) noise drawn
//! with integer arithmetic only — Canonne, Kamath & Steinke (NeurIPS 2020), Algorithms 1–2 —
//! from a ChaCha20 CSPRNG seeded by the OS. Epsilon is handled as an exact rational
//! (millionths), so budget accounting never drifts through rounding.
//!
//! Mechanism: inner cells get independent noise with scale sensitivity/epsilon (the cells
//! are disjoint, so one record changes one cell: parallel composition); margins are sums of
//! noisy cells (post-processing, free). A sum needs `clamp` bounds in the table spec, fixed
//! before looking at the data: sensitivity is max(|lo|, |hi|) in units of `resolution`, plus
//! one unit for rounding the true sum to the grid. The caller must ensure one record per
//! person (or bound each person's contribution), and should tabulate over public category
//! lists: the set of labels present is not protected.

use rand::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::error::{DisclosureError, Result};
use crate::table::{Statistic, Table};

/// Epsilon in millionths (exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Epsilon {
    pub micros: u64,
}

impl Epsilon {
    /// From a decimal epsilon, rounded to the nearest millionth (must be > 0).
    pub fn new(eps: f64) -> Result<Self> {
        if !(eps.is_finite() && eps > 0.0 && eps <= 1e6) {
            return Err(DisclosureError::Dp("epsilon must be in (0, 1e6]".into()));
        }
        let micros = (eps * 1e6).round() as u64;
        if micros == 0 {
            return Err(DisclosureError::Dp("epsilon below 1e-6".into()));
        }
        Ok(Self { micros })
    }

    pub fn as_f64(self) -> f64 {
        self.micros as f64 / 1e6
    }
}

/// One spend of budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub label: String,
    pub epsilon: Epsilon,
}

/// Per-project privacy budget under basic sequential composition. Serializable state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetAccountant {
    pub project: String,
    pub total: Epsilon,
    pub charges: Vec<Charge>,
}

impl BudgetAccountant {
    pub fn new(project: &str, total: Epsilon) -> Self {
        Self {
            project: project.to_string(),
            total,
            charges: Vec::new(),
        }
    }

    pub fn spent(&self) -> Epsilon {
        Epsilon {
            micros: self.charges.iter().map(|c| c.epsilon.micros).sum(),
        }
    }

    pub fn remaining(&self) -> Epsilon {
        Epsilon {
            micros: self.total.micros.saturating_sub(self.spent().micros),
        }
    }

    /// Spends `eps`, or refuses (and spends nothing) when it would exceed the total.
    pub fn charge(&mut self, label: &str, eps: Epsilon) -> Result<()> {
        if eps.micros > self.remaining().micros {
            return Err(DisclosureError::Dp(format!(
                "budget exhausted: {} requested, {} of {} remaining",
                eps.as_f64(),
                self.remaining().as_f64(),
                self.total.as_f64()
            )));
        }
        self.charges.push(Charge {
            label: label.to_string(),
            epsilon: eps,
        });
        Ok(())
    }
}

/// The CSPRNG for releases.
pub fn secure_rng() -> ChaCha20Rng {
    ChaCha20Rng::from_os_rng()
}

/// Uniform integer in [0, n), exactly (rejection sampling, no modulo bias).
fn uniform_below<R: RngCore>(rng: &mut R, n: u64) -> u64 {
    let n = n.max(1);
    // Accept x < 2^64 - (2^64 mod n): an exact multiple of n values.
    let zone = u64::MAX - (u64::MAX % n + 1) % n;
    loop {
        let x = rng.next_u64();
        if x <= zone {
            return x % n;
        }
    }
}

/// Bernoulli(num/den), exactly.
fn bernoulli_ratio<R: RngCore>(rng: &mut R, num: u64, den: u64) -> bool {
    uniform_below(rng, den) < num
}

/// Bernoulli(exp(-num/den)), exactly (CKS20 Algorithm 1).
fn bernoulli_exp<R: RngCore>(rng: &mut R, num: u64, den: u64) -> bool {
    let mut num = num;
    while num > den {
        if !bernoulli_exp(rng, 1, 1) {
            return false;
        }
        num -= den;
    }
    // gamma = num/den in [0, 1]
    let mut k: u64 = 1;
    loop {
        if !bernoulli_ratio(rng, num, den.saturating_mul(k)) {
            break;
        }
        k += 1;
    }
    k % 2 == 1
}

/// A draw of discrete Laplace noise with scale `t/s` (P(x) ∝ exp(-|x| s / t)), CKS20
/// Algorithm 2, integer arithmetic only.
pub fn sample_discrete_laplace<R: RngCore + CryptoRng>(rng: &mut R, t: u64, s: u64) -> i64 {
    let (t, s) = (t.max(1), s.max(1));
    loop {
        let u = uniform_below(rng, t);
        if !bernoulli_exp(rng, u, t) {
            continue;
        }
        let mut v: u64 = 0;
        while bernoulli_exp(rng, 1, 1) {
            v += 1;
        }
        let x = u as u128 + t as u128 * v as u128;
        let y = (x / s as u128).min(i64::MAX as u128) as i64;
        let negative = bernoulli_ratio(rng, 1, 2);
        if negative && y == 0 {
            continue;
        }
        return if negative { -y } else { y };
    }
}

/// What to release with noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpRequest {
    pub statistic: Statistic,
    pub epsilon: Epsilon,
    /// Grid of a sum (e.g. 1.0 = whole units); ignored for counts.
    #[serde(default = "one")]
    pub resolution: f64,
}

fn one() -> f64 {
    1.0
}

/// A noisy table: inner cells with noise, margins summed from them. Row-major like [`Table`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpTable {
    pub table: String,
    pub statistic: Statistic,
    pub epsilon: Epsilon,
    /// Noise scale in the statistic's units (sensitivity / epsilon).
    pub scale: f64,
    pub height: usize,
    pub width: usize,
    pub values: Vec<f64>,
}

/// Releases a count or sum table with discrete Laplace noise, charging the budget first.
pub fn release<R: RngCore + CryptoRng>(
    table: &Table,
    req: &DpRequest,
    budget: &mut BudgetAccountant,
    rng: &mut R,
) -> Result<DpTable> {
    let (sens_units, unit) = match req.statistic {
        Statistic::Count => (1u64, 1.0),
        Statistic::Sum => {
            let Some((lo, hi)) = table.spec.clamp else {
                return Err(DisclosureError::Dp(
                    "a DP sum needs clamp bounds in the table spec (fixed before seeing data)"
                        .into(),
                ));
            };
            if !(req.resolution.is_finite() && req.resolution > 0.0) {
                return Err(DisclosureError::Dp("resolution must be > 0".into()));
            }
            let units = (lo.abs().max(hi.abs()) / req.resolution).ceil();
            if units > 1e12 {
                return Err(DisclosureError::Dp(
                    "clamp bounds too wide for the resolution".into(),
                ));
            }
            (units as u64 + 1, req.resolution)
        }
        other => {
            return Err(DisclosureError::Dp(format!(
                "only count and sum can be released with DP, not {}",
                other.name()
            )));
        }
    };
    if !table.spec.statistics.contains(&req.statistic) {
        return Err(DisclosureError::Dp(
            "the table does not compute that statistic".into(),
        ));
    }
    budget.charge(
        &format!("{}:{}", table.spec.name, req.statistic.name()),
        req.epsilon,
    )?;
    // scale = sens / (micros / 1e6) = sens * 1e6 / micros  ->  t = sens * 1e6, s = micros
    let t = sens_units.saturating_mul(1_000_000);
    let s = req.epsilon.micros;
    let (h, w) = (table.height(), table.width());
    let mut values = vec![0.0; h * w];
    let hv = table.has_value_column();
    for i in 0..table.n_rows {
        for j in 0..table.n_cols {
            let c = table.cell(i, j);
            let truth = match req.statistic {
                Statistic::Count => c.value(Statistic::Count, hv).unwrap_or(0.0) as i64,
                _ => (c.sum / unit).round() as i64,
            };
            let noisy = truth.saturating_add(sample_discrete_laplace(rng, t, s));
            values[i * w + j] = noisy as f64 * unit;
        }
    }
    if table.margin_col {
        for i in 0..table.n_rows {
            values[i * w + table.n_cols] = (0..table.n_cols).map(|j| values[i * w + j]).sum();
        }
    }
    if table.margin_row {
        let nr = table.n_rows;
        for j in 0..w {
            values[nr * w + j] = (0..nr).map(|i| values[i * w + j]).sum();
        }
    }
    Ok(DpTable {
        table: table.spec.name.clone(),
        statistic: req.statistic,
        epsilon: req.epsilon,
        scale: sens_units as f64 * unit / req.epsilon.as_f64(),
        height: h,
        width: w,
        values,
    })
}

/// The noisy table as it would leave the system: every inner cell and margin is its noisy
/// value rounded to a whole person, except those below the NDB threshold (fewer than
/// `ndb.min_persons`, or below `acro.safe_threshold`) and those at or below 0, which are blank.
/// Blanking is post-processing of the noisy values, so it costs no privacy; it keeps the
/// publication rule that no cell of 1–9 persons is printed, in any form. Status `Review`: a
/// reviewer still decides.
pub fn cleaned(
    table: &Table,
    noisy: &DpTable,
    cfg: &crate::config::DisclosureConfig,
) -> crate::mitigate::CleanedTable {
    use crate::mitigate::{CellState, CleanedTable, Mitigation};
    let (h, w) = (table.height(), table.width());
    let threshold = cfg.acro.safe_threshold.max(if cfg.ndb.enabled {
        cfg.ndb.min_persons
    } else {
        0
    }) as f64;
    let mut values = Vec::with_capacity(h * w);
    let mut state = Vec::with_capacity(h * w);
    let mut blanked = 0;
    for k in 0..h * w {
        let v = noisy.values.get(k).copied().unwrap_or(0.0).round();
        if v < threshold.max(1.0) {
            blanked += 1;
            values.push(vec![None]);
            state.push(CellState::Primary);
        } else {
            values.push(vec![Some(v)]);
            state.push(CellState::Published);
        }
    }
    let mut notes = vec![format!(
        "differential privacy: discrete Laplace noise of scale {:.2} at epsilon {} (parallel composition over cells; margins are sums of noisy cells)",
        noisy.scale,
        noisy.epsilon.as_f64()
    )];
    if blanked > 0 {
        notes.push(format!(
            "{blanked} noisy values below {threshold} blanked (NDB publication rule; post-processing, no privacy cost)"
        ));
    }
    CleanedTable {
        table: table.spec.name.clone(),
        row_vars: table.spec.rows.clone(),
        col_vars: table.spec.cols.clone(),
        statistics: vec![noisy.statistic],
        row_labels: (0..h).map(|i| table.row_labels(i)).collect(),
        col_labels: (0..w).map(|j| table.col_labels(j)).collect(),
        height: h,
        width: w,
        values,
        state,
        mitigation: Mitigation::Dp {
            epsilon: noisy.epsilon,
        },
        status: crate::checks::Status::Review,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discrete_laplace_has_the_right_spread() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        // scale 2: variance of the discrete Laplace = 2 a / (1 - a)^2 with a = exp(-1/2)
        let n = 40_000;
        let draws: Vec<i64> = (0..n)
            .map(|_| sample_discrete_laplace(&mut rng, 2, 1))
            .collect();
        let mean = draws.iter().sum::<i64>() as f64 / n as f64;
        let var = draws
            .iter()
            .map(|x| (*x as f64 - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        let a = (-0.5f64).exp();
        let expected = 2.0 * a / (1.0 - a).powi(2);
        assert!(mean.abs() < 0.1, "mean {mean}");
        assert!(
            (var - expected).abs() / expected < 0.05,
            "var {var} vs {expected}"
        );
        // P(0) = (1 - a) / (1 + a)
        let p0 = draws.iter().filter(|x| **x == 0).count() as f64 / n as f64;
        assert!((p0 - (1.0 - a) / (1.0 + a)).abs() < 0.01, "p0 {p0}");
    }

    #[test]
    fn budget_refuses_when_exhausted_and_spends_nothing() {
        let mut b = BudgetAccountant::new("p", Epsilon::new(1.0).unwrap());
        b.charge("a", Epsilon::new(0.7).unwrap()).unwrap();
        let e = b.charge("b", Epsilon::new(0.300001).unwrap()).unwrap_err();
        assert!(e.to_string().contains("budget exhausted"), "{e}");
        assert_eq!(b.spent(), Epsilon::new(0.7).unwrap());
        b.charge("c", Epsilon::new(0.3).unwrap()).unwrap();
        assert_eq!(b.remaining().micros, 0);
        let json = serde_json::to_string(&b).unwrap();
        let back: BudgetAccountant = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
    }

    #[test]
    fn uniform_below_is_in_range() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut seen = [0u32; 3];
        for _ in 0..3000 {
            seen[uniform_below(&mut rng, 3) as usize] += 1;
        }
        assert!(seen.iter().all(|c| (900..1100).contains(c)), "{seen:?}");
        assert_eq!(uniform_below(&mut rng, 1), 0);
    }

    #[test]
    fn release_charges_budget_and_sums_margins_from_noisy_cells() {
        use crate::table::{TableBuilder, TableSpec};
        let spec = TableSpec::count("t", &["r"], &["c"]).with_margins(true);
        let mut b = TableBuilder::new(spec, 2).unwrap();
        b.push_count(&["a"], &["x"], 100).unwrap();
        b.push_count(&["b"], &["y"], 3).unwrap();
        let t = b.finish();
        let mut budget = BudgetAccountant::new("p", Epsilon::new(1.0).unwrap());
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let req = DpRequest {
            statistic: Statistic::Count,
            epsilon: Epsilon::new(0.6).unwrap(),
            resolution: 1.0,
        };
        let out = release(&t, &req, &mut budget, &mut rng).unwrap();
        assert_eq!(budget.spent(), Epsilon::new(0.6).unwrap());
        let v = |i: usize, j: usize| out.values[i * 3 + j];
        assert_eq!(v(0, 2), v(0, 0) + v(0, 1));
        assert_eq!(v(2, 2), v(2, 0) + v(2, 1));
        assert!((v(0, 0) - 100.0).abs() < 40.0);
        assert!(out.values.iter().all(|x| x.fract() == 0.0));
        // second release would exceed the budget: refused, nothing spent
        assert!(release(&t, &req, &mut budget, &mut rng).is_err());
        assert_eq!(budget.spent(), Epsilon::new(0.6).unwrap());
        // a sum without clamp bounds is refused before spending
        let spec = TableSpec::aggregate("s", &["r"], &["c"], "v", &[Statistic::Sum]);
        let mut b = TableBuilder::new(spec, 2).unwrap();
        b.push(&["a"], &["x"], Some(5.0)).unwrap();
        let req = DpRequest {
            statistic: Statistic::Sum,
            epsilon: Epsilon::new(0.1).unwrap(),
            resolution: 1.0,
        };
        assert!(
            release(&b.finish(), &req, &mut budget, &mut rng)
                .unwrap_err()
                .to_string()
                .contains("clamp")
        );
        assert_eq!(budget.spent(), Epsilon::new(0.6).unwrap());
    }
}
