//! medinfra-anon: the anonymization engine of medinfra (匿名加工医療情報).
//!
//! It generalizes quasi-identifiers along hierarchies (ARX's CSV format or built ones),
//! finds the globally optimal full-domain generalization under k-anonymity, l-diversity
//! and t-closeness with a record suppression limit, measures utility (ARX's Loss and
//! others) and re-identification risk, and returns the anonymized rows with an auditable
//! report. Beside the lattice search: ICD-10 and prefecture hierarchies, the Japanese
//! guidance's rare-value rules on [`Table`], k^m-anonymity for set-valued attributes
//! ([`km_anonymize`]), journalist risk and population-uniqueness estimates, and a heuristic
//! search ([`SearchMode::Heuristic`]) whose results are reported as not optimal.
//!
//! It must never: release a record whose class violates a configured model (such records
//! are suppressed or the call fails), report a transformation as optimal that was not proven
//! optimal, or put data values into error messages (they may identify a person). It reads no
//! files other than those it is given and holds no keys.
//!
//! Entry point: [`anonymize`] with a [`Table`] and an [`AnonymizationConfig`]:
//!
//! ```no_run
//! use medinfra_anon::{anonymize, AnonymizationConfig, Hierarchy, Table};
//! # fn main() -> Result<(), medinfra_anon::AnonError> {
//! let table = Table::from_csv_path("adult.csv", b';')?;
//! let age = Hierarchy::from_csv_path("adult_hierarchy_age.csv")?;
//! let mut config = AnonymizationConfig::k_anonymity(vec![("age".into(), age)], 5);
//! config.suppression_limit = 0.05;
//! let outcome = anonymize(&table, &config)?;
//! println!("{}", serde_json::to_string_pretty(&outcome.report).unwrap_or_default());
//! outcome.table.write_csv(std::io::stdout(), b';')?;
//! # Ok(()) }
//! ```

mod encode;
mod error;
mod eval;
mod heuristic;
mod hierarchy;
mod html;
mod medical;
mod metric;
mod model;
mod output;
mod population;
mod risk;
mod rules;
mod search;
mod setvalued;
mod table;

pub use error::AnonError;
pub use hierarchy::Hierarchy;
pub use html::render_html;
pub use metric::Metric;
pub use model::PrivacyModel;
pub use output::{Outcome, Report};
pub use population::{JournalistRisk, PopulationUniqueness, UniquenessModel, journalist_risk};
pub use risk::{ProsecutorRisk, RiskReport};
pub use rules::RuleReport;
pub use setvalued::{KmConfig, KmOutcome, KmViolation, SetValuedData, km_anonymize, km_violations};
pub use table::{Column, Table};

use std::time::Instant;

use encode::Encoded;
use eval::Evaluator;
use metric::PreparedMetric;
use model::PreparedModels;

/// What to anonymize and how.
#[derive(Debug, Clone)]
pub struct AnonymizationConfig {
    /// Quasi-identifiers with their hierarchies, in the order the lattice uses them.
    pub qis: Vec<(String, Hierarchy)>,
    /// Sensitive attribute (needed by l-diversity and t-closeness).
    pub sensitive: Option<String>,
    /// Privacy models every released class must satisfy.
    pub models: Vec<PrivacyModel>,
    /// Fraction of records that may be suppressed, in `[0, 1]`.
    pub suppression_limit: f64,
    /// Utility metric to minimize.
    pub metric: Metric,
    /// Prosecutor risk above which a record counts as "at risk" in the report.
    pub risk_threshold: f64,
}

impl AnonymizationConfig {
    /// k-anonymity with ARX's Loss metric and no suppression.
    pub fn k_anonymity(qis: Vec<(String, Hierarchy)>, k: usize) -> Self {
        Self {
            qis,
            sensitive: None,
            models: vec![PrivacyModel::KAnonymity { k }],
            suppression_limit: 0.0,
            metric: Metric::loss(),
            risk_threshold: 0.2,
        }
    }
}

/// Search mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// Pruned optimal search (default).
    Optimal,
    /// Every node evaluated; same result, used to verify the pruned search.
    Exhaustive,
    /// Best-effort greedy search for lattices too large to search (see `heuristic`): the
    /// result satisfies the models but is not proven optimal, and the report says
    /// `optimal: false`.
    Heuristic {
        /// Upper bound on the number of nodes evaluated.
        max_evaluations: usize,
    },
}

/// Anonymizes `table` with the pruned optimal search.
pub fn anonymize(table: &Table, config: &AnonymizationConfig) -> Result<Outcome, AnonError> {
    anonymize_with(table, config, SearchMode::Optimal)
}

/// Anonymizes `table` with the given search mode.
pub fn anonymize_with(
    table: &Table,
    config: &AnonymizationConfig,
    mode: SearchMode,
) -> Result<Outcome, AnonError> {
    let start = Instant::now();
    validate(table, config)?;
    let needs_sensitive = config.models.iter().any(PrivacyModel::needs_sensitive);
    let sensitive = if needs_sensitive {
        Some(config.sensitive.as_deref().ok_or_else(|| {
            AnonError::Config("l-diversity / t-closeness need a sensitive attribute".into())
        })?)
    } else {
        None
    };
    let enc = Encoded::new(table, &config.qis, sensitive)?;
    let models = PreparedModels::new(&config.models, &enc.sens_values, &enc.sens_freq)?;
    let metric = PreparedMetric::new(config.metric, &enc)?;
    let max_outliers = (config.suppression_limit * enc.n as f64).floor() as u64;
    let ev = Evaluator {
        enc: &enc,
        models: &models,
        metric: &metric,
        max_outliers,
    };
    let search_start = Instant::now();
    let found = match mode {
        SearchMode::Optimal => search::optimal(&ev)?,
        SearchMode::Exhaustive => search::exhaustive(&ev)?,
        SearchMode::Heuristic { max_evaluations } => heuristic::heuristic(&ev, max_evaluations)?,
    };
    let optimal = !matches!(mode, SearchMode::Heuristic { .. });
    let search_ms = search_start.elapsed().as_secs_f64() * 1e3;
    output::build(table, config, &ev, &found, optimal, search_ms, start)
}

fn validate(table: &Table, config: &AnonymizationConfig) -> Result<(), AnonError> {
    if config.qis.is_empty() {
        return Err(AnonError::Config("no quasi-identifiers".into()));
    }
    if table.is_empty() {
        return Err(AnonError::Config("the table has no records".into()));
    }
    let mut seen = std::collections::HashSet::new();
    for (name, _) in &config.qis {
        if !seen.insert(name.as_str()) {
            return Err(AnonError::Config(format!(
                "quasi-identifier {name} given twice"
            )));
        }
        if table.position(name).is_none() {
            return Err(AnonError::Config(format!(
                "quasi-identifier {name} is not a column"
            )));
        }
    }
    if let Some(s) = &config.sensitive {
        if seen.contains(s.as_str()) {
            return Err(AnonError::Config(format!(
                "{s} cannot be both quasi-identifier and sensitive"
            )));
        }
        if table.position(s).is_none() {
            return Err(AnonError::Config(format!(
                "sensitive attribute {s} is not a column"
            )));
        }
    }
    if !(0.0..=1.0).contains(&config.suppression_limit) {
        return Err(AnonError::Config(
            "suppression limit must be in [0, 1]".into(),
        ));
    }
    if config.models.is_empty() {
        return Err(AnonError::Config("no privacy model".into()));
    }
    Ok(())
}
