//! The remote analysis workspace (HIC-like): one Apache DataFusion session per project that
//! sees only the project's granted dataset versions, through views that re-key person and
//! record keys per project, with time, memory and row limits, researcher UDFs, and named
//! result tables kept inside the workspace.
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
//! audit record first; or put data values or key material in errors and logs.

mod error;
mod guard;
mod limits;
mod names;
mod pseudonym;
mod results;
pub mod udf;
mod views;
mod workspace;

pub use error::AnalysisError;
pub use guard::{CATALOG, SCHEMA};
pub use limits::Limits;
pub use names::validate_result_name;
pub use pseudonym::{PROJECT_TOKEN_COLUMNS, project_token_udf};
pub use results::ResultInfo;
pub use views::{DROPPED_ROLE, view_columns};
pub use workspace::{DatasetGrant, QueryOutput, Workspace, WorkspaceSpec};
