//! Errors of the workspace. Messages name datasets, versions, tables and rules, never a data
//! value or key material.

use std::path::PathBuf;
use std::time::Duration;

use datafusion::error::DataFusionError;
use medinfra_model::Tier;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AnalysisError {
    #[error("access denied: dataset {dataset} v{version} ({tier}) by rule {rule}")]
    Denied {
        dataset: String,
        version: i64,
        tier: Tier,
        rule: &'static str,
    },
    #[error("{0} data is never opened in an analysis workspace")]
    TierNotAllowed(Tier),
    #[error("dataset {dataset} v{version} is {found}, but the workspace is {expected}")]
    TierMismatch {
        dataset: String,
        version: i64,
        found: Tier,
        expected: Tier,
    },
    #[error("table {table} is provided by both dataset {first} and dataset {second}")]
    DuplicateTable {
        table: String,
        first: String,
        second: String,
    },
    #[error("bad project id: {0}")]
    BadProject(String),
    #[error("bad result name: {reason}")]
    BadResultName { reason: String },
    #[error("refused: {0}")]
    Refused(String),
    #[error("query stopped: time limit of {0:?} exceeded")]
    Timeout(Duration),
    #[error("query stopped: memory limit of {limit_bytes} bytes exceeded ({detail})")]
    MemoryLimit { limit_bytes: usize, detail: String },
    #[error("query failed: {0}")]
    Query(#[source] DataFusionError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("re-keyed copy {path}: {reason}")]
    Copy { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    ResultFile { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] medinfra_store::StoreError),
    #[error("audit log: {0}")]
    Audit(#[from] medinfra_govern::AuditError),
    #[error(transparent)]
    Master(#[from] medinfra_model::masters::MasterError),
}

impl AnalysisError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AnalysisError::Io {
            path: path.into(),
            source,
        }
    }
}
