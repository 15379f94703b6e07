//! Ingest: providers' files in, one new identified-zone dataset version per submission out.
//!
//! Formats: electronic receipt files (medical, DPC, pharmacy), DPC survey files (EF, 様式1,
//! D), SS-MIX2 trees and messages, 特定健診 CDA archives, JP Core FHIR (Bundle, NDJSON) and
//! providers' own CSV/Parquet exports with a mapping file — each recognised by content.
//!
//! Files are streamed (memory bounded whatever their size), validated by the format layer,
//! mapped to the canonical tables, and written as parts of a new version of the provider's
//! dataset `provider-<ID>`. The policy is applied here: a file with structural damage is
//! rejected whole; a receipt with a record-level problem is quarantined and the rest of the
//! file is ingested; GO totals that disagree are a file-level finding (rejected under
//! `strict`). A re-submitted file with the same content hash is recognised and not ingested
//! twice; a corrected file for the same provider and billing month replaces the earlier one
//! in the next version. Nothing is visible until the store commits the version, and the
//! submission records are written in the same catalog transaction.
//!
//! Every format is a `unit::UnitMapper`; `unit::map_unit` applies the one rejection policy.
//!
//! This crate must never put an identifier in clear into a report or error (findings carry
//! masked values), never read another provider's dataset, and never write outside the store.

mod checkup_map;
mod dpc_map;
mod fhir_map;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod inputs;
mod report;
mod run;
mod ssmix2_map;
mod table_map;
mod uke_file;
mod uke_map;
mod unit;

pub use report::{FileOutcome, FileStatus, IngestOutcome, Problem};
pub use run::{BATCH_BYTES, BATCH_PROVIDERS, dataset_name, group_by_provider, ingest, ingest_many};
pub use table_map::TableMapping;
pub use unit::IngestOptions;

/// Errors that stop an ingest run (as opposed to findings about the input, which are reported).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] medinfra_store::StoreError),
    #[error("building {table} rows: {source}")]
    Arrow {
        table: &'static str,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error("provider id must be 10 digits (prefecture 2 + fee schedule 1 + facility code 7)")]
    BadProviderId,
    #[error("no files to ingest under the given paths")]
    NoFiles,
    #[error("a reading thread stopped without a result")]
    Worker,
    #[error("the commit task stopped without a result: {0}")]
    Task(String),
    /// The mapping file (`--mapping`) is unusable; the message names no data values.
    #[error("{0}")]
    Mapping(String),
}
