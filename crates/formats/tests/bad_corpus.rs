//! The bad-input corpus: one small file per failure kind under `tests/bad/`. Each test asserts
//! the exact finding (kind, line, record type, field, severity) and that it is the only one.

mod common;

use common::{all_findings, read_all};
use medinfra_formats::{Finding, FindingKind, Severity};

fn findings_of(name: &str) -> Vec<Finding> {
    let path = format!("{}/tests/bad/{name}.UKE", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap();
    let (receipts, summary) = read_all(&bytes, &format!("{name}.UKE"));
    all_findings(&receipts, &summary)
}

/// Asserts that `name` yields exactly one finding, with these coordinates.
fn expect_only(
    name: &str,
    kind: FindingKind,
    line: Option<u64>,
    record_type: Option<&str>,
    field: Option<&str>,
    severity: Severity,
    value: Option<&str>,
) {
    let findings = findings_of(name);
    assert_eq!(findings.len(), 1, "{name}: {findings:#?}");
    let f = &findings[0];
    assert_eq!(f.kind, kind, "{name}");
    assert_eq!(f.line, line, "{name}");
    assert_eq!(f.record_type.as_deref(), record_type, "{name}");
    assert_eq!(f.field.as_deref(), field, "{name}");
    assert_eq!(f.severity, severity, "{name}");
    assert_eq!(f.value_masked.as_deref(), value, "{name}");
    assert_eq!(f.file, format!("{name}.UKE"));
    assert!(!f.reason.is_empty());
}

/// Asserts that `name` yields exactly these Warnings (kind, line, field), in this order, and
/// that nothing in the file is quarantined.
fn expect_kinds(name: &str, expected: &[(FindingKind, u64, &str)]) {
    let findings = findings_of(name);
    let got: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f.kind,
                f.line.unwrap_or(0),
                f.field.clone().unwrap_or_default(),
            )
        })
        .collect();
    let want: Vec<_> = expected
        .iter()
        .map(|(k, l, f)| (*k, *l, f.to_string()))
        .collect();
    assert_eq!(got, want, "{name}: {findings:#?}");
    assert!(
        findings.iter().all(|f| f.severity == Severity::Warning),
        "{name}: {findings:#?}"
    );
}

#[test]
fn missing_ir() {
    expect_only(
        "missing_ir",
        FindingKind::MissingHeader,
        Some(1),
        Some("IR"),
        None,
        Severity::FileFatal,
        None,
    );
}

#[test]
fn missing_go() {
    expect_only(
        "missing_go",
        FindingKind::MissingTrailer,
        Some(7),
        Some("GO"),
        None,
        Severity::FileFatal,
        None,
    );
}

#[test]
fn truncated_last_line() {
    expect_only(
        "truncated_last_line",
        FindingKind::TruncatedLastLine,
        Some(8),
        None,
        None,
        Severity::FileFatal,
        None,
    );
}

#[test]
fn undecodable_bytes() {
    expect_only(
        "undecodable_bytes",
        FindingKind::UndecodableBytes,
        Some(4),
        None,
        None,
        Severity::FileFatal,
        None,
    );
}

#[test]
fn bad_gregorian_date() {
    expect_only(
        "bad_gregorian_date",
        FindingKind::BadDate,
        Some(2),
        Some("RE"),
        Some("生年月日"),
        Severity::ReceiptQuarantine,
        Some("19800231"),
    );
}

#[test]
fn bad_era_date() {
    expect_only(
        "bad_era_date",
        FindingKind::BadEraDate,
        Some(4),
        Some("SY"),
        Some("診療開始日"),
        Severity::Warning,
        Some("4330401"),
    );
}

#[test]
fn bad_billing_month() {
    expect_only(
        "bad_billing_month",
        FindingKind::BadYearMonth,
        Some(1),
        Some("IR"),
        Some("請求年月"),
        Severity::FileFatal,
        Some("202413"),
    );
}

#[test]
fn wrong_field_count() {
    expect_only(
        "wrong_field_count",
        FindingKind::WrongFieldCount,
        Some(3),
        Some("HO"),
        None,
        Severity::Warning,
        None,
    );
}

/// Quarantine policy: an unreadable 点数 is left empty (a Warning); the line then opens a
/// 算定単位 that the next priced line closes, and the HO total no longer reconciles.
#[test]
fn non_numeric_points() {
    expect_kinds(
        "non_numeric_points",
        &[
            (FindingKind::NotANumber, 5, "点数"),
            (FindingKind::ReceiptPointsMismatch, 3, "合計点数"),
        ],
    );
}

#[test]
fn bad_day_count_value() {
    expect_kinds(
        "bad_day_count_value",
        &[
            (FindingKind::NotANumber, 5, "算定日情報(3日)"),
            (FindingKind::DayCountMismatch, 5, "算定日情報"),
        ],
    );
}

#[test]
fn day_counts_not_summing() {
    expect_only(
        "day_counts_not_summing",
        FindingKind::DayCountMismatch,
        Some(6),
        Some("IY"),
        Some("算定日情報"),
        Severity::Warning,
        Some("13"),
    );
}

#[test]
fn go_total_mismatch() {
    expect_only(
        "go_total_mismatch",
        FindingKind::TrailerPointsMismatch,
        Some(8),
        Some("GO"),
        Some("総合計点数"),
        Severity::Warning,
        Some("320"),
    );
}

#[test]
fn go_count_mismatch() {
    expect_only(
        "go_count_mismatch",
        FindingKind::TrailerCountMismatch,
        Some(8),
        Some("GO"),
        Some("総件数"),
        Severity::Warning,
        Some("2"),
    );
}

#[test]
fn unknown_record_type() {
    expect_only(
        "unknown_record_type",
        FindingKind::UnknownRecordType,
        Some(7),
        Some("ZZ"),
        None,
        Severity::Warning,
        Some("ZZ"),
    );
}

#[test]
fn re_before_ir() {
    expect_only(
        "re_before_ir",
        FindingKind::RecordBeforeHeader,
        Some(1),
        Some("RE"),
        None,
        Severity::FileFatal,
        None,
    );
}

#[test]
fn sy_outside_receipt() {
    expect_only(
        "sy_outside_receipt",
        FindingKind::RecordOutsideReceipt,
        Some(2),
        Some("SY"),
        None,
        Severity::FileFatal,
        None,
    );
}

#[test]
fn empty_file() {
    expect_only(
        "empty_file",
        FindingKind::EmptyFile,
        None,
        None,
        None,
        Severity::FileFatal,
        None,
    );
}

#[test]
fn unclosed_calculation_unit() {
    expect_only(
        "unclosed_calculation_unit",
        FindingKind::UnclosedCalculationUnit,
        Some(7),
        Some("SI"),
        Some("点数"),
        Severity::Warning,
        None,
    );
}

#[test]
fn points_without_count() {
    expect_kinds(
        "points_without_count",
        &[
            (FindingKind::PointsWithoutCount, 5, "回数"),
            (FindingKind::ReceiptPointsMismatch, 3, "合計点数"),
        ],
    );
}

/// 回数 without 点数 is how the earlier lines of a 剤 / 手技 are written: the line joins the
/// unit the next line closes. Here that leaves HO.合計点数 unreconciled — a Warning, nothing lost.
#[test]
fn count_without_points() {
    expect_kinds(
        "count_without_points",
        &[(FindingKind::ReceiptPointsMismatch, 3, "合計点数")],
    );
}

#[test]
fn record_after_go() {
    expect_only(
        "record_after_go",
        FindingKind::RecordAfterTrailer,
        Some(9),
        Some("SY"),
        None,
        Severity::FileFatal,
        None,
    );
}

#[test]
fn duplicate_go() {
    expect_only(
        "duplicate_go",
        FindingKind::DuplicateTrailer,
        Some(9),
        Some("GO"),
        None,
        Severity::FileFatal,
        None,
    );
}

#[test]
fn duplicate_ir() {
    expect_only(
        "duplicate_ir",
        FindingKind::DuplicateHeader,
        Some(2),
        Some("IR"),
        None,
        Severity::FileFatal,
        None,
    );
}

#[test]
fn bare_line_feed() {
    expect_only(
        "bare_line_feed",
        FindingKind::BareLineFeed,
        Some(1),
        None,
        None,
        Severity::Warning,
        None,
    );
}

#[test]
fn empty_line() {
    expect_only(
        "empty_line",
        FindingKind::EmptyLine,
        Some(4),
        None,
        None,
        Severity::Warning,
        None,
    );
}

#[test]
fn ho_total_mismatch() {
    expect_only(
        "ho_total_mismatch",
        FindingKind::ReceiptPointsMismatch,
        Some(3),
        Some("HO"),
        Some("合計点数"),
        Severity::Warning,
        Some("300"),
    );
}

#[test]
fn bad_insurer_number() {
    expect_only(
        "bad_insurer_number",
        FindingKind::BadCodeShape,
        Some(3),
        Some("HO"),
        Some("保険者番号"),
        Severity::ReceiptQuarantine,
        Some("<masked:7 chars>"),
    );
}

#[test]
fn receipt_number_out_of_sequence() {
    expect_only(
        "receipt_number_out_of_sequence",
        FindingKind::ReceiptNumberOutOfSequence,
        Some(2),
        Some("RE"),
        Some("レセプト番号"),
        Severity::Warning,
        Some("7"),
    );
}

/// Every `.UKE` file in tests/bad has a test above (a new fixture without one fails here);
/// the other formats' fixtures are covered by `bad_corpus_formats.rs`.
#[test]
fn corpus_is_fully_covered() {
    let mut names: Vec<String> =
        std::fs::read_dir(format!("{}/tests/bad", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".UKE"))
            .collect();
    names.sort();
    assert_eq!(names.len(), COVERED.len(), "{names:?}");
    for n in names {
        assert!(
            COVERED.contains(&n.trim_end_matches(".UKE")),
            "{n} has no test"
        );
    }
}

/// Identifiers never appear in clear: the masked insurer number hides its digits.
#[test]
fn identifier_values_are_masked() {
    let f = &findings_of("bad_insurer_number")[0];
    let shown = f.value_masked.as_deref().unwrap();
    assert!(!shown.contains("0613999"));
    assert!(!f.describe().contains("0613999"));
}

const COVERED: &[&str] = &[
    "missing_ir",
    "missing_go",
    "truncated_last_line",
    "undecodable_bytes",
    "bad_gregorian_date",
    "bad_era_date",
    "bad_billing_month",
    "wrong_field_count",
    "non_numeric_points",
    "bad_day_count_value",
    "day_counts_not_summing",
    "go_total_mismatch",
    "go_count_mismatch",
    "unknown_record_type",
    "re_before_ir",
    "sy_outside_receipt",
    "empty_file",
    "unclosed_calculation_unit",
    "points_without_count",
    "count_without_points",
    "record_after_go",
    "duplicate_go",
    "duplicate_ir",
    "bare_line_feed",
    "empty_line",
    "ho_total_mismatch",
    "bad_insurer_number",
    "receipt_number_out_of_sequence",
];
