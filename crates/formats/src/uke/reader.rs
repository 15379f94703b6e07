//! Streaming line reader: bytes → decoded CP932 lines → typed [`Record`]s with findings.
//!
//! Memory is bounded by [`MAX_LINE_BYTES`] (one line buffer, reused) and the capped finding
//! log, whatever the file size. The reader never fails: I/O errors and bad bytes become
//! findings and the iterator ends or skips the line.

use std::io::{BufRead, ErrorKind};

use encoding_rs::SHIFT_JIS;

use super::layout::FieldError;
use super::records::{
    DPC_ONLY, PHARMACY_ONLY, RawRecord, RawWhy, Record, UNTYPED_KNOWN, decode_typed, layout_of,
};
use super::value::IssueKind;
use crate::finding::{Finding, FindingKind, FindingLog, Severity, mask, shown_value};

/// Longest line accepted (bytes, without the line end). The longest fixed-layout record is a
/// few hundred bytes; SJ free text is the only long field. A longer line is a structural error.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The comma-separated fields of a line. `memchr` rather than `str::split(',')`: the char
/// searcher confirms every comma with a one-byte `memcmp` call, which `perf` showed as about
/// 7 % of a bulk ingest. A comma is ASCII, so each piece of valid UTF-8 cut at one is valid.
fn split_fields(text: &str) -> Vec<&str> {
    let mut fields = Vec::with_capacity(48);
    let mut start = 0;
    for i in memchr::memchr_iter(b',', text.as_bytes()) {
        fields.push(&text[start..i]);
        start = i + 1;
    }
    fields.push(&text[start..]);
    fields
}

/// Fields without which a receipt has no patient or no month: an unreadable value there
/// quarantines the receipt; any other unreadable field is left empty with a Warning.
fn receipt_critical(code: &str, field: &str) -> bool {
    matches!(
        (code, field),
        ("RE", "診療年月" | "生年月日") | ("HO", "保険者番号")
    )
}

/// DOS end-of-file marker some older writers append after the last line.
const EOF_MARKER: u8 = 0x1A;

/// Which kind of receipt file this is, detected from content (never from the file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FileKind {
    /// No header or distinguishing record seen (yet).
    Unknown,
    /// 医科: IR header, no DPC-only records.
    Medical,
    /// DPC: IR header plus at least one DPC-only record (BU, SB, KK, SK, GA, HH, GT, CD).
    Dpc,
    /// 調剤: YK header (or pharmacy-only records).
    Pharmacy,
}

/// One record and the findings about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLine {
    /// 1-based line number.
    pub line: u64,
    pub record: Record,
    /// Record-level findings (bad field values, wrong field count, unknown type).
    pub findings: Vec<Finding>,
}

struct RawLine {
    terminated: bool,
    too_long: bool,
}

/// Streaming UKE reader; an iterator of [`RecordLine`]. File-level findings (encoding, line
/// ends, truncation) are collected and returned by [`UkeReader::finish`].
pub struct UkeReader<R> {
    inner: R,
    file: String,
    line_no: u64,
    buf: Vec<u8>,
    kind: FileKind,
    log: FindingLog,
    done: bool,
    reported_bare_lf: bool,
}

impl<R: BufRead> UkeReader<R> {
    /// `file` labels findings (a path or archive member name); it is not opened.
    pub fn new(inner: R, file: impl Into<String>) -> Self {
        UkeReader {
            inner,
            file: file.into(),
            line_no: 0,
            buf: Vec::new(),
            kind: FileKind::Unknown,
            log: FindingLog::default(),
            done: false,
            reported_bare_lf: false,
        }
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    /// The kind detected so far (final once the iterator is exhausted).
    pub fn kind(&self) -> FileKind {
        self.kind
    }

    /// Lines read so far.
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    /// File-level findings collected so far; call after the iterator is exhausted.
    pub fn finish(mut self) -> Vec<Finding> {
        self.take_findings()
    }

    /// Takes the file-level findings collected so far (the log starts empty again).
    pub fn take_findings(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.log).into_findings(&self.file)
    }

    fn finding(&self, kind: FindingKind, severity: Severity, reason: String) -> Finding {
        Finding {
            file: self.file.clone(),
            line: (self.line_no > 0).then_some(self.line_no),
            record_type: None,
            field: None,
            value_masked: None,
            reason,
            severity,
            kind,
        }
    }

    /// Reads up to the next LF into `buf` (without it), keeping at most `MAX_LINE_BYTES`.
    /// Hand-rolled over `fill_buf` because `read_until` would grow without bound on a file
    /// that has no line ends.
    fn read_line(&mut self) -> std::io::Result<Option<RawLine>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(any.then_some(RawLine {
                    terminated: false,
                    too_long,
                }));
            }
            any = true;
            let (chunk, consumed, found) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.buf.len());
            if chunk.len() > room {
                too_long = true;
            }
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.inner.consume(consumed);
            if found {
                return Ok(Some(RawLine {
                    terminated: true,
                    too_long,
                }));
            }
        }
    }

    fn note_kind(&mut self, code: &str) {
        self.kind = match (self.kind, code) {
            (FileKind::Pharmacy, _) => FileKind::Pharmacy,
            (_, "YK") => FileKind::Pharmacy,
            (_, c) if PHARMACY_ONLY.contains(&c) => FileKind::Pharmacy,
            (_, c) if DPC_ONLY.contains(&c) => FileKind::Dpc,
            (FileKind::Unknown, "IR") => FileKind::Medical,
            (k, _) => k,
        };
    }

    fn parse(&mut self, text: &str) -> RecordLine {
        let fields = split_fields(text);
        let code = fields.first().copied().unwrap_or("");
        let well_formed_code = code.len() == 2
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if well_formed_code {
            self.note_kind(code);
        }
        let owned = || fields.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>();
        let mut findings = Vec::new();
        // The frame records decide whether the file can be read at all.
        let severity = if matches!(code, "IR" | "GO" | "YK") {
            Severity::FileFatal
        } else {
            Severity::ReceiptQuarantine
        };
        let typed_here = self.kind != FileKind::Pharmacy || code == "GO";
        let frame = severity == Severity::FileFatal;
        let record = match layout_of(code).filter(|_| well_formed_code && typed_here) {
            Some((count, _)) if frame && fields.len() != count => {
                findings.push(Finding {
                    record_type: Some(code.to_owned()),
                    ..self.finding(
                        FindingKind::WrongFieldCount,
                        severity,
                        format!("expected {count} fields, found {}", fields.len()),
                    )
                });
                Record::Raw(RawRecord {
                    fields: owned(),
                    why: RawWhy::Invalid,
                })
            }
            Some((count, _)) => {
                // Quarantine policy: a receipt is lost only when it is unusable. A record of
                // another layout revision (fields appended at the end, as the 2018 spec did
                // for RE) or a field that does not read is kept, with the odd part left empty
                // and a Warning; only the fields without which there is no patient or month
                // (`receipt_critical`) quarantine the receipt.
                // The common case (right count, every field reads) allocates nothing more.
                if fields.len() == count
                    && let Some(Ok(record)) = decode_typed(code, &fields)
                {
                    return RecordLine {
                        line: self.line_no,
                        record,
                        findings,
                    };
                }
                let mut cols: Vec<&str> = fields.clone();
                if cols.len() != count {
                    findings.push(Finding {
                        record_type: Some(code.to_owned()),
                        ..self.finding(
                            FindingKind::WrongFieldCount,
                            Severity::Warning,
                            format!(
                                "expected {count} fields, found {}; read as the {count}-field layout{}",
                                fields.len(),
                                if fields.len() < count {
                                    " with the missing trailing fields empty"
                                } else {
                                    ", the fields after it ignored"
                                }
                            ),
                        )
                    });
                    cols.resize(count, "");
                }
                match decode_typed(code, &cols) {
                    Some(Ok(record)) => record,
                    Some(Err(errors)) if frame => {
                        for e in &errors {
                            findings.push(self.field_finding(code, &cols, e, severity));
                        }
                        Record::Raw(RawRecord {
                            fields: owned(),
                            why: RawWhy::Invalid,
                        })
                    }
                    Some(Err(errors)) => {
                        for e in &errors {
                            let severity = if receipt_critical(code, e.spec.name) {
                                Severity::ReceiptQuarantine
                            } else {
                                Severity::Warning
                            };
                            findings.push(self.field_finding(code, &cols, e, severity));
                        }
                        for e in &errors {
                            if let Some(c) = cols.get_mut(e.spec.index + e.issue.column_offset) {
                                *c = "";
                            }
                        }
                        match decode_typed(code, &cols) {
                            Some(Ok(record)) => record,
                            _ => {
                                // Still unreadable with the bad fields empty: nothing of
                                // it can be used.
                                for f in findings.iter_mut() {
                                    f.severity = f.severity.max(Severity::ReceiptQuarantine);
                                }
                                Record::Raw(RawRecord {
                                    fields: owned(),
                                    why: RawWhy::Invalid,
                                })
                            }
                        }
                    }
                    None => Record::Raw(RawRecord {
                        fields: owned(),
                        why: RawWhy::Untyped,
                    }),
                }
            }
            None if well_formed_code
                && (UNTYPED_KNOWN.contains(&code) || layout_of(code).is_some()) =>
            {
                Record::Raw(RawRecord {
                    fields: owned(),
                    why: RawWhy::Untyped,
                })
            }
            None => {
                findings.push(Finding {
                    record_type: Some(if well_formed_code {
                        code.to_owned()
                    } else {
                        mask(code)
                    }),
                    value_masked: Some(if well_formed_code {
                        code.to_owned()
                    } else {
                        mask(code)
                    }),
                    ..self.finding(
                        FindingKind::UnknownRecordType,
                        Severity::Warning,
                        "record type is not part of any UKE kind; kept raw".to_owned(),
                    )
                });
                Record::Raw(RawRecord {
                    fields: owned(),
                    why: RawWhy::Unknown,
                })
            }
        };
        RecordLine {
            line: self.line_no,
            record,
            findings,
        }
    }

    fn field_finding(
        &self,
        code: &str,
        fields: &[&str],
        error: &FieldError,
        severity: Severity,
    ) -> Finding {
        let column = error.spec.index + error.issue.column_offset;
        let value = fields.get(column).copied().unwrap_or("");
        let field = if error.spec.width > 1 {
            format!("{}({}日)", error.spec.name, error.issue.column_offset + 1)
        } else {
            error.spec.name.to_owned()
        };
        let kind = match error.issue.kind {
            IssueKind::BadDate => FindingKind::BadDate,
            IssueKind::BadEraDate => FindingKind::BadEraDate,
            IssueKind::BadYearMonth => FindingKind::BadYearMonth,
            IssueKind::NotANumber => FindingKind::NotANumber,
            IssueKind::BadCodeShape => FindingKind::BadCodeShape,
        };
        Finding {
            record_type: Some(code.to_owned()),
            field: Some(field),
            value_masked: Some(shown_value(value, error.spec.sensitive)),
            ..self.finding(kind, severity, error.issue.reason.clone())
        }
    }
}

/// Byte offset of the first sequence CP932 cannot decode.
fn malformed_offset(bytes: &[u8]) -> usize {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut out = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        encoding_rs::DecoderResult::Malformed(len, extra) => {
            read.saturating_sub(usize::from(extra) + usize::from(len))
        }
        _ => read,
    }
}

impl<R: BufRead> Iterator for UkeReader<R> {
    type Item = RecordLine;

    fn next(&mut self) -> Option<RecordLine> {
        while !self.done {
            let raw = match self.read_line() {
                Ok(Some(raw)) => raw,
                Ok(None) => {
                    self.done = true;
                    if self.line_no == 0 {
                        let f = self.finding(
                            FindingKind::EmptyFile,
                            Severity::FileFatal,
                            "file has no content".to_owned(),
                        );
                        self.log.push(f);
                    }
                    break;
                }
                Err(e) => {
                    self.done = true;
                    let f = self.finding(
                        FindingKind::IoError,
                        Severity::FileFatal,
                        format!("read failed after line {}: {}", self.line_no, e.kind()),
                    );
                    self.log.push(f);
                    break;
                }
            };
            self.line_no += 1;
            if raw.too_long {
                let f = self.finding(
                    FindingKind::LineTooLong,
                    Severity::FileFatal,
                    format!("line longer than {MAX_LINE_BYTES} bytes"),
                );
                self.log.push(f);
                continue;
            }
            if !raw.terminated {
                if self.buf == [EOF_MARKER] {
                    let f = self.finding(
                        FindingKind::EofMarker,
                        Severity::Warning,
                        "DOS end-of-file marker (0x1A) after the last line ignored".to_owned(),
                    );
                    self.log.push(f);
                    continue;
                }
                let f = self.finding(
                    FindingKind::TruncatedLastLine,
                    Severity::FileFatal,
                    "last line has no CRLF line end (file truncated?)".to_owned(),
                );
                self.log.push(f);
            }
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            } else if raw.terminated && !self.reported_bare_lf {
                self.reported_bare_lf = true;
                let f = self.finding(
                    FindingKind::BareLineFeed,
                    Severity::Warning,
                    "line ends with LF, not CRLF (further such lines not reported)".to_owned(),
                );
                self.log.push(f);
            }
            if self.buf.is_empty() {
                let f = self.finding(
                    FindingKind::EmptyLine,
                    Severity::Warning,
                    "empty line skipped".to_owned(),
                );
                self.log.push(f);
                continue;
            }
            // Taken out of `self` so `parse` can borrow `self` mutably while the decoded text
            // borrows the bytes: lines that are ASCII (most: codes and numbers) decode without
            // a copy.
            let buf = std::mem::take(&mut self.buf);
            let parsed = SHIFT_JIS
                .decode_without_bom_handling_and_without_replacement(&buf)
                .map(|text| self.parse(&text));
            self.buf = buf;
            match parsed {
                Some(parsed) => return Some(parsed),
                None => {
                    let offset = malformed_offset(&self.buf);
                    let f = self.finding(
                        FindingKind::UndecodableBytes,
                        Severity::FileFatal,
                        format!("bytes at offset {offset} are not valid CP932"),
                    );
                    self.log.push(f);
                    continue;
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::split_fields;

    #[test]
    fn fields_split_as_str_split_would() {
        for line in ["", ",", "RE,1,,３,ｱｲ,", "IR,1,13,1,1234567", "a", ",,x,,"] {
            assert_eq!(
                split_fields(line),
                line.split(',').collect::<Vec<_>>(),
                "{line:?}"
            );
        }
    }
}
