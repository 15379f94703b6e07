//! NDB-style release extracts of medinfra's canonical claims tables: the サンプリングデータセット
//! and トライアルデータセット recipes of `formats/japan.md` §8.3, with a report that shows every
//! rule was met.
//!
//! The rules, in the order §8.3 numbers them (all numbers live in [`rules`]):
//! 0. one month per quarter (January, April, July, October by default);
//! 1. high-cost claims dropped (inpatient/DPC ≥ 700,000 points, outpatient/pharmacy ≥ 50,000);
//! 2. rare disease, procedure and drug codes and DPC groups replaced by a dummy code with their
//!    points blanked, rarest first, up to 0.1 % (DPC, pharmacy) / 0.01 % (inpatient,
//!    outpatient) of occurrences, counted among the claims that passed 0 and 1;
//! 3. a sex × 5-year-age-band stratified sample of 10 % (inpatient, DPC) / 1 % (outpatient,
//!    pharmacy) of claims, deterministic by seed; diagnoses, items, stays and patients follow
//!    their claims;
//! 4. identity fields blanked (address, postcode, prefecture, insurer, provider, birth date,
//!    free-text disease names) and direct identifiers (names, card symbol/number/branch, phone,
//!    and the chart number unless the input is already pseudonymized) dropped;
//! 5. trial dataset only: rows holding a code of frequency < 10 in the release removed.
//!
//! And always: the key columns kept (`patient_id`, `claim_id`, `admission_id`) are replaced by
//! release-local values under a key drawn for the release and forgotten
//! ([`RELEASE_LOCAL_KEYS`]), so a release links to no other tier and no other release (the NDB
//! re-hashes ID5 for every release for the same reason).
//!
//! This crate reads Arrow batches through [`TableSource`] and writes them through
//! [`TableSink`]. It must never open files, depend on the store, hold whole tables in memory
//! (it keeps one entry per claim, patient, stay and code), or put an identifier into an error
//! message or the report.

mod codes;
mod dates;
mod decide;
pub mod error;
pub mod io;
mod output;
pub mod report;
pub mod rules;
mod sampling;

use medinfra_model::{CanonicalTable, Tier};

pub use error::ExtractError;
pub use io::{BatchIter, MemoryTables, TableSink, TableSource};
pub use output::{RELEASE_LOCAL_KEYS, release_local_token, release_schema};
pub use report::{ExtractKind, ExtractReport};

use crate::report::BlankingRule;
use crate::rules::{AGE_BAND_COLUMN, DEFAULT_QUARTER_MONTHS, RELEASED_TABLES, column_treatment};

/// What to build.
#[derive(Debug, Clone)]
pub struct ExtractConfig {
    pub kind: ExtractKind,
    /// The month taken from each quarter: `quarter_months[i]` must lie in quarter `i + 1`.
    pub quarter_months: [u32; 4],
    /// Seed of the stratified sample.
    pub seed: u64,
    /// The tier of the input. Pseudonymized (or synthetic sample) input keeps `patient_id`,
    /// which then holds a keyed pseudonym; identified input has it dropped. Anonymized and
    /// statistics datasets are not claims-level inputs and are refused.
    pub input_tier: Tier,
    /// The key of the release-local key columns ([`RELEASE_LOCAL_KEYS`]). `None` (the only
    /// choice a release should make): drawn from the OS for this release and forgotten, so
    /// nothing links the release to anything else. Tests fix it to compare with the input.
    pub release_key: Option<[u8; 32]>,
}

impl ExtractConfig {
    pub fn new(kind: ExtractKind, seed: u64, input_tier: Tier) -> Self {
        Self {
            kind,
            quarter_months: DEFAULT_QUARTER_MONTHS,
            seed,
            input_tier,
            release_key: None,
        }
    }

    fn validate(&self) -> Result<bool, ExtractError> {
        for (i, &m) in self.quarter_months.iter().enumerate() {
            let first = 3 * i as u32 + 1;
            if !(first..first + 3).contains(&m) {
                return Err(ExtractError::Config(format!(
                    "month {m} given for quarter {} must be one of {first}..={}",
                    i + 1,
                    first + 2
                )));
            }
        }
        match self.input_tier {
            Tier::Pseudonymized | Tier::Sample => Ok(true),
            Tier::Identified => Ok(false),
            t => Err(ExtractError::Config(format!(
                "an extract starts from identified, pseudonymized or sample claims, not {t} data"
            ))),
        }
    }
}

/// Builds the release: reads `claims` twice, the coded tables twice and `persons` once, writes
/// the released tables to `sink` and returns the report.
pub fn extract(
    source: &dyn TableSource,
    config: &ExtractConfig,
    sink: &mut dyn TableSink,
) -> Result<ExtractReport, ExtractError> {
    let patient_id_kept = config.validate()?;
    let decisions = decide::decide(source, config.quarter_months, config.seed)?;
    let trial = config.kind == ExtractKind::Trial;
    let mut rules = codes::decide_codes(source, &decisions, trial)?;
    let keys = match config.release_key {
        Some(k) => output::ReleaseKeys::from_bytes(k)?,
        None => output::ReleaseKeys::fresh()?,
    };
    let rows = output::write_release(source, &decisions, &mut rules, patient_id_kept, &keys, sink)?;

    let mut tables_not_released = Vec::new();
    for t in CanonicalTable::ALL {
        if !RELEASED_TABLES.contains(&t) && source.scan(t)?.is_some() {
            tables_not_released.push(t.name().to_string());
        }
    }
    Ok(ExtractReport {
        kind: config.kind,
        seed: config.seed,
        patient_id_kept,
        rows,
        months: decisions.months,
        high_cost: decisions.high_cost,
        rare_codes: rules.rare_report,
        sampling: decisions.sampling,
        strata: decisions.strata,
        blanking: blanking_report(patient_id_kept),
        trial: rules.trial_report,
        tables_not_released,
        release_local_keys: RELEASE_LOCAL_KEYS.iter().map(|c| c.to_string()).collect(),
    })
}

/// [`extract`] into memory: the released batches per table and the report.
pub fn extract_to_memory(
    source: &dyn TableSource,
    config: &ExtractConfig,
) -> Result<(MemoryTables, ExtractReport), ExtractError> {
    let mut out = MemoryTables::new();
    let report = extract(source, config, &mut out)?;
    Ok((out, report))
}

fn blanking_report(patient_id_kept: bool) -> Vec<BlankingRule> {
    RELEASED_TABLES
        .into_iter()
        .map(|t| BlankingRule {
            table: t.name().to_string(),
            columns: t
                .columns()
                .iter()
                .map(|c| {
                    (
                        c.name.to_string(),
                        column_treatment(t, c.name, patient_id_kept),
                    )
                })
                .collect(),
            added: if t == CanonicalTable::Claims {
                vec![AGE_BAND_COLUMN.to_string()]
            } else {
                Vec::new()
            },
        })
        .collect()
}
