//! The law's data tiers, as runtime values (stored with every dataset version) and as Rust
//! types (so a function that wants anonymized data cannot be handed pseudonymized data).
//!
//! Order of openness: `identified` → `pseudonymized` → `anonymized` → `statistics` → `sample`.
//! Data only moves to a more open tier through the pipeline step made for it; that rule is
//! enforced by which functions produce which [`Tiered`] values, not by convention.

use std::fmt;
use std::marker::PhantomData;
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

/// A tier known at compile time. Implemented by the zero-sized marker types below.
pub trait TierMarker: Send + Sync + 'static {
    /// The runtime tier this marker stands for.
    const TIER: Tier;
}

macro_rules! tier_marker {
    ($name:ident, $tier:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
        impl TierMarker for $name {
            const TIER: Tier = $tier;
        }
    };
}

tier_marker!(
    Identified,
    Tier::Identified,
    "Type-level [`Tier::Identified`]."
);
tier_marker!(
    Pseudonymized,
    Tier::Pseudonymized,
    "Type-level [`Tier::Pseudonymized`]."
);
tier_marker!(
    Anonymized,
    Tier::Anonymized,
    "Type-level [`Tier::Anonymized`]."
);
tier_marker!(
    Statistics,
    Tier::Statistics,
    "Type-level [`Tier::Statistics`]."
);
tier_marker!(Sample, Tier::Sample, "Type-level [`Tier::Sample`].");

/// A runtime tier did not match the tier a caller asked for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("tier mismatch: expected {expected}, found {found}")]
pub struct TierMismatch {
    pub expected: Tier,
    pub found: Tier,
}

/// Data `D` whose tier is `T`, checked once at construction.
///
/// ```compile_fail
/// use medinfra_model::tier::{Anonymized, Pseudonymized, Tier, Tiered};
/// fn publish(_: Tiered<Anonymized, Vec<u8>>) {}
/// let p = Tiered::<Pseudonymized, _>::checked(Tier::Pseudonymized, vec![1u8]).unwrap();
/// publish(p); // a pseudonymized table is not an anonymized one
/// ```
#[derive(Debug, Clone)]
pub struct Tiered<T: TierMarker, D> {
    data: D,
    _tier: PhantomData<T>,
}

impl<T: TierMarker, D> Tiered<T, D> {
    /// Wrap `data` whose runtime tier is `found`; fails unless it is `T::TIER`.
    pub fn checked(found: Tier, data: D) -> Result<Self, TierMismatch> {
        if found == T::TIER {
            Ok(Self {
                data,
                _tier: PhantomData,
            })
        } else {
            Err(TierMismatch {
                expected: T::TIER,
                found,
            })
        }
    }

    /// The tier of the data.
    pub fn tier(&self) -> Tier {
        T::TIER
    }

    /// Borrow the data.
    pub fn get(&self) -> &D {
        &self.data
    }

    /// Unwrap the data, leaving the type-level guarantee behind.
    pub fn into_inner(self) -> D {
        self.data
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
    fn checked_rejects_other_tier() {
        let err = Tiered::<Anonymized, _>::checked(Tier::Pseudonymized, ()).unwrap_err();
        assert_eq!(err.expected, Tier::Anonymized);
        assert_eq!(err.found, Tier::Pseudonymized);
        assert!(Tiered::<Sample, _>::checked(Tier::Sample, ()).is_ok());
    }

    #[test]
    fn only_statistics_and_sample_are_public() {
        let public: Vec<_> = Tier::ALL.into_iter().filter(|t| t.is_public()).collect();
        assert_eq!(public, vec![Tier::Statistics, Tier::Sample]);
    }
}
