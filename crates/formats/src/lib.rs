//! medinfra's provider-file format layer: bytes ⇄ typed provider records, plus validation
//! findings as data.
//!
//! Formats: electronic receipt files (`.UKE`, [`uke`]); DPC survey files — EF integrated file
//! ([`ef`]), 様式1 ([`ff1`]) and the D file ([`dfile`]); SS-MIX2 standardized storage
//! ([`ssmix2`]); 特定健診 CDA documents and archives ([`checkup`]); JP Core FHIR R4 Bundle and
//! NDJSON ([`fhir`]); provider CSV exports with a TOML mapping ([`csv_map`]). Each reader
//! streams with bounded memory and reports every problem as a [`Finding`] (file, line /
//! HL7 segment / XML or JSON path, record type, field, masked value, reason, severity); each
//! writer produces bytes its reader accepts.
//!
//! This crate must never: panic on any input, put an identifier in clear into a finding or
//! error, decide ingest policy (it only grades findings by [`Severity`]), or map provider
//! records to medinfra's canonical tables (that mapping belongs to the model/ingest layer).

pub mod checkup;
pub mod csv_map;
pub mod dfile;
pub mod ef;
pub mod ff1;
pub mod fhir;
pub mod finding;
pub mod ssmix2;
mod tsv;
pub mod uke;

pub use tsv::TsvWriteError;

pub use finding::{Finding, FindingKind, Severity};
