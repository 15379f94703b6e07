//! The embedded data store of medinfra: one data directory holding immutable dataset versions
//! as Parquet files with manifests, and a catalog that says which versions exist: SQLite in the
//! directory by default, or PostgreSQL when several nodes share the directory.
//!
//! A version becomes visible only through [`VersionWriter::commit`] (or [`Store::commit_all`]
//! for many versions at once): files are written to a
//! staging directory, fsynced, renamed into place, and only then recorded in the catalog in one
//! transaction. A crash at any point leaves the previous state; [`Store::open`] removes whatever
//! a crash left behind. This crate must never decide who may read what (that is governance's
//! job), never hold keys, and never rewrite a committed version.

mod catalog;
mod error;
mod fsutil;
pub use fsutil::{create_file_whole, unique_suffix};
mod manifest;
mod names;
mod reports;
mod store;
mod submissions;
mod writer;

pub use catalog::{Backend, CATALOG_ENV, CatalogLocation};
pub use error::StoreError;
pub use manifest::{ColumnSchema, FileEntry, InputRef, Lineage, Manifest, TableEntry};
pub use names::validate_dataset_name;
pub use reports::ReportDir;
pub use store::{
    DatasetSummary, LockedTable, Store, TableSummary, VerifyProblem, VerifyReport, VersionInfo,
    now_rfc3339, read_part,
};
pub use submissions::Submission;
pub use writer::{PartInfo, PartWriter, VersionWriter};

/// The medinfra version written into every manifest.
pub const MEDINFRA_VERSION: &str = env!("CARGO_PKG_VERSION");
