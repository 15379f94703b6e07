//! Errors of an extract. Messages name the table, batch, row and field, never a value: the
//! input holds identifiers and must not leak into logs.

use arrow::error::ArrowError;

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("extract configuration: {0}")]
    Config(String),
    #[error("the source has no {table} table, which an extract needs")]
    MissingTable { table: &'static str },
    #[error("reading {table} batch {batch}: {source}")]
    Read {
        table: &'static str,
        batch: usize,
        #[source]
        source: ArrowError,
    },
    #[error("{table} batch {batch}: column {column}: {reason}")]
    Column {
        table: &'static str,
        batch: usize,
        column: &'static str,
        reason: String,
    },
    #[error("{table} batch {batch} row {row}: field {column}: {reason}")]
    Value {
        table: &'static str,
        batch: usize,
        row: usize,
        column: &'static str,
        reason: &'static str,
    },
    #[error("building the released {table} batch: {source}")]
    Build {
        table: &'static str,
        #[source]
        source: ArrowError,
    },
    #[error("writing the released {table} table: {reason}")]
    Sink { table: &'static str, reason: String },
}
