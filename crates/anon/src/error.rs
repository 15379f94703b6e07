//! Error type of the anonymization engine.
//!
//! Every input error names where it happened (file or source name, line, field) and why.
//! Data values are never echoed: a value may itself be an identifier, so errors describe it
//! by attribute, line and length only.

use thiserror::Error;

/// Errors returned by the engine.
#[derive(Debug, Error)]
pub enum AnonError {
    /// A hierarchy file or hierarchy rows are malformed.
    #[error("hierarchy {source_name}, line {line}: {reason}")]
    Hierarchy {
        /// File name or caller-supplied source name.
        source_name: String,
        /// 1-based line (0 when the problem is not tied to one line).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A data table (CSV or columns) is malformed.
    #[error("table {source_name}, line {line}, field {field}: {reason}")]
    Table {
        /// File name or caller-supplied source name.
        source_name: String,
        /// 1-based line, counting the header as line 1 (0 when not tied to one line).
        line: usize,
        /// Column name or index.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A data value of a quasi-identifier is not covered by its hierarchy.
    #[error(
        "attribute {attribute}, data line {line}: value (length {value_len}) is missing from the hierarchy"
    )]
    ValueNotInHierarchy {
        /// Quasi-identifier name.
        attribute: String,
        /// 1-based line of the first record holding the value (header = line 1).
        line: usize,
        /// Length in characters of the masked value.
        value_len: usize,
    },
    /// The configuration is inconsistent (unknown attribute, bad parameter, ...).
    #[error("configuration: {0}")]
    Config(String),
    /// No transformation satisfies the privacy models within the suppression limit.
    #[error("no transformation satisfies the privacy models within the suppression limit")]
    NoSolution,
    /// I/O failure on a named file.
    #[error("I/O on {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
