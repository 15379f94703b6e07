//! Entry points for the cargo-fuzz targets of the canonical mappers
//! (`crates/formats/fuzz/fuzz_targets/*_map.rs`): one unit of a given kind, read and mapped
//! into a version writer that the caller drops uncommitted. Compiled only with the `fuzzing`
//! feature; not part of the API.

use std::path::Path;

use medinfra_store::VersionWriter;

use crate::inputs::{Input, InputKind, hash_input};
use crate::{FileOutcome, IngestError, IngestOptions};

/// The unit kinds whose mapping is fuzzed (the recognition by content is skipped: the
/// mapper must stand any bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    FhirBundle,
    FhirNdjson,
    DpcEf,
    DpcFf1,
    DpcD,
    MappedCsv,
    MappedParquet,
}

/// Map the file at `path` as a unit of `kind`, exactly as `ingest` does once the unit is
/// recognised (FHIR: the patient index of the unit first).
pub fn map_unit(
    writer: &VersionWriter,
    opts: &IngestOptions,
    kind: UnitKind,
    path: &Path,
) -> Result<FileOutcome, IngestError> {
    let kind = match kind {
        UnitKind::FhirBundle => InputKind::FhirBundle,
        UnitKind::FhirNdjson => InputKind::FhirNdjson,
        UnitKind::DpcEf => InputKind::DpcEf,
        UnitKind::DpcFf1 => InputKind::DpcFf1,
        UnitKind::DpcD => InputKind::DpcD,
        UnitKind::MappedCsv => InputKind::MappedCsv,
        UnitKind::MappedParquet => InputKind::MappedParquet,
    };
    let input = Input {
        path: path.to_path_buf(),
        kind,
    };
    let (sha, bytes) = hash_input(&input)?;
    let patients = if matches!(kind, InputKind::FhirBundle | InputKind::FhirNdjson) {
        crate::fhir_map::patient_index(&[&input])?
    } else {
        Default::default()
    };
    crate::run::ingest_input(writer, opts, &input, &sha, bytes, &patients, &|_| {})
}
