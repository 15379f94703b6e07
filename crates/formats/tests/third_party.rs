//! Files other tools wrote to the specification (`tests/data/third_party/`), read as a user's
//! file would be: every receipt usable, every payer's totals reconciled the way the
//! specification computes them.

mod common;

use common::{all_findings, read_all};
use medinfra_formats::uke::Record;
use medinfra_formats::{FindingKind, Severity};

const RECEIPTISAN: &str = "tests/data/third_party/receiptisan/RECEIPTC_GAIRAI_SAMPLE.UKE";

#[test]
fn receiptisan_sample_keeps_every_receipt_and_reconciles_every_payer() {
    let bytes = std::fs::read(format!("{}/{RECEIPTISAN}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let (receipts, summary) = read_all(&bytes, "RECEIPTC.UKE");
    assert_eq!(receipts.len(), 75);
    let quarantined: Vec<_> = receipts.iter().filter(|r| r.is_quarantined()).collect();
    assert!(quarantined.is_empty(), "{:#?}", quarantined[0].findings);
    let findings = all_findings(&receipts, &summary);
    // The sample's only defect: GO.総件数 says 140.
    let kinds: Vec<_> = findings.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, [FindingKind::TrailerCountMismatch], "{findings:#?}");
    assert!(findings.iter().all(|f| f.severity == Severity::Warning));
    // GO.総合計点数 = Σ each receipt's claimed points (HO, or KO for 公費単独).
    let go_points = match &summary.trailer.as_ref().unwrap().record {
        Record::Go(go) => go.total_points.unwrap().value(),
        other => panic!("{other:?}"),
    };
    assert_eq!(go_points, 86_392);
    assert_eq!(summary.claimed_points, go_points);

    // 公費単独 (12xx) receipts: KO, no HO, and still kept.
    let public_only = receipts
        .iter()
        .filter(|r| r.re().is_some_and(|re| re.receipt_type.starts_with("12")))
        .collect::<Vec<_>>();
    assert!(public_only.len() >= 2);
    for r in &public_only {
        assert!(!r.records.iter().any(|l| matches!(l.record, Record::Ho(_))));
        assert!(r.records.iter().any(|l| matches!(l.record, Record::Ko(_))));
    }
    // Grouped lines: some SI/IY carry 回数 but no 点数, and the receipt is accepted.
    let grouped = receipts
        .iter()
        .flat_map(|r| &r.records)
        .filter(|l| matches!(l.record.priced(), Some((None, Some(_), _))))
        .count();
    assert!(grouped > 50, "{grouped}");
}

/// The same file with one 合計点数 changed: the reconciliation must notice (it is not a check
/// that always passes), and only as a Warning.
#[test]
fn a_wrong_public_expense_total_is_found() {
    let mut bytes = std::fs::read(format!("{}/{RECEIPTISAN}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    // ASCII, so the same bytes in CP932.
    let ko = b"KO,83136019,1111111,,1,677,";
    let at = bytes.windows(ko.len()).position(|w| w == ko).unwrap();
    bytes[at + ko.len() - 2] = b'8';
    let (receipts, summary) = read_all(&bytes, "RECEIPTC.UKE");
    let findings = all_findings(&receipts, &summary);
    let wrong: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::ReceiptPointsMismatch)
        .collect();
    assert_eq!(wrong.len(), 1, "{findings:#?}");
    assert_eq!(wrong[0].record_type.as_deref(), Some("KO"));
    assert_eq!(wrong[0].line, Some(4));
    assert!(wrong[0].reason.contains("第1公費"), "{}", wrong[0].reason);
    assert_eq!(wrong[0].severity, Severity::Warning);
}
