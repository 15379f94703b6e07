//! Validation findings: every problem a reader sees in a provider file, as data.
//!
//! Readers never fail on bad content; they report a [`Finding`] and keep going, so ingest can
//! decide by [`Severity`] (reject the file, quarantine a receipt, or just report).

use serde::{Deserialize, Serialize};

/// What a finding means for ingest (issue 3's policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    /// Reported; the data is ingested.
    Warning,
    /// The receipt (or record group) the finding belongs to is quarantined; the rest ingests.
    ReceiptQuarantine,
    /// Structural damage: the whole file is rejected.
    FileFatal,
}

/// The class of problem; stable names for reports, tests and thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FindingKind {
    EmptyFile,
    IoError,
    UndecodableBytes,
    LineTooLong,
    TruncatedLastLine,
    BareLineFeed,
    EmptyLine,
    EofMarker,
    MissingHeader,
    RecordBeforeHeader,
    DuplicateHeader,
    MissingTrailer,
    DuplicateTrailer,
    RecordAfterTrailer,
    RecordOutsideReceipt,
    UnknownRecordType,
    WrongFieldCount,
    BadDate,
    BadEraDate,
    BadYearMonth,
    NotANumber,
    BadCodeShape,
    DayCountMismatch,
    MissingDayCounts,
    UnclosedCalculationUnit,
    PointsWithoutCount,
    CountWithoutPoints,
    UnknownPayerShare,
    ReceiptPointsMismatch,
    ReceiptNumberOutOfSequence,
    ReceiptTooLarge,
    TrailerCountMismatch,
    TrailerPointsMismatch,
    TooManyFindings,
    /// A tab-separated (DPC survey) row problem that has no more specific kind.
    BadRow,
    /// A file (or archive member) above the reader's size cap; nothing of it is parsed.
    FileTooLarge,
    /// A path or file name that breaks the format's naming rules (SS-MIX2 tree, 特定健診 archive).
    BadPath,
    /// A value in the content disagrees with the same value in the path (e.g. PID vs folder).
    PathMismatch,
    /// An HL7 v2 segment or message frame that cannot be parsed.
    BadSegment,
    /// A segment the message type requires is absent.
    MissingSegment,
    /// XML that is not well-formed or not the expected document.
    BadXml,
    /// A required XML element or attribute is absent.
    MissingElement,
    /// JSON that does not parse or does not match the resource's shape.
    BadJson,
    /// A column the mapping names is absent from the CSV header.
    MissingColumn,
    /// The mapping file itself is unusable.
    BadMapping,
    /// An archive member or index entry that the other side does not list.
    IndexMismatch,
}

impl FindingKind {
    /// Findings about the file as a whole (rather than one receipt). GO-total mismatches are
    /// file-level but only [`Severity::Warning`] by default; ingest's `--strict` escalates them.
    pub fn is_file_level(self) -> bool {
        !matches!(
            self,
            FindingKind::WrongFieldCount
                | FindingKind::BadDate
                | FindingKind::BadEraDate
                | FindingKind::BadYearMonth
                | FindingKind::NotANumber
                | FindingKind::BadCodeShape
                | FindingKind::DayCountMismatch
                | FindingKind::MissingDayCounts
                | FindingKind::UnclosedCalculationUnit
                | FindingKind::PointsWithoutCount
                | FindingKind::CountWithoutPoints
                | FindingKind::UnknownPayerShare
                | FindingKind::ReceiptPointsMismatch
                | FindingKind::ReceiptNumberOutOfSequence
                | FindingKind::UnknownRecordType
                | FindingKind::PathMismatch
                | FindingKind::BadJson
                | FindingKind::BadRow
        )
    }
}

/// One problem in a provider file. `value_masked` never holds an identifier in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The file label the reader was given (a path or archive member name).
    pub file: String,
    /// 1-based line; `None` only when the file has no lines at all.
    pub line: Option<u64>,
    /// Record identifier (`RE`, `SI`, …) when the finding is about one record.
    pub record_type: Option<String>,
    /// Field name as japan.md names it (e.g. `合計点数`).
    pub field: Option<String>,
    pub value_masked: Option<String>,
    pub reason: String,
    pub severity: Severity,
    pub kind: FindingKind,
}

impl Finding {
    /// A readable one-line form for text reports and logs.
    pub fn describe(&self) -> String {
        let mut s = format!("{:?} {:?}: {}", self.severity, self.kind, self.file);
        if let Some(l) = self.line {
            s.push_str(&format!(":{l}"));
        }
        if let Some(r) = &self.record_type {
            s.push_str(&format!(" {r}"));
        }
        if let Some(f) = &self.field {
            s.push_str(&format!(".{f}"));
        }
        if let Some(v) = &self.value_masked {
            s.push_str(&format!(" = {v:?}"));
        }
        s.push_str(&format!(" — {}", self.reason));
        s
    }
}

/// Longest value shown in a finding; longer (non-identifier) values are cut.
const MAX_SHOWN_CHARS: usize = 40;

/// Masks an identifier: only its length in characters survives, enough to tell "empty" from
/// "too long" without revealing the value.
pub fn mask(value: &str) -> String {
    format!("<masked:{} chars>", value.chars().count())
}

/// The value as a finding may show it: masked when `identifier`, else cut to a short prefix.
pub fn shown_value(value: &str, identifier: bool) -> String {
    if identifier {
        mask(value)
    } else if value.chars().count() > MAX_SHOWN_CHARS {
        let cut: String = value.chars().take(MAX_SHOWN_CHARS).collect();
        format!("{cut}…")
    } else {
        value.to_owned()
    }
}

/// A bounded list of findings: keeps the first `cap` of each kind and counts the rest, so a
/// file with a problem on every line cannot exhaust memory.
#[derive(Debug, Clone, Default)]
pub struct FindingLog {
    kept: Vec<Finding>,
    dropped: Vec<(FindingKind, u64)>,
}

/// Findings of one kind kept per file before the rest are only counted.
pub const FINDINGS_PER_KIND: usize = 100;

impl FindingLog {
    pub fn push(&mut self, finding: Finding) {
        let same = self.kept.iter().filter(|f| f.kind == finding.kind).count();
        if same < FINDINGS_PER_KIND {
            self.kept.push(finding);
        } else if let Some(entry) = self.dropped.iter_mut().find(|(k, _)| *k == finding.kind) {
            entry.1 += 1;
        } else {
            self.dropped.push((finding.kind, 1));
        }
    }

    /// All kept findings, plus one [`FindingKind::TooManyFindings`] per kind that overflowed
    /// (carrying the highest severity of that kind).
    pub fn into_findings(self, file: &str) -> Vec<Finding> {
        let mut out = self.kept;
        for (kind, count) in self.dropped {
            let severity = out
                .iter()
                .filter(|f| f.kind == kind)
                .map(|f| f.severity)
                .max()
                .unwrap_or(Severity::Warning);
            out.push(Finding {
                file: file.to_owned(),
                line: None,
                record_type: None,
                field: None,
                value_masked: None,
                reason: format!("{count} more {kind:?} findings not listed"),
                severity,
                kind: FindingKind::TooManyFindings,
            });
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}
