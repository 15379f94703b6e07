//! Provider-specific CSV exports with a TOML mapping file (issue 3: "any CSV with a mapping
//! file"): each mapped source column is renamed to a canonical field-name string. What the
//! canonical names mean is the model layer's business; this module only renames, checks the
//! header against the mapping, and reports.
//!
//! Mapping file:
//! ```toml
//! encoding = "utf-8"          # or "cp932"; default utf-8
//! delimiter = ","             # one ASCII byte; default ","
//! identifiers = ["patient_id"] # canonical fields masked in findings
//! [columns]
//! "患者ID" = "patient_id"
//! "検査日" = "test_date"
//! ```
//! The header row is required. A mapped column missing from the header is FileFatal; a header
//! column the mapping does not name is a Warning (ignored); a row with the wrong number of
//! fields is quarantined. Streaming: one record buffer (the csv crate's), no whole-file read.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use encoding_rs::SHIFT_JIS;
use serde::Deserialize;

use crate::ef::TextEncoding;
use crate::finding::{Finding, FindingKind, FindingLog, Severity, shown_value};

/// A parsed mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub encoding: TextEncoding,
    pub delimiter: u8,
    /// Source column → canonical field, sorted by source column.
    pub columns: BTreeMap<String, String>,
    pub identifiers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    delimiter: Option<String>,
    #[serde(default)]
    identifiers: Vec<String>,
    /// The canonical table the rows go to; read by ingest ([`Mapping::from_toml_with_table`]).
    #[serde(default)]
    table: Option<String>,
    columns: BTreeMap<String, String>,
}

/// Why a mapping file is unusable (no values from data in it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mapping: {0}")]
pub struct MappingError(pub String);

impl Mapping {
    pub fn from_toml(text: &str) -> Result<Mapping, MappingError> {
        Self::from_toml_with_table(text).map(|(m, _)| m)
    }

    /// As [`Mapping::from_toml`], plus the optional top-level `table = "…"` key naming the
    /// canonical table the rows are meant for (this module does not interpret it).
    pub fn from_toml_with_table(text: &str) -> Result<(Mapping, Option<String>), MappingError> {
        let f: MappingFile =
            toml::from_str(text).map_err(|e| MappingError(e.message().to_owned()))?;
        let encoding = match f.encoding.as_deref().unwrap_or("utf-8") {
            "utf-8" | "UTF-8" => TextEncoding::Utf8,
            "cp932" | "CP932" | "shift_jis" | "Shift_JIS" => TextEncoding::Cp932,
            other => return Err(MappingError(format!("unknown encoding {other:?}"))),
        };
        let delimiter = match f.delimiter.as_deref().unwrap_or(",").as_bytes() {
            [b] if b.is_ascii() && !matches!(b, b'"' | b'\r' | b'\n') => *b,
            _ => return Err(MappingError("delimiter must be one ASCII character".into())),
        };
        let mut seen = Vec::new();
        for (col, canon) in &f.columns {
            let ok = !canon.is_empty()
                && canon
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(MappingError(format!(
                    "column {col:?}: canonical name must be [a-z0-9_]+"
                )));
            }
            if seen.contains(&canon) {
                return Err(MappingError(format!(
                    "canonical field {canon:?} mapped twice"
                )));
            }
            seen.push(canon);
        }
        if f.columns.is_empty() {
            return Err(MappingError("no columns mapped".into()));
        }
        for id in &f.identifiers {
            if !f.columns.values().any(|c| c == id) {
                return Err(MappingError(format!(
                    "identifier {id:?} is not a mapped field"
                )));
            }
        }
        Ok((
            Mapping {
                encoding,
                delimiter,
                columns: f.columns,
                identifiers: f.identifiers,
            },
            f.table,
        ))
    }

    /// The mapping file text (readable back by [`Mapping::from_toml`]).
    pub fn to_toml(&self) -> String {
        let q = |s: &str| toml_quote(s);
        let mut out = format!(
            "encoding = {}\ndelimiter = {}\nidentifiers = [{}]\n\n[columns]\n",
            q(match self.encoding {
                TextEncoding::Utf8 => "utf-8",
                TextEncoding::Cp932 => "cp932",
            }),
            q(&(self.delimiter as char).to_string()),
            self.identifiers
                .iter()
                .map(|s| q(s))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (col, canon) in &self.columns {
            out.push_str(&format!("{} = {}\n", q(col), q(canon)));
        }
        out
    }
}

/// A TOML basic string (escapes as the TOML spec lists them).
fn toml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One data row: canonical field → value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedRow {
    pub line: u64,
    pub fields: BTreeMap<String, String>,
}

/// Streaming reader of a mapped CSV.
pub struct CsvMappedReader<R> {
    csv: csv::Reader<R>,
    file: String,
    mapping: Mapping,
    /// Per header column: the canonical field it maps to.
    targets: Option<Vec<Option<String>>>,
    record: csv::ByteRecord,
    log: FindingLog,
    done: bool,
    next_line: u64,
}

impl<R: Read> CsvMappedReader<R> {
    pub fn new(inner: R, file: impl Into<String>, mapping: Mapping) -> Self {
        let csv = csv::ReaderBuilder::new()
            .delimiter(mapping.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(inner);
        CsvMappedReader {
            csv,
            file: file.into(),
            mapping,
            targets: None,
            record: csv::ByteRecord::new(),
            log: FindingLog::default(),
            done: false,
            next_line: 1,
        }
    }

    pub fn finish(self) -> Vec<Finding> {
        self.log.into_findings(&self.file)
    }

    fn push(
        &mut self,
        line: Option<u64>,
        kind: FindingKind,
        severity: Severity,
        field: Option<String>,
        value: Option<String>,
        reason: String,
    ) {
        self.log.push(Finding {
            file: self.file.clone(),
            line,
            record_type: Some("CSV".to_owned()),
            field,
            value_masked: value,
            reason,
            severity,
            kind,
        });
    }

    fn decode(&self, bytes: &[u8]) -> Option<String> {
        match self.mapping.encoding {
            TextEncoding::Utf8 => std::str::from_utf8(bytes).ok().map(str::to_owned),
            TextEncoding::Cp932 => SHIFT_JIS
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(|c| c.into_owned()),
        }
    }

    /// Reads the header and matches it to the mapping; false when the file is unusable.
    fn header(&mut self, names: Vec<String>, line: u64) -> bool {
        let mut targets = Vec::new();
        for name in &names {
            let target = self.mapping.columns.get(name).cloned();
            if target.is_none() {
                self.push(
                    Some(line),
                    FindingKind::BadMapping,
                    Severity::Warning,
                    Some(name.clone()),
                    None,
                    "column not in the mapping (ignored)".to_owned(),
                );
            }
            targets.push(target);
        }
        let missing: Vec<(String, String)> = self
            .mapping
            .columns
            .iter()
            .filter(|(c, _)| !names.contains(c))
            .map(|(c, t)| (c.clone(), t.clone()))
            .collect();
        for (col, canon) in &missing {
            self.push(
                Some(line),
                FindingKind::MissingColumn,
                Severity::FileFatal,
                Some(col.clone()),
                None,
                format!("mapped column (→ {canon}) not in the header"),
            );
        }
        let dup = names
            .iter()
            .enumerate()
            .any(|(i, n)| names[..i].contains(n) && self.mapping.columns.contains_key(n));
        if dup {
            self.push(
                Some(line),
                FindingKind::BadMapping,
                Severity::FileFatal,
                None,
                None,
                "a mapped column appears twice in the header".to_owned(),
            );
        }
        self.targets = Some(targets);
        missing.is_empty() && !dup
    }
}

impl<R: Read> Iterator for CsvMappedReader<R> {
    type Item = MappedRow;

    fn next(&mut self) -> Option<MappedRow> {
        while !self.done {
            let mut record = std::mem::take(&mut self.record);
            let got = self.csv.read_byte_record(&mut record);
            // Counted here rather than taken from the csv crate's positions, which lag one line
            // behind with CRLF terminators. Quoted values may span lines.
            let line = self.next_line;
            self.next_line += 1 + record
                .iter()
                .map(|f| f.iter().filter(|b| **b == b'\n').count() as u64)
                .sum::<u64>();
            let result = match got {
                Ok(false) => {
                    if self.targets.is_none() {
                        self.push(
                            None,
                            FindingKind::EmptyFile,
                            Severity::FileFatal,
                            None,
                            None,
                            "no header row".to_owned(),
                        );
                    }
                    self.done = true;
                    None
                }
                Err(e) => {
                    let kind = if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        FindingKind::IoError
                    } else {
                        FindingKind::BadRow
                    };
                    self.push(
                        Some(line),
                        kind,
                        Severity::FileFatal,
                        None,
                        None,
                        "CSV cannot be parsed".to_owned(),
                    );
                    self.done = true;
                    None
                }
                Ok(true) => {
                    let decoded: Option<Vec<String>> =
                        record.iter().map(|f| self.decode(f)).collect();
                    match decoded {
                        None => {
                            self.push(
                                Some(line),
                                FindingKind::UndecodableBytes,
                                Severity::FileFatal,
                                None,
                                None,
                                "bytes are not valid in the mapping's encoding".to_owned(),
                            );
                            None
                        }
                        Some(cells) if self.targets.is_none() => {
                            if !self.header(cells, line) {
                                self.done = true;
                            }
                            None
                        }
                        Some(cells) => self.row(cells, line),
                    }
                }
            };
            self.record = record;
            if result.is_some() {
                return result;
            }
        }
        None
    }
}

impl<R: Read> CsvMappedReader<R> {
    fn row(&mut self, cells: Vec<String>, line: u64) -> Option<MappedRow> {
        let targets = self.targets.as_ref()?;
        if cells.len() != targets.len() {
            let reason = format!("expected {} fields, found {}", targets.len(), cells.len());
            self.push(
                Some(line),
                FindingKind::WrongFieldCount,
                Severity::ReceiptQuarantine,
                None,
                None,
                reason,
            );
            return None;
        }
        let fields = targets
            .iter()
            .zip(cells)
            .filter_map(|(t, v)| t.clone().map(|t| (t, v)))
            .collect();
        Some(MappedRow { line, fields })
    }

    /// Shows a value of canonical field `field` as findings may (masked for identifiers).
    pub fn shown(&self, field: &str, value: &str) -> String {
        shown_value(value, self.mapping.identifiers.iter().any(|i| i == field))
    }
}

/// Why a mapped CSV could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CsvWriteError {
    #[error("row {row}: field {field} is not in the mapping")]
    UnknownField { row: usize, field: String },
    #[error("row {row}: a value has characters the encoding cannot carry")]
    Unencodable { row: usize },
    #[error("write failed: {0}")]
    Csv(#[from] csv::Error),
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
}

fn encode(s: &str, enc: TextEncoding) -> Option<Vec<u8>> {
    match enc {
        TextEncoding::Utf8 => Some(s.as_bytes().to_vec()),
        TextEncoding::Cp932 => {
            let (b, _, bad) = SHIFT_JIS.encode(s);
            (!bad).then(|| b.into_owned())
        }
    }
}

/// Writes a header (the mapping's source columns) and the rows, CRLF-terminated; a field a row
/// lacks is written empty.
pub fn write_csv<W: Write>(
    out: W,
    mapping: &Mapping,
    rows: &[MappedRow],
) -> Result<W, CsvWriteError> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(mapping.delimiter)
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let header: Vec<Vec<u8>> = mapping
        .columns
        .keys()
        .map(|c| encode(c, mapping.encoding).ok_or(CsvWriteError::Unencodable { row: 0 }))
        .collect::<Result<_, _>>()?;
    w.write_record(&header)?;
    for (i, row) in rows.iter().enumerate() {
        if let Some(f) = row
            .fields
            .keys()
            .find(|f| !mapping.columns.values().any(|c| c == *f))
        {
            return Err(CsvWriteError::UnknownField {
                row: i,
                field: f.clone(),
            });
        }
        let cells: Vec<Vec<u8>> = mapping
            .columns
            .values()
            .map(|canon| {
                encode(
                    row.fields.get(canon).map_or("", String::as_str),
                    mapping.encoding,
                )
                .ok_or(CsvWriteError::Unencodable { row: i })
            })
            .collect::<Result<_, _>>()?;
        w.write_record(&cells)?;
    }
    w.flush()?;
    w.into_inner()
        .map_err(|e| CsvWriteError::Io(std::io::Error::other(e.to_string())))
}
