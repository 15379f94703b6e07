//! DPC survey 様式1 (FF1; japan.md §3.3 and §10.2): tab-separated key/value rows, one item
//! code per row with up to nine payloads.
//!
//! Unverified rules (japan.md: "column order of the key part is uncertain"), all in
//! [`Ff1Layout`] and [`ITEMS`]:
//! * Key part `施設コード, データ識別番号, [退院年月日], 入院年月日, 回数管理番号,
//!   統括診療情報番号, コード, バージョン, 連番`, then exactly nine payload columns. Whether
//!   退院年月日 is present is decided by the first row's width (18 → present, 17 → absent).
//! * Payload meanings come from meddatum's `priv/ff1.txt` as listed in japan.md; only the
//!   payloads named in [`ITEMS`] are validated, the rest are kept as text.
//! * 退院年月日 `00000000` is accepted (not yet discharged), as in the EF file.
//!
//! Encoding and framing: [`crate::tsv`].

use std::io::{BufRead, Write};

use crate::ef::TextEncoding;
use crate::finding::{Finding, FindingKind, Severity, shown_value};
use crate::tsv::{TsvLines, TsvWriteError, check_gregorian, write_cells};

/// Number of payload columns after the key part.
pub const PAYLOADS: usize = 9;

/// Which key layout a file uses (see module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ff1Layout {
    WithDischargeDate,
    WithoutDischargeDate,
}

impl Ff1Layout {
    pub fn width(self) -> usize {
        match self {
            Ff1Layout::WithDischargeDate => 18,
            Ff1Layout::WithoutDischargeDate => 17,
        }
    }
    fn from_width(width: usize) -> Option<Self> {
        match width {
            18 => Some(Ff1Layout::WithDischargeDate),
            17 => Some(Ff1Layout::WithoutDischargeDate),
            _ => None,
        }
    }
    /// Column names in file order.
    pub fn column_names(self) -> Vec<&'static str> {
        let mut names = vec!["施設コード", "データ識別番号"];
        if self == Ff1Layout::WithDischargeDate {
            names.push("退院年月日");
        }
        names.extend([
            "入院年月日",
            "回数管理番号",
            "統括診療情報番号",
            "コード",
            "バージョン",
            "連番",
        ]);
        names.extend(PAYLOAD_NAMES);
        names
    }
}

const PAYLOAD_NAMES: [&str; PAYLOADS] = [
    "ペイロード1",
    "ペイロード2",
    "ペイロード3",
    "ペイロード4",
    "ペイロード5",
    "ペイロード6",
    "ペイロード7",
    "ペイロード8",
    "ペイロード9",
];

/// How a payload is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// `YYYYMMDD` or empty.
    Date,
    /// `1` (male) or `2` (female).
    Sex,
    /// ICD-10 code shape (letter + 2–4 digits/`.`), or empty.
    Icd10,
    /// Free text / code kept as is.
    Text,
}

/// One known item code: its name and the payloads that carry a meaning (1-based payload number).
pub struct Ff1Item {
    pub code: &'static str,
    pub name: &'static str,
    pub payloads: &'static [(usize, &'static str, PayloadKind)],
}

/// Item codes of japan.md §3.3 (the subset with payload meanings).
pub const ITEMS: &[Ff1Item] = &[
    Ff1Item {
        code: "A000010",
        name: "患者属性",
        payloads: &[
            (1, "生年月日", PayloadKind::Date),
            (2, "性別", PayloadKind::Sex),
            (3, "患者住所地域の郵便番号", PayloadKind::Text),
        ],
    },
    Ff1Item {
        code: "A000020",
        name: "入院情報",
        payloads: &[(1, "入院年月日", PayloadKind::Date)],
    },
    Ff1Item {
        code: "A000030",
        name: "退院情報",
        payloads: &[
            (1, "退院年月日", PayloadKind::Date),
            (2, "退院先", PayloadKind::Text),
            (3, "退院時転帰", PayloadKind::Text),
        ],
    },
    Ff1Item {
        code: "A000031",
        name: "様式1対象期間",
        payloads: &[
            (1, "開始日", PayloadKind::Date),
            (2, "終了日", PayloadKind::Date),
        ],
    },
    Ff1Item {
        code: "A000070",
        name: "前回退院",
        payloads: &[(1, "前回退院年月日", PayloadKind::Date)],
    },
    Ff1Item {
        code: "A006010",
        name: "主傷病",
        payloads: &[
            (2, "ICD-10", PayloadKind::Icd10),
            (9, "傷病名", PayloadKind::Text),
        ],
    },
    Ff1Item {
        code: "A006020",
        name: "入院の契機となった傷病",
        payloads: &[
            (2, "ICD-10", PayloadKind::Icd10),
            (9, "傷病名", PayloadKind::Text),
        ],
    },
    Ff1Item {
        code: "A006030",
        name: "医療資源を最も投入した傷病",
        payloads: &[
            (2, "ICD-10", PayloadKind::Icd10),
            (9, "傷病名", PayloadKind::Text),
        ],
    },
    Ff1Item {
        code: "A006031",
        name: "医療資源を2番目に投入した傷病",
        payloads: &[
            (2, "ICD-10", PayloadKind::Icd10),
            (9, "傷病名", PayloadKind::Text),
        ],
    },
    Ff1Item {
        code: "A006040",
        name: "入院時併存症",
        payloads: &[
            (2, "ICD-10", PayloadKind::Icd10),
            (9, "傷病名", PayloadKind::Text),
        ],
    },
    Ff1Item {
        code: "A006050",
        name: "入院後発症疾患",
        payloads: &[
            (2, "ICD-10", PayloadKind::Icd10),
            (9, "傷病名", PayloadKind::Text),
        ],
    },
    Ff1Item {
        code: "A007010",
        name: "手術情報",
        payloads: &[
            (1, "手術日", PayloadKind::Date),
            (2, "点数表コード", PayloadKind::Text),
            (9, "手術名", PayloadKind::Text),
        ],
    },
];

/// Payload fields that could single a person out (masked in findings).
const SENSITIVE_PAYLOADS: [&str; 2] = ["生年月日", "患者住所地域の郵便番号"];

/// The known item for `code`, if any.
pub fn item(code: &str) -> Option<&'static Ff1Item> {
    ITEMS.iter().find(|i| i.code == code)
}

/// One 様式1 row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ff1Row {
    pub line: u64,
    pub facility_code: String,
    /// データ識別番号 — an identifier.
    pub patient_id: String,
    /// `None` in the layout without 退院年月日.
    pub discharge_date: Option<String>,
    pub admission_date: String,
    pub count_no: String,
    /// 統括診療情報番号: `0` = the whole-stay parent record.
    pub unified_no: String,
    pub code: String,
    pub version: String,
    pub seq: String,
    pub payloads: [String; PAYLOADS],
}

impl Ff1Row {
    /// Payload by 1-based number.
    pub fn payload(&self, n: usize) -> Option<&str> {
        n.checked_sub(1)
            .and_then(|i| self.payloads.get(i))
            .map(String::as_str)
    }
    /// Payload by its name in [`ITEMS`] (e.g. `ICD-10` of `A006010`).
    pub fn payload_named(&self, name: &str) -> Option<&str> {
        let item = item(&self.code)?;
        let (n, _, _) = item.payloads.iter().find(|(_, nm, _)| *nm == name)?;
        self.payload(*n)
    }
    pub fn layout(&self) -> Ff1Layout {
        if self.discharge_date.is_some() {
            Ff1Layout::WithDischargeDate
        } else {
            Ff1Layout::WithoutDischargeDate
        }
    }
    fn cells(&self) -> Vec<&str> {
        let mut cells = vec![self.facility_code.as_str(), self.patient_id.as_str()];
        if let Some(d) = &self.discharge_date {
            cells.push(d);
        }
        cells.extend([
            self.admission_date.as_str(),
            &self.count_no,
            &self.unified_no,
            &self.code,
            &self.version,
            &self.seq,
        ]);
        cells.extend(self.payloads.iter().map(String::as_str));
        cells
    }
    fn from_cells(line: u64, layout: Ff1Layout, mut cells: Vec<String>) -> Option<Self> {
        if cells.len() != layout.width() {
            return None;
        }
        let payloads: Vec<String> = cells.split_off(cells.len() - PAYLOADS);
        let payloads: [String; PAYLOADS] = payloads.try_into().ok()?;
        let mut it = cells.into_iter();
        let facility_code = it.next()?;
        let patient_id = it.next()?;
        let discharge_date = match layout {
            Ff1Layout::WithDischargeDate => Some(it.next()?),
            Ff1Layout::WithoutDischargeDate => None,
        };
        Some(Ff1Row {
            line,
            facility_code,
            patient_id,
            discharge_date,
            admission_date: it.next()?,
            count_no: it.next()?,
            unified_no: it.next()?,
            code: it.next()?,
            version: it.next()?,
            seq: it.next()?,
            payloads,
        })
    }
}

/// A problem with one field of a row: (kind, field, shown value, reason).
pub type FieldProblem = (FindingKind, String, String, String);

fn digits_only(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_icd10(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('A'..='Z'))
        && (2..=6).contains(&s.len())
        && chars.all(|c| c.is_ascii_digit() || c == '.' || c.is_ascii_uppercase())
}

/// Every field problem of a row (empty when valid).
pub fn check_row(row: &Ff1Row) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    let mut bad = |field: &str, value: &str, identifier: bool, reason: &str| {
        let kind = if field.ends_with('日') {
            FindingKind::BadDate
        } else {
            FindingKind::BadCodeShape
        };
        problems.push((
            kind,
            field.to_owned(),
            shown_value(value, identifier),
            reason.to_owned(),
        ));
    };
    if row.facility_code.len() != 9 || !digits_only(&row.facility_code) {
        bad("施設コード", &row.facility_code, false, "expected 9 digits");
    }
    if row.patient_id.len() != 10 || !digits_only(&row.patient_id) {
        bad(
            "データ識別番号",
            &row.patient_id,
            true,
            "expected 10 digits",
        );
    }
    if let Some(d) = row.discharge_date.as_deref().filter(|d| *d != "00000000")
        && let Err(reason) = check_gregorian(d)
    {
        bad("退院年月日", d, false, &reason);
    }
    if let Err(reason) = check_gregorian(&row.admission_date) {
        bad("入院年月日", &row.admission_date, false, &reason);
    }
    if !digits_only(&row.unified_no) {
        bad(
            "統括診療情報番号",
            &row.unified_no,
            false,
            "expected digits",
        );
    }
    let code_ok = row.code.len() == 7
        && row.code.as_bytes()[0].is_ascii_uppercase()
        && row.code.bytes().skip(1).all(|b| b.is_ascii_digit());
    if !code_ok {
        bad("コード", &row.code, false, "expected a letter and 6 digits");
    }
    if !digits_only(&row.seq) {
        bad("連番", &row.seq, false, "expected digits");
    }
    if let Some(item) = item(&row.code) {
        for &(n, name, kind) in item.payloads {
            let value = row.payload(n).unwrap_or("");
            let identifier = SENSITIVE_PAYLOADS.contains(&name);
            let reason = match kind {
                PayloadKind::Date if !value.is_empty() => check_gregorian(value).err(),
                PayloadKind::Sex if value != "1" && value != "2" => {
                    Some("expected 1 (male) or 2 (female)".to_owned())
                }
                PayloadKind::Icd10 if !value.is_empty() && !is_icd10(value) => {
                    Some("not an ICD-10 code".to_owned())
                }
                _ => None,
            };
            if let Some(reason) = reason {
                bad(&format!("{}.{name}", item.code), value, identifier, &reason);
            }
        }
    }
    problems
}

/// Streaming 様式1 reader: valid rows come out; rows with problems are reported (quarantining
/// that row) and skipped.
pub struct Ff1Reader<R> {
    lines: TsvLines<R>,
    layout: Option<Ff1Layout>,
    header: Option<Vec<String>>,
}

impl<R: BufRead> Ff1Reader<R> {
    pub fn new(inner: R, file: impl Into<String>) -> Self {
        Ff1Reader {
            lines: TsvLines::new(inner, file.into(), "FF1"),
            layout: None,
            header: None,
        }
    }
    pub fn layout(&self) -> Option<Ff1Layout> {
        self.layout
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
    /// The optional header row (first cell `施設コード`).
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }
    pub fn finish(self) -> Vec<Finding> {
        self.lines.finish()
    }
}

impl<R: BufRead> Iterator for Ff1Reader<R> {
    type Item = Ff1Row;

    fn next(&mut self) -> Option<Ff1Row> {
        loop {
            let tsv = self.lines.next_line()?;
            if tsv.line == 1 && tsv.columns.first().map(String::as_str) == Some("施設コード") {
                self.header = Some(tsv.columns);
                continue;
            }
            let width = tsv.columns.len();
            let layout = match self.layout.or_else(|| Ff1Layout::from_width(width)) {
                Some(l) => *self.layout.insert(l),
                None => {
                    self.lines.report(
                        FindingKind::WrongFieldCount,
                        Severity::ReceiptQuarantine,
                        None,
                        None,
                        format!("expected 17 or 18 columns, found {width}"),
                    );
                    continue;
                }
            };
            let Some(row) = Ff1Row::from_cells(tsv.line, layout, tsv.columns) else {
                self.lines.report(
                    FindingKind::WrongFieldCount,
                    Severity::ReceiptQuarantine,
                    None,
                    None,
                    format!("expected {} columns, found {width}", layout.width()),
                );
                continue;
            };
            let problems = check_row(&row);
            if problems.is_empty() {
                return Some(row);
            }
            for (kind, field, value, reason) in problems {
                self.lines.report(
                    kind,
                    Severity::ReceiptQuarantine,
                    Some(&field),
                    Some(value),
                    reason,
                );
            }
        }
    }
}

/// Writes an optional header and the rows (all in one layout), tab-separated.
pub fn write_ff1<W: Write>(
    mut out: W,
    header: Option<&[String]>,
    rows: &[Ff1Row],
    encoding: TextEncoding,
    line_end: &str,
) -> Result<W, TsvWriteError> {
    if let Some(h) = header {
        let cells: Vec<&str> = h.iter().map(String::as_str).collect();
        write_cells(&mut out, 0, &cells, encoding, line_end)?;
    }
    let first = rows.first().map(Ff1Row::layout);
    for (i, row) in rows.iter().enumerate() {
        if Some(row.layout()) != first {
            return Err(TsvWriteError::Invalid {
                row: i,
                reason: "rows mix the two key layouts".to_owned(),
            });
        }
        write_cells(&mut out, i, &row.cells(), encoding, line_end)?;
    }
    out.flush()?;
    Ok(out)
}
