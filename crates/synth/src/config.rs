//! Generator settings. Every rate is per person (or per person-year where it says so), and
//! the defaults follow `formats/japan.md` §1.2 (about 11 % of patients change an NDB ID
//! within a year).

use serde::{Deserialize, Serialize};

use crate::SynthError;

/// Identity noise: how often the things that break NDB's ID1/ID2 happen. Missing fields in a
/// configuration file keep their defaults; unknown fields are refused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NoiseRates {
    /// Employees changing jobs (new insurer and card) per person-year, under 60.
    pub job_change_per_year: f64,
    /// Employees aged 60–64 retiring to national health insurance, per person-year.
    pub retirement_per_year: f64,
    /// Moves between municipalities (new 国保 number), per person-year of 国保 members.
    pub move_per_year: f64,
    /// Women aged 20–39 changing surname (marriage), per person-year.
    pub surname_change_per_year: f64,
    /// Chance a provider writes a patient's name in a style other than its usual one.
    pub name_variant: f64,
    /// Chance that a provider's record of a person's kana name carries a keying typo
    /// (シ/ツ, ソ/ン, ...).
    pub kana_typo: f64,
    /// Share of persons who are given the same name, birth date and sex as another person.
    pub same_name_birthday: f64,
    /// Share of persons who are a same-sex twin of another person (same birth date and card).
    pub twins: f64,
}

impl Default for NoiseRates {
    fn default() -> Self {
        NoiseRates {
            job_change_per_year: 0.05,
            retirement_per_year: 0.2,
            move_per_year: 0.02,
            surname_change_per_year: 0.04,
            name_variant: 0.05,
            kana_typo: 0.01,
            same_name_birthday: 0.002,
            twins: 0.005,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SynthConfig {
    pub persons: u64,
    pub years: u32,
    pub start_year: i32,
    pub seed: u64,
    pub noise: NoiseRates,
    /// Also write the providers' files under this directory: medical and DPC claims as
    /// electronic receipt files (`PROVIDER/YYYYMM/RECEIPTC.UKE`), lab results as an SS-MIX2
    /// storage (`PROVIDER/ssmix2/…`) and checkups as 特定健診 archives (`FACILITY/checkup/*.zip`).
    #[serde(default)]
    pub provider_files: Option<std::path::PathBuf>,
    /// With `provider_files`: write only the electronic receipt files (no SS-MIX2 or checkup
    /// archives), e.g. for the ingest benchmark.
    #[serde(default)]
    pub receipts_only: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            persons: 10_000,
            years: 5,
            start_year: 2020,
            seed: 42,
            noise: NoiseRates::default(),
            provider_files: None,
            receipts_only: false,
        }
    }
}

impl SynthConfig {
    pub fn validate(&self) -> Result<(), SynthError> {
        if self.persons == 0 || self.persons > 200_000_000 {
            return Err(SynthError::Config(
                "persons must be between 1 and 200,000,000".into(),
            ));
        }
        if self.years == 0 || self.years > 30 {
            return Err(SynthError::Config("years must be between 1 and 30".into()));
        }
        if !(1990..=2090).contains(&self.start_year) {
            return Err(SynthError::Config(
                "start year must be between 1990 and 2090".into(),
            ));
        }
        if self.provider_files.is_some() && self.persons.div_ceil(self.chunk_persons()) > 98 {
            return Err(SynthError::Config(
                "provider files number each chunk's file as a volume 01-98: at most 2,450,000 persons".into(),
            ));
        }
        let n = &self.noise;
        for (name, v) in [
            ("job_change_per_year", n.job_change_per_year),
            ("retirement_per_year", n.retirement_per_year),
            ("move_per_year", n.move_per_year),
            ("surname_change_per_year", n.surname_change_per_year),
            ("name_variant", n.name_variant),
            ("kana_typo", n.kana_typo),
            ("same_name_birthday", n.same_name_birthday),
            ("twins", n.twins),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(SynthError::Config(format!(
                    "noise rate {name} must be within 0..1, got {v}"
                )));
            }
        }
        Ok(())
    }

    /// Persons per chunk: a function of the population only (never of the thread count), so
    /// output is identical on any machine.
    pub fn chunk_persons(&self) -> u64 {
        (self.persons / 16).clamp(2_000, 25_000)
    }

    pub fn months(&self) -> u32 {
        self.years * 12
    }
}
