//! Grouping records into receipts (RE … up to the next RE or GO) and the file-frame checks:
//! header (IR/YK) first and once, trailer (GO) last and once, GO totals against the receipts.
//!
//! Totals rule (japan.md §10.1, stated for the synthetic generator, unverified against real
//! files): HO.合計点数 = Σ(点数 × 回数) over the receipt's SI/IY/TO records; GO.総合計点数 = Σ of
//! each receipt's claimed points (HO.合計点数, else the first KO.合計点数, else the computed sum).
//! Because real receipts split points by 負担区分, a HO mismatch is only a Warning.

use std::io::BufRead;

use super::reader::{FileKind, RecordLine, UkeReader};
use super::records::{Ho, Record};
use crate::finding::{Finding, FindingKind, FindingLog, Severity};

/// Records kept per receipt; beyond this the receipt is quarantined and further records are
/// only counted, so one damaged receipt cannot exhaust memory.
pub const MAX_RECEIPT_RECORDS: usize = 100_000;

/// One receipt: the RE record and everything up to the next RE or GO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Line of the RE record.
    pub line: u64,
    pub records: Vec<RecordLine>,
    /// All findings about this receipt (its records' and the receipt-level checks').
    pub findings: Vec<Finding>,
    /// Σ(点数 × 回数) over SI/IY/TO records.
    pub computed_points: u64,
}

impl Receipt {
    /// Worst severity among the findings, if any.
    pub fn severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Whether ingest must quarantine this receipt.
    pub fn is_quarantined(&self) -> bool {
        self.severity() >= Some(Severity::ReceiptQuarantine)
    }

    /// The typed RE record (None if it failed validation).
    pub fn re(&self) -> Option<&super::records::Re> {
        match self.records.first().map(|r| &r.record) {
            Some(Record::Re(re)) => Some(re),
            _ => None,
        }
    }

    fn ho(&self) -> Option<&Ho> {
        self.records.iter().find_map(|r| match &r.record {
            Record::Ho(ho) => Some(ho),
            _ => None,
        })
    }

    /// Points this receipt claims (see module docs).
    pub fn claimed_points(&self) -> u64 {
        if let Some(total) = self.ho().and_then(|h| h.total_points) {
            return total.value();
        }
        let ko = self.records.iter().find_map(|r| match &r.record {
            Record::Ko(ko) => ko.total_points,
            _ => None,
        });
        ko.map_or(self.computed_points, |n| n.value())
    }
}

/// The file frame and totals, available after all receipts were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    pub file: String,
    pub kind: FileKind,
    pub header: Option<RecordLine>,
    pub trailer: Option<RecordLine>,
    pub lines: u64,
    pub receipts: u64,
    pub claimed_points: u64,
    /// File-level findings (receipt findings stay with their receipts).
    pub findings: Vec<Finding>,
}

impl FileSummary {
    /// Whether ingest must reject the whole file.
    pub fn is_rejected(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == Severity::FileFatal)
    }
}

/// Streams whole receipts out of a [`UkeReader`].
pub struct ReceiptReader<R> {
    reader: UkeReader<R>,
    current: Option<Receipt>,
    header: Option<RecordLine>,
    trailer: Option<RecordLine>,
    first_before_header: Option<(u64, String)>,
    receipts: u64,
    claimed_points: u64,
    log: FindingLog,
    dropped_in_current: u64,
}

fn is_header(code: &str) -> bool {
    matches!(code, "IR" | "YK")
}

impl<R: BufRead> ReceiptReader<R> {
    pub fn new(reader: UkeReader<R>) -> Self {
        ReceiptReader {
            reader,
            current: None,
            header: None,
            trailer: None,
            first_before_header: None,
            receipts: 0,
            claimed_points: 0,
            log: FindingLog::default(),
            dropped_in_current: 0,
        }
    }

    /// Convenience: `ReceiptReader::new(UkeReader::new(inner, file))`.
    pub fn from_reader(inner: R, file: impl Into<String>) -> Self {
        Self::new(UkeReader::new(inner, file))
    }

    pub fn header(&self) -> Option<&RecordLine> {
        self.header.as_ref()
    }

    pub fn kind(&self) -> FileKind {
        self.reader.kind()
    }

    fn frame_finding(
        &self,
        line: Option<u64>,
        record_type: &str,
        kind: FindingKind,
        reason: String,
    ) -> Finding {
        Finding {
            file: self.reader.file().to_owned(),
            line,
            record_type: Some(record_type.to_owned()),
            field: None,
            value_masked: None,
            reason,
            severity: Severity::FileFatal,
            kind,
        }
    }

    /// Closes the open receipt: runs the receipt checks and counts it toward the GO totals.
    fn close_current(&mut self) -> Option<Receipt> {
        let mut receipt = self.current.take()?;
        super::checks::check_receipt(&mut receipt, self.reader.file(), self.receipts + 1);
        if self.dropped_in_current > 0 {
            receipt.findings.push(Finding {
                file: self.reader.file().to_owned(),
                line: Some(receipt.line),
                record_type: Some("RE".to_owned()),
                field: None,
                value_masked: None,
                reason: format!(
                    "receipt has more than {MAX_RECEIPT_RECORDS} records; {} not kept",
                    self.dropped_in_current
                ),
                severity: Severity::ReceiptQuarantine,
                kind: FindingKind::ReceiptTooLarge,
            });
            self.dropped_in_current = 0;
        }
        self.receipts += 1;
        self.claimed_points = self.claimed_points.saturating_add(receipt.claimed_points());
        Some(receipt)
    }

    /// Reads to the end (dropping any receipts not yet taken) and returns the file summary
    /// with the frame and totals findings.
    pub fn finish(mut self) -> FileSummary {
        while self.next().is_some() {}
        let last_line = self.reader.lines_read();
        let file = self.reader.file().to_owned();
        let lines = self.reader.lines_read();
        if lines > 0 {
            self.check_frame(last_line);
        }
        let kind = self.reader.kind();
        let mut findings = self.reader.take_findings();
        findings.extend(self.log.into_findings(&file));
        FileSummary {
            file,
            kind,
            header: self.header,
            trailer: self.trailer,
            lines,
            receipts: self.receipts,
            claimed_points: self.claimed_points,
            findings,
        }
    }

    fn check_frame(&mut self, last_line: u64) {
        match (&self.header, &self.first_before_header) {
            (None, first) => {
                let line = first.as_ref().map_or(1, |(l, _)| *l);
                let f = self.frame_finding(
                    Some(line),
                    "IR",
                    FindingKind::MissingHeader,
                    "file has no IR (or YK) header record".to_owned(),
                );
                self.log.push(f);
            }
            (Some(_), Some((line, code))) => {
                let f = self.frame_finding(
                    Some(*line),
                    &code.clone(),
                    FindingKind::RecordBeforeHeader,
                    "record before the IR (or YK) header".to_owned(),
                );
                self.log.push(f);
            }
            (Some(_), None) => {}
        }
        let Some(trailer) = &self.trailer else {
            let f = self.frame_finding(
                Some(last_line),
                "GO",
                FindingKind::MissingTrailer,
                format!("file ends at line {last_line} without a GO trailer record"),
            );
            self.log.push(f);
            return;
        };
        let Record::Go(go) = &trailer.record else {
            return; // an invalid GO already has its own FileFatal finding
        };
        let line = trailer.line;
        if let Some(count) = go.receipt_count
            && count.value() != self.receipts
        {
            let f = Finding {
                field: Some("総件数".to_owned()),
                value_masked: Some(count.to_string()),
                severity: Severity::Warning,
                ..self.frame_finding(
                    Some(line),
                    "GO",
                    FindingKind::TrailerCountMismatch,
                    format!(
                        "GO says {} receipts, file has {}",
                        count.value(),
                        self.receipts
                    ),
                )
            };
            self.log.push(f);
        }
        if self.reader.kind() != FileKind::Pharmacy
            && let Some(points) = go.total_points
            && points.value() != self.claimed_points
        {
            let f = Finding {
                field: Some("総合計点数".to_owned()),
                value_masked: Some(points.to_string()),
                severity: Severity::Warning,
                ..self.frame_finding(
                    Some(line),
                    "GO",
                    FindingKind::TrailerPointsMismatch,
                    format!(
                        "GO says {} points, receipts claim {}",
                        points.value(),
                        self.claimed_points
                    ),
                )
            };
            self.log.push(f);
        }
    }
}

/// What a line is to the receipt grouping.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LineClass {
    Header,
    Receipt,
    Trailer,
    Other,
}

/// Records reserved per receipt when its RE is read.
const RECEIPT_RECORDS_RESERVED: usize = 16;

impl<R: BufRead> Iterator for ReceiptReader<R> {
    type Item = Receipt;

    fn next(&mut self) -> Option<Receipt> {
        loop {
            let Some(rl) = self.reader.next() else {
                return self.close_current();
            };
            // Classified up front: the code borrows the record, which moves below, and an
            // owned copy per line was an allocation per record.
            let class = match rl.record.code() {
                "GO" => LineClass::Trailer,
                "RE" => LineClass::Receipt,
                c if is_header(c) => LineClass::Header,
                _ => LineClass::Other,
            };
            let receipt_record =
                self.trailer.is_none() && !matches!(class, LineClass::Header | LineClass::Trailer);
            if !receipt_record || (self.current.is_none() && class != LineClass::Receipt) {
                // Findings of records that belong to no receipt are file-level.
                for f in &rl.findings {
                    self.log.push(f.clone());
                }
            }
            if self.trailer.is_some() {
                let kind = if class == LineClass::Trailer {
                    FindingKind::DuplicateTrailer
                } else {
                    FindingKind::RecordAfterTrailer
                };
                let f = self.frame_finding(
                    Some(rl.line),
                    rl.record.code(),
                    kind,
                    "record after the GO trailer".to_owned(),
                );
                self.log.push(f);
                continue;
            }
            if class == LineClass::Header {
                if self.header.is_some() {
                    let f = self.frame_finding(
                        Some(rl.line),
                        rl.record.code(),
                        FindingKind::DuplicateHeader,
                        "second header record".to_owned(),
                    );
                    self.log.push(f);
                } else {
                    self.header = Some(rl);
                }
                continue;
            }
            if self.header.is_none() && self.first_before_header.is_none() {
                self.first_before_header = Some((rl.line, rl.record.code().to_owned()));
            }
            match class {
                LineClass::Trailer => {
                    self.trailer = Some(rl);
                    if let Some(done) = self.close_current() {
                        return Some(done);
                    }
                }
                LineClass::Receipt => {
                    let done = self.close_current();
                    // Room for a typical receipt's records: growing a vector of records
                    // one doubling at a time copied them again and again.
                    let mut records = Vec::with_capacity(RECEIPT_RECORDS_RESERVED);
                    let findings = rl.findings.clone();
                    let line = rl.line;
                    records.push(rl);
                    self.current = Some(Receipt {
                        line,
                        findings,
                        records,
                        computed_points: 0,
                    });
                    if done.is_some() {
                        return done;
                    }
                }
                LineClass::Header | LineClass::Other => match self.current.as_mut() {
                    Some(receipt) if receipt.records.len() < MAX_RECEIPT_RECORDS => {
                        receipt.findings.extend(rl.findings.iter().cloned());
                        receipt.records.push(rl);
                    }
                    Some(_) => self.dropped_in_current += 1,
                    None => {
                        let f = self.frame_finding(
                            Some(rl.line),
                            rl.record.code(),
                            FindingKind::RecordOutsideReceipt,
                            "record outside any receipt (before the first RE)".to_owned(),
                        );
                        self.log.push(f);
                    }
                },
            }
        }
    }
}
