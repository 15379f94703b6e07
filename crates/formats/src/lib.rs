//! medinfra's provider-file format layer: bytes ⇄ typed provider records, plus validation
//! findings as data.
//!
//! Formats: electronic receipt files (`.UKE`, [`uke`]) and the DPC survey EF integrated file
//! ([`ef`]). Each reader streams with bounded
//! memory and reports every problem as a [`Finding`] (file, line, record type, field, masked
//! value, reason, severity); each writer produces bytes its reader accepts.
//!
//! This crate must never: panic on any input, put an identifier in clear into a finding or
//! error, decide ingest policy (it only grades findings by [`Severity`]), or map provider
//! records to medinfra's canonical tables (that mapping belongs to the model/ingest layer).

pub mod ef;
pub mod finding;
pub mod uke;

pub use finding::{Finding, FindingKind, Severity};
