//! medinfra-disclosure: statistical disclosure control of result tables before they leave
//! the system (the output-checking half of the HIC-like workspace).
//!
//! A result table is built by streaming records into cells ([`TableBuilder`]), checked
//! ([`assess`]: ACRO 1.0.2's rules with its defaults — identical decisions on its reference
//! tables in [`Compat::Acro`] — and the NDB publication rules of `formats/japan.md` §8.1),
//! mitigated ([`mitigate`]: suppression with secondary suppression, or rounding), checked
//! against the project's earlier releases ([`ReleaseLedger`]: differencing), and optionally
//! released with differential privacy ([`dp`]). [`check_release`] runs the whole sequence.
//!
//! This crate must never release anything by itself: it decides and explains; the caller
//! (workspace + reviewer) releases. It never reads files other than a config the caller
//! names, never keeps records (cells keep summaries; only a median keeps its cell's values),
//! and never puts a cell value or label into an error message.

pub mod checks;
pub mod config;
pub mod dp;
pub mod error;
pub mod ledger;
pub mod mitigate;
pub mod render;
pub mod secondary;
pub mod table;

pub use checks::{Assessment, CellOutcome, CheckName, CheckResult, Flag, Status, Verdict, assess};
pub use config::{AcroParams, Compat, DisclosureConfig, NdbParams};
pub use error::{DisclosureError, Result};
pub use ledger::{DifferencingFinding, FindingKind, ReleaseLedger};
pub use mitigate::{CellState, CleanedTable, Mitigation, mitigate};
pub use table::{CellStats, DrugRoute, NdbMeasure, Statistic, Table, TableBuilder, TableSpec};

use serde::{Deserialize, Serialize};

/// What a release request gets back: the checks (shown per cell), the table as it would
/// leave, and what the ledger found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseCheck {
    pub assessment: Assessment,
    pub cleaned: CleanedTable,
    pub differencing: Vec<DifferencingFinding>,
}

/// Checks a table, applies `mitigation`, and checks the result against the ledger. Cells the
/// ledger finds disclosive are flagged `DifferencingCheck`; with [`Mitigation::Suppress`]
/// they are suppressed too (with secondary suppression) until the ledger finds nothing.
pub fn check_release(
    table: &Table,
    cfg: &DisclosureConfig,
    ledger: Option<&ReleaseLedger>,
    mitigation: Mitigation,
) -> Result<ReleaseCheck> {
    let mut assessment = assess(table, cfg);
    let threshold = cfg.acro.safe_threshold.max(if cfg.ndb.enabled {
        cfg.ndb.min_persons
    } else {
        0
    });
    let mut cleaned = mitigate(table, &assessment, mitigation, cfg);
    let mut differencing = Vec::new();
    if let Some(ledger) = ledger {
        // Each round only removes published cells, so it ends; the bound is a safety net.
        for _ in 0..table.cells.len().max(1) {
            let found = ledger.check(table, &cleaned, threshold)?;
            if found.is_empty() {
                break;
            }
            for f in &found {
                assessment.add_flag(
                    f.row,
                    f.col,
                    Flag {
                        check: CheckName::DifferencingCheck,
                        verdict: Verdict::Fail,
                    },
                );
            }
            differencing.extend(found);
            cleaned = mitigate(table, &assessment, mitigation, cfg);
            if mitigation != Mitigation::Suppress {
                cleaned.status = Status::Fail;
                break;
            }
        }
    }
    Ok(ReleaseCheck {
        assessment,
        cleaned,
        differencing,
    })
}
