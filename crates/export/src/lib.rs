//! Exports of the research database in the formats other tools read: today FHIR R4 Bulk Data
//! (one NDJSON file per resource type and the `$export` manifest), for FHIR users who want the
//! pseudonymized research data in their own stack.
//!
//! Reads tables through `medinfra_extract::TableSource` (the binary streams them from the
//! store) and writes plain files into one output directory.
//!
//! Must never: export an identified-tier dataset (refused before anything is read); write a
//! column the canonical model marks as a direct identifier (names, chart numbers, card numbers,
//! phone, address — they are not read at all); hold a whole table in memory (batches stream to
//! the files; only the set of persons already written is kept).

mod fhir;

pub use fhir::{BulkManifest, BulkOutput, ExportError, export_fhir};
