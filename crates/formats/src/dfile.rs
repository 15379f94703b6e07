//! DPC survey D file (Dn; japan.md §3.2 and §10.2): tab-separated, one row per DPC inclusive
//! billing line, 29 columns (meddatum `DN_FIELDS`).
//!
//! Rules and where they are decided (japan.md marks the layout as verified against an older
//! parser only):
//! * [`D_COLUMNS`] is the only layout; a header row whose first cell is `施設コード` is kept.
//! * 退院年月日 may be `00000000`; 実施年月日 and the three 算定 dates may be empty (rows for
//!   the inclusive part have no single day) — an assumption, not in japan.md.
//! * 分類番号 is 14 ASCII alphanumerics when present; 医療機関係数 a decimal number.
//!
//! Encoding and framing: [`crate::tsv`].

use std::io::{BufRead, Write};

use crate::ef::TextEncoding;
use crate::finding::{Finding, FindingKind, Severity, shown_value};
use crate::tsv::{TsvLines, TsvWriteError, check_gregorian, write_cells};

/// D file columns in file order (japan.md §3.2).
pub const D_COLUMNS: [&str; 29] = [
    "施設コード",
    "データ識別番号",
    "退院年月日",
    "入院年月日",
    "データ区分",
    "順序番号",
    "病院点数マスタコード",
    "レセプト電算コード",
    "解釈番号",
    "診療明細名称",
    "行為点数",
    "行為薬剤料",
    "行為材料料",
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
    "算定開始日",
    "算定終了日",
    "算定起算日",
    "分類番号",
    "医療機関係数",
];

/// Identifier columns, masked in findings.
const SENSITIVE: [&str; 3] = ["データ識別番号", "保険者番号", "医師コード"];
/// Date columns that must hold a day.
const REQUIRED_DATES: [&str; 1] = ["入院年月日"];
/// Date columns that may be empty (and 退院年月日, which may also be zeros).
const OPTIONAL_DATES: [&str; 5] = [
    "退院年月日",
    "実施年月日",
    "算定開始日",
    "算定終了日",
    "算定起算日",
];

fn column_index(name: &str) -> Option<usize> {
    D_COLUMNS.iter().position(|c| *c == name)
}

/// One D file row, columns in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DRow {
    pub line: u64,
    pub columns: Vec<String>,
}

impl DRow {
    /// Value of the column named `name` (a [`D_COLUMNS`] entry).
    pub fn get(&self, name: &str) -> Option<&str> {
        column_index(name)
            .and_then(|i| self.columns.get(i))
            .map(String::as_str)
    }
}

/// Every (kind, field, shown value, reason) problem of a 29-column row.
pub fn check_row(columns: &[String]) -> Vec<(FindingKind, &'static str, String, String)> {
    let mut problems = Vec::new();
    for (i, value) in columns.iter().enumerate() {
        let Some(&name) = D_COLUMNS.get(i) else {
            continue;
        };
        let shown = || shown_value(value, SENSITIVE.contains(&name));
        let optional = OPTIONAL_DATES.contains(&name);
        if REQUIRED_DATES.contains(&name) || optional {
            let skip = optional && (value.is_empty() || (i == 2 && value == "00000000"));
            if !skip && let Err(reason) = check_gregorian(value) {
                problems.push((FindingKind::BadDate, name, shown(), reason));
            }
        } else if name == "施設コード"
            && (value.len() != 9 || !value.bytes().all(|b| b.is_ascii_digit()))
        {
            problems.push((
                FindingKind::BadCodeShape,
                name,
                shown(),
                "expected 9 digits".to_owned(),
            ));
        } else if name == "分類番号"
            && !value.is_empty()
            && (value.len() != 14 || !value.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            problems.push((
                FindingKind::BadCodeShape,
                name,
                shown(),
                "expected a 14-character DPC code".to_owned(),
            ));
        } else if name == "医療機関係数" && !value.is_empty() && value.parse::<f64>().is_err()
        {
            problems.push((
                FindingKind::NotANumber,
                name,
                shown(),
                "expected a decimal number".to_owned(),
            ));
        }
    }
    problems
}

/// Streaming D file reader: valid rows come out; rows with problems are reported and skipped.
pub struct DReader<R> {
    lines: TsvLines<R>,
    header: Option<Vec<String>>,
}

impl<R: BufRead> DReader<R> {
    pub fn new(inner: R, file: impl Into<String>) -> Self {
        DReader {
            lines: TsvLines::new(inner, file.into(), "D"),
            header: None,
        }
    }
    /// A reader that does not detect the encoding but uses `encoding` (for files whose encoding
    /// the provider declared).
    pub fn with_encoding(inner: R, file: impl Into<String>, encoding: TextEncoding) -> Self {
        let mut reader = Self::new(inner, file);
        reader.lines.encoding = Some(encoding);
        reader
    }
    pub fn encoding(&self) -> Option<TextEncoding> {
        self.lines.encoding
    }
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }
    pub fn finish(self) -> Vec<Finding> {
        self.lines.finish()
    }
}

impl<R: BufRead> Iterator for DReader<R> {
    type Item = DRow;

    fn next(&mut self) -> Option<DRow> {
        loop {
            let tsv = self.lines.next_line()?;
            if tsv.line == 1 && tsv.columns.first().map(String::as_str) == Some(D_COLUMNS[0]) {
                self.header = Some(tsv.columns);
                continue;
            }
            if tsv.columns.len() != D_COLUMNS.len() {
                self.lines.report(
                    FindingKind::WrongFieldCount,
                    Severity::ReceiptQuarantine,
                    None,
                    None,
                    format!(
                        "expected {} columns, found {}",
                        D_COLUMNS.len(),
                        tsv.columns.len()
                    ),
                );
                continue;
            }
            let problems = check_row(&tsv.columns);
            if problems.is_empty() {
                return Some(DRow {
                    line: tsv.line,
                    columns: tsv.columns,
                });
            }
            for (kind, field, value, reason) in problems {
                self.lines.report(
                    kind,
                    Severity::ReceiptQuarantine,
                    Some(field),
                    Some(value),
                    reason,
                );
            }
        }
    }
}

/// Writes an optional header and the rows, tab-separated; rows must have 29 columns.
pub fn write_d<W: Write>(
    mut out: W,
    header: Option<&[String]>,
    rows: &[DRow],
    encoding: TextEncoding,
    line_end: &str,
) -> Result<W, TsvWriteError> {
    if let Some(h) = header {
        let cells: Vec<&str> = h.iter().map(String::as_str).collect();
        write_cells(&mut out, 0, &cells, encoding, line_end)?;
    }
    for (i, row) in rows.iter().enumerate() {
        if row.columns.len() != D_COLUMNS.len() {
            return Err(TsvWriteError::Invalid {
                row: i,
                reason: format!("{} columns instead of 29", row.columns.len()),
            });
        }
        let cells: Vec<&str> = row.columns.iter().map(String::as_str).collect();
        write_cells(&mut out, i, &cells, encoding, line_end)?;
    }
    out.flush()?;
    Ok(out)
}
