//! Errors of the registry. Messages name files, tables, columns and reasons, never values.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PersonsError {
    #[error(transparent)]
    Store(#[from] medinfra_store::StoreError),
    #[error("{path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("table {table}: column {column}: {reason}")]
    Column {
        table: String,
        column: String,
        reason: String,
    },
    #[error("linkage key: {0}")]
    Key(String),
    #[error("{0}")]
    Request(String),
    #[error("registry dataset is damaged: {0}")]
    Corrupt(String),
}

pub type Result<T, E = PersonsError> = std::result::Result<T, E>;

impl PersonsError {
    pub(crate) fn column(table: &str, column: &str, reason: impl Into<String>) -> Self {
        PersonsError::Column {
            table: table.into(),
            column: column.into(),
            reason: reason.into(),
        }
    }
}
