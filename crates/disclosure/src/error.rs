//! Errors of the disclosure crate. Messages name the file, line, field and reason, never a
//! cell value or a label (labels can be identifying: a rare diagnosis, a small municipality).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DisclosureError {
    /// A configuration file could not be read or parsed.
    #[error("{file}: {reason}")]
    Config { file: String, reason: String },
    /// A table specification is inconsistent (e.g. a sum without a value column).
    #[error("table spec `{table}`: field `{field}`: {reason}")]
    Spec {
        table: String,
        field: &'static str,
        reason: String,
    },
    /// A record does not fit the table it is streamed into.
    #[error("table `{table}`: record {record}: field `{field}`: {reason}")]
    Record {
        table: String,
        record: u64,
        field: &'static str,
        reason: String,
    },
    /// Rendering or writing an output failed.
    #[error("output: {0}")]
    Output(String),
    /// Differential privacy: budget refused, or a release that cannot be made private.
    #[error("differential privacy: {0}")]
    Dp(String),
    /// Ledger state that does not fit the table being checked or recorded.
    #[error("release ledger: {0}")]
    Ledger(String),
}

pub type Result<T> = std::result::Result<T, DisclosureError>;
