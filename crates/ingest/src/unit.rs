//! What every format's mapper shares, in one place: the ingest options, the part files of
//! one submission unit, and the rejection policy. Each format implements [`UnitMapper`]
//! (`uke_file.rs`, `dpc_map.rs`, `ssmix2_map.rs`, `checkup_map.rs`, `fhir_map.rs`,
//! `table_map.rs`); [`map_unit`] runs one and decides, the same way for all of them, whether
//! the unit is accepted (its parts kept) or rejected whole (its parts abandoned):
//!
//! 1. a rule of the format itself rejected it (the mapper's answer: another provider's file,
//!    structural damage, GO totals under `--strict`);
//! 2. more than `max_quarantined_share` of its units (receipts, messages, resources, rows,
//!    documents) were quarantined;
//! 3. none of its units could be accepted.

use std::collections::BTreeMap;
use std::sync::Arc;

use medinfra_model::CanonicalTable;
use medinfra_model::buffers::{BATCH_ROWS, TableBuf};
use medinfra_model::masters::CodeMaster;
use medinfra_store::{PartWriter, VersionWriter};

use crate::IngestError;
use crate::report::{FileOutcome, FileStatus};
use crate::uke_map::FileRows;

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// 10 digits: prefecture (2) + fee schedule (1: 医科, 3: 歯科, 4: 調剤) + facility code (7).
    pub provider_id: String,
    /// Reject files whose GO totals disagree with their receipts (default: report only).
    pub strict: bool,
    /// Reject a file when more than this share of its receipts is quarantined.
    pub max_quarantined_share: f64,
    /// Code masters for ICD-10 lookups of disease codes (may be empty). Shared, so the
    /// options of the many providers of a bulk ingest do not each copy the masters.
    pub masters: Arc<CodeMaster>,
    /// Mapping file for providers' own CSV/Parquet exports (CLI `--mapping FILE`); without
    /// it, CSV files are not recognised and Parquet files are rejected.
    pub mapping: Option<crate::table_map::TableMapping>,
}

impl IngestOptions {
    pub fn new(provider_id: &str) -> Self {
        IngestOptions {
            provider_id: provider_id.to_string(),
            strict: false,
            max_quarantined_share: 0.5,
            masters: Arc::new(CodeMaster::default()),
            mapping: None,
        }
    }
}

/// The part files of one input file, opened on first use.
#[derive(Default)]
pub(crate) struct FileParts {
    parts: BTreeMap<&'static str, PartWriter>,
    rows: BTreeMap<String, u64>,
}

impl FileParts {
    pub(crate) fn flush<B: TableBuf>(
        &mut self,
        writer: &VersionWriter,
        key: &str,
        buf: &mut B,
        name: &'static str,
        force: bool,
    ) -> Result<(), IngestError> {
        if buf.rows() == 0 || (!force && buf.rows() < BATCH_ROWS) {
            return Ok(());
        }
        *self.rows.entry(name.to_string()).or_default() += buf.rows() as u64;
        let batch = buf.take().map_err(|source| IngestError::Arrow {
            table: name,
            source,
        })?;
        let table = CanonicalTable::from_name(name).unwrap_or(CanonicalTable::Claims);
        if !self.parts.contains_key(name) {
            let pw = writer.named_part_writer(name, key, table.schema())?;
            self.parts.insert(name, pw);
        }
        if let Some(pw) = self.parts.get_mut(name) {
            pw.write(&batch)?;
        }
        Ok(())
    }

    pub(crate) fn flush_all(
        &mut self,
        writer: &VersionWriter,
        key: &str,
        rows: &mut FileRows,
        force: bool,
    ) -> Result<(), IngestError> {
        self.flush(writer, key, &mut rows.claims, "claims", force)?;
        self.flush(writer, key, &mut rows.diagnoses, "diagnoses", force)?;
        self.flush(writer, key, &mut rows.procedures, "procedures", force)?;
        self.flush(writer, key, &mut rows.drugs, "drugs", force)?;
        self.flush(writer, key, &mut rows.devices, "devices", force)?;
        self.flush(writer, key, &mut rows.admissions, "admissions", force)?;
        self.flush(writer, key, &mut rows.persons, "persons", force)?;
        self.flush(writer, key, &mut rows.insurance, "insurance_periods", force)?;
        self.flush(writer, key, &mut rows.notes, "claim_notes", force)
    }

    pub(crate) fn finish(
        self,
        writer: &VersionWriter,
    ) -> Result<BTreeMap<String, u64>, IngestError> {
        for (_, pw) in self.parts {
            writer.finish_part(pw)?;
        }
        Ok(self.rows)
    }

    pub(crate) fn abandon(self, writer: &VersionWriter) -> Result<(), IngestError> {
        for (_, pw) in self.parts {
            writer.abandon_part(pw)?;
        }
        Ok(())
    }
}

/// The submission unit a mapper reads.
#[derive(Clone, Copy)]
pub(crate) struct Unit<'a> {
    pub input: &'a crate::inputs::Input,
    pub sha256: &'a str,
    pub bytes: u64,
    /// Called with the bytes read since the last call (the progress bar).
    pub progress: &'a dyn Fn(u64),
}

/// Where a mapper writes: the version being built, the options, and the unit's part-file key
/// (the first 16 hex digits of its SHA-256).
pub(crate) struct UnitCx<'a> {
    pub writer: &'a VersionWriter,
    pub opts: &'a IngestOptions,
    pub key: &'a str,
}

/// What reading a unit produced.
pub(crate) struct UnitRead<P> {
    pub outcome: FileOutcome,
    /// Rows still buffered, written only if the unit is accepted.
    pub pending: P,
    /// A whole-unit rejection by one of the format's own rules.
    pub rejection: Option<String>,
}

/// One format's mapping of a submission unit to canonical rows.
pub(crate) trait UnitMapper {
    /// The unit of quarantine, as reports name it ("receipt", "message", "resource", …).
    const UNIT: &'static str;
    /// Rows still buffered when reading ends.
    type Pending;
    /// Streams the unit into `parts` (flushing full batches), counting its units, findings
    /// and problems in the outcome.
    fn read(
        self,
        cx: &UnitCx<'_>,
        parts: &mut FileParts,
    ) -> Result<UnitRead<Self::Pending>, IngestError>;
    /// Writes the rows still buffered of an accepted unit.
    fn write_pending(
        cx: &UnitCx<'_>,
        parts: &mut FileParts,
        pending: Self::Pending,
    ) -> Result<(), IngestError>;
}

/// Runs one mapper and applies the rejection policy (module docs).
pub(crate) fn map_unit<M: UnitMapper>(
    mapper: M,
    cx: &UnitCx<'_>,
) -> Result<FileOutcome, IngestError> {
    let mut parts = FileParts::default();
    let UnitRead {
        mut outcome,
        pending,
        mut rejection,
    } = mapper.read(cx, &mut parts)?;
    if rejection.is_none() {
        rejection = quarantine_rejection(&outcome, cx.opts, M::UNIT);
    }
    if rejection.is_none() && outcome.receipts_accepted == 0 {
        rejection = Some(format!("no {} could be accepted", M::UNIT));
    }
    match rejection {
        Some(reason) => {
            parts.abandon(cx.writer)?;
            outcome.status = FileStatus::Rejected;
            outcome.rejection = Some(reason);
            outcome.receipts_accepted = 0;
        }
        None => {
            M::write_pending(cx, &mut parts, pending)?;
            outcome.rows = parts.finish(cx.writer)?;
        }
    }
    Ok(outcome)
}

/// The rejection when more than the allowed share of a unit's receipts (messages, resources,
/// rows, documents) was quarantined.
fn quarantine_rejection(outcome: &FileOutcome, opts: &IngestOptions, unit: &str) -> Option<String> {
    if outcome.receipts == 0 {
        return None;
    }
    let share = outcome.receipts_quarantined as f64 / outcome.receipts as f64;
    (share > opts.max_quarantined_share).then(|| {
        format!(
            "{:.0} % of {unit}s quarantined, above the limit of {:.0} %",
            share * 100.0,
            opts.max_quarantined_share * 100.0
        )
    })
}
