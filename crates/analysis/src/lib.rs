//! The remote analysis workspace (HIC-like): one Apache DataFusion session per project that
//! sees only the project's granted dataset versions, with person and record keys re-keyed per
//! project, with time, memory and row limits, researcher UDFs, and named result tables kept
//! inside the workspace.
//!
//! The tables are read from the project's re-keyed copy of each granted version (`rekeyed`:
//! written once under the project's workspace directory, key columns already project tokens,
//! direct identifiers left out), so queries run at plain-DataFusion speed and no stored key is
//! ever inside a plan; [`RekeyMode::OnScan`] re-keys in the plan instead, without a copy.
//!
//! Naming scheme: every canonical table of a granted dataset version is a view under its
//! canonical name (`claims`, `diagnoses`, `drugs`, `lab_results`, ...) in the only schema of
//! the session (`medinfra.project`); saved results sit beside them under their own names. A
//! sample-tier workspace uses the same names, so SQL written on sample data runs unchanged on
//! the project's data after approval.
//!
//! This crate must never: make a table reachable that the project was not granted (no file
//! paths, no other datasets, no catalog tables, no other project's results); let SQL define,
//! modify, copy or set anything; show a stored key column without re-keying it per project;
//! run a query without asking `medinfra_govern::can` for every dataset version and writing an
//! audit record first; read a superseded version or keep a copy of one; read another
//! project's copy or a copy made under another key; or put data values or key material in
//! errors and logs.

mod coop;
pub mod distinct;
mod error;
mod guard;
mod limits;
mod names;
mod pseudonym;
mod rekeyed;
mod results;
pub mod udf;
mod views;
pub mod window;
mod workspace;

pub use error::AnalysisError;
pub use guard::{CATALOG, SCHEMA};
pub use limits::{Limits, PARTITIONS_PER_CPU};
pub use names::validate_result_name;
pub use pseudonym::{PROJECT_TOKEN_CHARS, PROJECT_TOKEN_COLUMNS, project_token_udf};
pub use rekeyed::{CopyReport, SUPERSEDED_RULE, prepare_rekeyed_copies, purge_superseded_copies};
pub use results::ResultInfo;
pub use views::{DROPPED_ROLE, LINKAGE_COLUMNS, LINKAGE_WITHHELD, view_columns, view_columns_at};
pub use workspace::{DatasetGrant, QueryOutput, RekeyMode, Workspace, WorkspaceSpec};
