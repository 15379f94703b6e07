//! Pharmacy (調剤) receipts: the one place their field order is written down.
//!
//! japan.md §2.5 names the pharmacy records (YK, SH, CZ, KI, TK, ST) and their fields but not
//! their order, so the reader keeps every record of a pharmacy file raw. The order below is an
//! **assumption** (the one the sample generator writes): after the YK header, each receipt is
//! RE, HO, KO, SN, SY, SI, IY and TO in the medical layouts of `records.rs`, and per dispensed
//! drug an `SH` (処方基本) and a `CZ` (調剤) before its IY:
//!
//! * `SH,剤形,用法,特別指示` — 4 fields ([`SH_FIELDS`]);
//! * `CZ,調剤月日,処方月日,調剤数量` — 4 fields ([`CZ_FIELDS`]); the days are day-of-month
//!   numbers (1–31), 調剤数量 a count.
//!
//! * `YK` (薬局情報) — the IR order (審査支払機関, 都道府県, 点数表, 薬局コード, 予備, 名称,
//!   請求年月, マルチボリューム識別情報, 電話番号), read by [`header`].
//!
//! KI, TK and ST stay raw (no order known at all). [`type_pharmacy_receipt`] types a receipt
//! read from a pharmacy file by these rules; every record that does not fit becomes a
//! receipt-quarantine finding, as in a medical file.

use super::layout::FieldError;
use super::receipt::Receipt;
use super::records::{Ir, RawRecord, RawWhy, Record, decode_typed, layout_of};
use super::value::IssueKind;
use crate::finding::{Finding, FindingKind, Severity, shown_value};

/// SH 処方基本 field names, identifier first (assumed order, see module docs).
pub const SH_FIELDS: [&str; 4] = ["SH", "剤形", "用法", "特別指示"];
/// CZ 調剤 field names, identifier first (assumed order, see module docs).
pub const CZ_FIELDS: [&str; 4] = ["CZ", "調剤月日", "処方月日", "調剤数量"];

/// Record types of a pharmacy receipt read with the medical layouts.
const MEDICAL_LAYOUT: [&str; 8] = ["RE", "HO", "KO", "SN", "SY", "SI", "IY", "TO"];

/// The file header as an [`Ir`]: the IR record itself, or a YK record read in the IR order
/// (module docs). `None` when it does not fit.
pub fn header(record: &Record) -> Option<Ir> {
    match record {
        Record::Ir(ir) => Some(ir.clone()),
        Record::Raw(raw) if raw.code() == "YK" && raw.fields.len() == Ir::FIELD_COUNT => {
            let refs: Vec<&str> = raw.fields.iter().map(String::as_str).collect();
            Ir::decode(&refs).ok()
        }
        _ => None,
    }
}

/// The SH/CZ record as written (identifier first), for writers that produce pharmacy files.
pub fn sh_fields(dosage_form: &str, usage: &str, special: &str) -> Vec<String> {
    vec![
        SH_FIELDS[0].to_owned(),
        dosage_form.to_owned(),
        usage.to_owned(),
        special.to_owned(),
    ]
}

/// See [`sh_fields`]; `dispensed`/`prescribed` are days of the month.
pub fn cz_fields(dispensed: u8, prescribed: u8, quantity: u32) -> Vec<String> {
    vec![
        CZ_FIELDS[0].to_owned(),
        format!("{dispensed:02}"),
        format!("{prescribed:02}"),
        quantity.to_string(),
    ]
}

fn finding(
    file: &str,
    line: u64,
    code: &str,
    field: Option<String>,
    value: Option<String>,
    kind: FindingKind,
    reason: String,
) -> Finding {
    Finding {
        file: file.to_owned(),
        line: Some(line),
        record_type: Some(code.to_owned()),
        field,
        value_masked: value,
        reason,
        severity: Severity::ReceiptQuarantine,
        kind,
    }
}

fn field_finding(file: &str, line: u64, code: &str, fields: &[&str], e: &FieldError) -> Finding {
    let column = e.spec.index + e.issue.column_offset;
    let value = fields.get(column).copied().unwrap_or("");
    let field = if e.spec.width > 1 {
        format!("{}({}日)", e.spec.name, e.issue.column_offset + 1)
    } else {
        e.spec.name.to_owned()
    };
    let kind = match e.issue.kind {
        IssueKind::BadDate => FindingKind::BadDate,
        IssueKind::BadEraDate => FindingKind::BadEraDate,
        IssueKind::BadYearMonth => FindingKind::BadYearMonth,
        IssueKind::NotANumber => FindingKind::NotANumber,
        IssueKind::BadCodeShape => FindingKind::BadCodeShape,
    };
    finding(
        file,
        line,
        code,
        Some(field),
        Some(shown_value(value, e.spec.sensitive)),
        kind,
        e.issue.reason.clone(),
    )
}

/// Checks an SH or CZ record against the assumed layout.
fn check_sh_cz(file: &str, line: u64, fields: &[&str], out: &mut Vec<Finding>) {
    let code = fields.first().copied().unwrap_or("");
    let names: &[&str] = if code == "SH" { &SH_FIELDS } else { &CZ_FIELDS };
    if fields.len() != names.len() {
        out.push(finding(
            file,
            line,
            code,
            None,
            None,
            FindingKind::WrongFieldCount,
            format!("expected {} fields, found {}", names.len(), fields.len()),
        ));
        return;
    }
    if code == "CZ" {
        for i in 1..=2 {
            let ok = fields[i].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d));
            if !ok {
                out.push(finding(
                    file,
                    line,
                    code,
                    Some(names[i].to_owned()),
                    Some(shown_value(fields[i], false)),
                    FindingKind::BadDate,
                    "not a day of the month (1–31)".to_owned(),
                ));
            }
        }
        if !fields[3].is_empty() && fields[3].parse::<u32>().is_err() {
            out.push(finding(
                file,
                line,
                code,
                Some(names[3].to_owned()),
                Some(shown_value(fields[3], false)),
                FindingKind::NotANumber,
                "not a whole number".to_owned(),
            ));
        }
    }
}

/// Types the raw records of a receipt read from a pharmacy file (see module docs); records
/// that do not fit add receipt-quarantine findings to the receipt.
pub fn type_pharmacy_receipt(receipt: &mut Receipt, file: &str) {
    let mut findings = Vec::new();
    for rl in &mut receipt.records {
        let Record::Raw(RawRecord {
            fields,
            why: RawWhy::Untyped,
        }) = &rl.record
        else {
            continue;
        };
        let code = fields.first().map(String::as_str).unwrap_or("");
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        if code == "SH" || code == "CZ" {
            check_sh_cz(file, rl.line, &refs, &mut findings);
            continue;
        }
        if !MEDICAL_LAYOUT.contains(&code) {
            continue;
        }
        let Some((count, _)) = layout_of(code) else {
            continue;
        };
        if refs.len() != count {
            findings.push(finding(
                file,
                rl.line,
                code,
                None,
                None,
                FindingKind::WrongFieldCount,
                format!("expected {count} fields, found {}", refs.len()),
            ));
            continue;
        }
        match decode_typed(code, &refs) {
            Some(Ok(record)) => rl.record = record,
            Some(Err(errors)) => {
                for e in &errors {
                    findings.push(field_finding(file, rl.line, code, &refs, e));
                }
                if let Record::Raw(raw) = &mut rl.record {
                    raw.why = RawWhy::Invalid;
                }
            }
            None => {}
        }
    }
    receipt.findings.extend(findings);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uke::ReceiptReader;

    fn pharmacy_file(cz_day: &str) -> String {
        let mut re = vec!["RE", "1", "4112", "202404", "試験　太郎", "1", "19800115"];
        re.extend(std::iter::repeat_n("", 6));
        re.push("P001");
        re.extend(std::iter::repeat_n("", 22));
        re.push("シケン　タロウ");
        re.push("");
        let mut iy = vec!["IY", "21", "1", "620000001", "3", "10", "1"];
        iy.extend(std::iter::repeat_n("", 6));
        let mut days = vec![""; 31];
        days[0] = "1";
        iy.extend(days);
        let ho = "HO,06130019,,12345,1,10,,,,,,,,,";
        format!(
            "YK,1,13,4,1234567,,薬局,202405,00,\r\n{}\r\n{ho}\r\nSH,1,,\r\nCZ,{cz_day},01,1\r\n{}\r\nGO,1,10,99\r\n",
            re.join(","),
            iy.join(",")
        )
    }

    fn read(text: &str) -> Receipt {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        let mut r = ReceiptReader::from_reader(&bytes[..], "p.UKE");
        let mut receipt = r.next().unwrap();
        type_pharmacy_receipt(&mut receipt, "p.UKE");
        receipt
    }

    #[test]
    fn pharmacy_receipt_is_typed_with_the_assumed_order() {
        let receipt = read(&pharmacy_file("01"));
        assert!(!receipt.is_quarantined(), "{:?}", receipt.findings);
        assert!(receipt.re().is_some());
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("YK,1,13,4,1234567,,薬局,202405,00,\r\n");
        let mut r = crate::uke::UkeReader::new(&bytes[..], "h");
        let ir = header(&r.next().unwrap().record).unwrap();
        assert_eq!(
            (ir.prefecture.as_str(), ir.fee_schedule.as_str()),
            ("13", "4")
        );
        assert!(
            receipt
                .records
                .iter()
                .any(|r| matches!(&r.record, Record::Iy(d) if d.code == "620000001"))
        );
        assert_eq!(cz_fields(1, 1, 1).len(), CZ_FIELDS.len());
        assert_eq!(sh_fields("1", "", "").len(), SH_FIELDS.len());
    }

    #[test]
    fn a_bad_dispensing_day_quarantines_the_receipt_at_its_line() {
        let receipt = read(&pharmacy_file("32"));
        assert!(receipt.is_quarantined());
        let f = &receipt.findings[0];
        assert_eq!(
            (f.line, f.record_type.as_deref(), f.field.as_deref()),
            (Some(5), Some("CZ"), Some("調剤月日"))
        );
    }
}
