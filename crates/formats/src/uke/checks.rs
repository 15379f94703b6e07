//! Receipt-level checks, run when a receipt is complete.
//!
//! * 算定単位 rule (japan.md §2.2 SI/IY, §10.1): 点数 and 回数 are written only on the last record
//!   of a calculation unit; the records before it leave both empty. So a unit is a run of
//!   SI/IY/TO records ending at the first one that carries them; a run still open at the end of
//!   the receipt, or a record with only one of the pair, is a finding.
//! * 算定日情報: the day columns of a record that carries 回数 must sum to it (japan.md §10.1).
//!   All-empty day columns are only a Warning: older specs had no day columns, and which
//!   records must carry them is unverified.
//! * HO.合計点数 against Σ(点数 × 回数): Warning only (see `receipt.rs`).
//! * レセプト番号 runs from 1 within the file (japan.md §2.2 RE): Warning when out of sequence.

use super::receipt::Receipt;
use super::records::Record;
use crate::finding::{Finding, FindingKind, Severity};

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        line: u64,
        record_type: &str,
        field: &str,
        value: Option<String>,
        kind: FindingKind,
        severity: Severity,
        reason: String,
    ) -> Finding {
        Finding {
            file: self.file.to_owned(),
            line: Some(line),
            record_type: Some(record_type.to_owned()),
            field: Some(field.to_owned()),
            value_masked: value,
            reason,
            severity,
            kind,
        }
    }
}

/// Runs all receipt checks, appending findings and setting `computed_points`.
/// `expected_no` is the receipt's 1-based position in the file.
pub(crate) fn check_receipt(receipt: &mut Receipt, file: &str, expected_no: u64) {
    let ctx = Ctx { file };
    let mut out = Vec::new();
    let mut computed: u64 = 0;
    let mut open_unit: Option<(u64, String)> = None;
    for rl in &receipt.records {
        let Some((points, count, days)) = rl.record.priced() else {
            continue;
        };
        let code = rl.record.code();
        match (points, count) {
            (None, None) => {
                if open_unit.is_none() {
                    open_unit = Some((rl.line, code.to_owned()));
                }
                continue;
            }
            (Some(p), None) => out.push(ctx.finding(
                rl.line,
                code,
                "回数",
                None,
                FindingKind::PointsWithoutCount,
                Severity::ReceiptQuarantine,
                format!("点数 {} given without 回数", p.value()),
            )),
            (None, Some(c)) => out.push(ctx.finding(
                rl.line,
                code,
                "点数",
                None,
                FindingKind::CountWithoutPoints,
                Severity::ReceiptQuarantine,
                format!("回数 {} given without 点数", c.value()),
            )),
            (Some(p), Some(c)) => {
                computed = computed.saturating_add(p.value().saturating_mul(c.value()));
            }
        }
        open_unit = None;
        if let Some(c) = count {
            if days.is_empty() {
                out.push(ctx.finding(
                    rl.line,
                    code,
                    "算定日情報",
                    None,
                    FindingKind::MissingDayCounts,
                    Severity::Warning,
                    format!("回数 {} but no day columns filled", c.value()),
                ));
            } else if days.total() != c.value() {
                out.push(ctx.finding(
                    rl.line,
                    code,
                    "算定日情報",
                    Some(days.total().to_string()),
                    FindingKind::DayCountMismatch,
                    Severity::ReceiptQuarantine,
                    format!("day columns sum to {}, 回数 is {}", days.total(), c.value()),
                ));
            }
        }
    }
    if let Some((line, code)) = open_unit {
        out.push(ctx.finding(
            line,
            &code,
            "点数",
            None,
            FindingKind::UnclosedCalculationUnit,
            Severity::ReceiptQuarantine,
            "算定単位 starting here never gets 点数/回数 on a last record".to_owned(),
        ));
    }
    receipt.computed_points = computed;

    // With a quarantined line in the receipt the computed sum is not trustworthy; the HO
    // comparison would only repeat that finding.
    let trusted = !receipt
        .findings
        .iter()
        .chain(&out)
        .any(|f| f.severity >= Severity::ReceiptQuarantine);
    for rl in receipt.records.iter().filter(|_| trusted) {
        if let Record::Ho(ho) = &rl.record
            && let Some(total) = ho.total_points
            && total.value() != computed
        {
            out.push(ctx.finding(
                rl.line,
                "HO",
                "合計点数",
                Some(total.to_string()),
                FindingKind::ReceiptPointsMismatch,
                Severity::Warning,
                format!("合計点数 {} but Σ(点数×回数) is {computed}", total.value()),
            ));
        }
    }

    if let Some(no) = receipt.re().and_then(|re| re.receipt_no)
        && no.value() != expected_no
    {
        out.push(ctx.finding(
            receipt.line,
            "RE",
            "レセプト番号",
            Some(no.to_string()),
            FindingKind::ReceiptNumberOutOfSequence,
            Severity::Warning,
            format!(
                "receipt {expected_no} of the file is numbered {}",
                no.value()
            ),
        ));
    }
    receipt.findings.extend(out);
}
