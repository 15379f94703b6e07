//! DPC survey EF integrated file (EF統合ファイル, EFn/EFg; japan.md §3.1 and §10.2):
//! tab-separated, one row per action detail.
//!
//! Two layouts exist: 31 columns (meddatum, and the real-world sample in
//! `shared/data/samples/dpc/`) and 32 columns (with the action-level 円・点区分, EF-21, which
//! japan.md marks **uncertain**). The layout is chosen by the column count of the first row.
//! Encoding: CP932 per japan.md §10.2 ("assumed", unverified); the public sample is UTF-8, so
//! the encoding is detected from the first non-ASCII line (valid UTF-8 → UTF-8, else CP932).
//! An optional Japanese header row (first cell `施設コード`) is recognised and kept.
//! Column meanings beyond the dates are kept as text: the sample's values do not line up with
//! japan.md's column semantics everywhere, so only the date columns (EF-3, EF-4, EF-25) are
//! validated (EF-3 may be `00000000`).

use std::io::{BufRead, Read, Write};

use encoding_rs::SHIFT_JIS;

use crate::finding::{Finding, FindingKind, FindingLog, Severity, shown_value};
use crate::uke::parse_date;

/// EF-1 … EF-32 names (japan.md §3.1). Index 20 (EF-21) is absent from the 31-column layout.
pub const EF_COLUMNS_32: [&str; 32] = [
    "施設コード",
    "データ識別番号",
    "退院年月日",
    "入院年月日",
    "データ区分",
    "順序番号",
    "行為明細番号",
    "病院点数マスタコード",
    "レセプト電算コード",
    "解釈番号",
    "診療明細名称",
    "使用量",
    "基準単位",
    "明細点数・金額",
    "円・点区分",
    "出来高実績点数",
    "行為明細区分情報",
    "行為点数",
    "行為薬剤料",
    "行為材料料",
    "円・点区分(行為)",
    "行為回数",
    "保険者番号",
    "レセプト種別コード",
    "実施年月日",
    "レセプト科区分",
    "診療科区分",
    "医師コード",
    "病棟コード",
    "病棟区分",
    "入外区分",
    "施設タイプ",
];

/// EF numbers (1-based, 32-column numbering) of identifier columns, masked in findings.
const SENSITIVE: [usize; 3] = [2, 23, 28];
/// EF numbers of date columns; EF-3 (退院年月日) may be all zeros.
const DATES: [usize; 3] = [3, 4, 25];

/// Which EF layout a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EfLayout {
    Columns31,
    Columns32,
}

impl EfLayout {
    pub fn width(self) -> usize {
        match self {
            EfLayout::Columns31 => 31,
            EfLayout::Columns32 => 32,
        }
    }
    /// EF number (1-based, 32-column numbering) of column `i` (0-based) in this layout.
    pub fn ef_number(self, i: usize) -> usize {
        match self {
            EfLayout::Columns32 => i + 1,
            EfLayout::Columns31 if i >= 20 => i + 2,
            EfLayout::Columns31 => i + 1,
        }
    }
    /// Column name (japan.md) of column `i` (0-based).
    pub fn name(self, i: usize) -> &'static str {
        EF_COLUMNS_32
            .get(self.ef_number(i) - 1)
            .copied()
            .unwrap_or("?")
    }
}

/// Text encoding of a tab-separated DPC file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Cp932,
    Utf8,
}

/// One EF row; `columns` in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EfRow {
    pub line: u64,
    pub columns: Vec<String>,
}

impl EfRow {
    /// Value of EF-`n` (1-based, 32-column numbering), if present in the layout.
    pub fn ef(&self, layout: EfLayout, n: usize) -> Option<&str> {
        (0..self.columns.len())
            .find(|&i| layout.ef_number(i) == n)
            .and_then(|i| self.columns.get(i))
            .map(String::as_str)
    }
}

/// Streaming EF reader: an iterator of valid [`EfRow`]s; rows with problems are reported and
/// skipped (they quarantine that row only).
pub struct EfReader<R> {
    inner: R,
    file: String,
    line: u64,
    buf: Vec<u8>,
    encoding: Option<TextEncoding>,
    layout: Option<EfLayout>,
    header: Option<Vec<String>>,
    log: FindingLog,
}

impl<R: BufRead> EfReader<R> {
    pub fn new(inner: R, file: impl Into<String>) -> Self {
        EfReader {
            inner,
            file: file.into(),
            line: 0,
            buf: Vec::new(),
            encoding: None,
            layout: None,
            header: None,
            log: FindingLog::default(),
        }
    }
    pub fn layout(&self) -> Option<EfLayout> {
        self.layout
    }
    pub fn encoding(&self) -> Option<TextEncoding> {
        self.encoding
    }
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }
    pub fn finish(self) -> Vec<Finding> {
        self.log.into_findings(&self.file)
    }

    fn report(
        &mut self,
        kind: FindingKind,
        severity: Severity,
        field: Option<&str>,
        value: Option<String>,
        reason: String,
    ) {
        self.log.push(Finding {
            file: self.file.clone(),
            line: Some(self.line),
            record_type: Some("EF".to_owned()),
            field: field.map(str::to_owned),
            value_masked: value,
            reason,
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
            None => std::str::from_utf8(&self.buf).ok().map(str::to_owned),
            Some(TextEncoding::Utf8) => std::str::from_utf8(&self.buf).ok().map(str::to_owned),
            Some(TextEncoding::Cp932) => SHIFT_JIS
                .decode_without_bom_handling_and_without_replacement(&self.buf)
                .map(|c| c.into_owned()),
        }
    }

    fn check_row(&mut self, layout: EfLayout, columns: &[String]) -> bool {
        let mut ok = true;
        for (i, value) in columns.iter().enumerate() {
            let n = layout.ef_number(i);
            if !DATES.contains(&n) || (n == 3 && value == "00000000") {
                continue;
            }
            if let Err(issue) = parse_date(value) {
                ok = false;
                let shown = shown_value(value, SENSITIVE.contains(&n));
                self.report(
                    FindingKind::BadDate,
                    Severity::ReceiptQuarantine,
                    Some(layout.name(i)),
                    Some(shown),
                    issue.reason,
                );
            }
        }
        ok
    }
}

impl<R: BufRead> Iterator for EfReader<R> {
    type Item = EfRow;

    fn next(&mut self) -> Option<EfRow> {
        loop {
            self.buf.clear();
            // Lines are bounded by the EF layout (≤32 short columns) in practice; reading is
            // capped like the UKE reader through `take`.
            let mut limited =
                <&mut R as Read>::take(&mut self.inner, crate::uke::MAX_LINE_BYTES as u64);
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
                    return None;
                }
            };
            if read == 0 {
                return None;
            }
            self.line += 1;
            if self.buf.last() != Some(&b'\n') {
                let kind = if read >= crate::uke::MAX_LINE_BYTES {
                    FindingKind::LineTooLong
                } else {
                    FindingKind::TruncatedLastLine
                };
                self.report(
                    kind,
                    Severity::FileFatal,
                    None,
                    None,
                    "line not terminated by a line end".to_owned(),
                );
                if kind == FindingKind::LineTooLong {
                    return None;
                }
            }
            while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                self.buf.pop();
            }
            if self.buf.is_empty() {
                continue;
            }
            let Some(text) = self.decode() else {
                self.report(
                    FindingKind::UndecodableBytes,
                    Severity::FileFatal,
                    None,
                    None,
                    "bytes are not valid in the file's encoding".to_owned(),
                );
                continue;
            };
            let columns: Vec<String> = text.split('\t').map(str::to_owned).collect();
            if self.line == 1 && columns.first().map(String::as_str) == Some(EF_COLUMNS_32[0]) {
                self.header = Some(columns);
                continue;
            }
            let layout = match (self.layout, columns.len()) {
                (Some(l), _) => l,
                (None, 31) => *self.layout.insert(EfLayout::Columns31),
                (None, 32) => *self.layout.insert(EfLayout::Columns32),
                (None, _) => {
                    let n = columns.len();
                    self.report(
                        FindingKind::WrongFieldCount,
                        Severity::ReceiptQuarantine,
                        None,
                        None,
                        format!("expected 31 or 32 columns, found {n}"),
                    );
                    continue;
                }
            };
            if columns.len() != layout.width() {
                let n = columns.len();
                self.report(
                    FindingKind::WrongFieldCount,
                    Severity::ReceiptQuarantine,
                    None,
                    None,
                    format!("expected {} columns, found {n}", layout.width()),
                );
                continue;
            }
            if self.check_row(layout, &columns) {
                return Some(EfRow {
                    line: self.line,
                    columns,
                });
            }
        }
    }
}

/// Why an EF row could not be written (positions only, never values).
#[derive(Debug, thiserror::Error)]
pub enum EfWriteError {
    #[error("row {row}: column {column} contains a tab or line break")]
    Separator { row: usize, column: usize },
    #[error("row {row}: column {column} has a character the encoding cannot carry")]
    Unencodable { row: usize, column: usize },
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes an optional header and the rows, tab-separated, with `line_end` after every line.
pub fn write_ef<W: Write>(
    mut out: W,
    header: Option<&[String]>,
    rows: &[EfRow],
    encoding: TextEncoding,
    line_end: &str,
) -> Result<W, EfWriteError> {
    let lines = header
        .into_iter()
        .chain(rows.iter().map(|r| &r.columns[..]));
    for (row, columns) in lines.enumerate() {
        if let Some(column) = columns.iter().position(|c| c.contains(['\t', '\r', '\n'])) {
            return Err(EfWriteError::Separator { row, column });
        }
        let mut line = columns.join("\t");
        line.push_str(line_end);
        match encoding {
            TextEncoding::Utf8 => out.write_all(line.as_bytes())?,
            TextEncoding::Cp932 => {
                let (bytes, _, bad) = SHIFT_JIS.encode(&line);
                if bad {
                    let column = columns
                        .iter()
                        .position(|c| SHIFT_JIS.encode(c).2)
                        .unwrap_or(0);
                    return Err(EfWriteError::Unencodable { row, column });
                }
                out.write_all(&bytes)?;
            }
        }
    }
    out.flush()?;
    Ok(out)
}
