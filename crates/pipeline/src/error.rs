//! Errors of the monthly run; messages name files, tables and reasons, never values.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] medinfra_store::StoreError),
    #[error(transparent)]
    Ingest(#[from] medinfra_ingest::IngestError),
    #[error(transparent)]
    Persons(#[from] medinfra_persons::PersonsError),
    #[error(transparent)]
    Pseudonymize(#[from] medinfra_pseudonymize::PseudonymizeError),
    #[error("{path}: {reason}")]
    Delivery { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("linkage key: {0}")]
    Key(String),
    #[error(
        "research database, table {table}: the books do not balance ({rows_in} rows in, {rows_out} out, {withheld} withheld); nothing was committed"
    )]
    Unbalanced {
        table: String,
        rows_in: u64,
        rows_out: u64,
        withheld: u64,
    },
    #[error(
        "research database, table {table}: {rows} row(s) of provider {provider} name a record the person registry does not know; nothing was committed"
    )]
    Unresolved {
        table: String,
        provider: String,
        rows: u64,
    },
    #[error("{0}")]
    Task(String),
}

pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
