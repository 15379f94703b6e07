//! Receipt-level checks, run when a receipt is complete.
//!
//! * 算定単位 rule (japan.md §2.2 SI/IY): 点数 is written only on the last record of a
//!   calculation unit (剤 / 手技). The records before it leave 点数 empty but may carry 使用量,
//!   回数 and day counts — that is how a prescription of several drugs is written (receiptisan's
//!   sample file, `tests/data/third_party/`). A unit is a run of SI/IY/TO records ending at
//!   the first that carries 点数, and it costs 点数 × the last record's 回数. A run still open
//!   at the end of the receipt, or 点数 without 回数, is interpretable and only a Warning.
//! * 算定日情報: the day columns of a record that carries 回数 should sum to it (japan.md §10.1);
//!   a Warning, as are all-empty day columns (older specs had none).
//! * Each payer's 合計点数 (HO, and each KO in order) against the units whose 負担区分 (別表21,
//!   `payers.rs`) includes that payer: Warning only. The quarantine policy of the format is that
//!   a receipt is lost only when it is unusable; odd but interpretable content is a Warning.
//! * レセプト番号 runs from 1 within the file (japan.md §2.2 RE): Warning when out of sequence.

use super::payers::PayerShare;
use super::receipt::Receipt;
use super::records::Record;
use crate::finding::{Finding, FindingKind, Severity, shown_value};

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
    // Σ(点数 × 回数) per payer: index 0 = 医保 (HO), 1..=4 = the receipt's KO records in order.
    let mut per_payer = [0u64; 5];
    let mut unknown_share = false;
    let mut open_unit: Option<(u64, String)> = None;
    for rl in &receipt.records {
        let Some((points, count, days)) = rl.record.priced() else {
            continue;
        };
        let code = rl.record.code();
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
                    Severity::Warning,
                    format!(
                        "day columns sum to {}, 回数 is {}; the line is kept with its 回数",
                        days.total(),
                        c.value()
                    ),
                ));
            }
        }
        let Some(p) = points else {
            // A line of a 算定単位 before its last: it may carry 使用量, 回数 and day counts,
            // but its points are on the unit's last line.
            if open_unit.is_none() {
                open_unit = Some((rl.line, code.to_owned()));
            }
            continue;
        };
        open_unit = None;
        let c = match count {
            Some(c) => c.value(),
            None => {
                out.push(ctx.finding(
                    rl.line,
                    code,
                    "回数",
                    None,
                    FindingKind::PointsWithoutCount,
                    Severity::Warning,
                    format!("点数 {} given without 回数; counted once", p.value()),
                ));
                1
            }
        };
        let amount = p.value().saturating_mul(c);
        computed = computed.saturating_add(amount);
        let share_code = rl.record.payer_share().unwrap_or("");
        match PayerShare::of(share_code) {
            Some(share) => {
                for payer in share.payers() {
                    per_payer[payer] = per_payer[payer].saturating_add(amount);
                }
            }
            None => {
                unknown_share = true;
                out.push(ctx.finding(
                    rl.line,
                    code,
                    "負担区分",
                    Some(shown_value(share_code, false)),
                    FindingKind::UnknownPayerShare,
                    Severity::Warning,
                    "負担区分 is not a code of 別表21; the line's points are not assigned to a payer"
                        .to_owned(),
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
            Severity::Warning,
            "算定単位 starting here never gets 点数 on a last line; its lines are kept without points"
                .to_owned(),
        ));
    }
    receipt.computed_points = computed;

    // Each payer's 合計点数 against the units it bears. DPC receipts also claim bundled
    // (包括) points through HH/GT, which japan.md gives only in an older layout: their payers'
    // totals are not checked. An unassignable 負担区分 makes every comparison meaningless.
    let bundled = receipt
        .records
        .iter()
        .any(|r| matches!(r.record, Record::Hh(_) | Record::Gt(_)));
    let mut public_no = 0;
    for rl in receipt
        .records
        .iter()
        .filter(|_| !bundled && !unknown_share)
    {
        let (payer, record, total) = match &rl.record {
            Record::Ho(ho) => (0, "HO", ho.total_points),
            Record::Ko(ko) => {
                public_no += 1;
                (public_no, "KO", ko.total_points)
            }
            _ => continue,
        };
        let Some(total) = total else { continue };
        let Some(&sum) = per_payer.get(payer) else {
            continue;
        };
        if total.value() != sum {
            let whose = if payer == 0 {
                "医保".to_owned()
            } else {
                format!("第{payer}公費")
            };
            out.push(ctx.finding(
                rl.line,
                record,
                "合計点数",
                Some(total.to_string()),
                FindingKind::ReceiptPointsMismatch,
                Severity::Warning,
                format!(
                    "合計点数 {} but the 算定単位 whose 負担区分 includes {whose} sum to {sum}",
                    total.value()
                ),
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
