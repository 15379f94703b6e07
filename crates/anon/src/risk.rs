//! Re-identification risk from equivalence class sizes.
//!
//! Prosecutor model (the attacker knows the target is in the data): a record in class `E`
//! has risk `1/|E|`. Reported: the maximum `1/min|E|`, the average over records
//! `(#classes)/n`, and the fraction of records whose risk exceeds a threshold.
//! Marketer model (re-identify as many as possible, sample = population): expected share of
//! records re-identified, `#classes / n`.
//!
//! After anonymization, suppressed records are one class (all their quasi-identifiers are
//! `*` in the output), released classes are as found.

use serde::Serialize;

/// Prosecutor risk of one dataset state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProsecutorRisk {
    /// Highest record risk.
    pub max: f64,
    /// Average record risk.
    pub average: f64,
    /// Fraction of records whose risk exceeds `threshold`.
    pub records_at_risk: f64,
    /// The threshold used.
    pub threshold: f64,
    /// Marketer risk (expected fraction re-identified).
    pub marketer: f64,
}

/// Risk before and after anonymization.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RiskReport {
    /// Input data.
    pub before: ProsecutorRisk,
    /// Released data.
    pub after: ProsecutorRisk,
}

impl ProsecutorRisk {
    /// Risk from class sizes (zero-sized classes are ignored).
    pub fn from_class_sizes(sizes: impl IntoIterator<Item = u64>, threshold: f64) -> Self {
        let (mut n, mut classes, mut min, mut at_risk) = (0u64, 0u64, u64::MAX, 0u64);
        for s in sizes.into_iter().filter(|&s| s > 0) {
            n += s;
            classes += 1;
            min = min.min(s);
            if 1.0 / s as f64 > threshold {
                at_risk += s;
            }
        }
        if n == 0 {
            return Self {
                max: 0.0,
                average: 0.0,
                records_at_risk: 0.0,
                threshold,
                marketer: 0.0,
            };
        }
        let average = classes as f64 / n as f64;
        Self {
            max: 1.0 / min as f64,
            average,
            records_at_risk: at_risk as f64 / n as f64,
            threshold,
            marketer: average,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prosecutor_risk_from_sizes() {
        let r = ProsecutorRisk::from_class_sizes([1, 4, 5], 0.2);
        assert_eq!(r.max, 1.0);
        assert!((r.average - 0.3).abs() < 1e-12);
        // classes of size 1 and 4 exceed 0.2 -> 5 of 10 records
        assert!((r.records_at_risk - 0.5).abs() < 1e-12);
    }
}
