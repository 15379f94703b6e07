//! The crate's one error type. Messages name the file, line and field and the reason, never a
//! value (values here are names, birth dates and card numbers).

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LinkError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {reason}")]
    Csv {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("{path}: required column `{column}` is missing from the header")]
    MissingColumn { path: PathBuf, column: String },
    #[error("{path}: line {line}: field {field}: {reason}")]
    Field {
        path: PathBuf,
        line: u64,
        field: String,
        reason: String,
    },
    #[error("unknown model `{0}` (known: japan-person, febrl)")]
    UnknownModel(String),
    #[error("invalid request: {0}")]
    Request(String),
    #[error("model has {0} comparisons; at most 16 are supported")]
    TooManyComparisons(usize),
    #[error("cannot serialize {what}: {reason}")]
    Serialize { what: &'static str, reason: String },
}

impl LinkError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LinkError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, LinkError>;
