//! Line framing shared by the tab-separated DPC survey files (様式1 and the D file): bounded
//! line reads, encoding detection, line-end and decoding findings, and the writer side.
//!
//! Encoding rule (japan.md §10.2 says CP932 "assumed", unverified; the public EF sample is
//! UTF-8): decided by the first non-ASCII line — valid UTF-8 → UTF-8, else CP932. The same rule
//! as [`crate::ef`], kept here for the newer readers.

use std::io::{BufRead, Read, Write};

use encoding_rs::SHIFT_JIS;

use crate::ef::TextEncoding;
use crate::finding::{Finding, FindingKind, FindingLog, Severity};
use crate::uke::{MAX_LINE_BYTES, parse_date};

/// One decoded line split at tabs.
#[derive(Debug)]
pub(crate) struct TsvLine {
    pub line: u64,
    pub columns: Vec<String>,
}

/// Reads tab-separated lines with bounded memory (one reused buffer of at most
/// [`MAX_LINE_BYTES`]); framing problems go to the shared [`FindingLog`].
pub(crate) struct TsvLines<R> {
    inner: R,
    pub file: String,
    pub record_type: &'static str,
    pub line: u64,
    buf: Vec<u8>,
    pub encoding: Option<TextEncoding>,
    pub log: FindingLog,
    done: bool,
}

impl<R: BufRead> TsvLines<R> {
    pub fn new(inner: R, file: String, record_type: &'static str) -> Self {
        TsvLines {
            inner,
            file,
            record_type,
            line: 0,
            buf: Vec::new(),
            encoding: None,
            log: FindingLog::default(),
            done: false,
        }
    }

    pub fn report(
        &mut self,
        kind: FindingKind,
        severity: Severity,
        field: Option<&str>,
        value: Option<String>,
        reason: impl Into<String>,
    ) {
        self.log.push(Finding {
            file: self.file.clone(),
            line: Some(self.line),
            record_type: Some(self.record_type.to_owned()),
            field: field.map(str::to_owned),
            value_masked: value,
            reason: reason.into(),
            severity,
            kind,
        });
    }

    fn decode(&mut self) -> Option<String> {
        if self.encoding.is_none() && !self.buf.is_ascii() {
            self.encoding = Some(if std::str::from_utf8(&self.buf).is_ok() {
                TextEncoding::Utf8
            } else {
                TextEncoding::Cp932
            });
        }
        match self.encoding {
            None | Some(TextEncoding::Utf8) => {
                std::str::from_utf8(&self.buf).ok().map(str::to_owned)
            }
            Some(TextEncoding::Cp932) => SHIFT_JIS
                .decode_without_bom_handling_and_without_replacement(&self.buf)
                .map(|c| c.into_owned()),
        }
    }

    /// The next non-empty decoded line, or `None` at the end (or after a fatal read problem).
    pub fn next_line(&mut self) -> Option<TsvLine> {
        while !self.done {
            self.buf.clear();
            let mut limited = <&mut R as Read>::take(&mut self.inner, MAX_LINE_BYTES as u64);
            let read = match limited.read_until(b'\n', &mut self.buf) {
                Ok(n) => n,
                Err(e) => {
                    self.report(
                        FindingKind::IoError,
                        Severity::FileFatal,
                        None,
                        None,
                        format!("read failed: {}", e.kind()),
                    );
                    self.done = true;
                    return None;
                }
            };
            if read == 0 {
                if self.line == 0 {
                    self.log.push(Finding {
                        file: self.file.clone(),
                        line: None,
                        record_type: Some(self.record_type.to_owned()),
                        field: None,
                        value_masked: None,
                        reason: "file has no rows".to_owned(),
                        severity: Severity::FileFatal,
                        kind: FindingKind::EmptyFile,
                    });
                }
                self.done = true;
                return None;
            }
            self.line += 1;
            if self.buf.last() != Some(&b'\n') {
                if read >= MAX_LINE_BYTES {
                    self.report(
                        FindingKind::LineTooLong,
                        Severity::FileFatal,
                        None,
                        None,
                        format!("line longer than {MAX_LINE_BYTES} bytes"),
                    );
                    self.done = true;
                    return None;
                }
                self.report(
                    FindingKind::TruncatedLastLine,
                    Severity::FileFatal,
                    None,
                    None,
                    "last line not terminated by a line end",
                );
            }
            while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                self.buf.pop();
            }
            if self.buf.is_empty() {
                self.report(
                    FindingKind::EmptyLine,
                    Severity::Warning,
                    None,
                    None,
                    "empty line skipped",
                );
                continue;
            }
            if self.buf.contains(&b'\r') {
                // A lone CR inside a line would end up inside a cell and could not be written
                // back; the row is quarantined.
                self.report(
                    FindingKind::BadRow,
                    Severity::ReceiptQuarantine,
                    None,
                    None,
                    "carriage return inside a line",
                );
                continue;
            }
            let Some(text) = self.decode() else {
                self.report(
                    FindingKind::UndecodableBytes,
                    Severity::FileFatal,
                    None,
                    None,
                    "bytes are not valid in the file's encoding",
                );
                continue;
            };
            let columns = text.split('\t').map(str::to_owned).collect();
            return Some(TsvLine {
                line: self.line,
                columns,
            });
        }
        None
    }

    pub fn finish(self) -> Vec<Finding> {
        self.log.into_findings(&self.file)
    }
}

/// A Gregorian `YYYYMMDD` day (DPC files never use era dates).
pub(crate) fn check_gregorian(value: &str) -> Result<(), String> {
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected YYYYMMDD (8 digits)".to_owned());
    }
    parse_date(value).map(|_| ()).map_err(|issue| issue.reason)
}

/// Why a tab-separated row could not be written (positions only, never values).
#[derive(Debug, thiserror::Error)]
pub enum TsvWriteError {
    #[error("row {row}: column {column} contains a tab or line break")]
    Separator { row: usize, column: usize },
    #[error("row {row}: column {column} has a character the encoding cannot carry")]
    Unencodable { row: usize, column: usize },
    #[error("row {row}: {reason}")]
    Invalid { row: usize, reason: String },
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes one row of cells joined by tabs plus `line_end`, in `encoding`.
pub(crate) fn write_cells<W: Write>(
    out: &mut W,
    row: usize,
    cells: &[&str],
    encoding: TextEncoding,
    line_end: &str,
) -> Result<(), TsvWriteError> {
    if let Some(column) = cells.iter().position(|c| c.contains(['\t', '\r', '\n'])) {
        return Err(TsvWriteError::Separator { row, column });
    }
    let mut line = cells.join("\t");
    line.push_str(line_end);
    match encoding {
        TextEncoding::Utf8 => out.write_all(line.as_bytes())?,
        TextEncoding::Cp932 => {
            let (bytes, _, bad) = SHIFT_JIS.encode(&line);
            if !bad {
                out.write_all(&bytes)?;
                return Ok(());
            }
            // 外字 (user-defined area) decodes to private-use code points the WHATWG encoder
            // will not map back; the UKE writer's slow path does (found by the FF1 fuzzer).
            let mut slow = Vec::with_capacity(line.len() * 2);
            if !crate::uke::writer::encode_with_user_defined(&line, &mut slow) {
                let column = cells
                    .iter()
                    .position(|c| !crate::uke::writer::encode_with_user_defined(c, &mut Vec::new()))
                    .unwrap_or(0);
                return Err(TsvWriteError::Unencodable { row, column });
            }
            out.write_all(&slow)?;
        }
    }
    Ok(())
}
