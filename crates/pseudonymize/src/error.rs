//! Errors of the pipeline: they name the dataset, table, column or file and the reason, never a
//! data value or key material.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PseudonymizeError {
    #[error("policy {source_name}: {reason}")]
    Policy { source_name: String, reason: String },
    #[error("table {table}: column {column}: {reason}")]
    Column {
        table: String,
        column: String,
        reason: String,
    },
    #[error("table {table}: {reason}")]
    Table { table: String, reason: String },
    #[error("dataset {dataset}: {reason}")]
    Dataset { dataset: String, reason: String },
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] medinfra_store::StoreError),
    #[error("key store: {0}")]
    Key(#[from] medinfra_pseudo::keys::KeyError),
    #[error("token: {0}")]
    Token(#[from] medinfra_pseudo::token::TokenError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

impl PseudonymizeError {
    pub(crate) fn column(table: &str, column: &str, reason: impl Into<String>) -> Self {
        PseudonymizeError::Column {
            table: table.to_string(),
            column: column.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn file(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        PseudonymizeError::File {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}
