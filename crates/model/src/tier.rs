//! The law's data tiers, as runtime values stored with every dataset version.
//!
//! Order of openness: `identified` → `pseudonymized` → `anonymized` → `statistics` → `sample`.
//! Data only moves to a more open tier through the pipeline step made for it. The tier is a
//! value, checked where data is read: every read goes through `medinfra_govern::can` with the
//! version's tier as the catalog records it. (Type-level tiers, `Tiered<Anonymized, _>`, were
//! tried and removed: no pipeline signature used them, and a version's tier is only known at
//! run time, from the catalog.)

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A data tier (the law's class of a dataset version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Providers' data as received: names, card numbers, chart numbers. Operators only.
    Identified,
    /// 仮名加工医療情報: identifiers replaced by keyed pseudonyms, values exact.
    Pseudonymized,
    /// 匿名加工医療情報: generalized/suppressed so nobody can be re-identified.
    Anonymized,
    /// Released aggregates that passed output checking.
    Statistics,
    /// Synthetic, public sample data.
    Sample,
}

impl Tier {
    /// All tiers, from the most protected to the most open.
    pub const ALL: [Tier; 5] = [
        Tier::Identified,
        Tier::Pseudonymized,
        Tier::Anonymized,
        Tier::Statistics,
        Tier::Sample,
    ];

    /// The stable lower-case name used in catalogs, manifests and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Identified => "identified",
            Tier::Pseudonymized => "pseudonymized",
            Tier::Anonymized => "anonymized",
            Tier::Statistics => "statistics",
            Tier::Sample => "sample",
        }
    }

    /// True when data of this tier may be read without any account.
    pub fn is_public(self) -> bool {
        matches!(self, Tier::Statistics | Tier::Sample)
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tier name that is not one of the five.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown tier {0:?} (expected identified, pseudonymized, anonymized, statistics or sample)"
)]
pub struct UnknownTier(pub String);

impl FromStr for Tier {
    type Err = UnknownTier;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTier(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in Tier::ALL {
            assert_eq!(t.as_str().parse::<Tier>(), Ok(t));
        }
        assert!("public".parse::<Tier>().is_err());
    }

    #[test]
    fn only_statistics_and_sample_are_public() {
        let public: Vec<_> = Tier::ALL.into_iter().filter(|t| t.is_public()).collect();
        assert_eq!(public, vec![Tier::Statistics, Tier::Sample]);
    }
}
