//! The japan.md §10.1 example file, encoded CP932 + CRLF, read into the expected records.

mod common;

use common::{EXAMPLE_10_1, all_findings, cp932_crlf, read_all};
use medinfra_formats::uke::{
    DateForm, FileKind, Num, Record, UkeReader, parse_date, parse_year_month, to_bytes,
};

#[test]
fn example_parses_into_expected_records() {
    let bytes = cp932_crlf(EXAMPLE_10_1);
    let lines: Vec<_> = UkeReader::new(&bytes[..], "RECEIPTC.UKE").collect();
    let codes: Vec<&str> = lines.iter().map(|l| l.record.code()).collect();
    assert_eq!(codes, ["IR", "RE", "HO", "SY", "SI", "IY", "CO", "GO"]);
    assert!(lines.iter().all(|l| l.findings.is_empty()));
    assert_eq!(
        lines.iter().map(|l| l.line).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );

    let Record::Ir(ir) = &lines[0].record else {
        panic!("IR not typed")
    };
    assert_eq!(ir.facility_code, "9999999");
    assert_eq!(ir.facility_name, "テスト総合病院");
    assert_eq!(ir.billing_month, Some(parse_year_month("202404").unwrap()));

    let Record::Re(re) = &lines[1].record else {
        panic!("RE not typed")
    };
    assert_eq!(re.receipt_no, Some(Num::new(1)));
    assert_eq!(re.receipt_type, "1112");
    assert_eq!(re.name, "試験　太郎");
    assert_eq!(re.kana_name, "シケン　タロウ");
    assert_eq!(re.chart_no, "P0000001");
    let dob = re.birth_date.unwrap();
    assert_eq!(
        (dob.year, dob.month, dob.day, dob.form),
        (1980, 1, 15, DateForm::Gregorian)
    );

    let Record::Ho(ho) = &lines[2].record else {
        panic!("HO not typed")
    };
    assert_eq!(ho.insurer_no.as_str(), "06139999");
    assert_eq!(ho.card_symbol.as_str(), "１２３");
    assert_eq!(ho.card_symbol.normalized(), "123");
    assert_eq!(ho.card_number.normalized(), "4567");
    assert_eq!(ho.total_points.map(Num::value), Some(318));

    let Record::Sy(sy) = &lines[3].record else {
        panic!("SY not typed")
    };
    assert_eq!(sy.disease_code, "0000999");
    assert_eq!(sy.start_date, Some(parse_date("20240401").unwrap()));
    assert_eq!(sy.disease_name, "テスト病名");
    assert_eq!(sy.main_disease, "01");

    let Record::Si(si) = &lines[4].record else {
        panic!("SI not typed")
    };
    assert_eq!(
        (si.points.map(Num::value), si.count.map(Num::value)),
        (Some(75), Some(2))
    );
    assert_eq!(si.days.on(3).map(Num::value), Some(1));
    assert_eq!(si.days.on(17).map(Num::value), Some(1));
    assert_eq!(si.days.total(), 2);

    let Record::Iy(iy) = &lines[5].record else {
        panic!("IY not typed")
    };
    assert_eq!(iy.code, "620000000");
    assert_eq!(iy.quantity, "2");
    assert_eq!(iy.days.total(), 14);

    let Record::Co(co) = &lines[6].record else {
        panic!("CO not typed")
    };
    assert_eq!(co.text, "１日２回朝夕食後");

    let Record::Go(go) = &lines[7].record else {
        panic!("GO not typed")
    };
    assert_eq!(go.receipt_count.map(Num::value), Some(1));
    assert_eq!(go.total_points.map(Num::value), Some(318));
}

#[test]
fn example_groups_into_one_receipt_with_consistent_totals() {
    let bytes = cp932_crlf(EXAMPLE_10_1);
    let (receipts, summary) = read_all(&bytes, "RECEIPTC.UKE");
    assert_eq!(receipts.len(), 1);
    let r = &receipts[0];
    assert_eq!(r.line, 2);
    assert_eq!(r.records.len(), 6); // RE HO SY SI IY CO
    assert_eq!(r.computed_points, 75 * 2 + 12 * 14);
    assert_eq!(r.claimed_points(), 318);
    assert!(!r.is_quarantined());
    assert_eq!(summary.kind, FileKind::Medical);
    assert_eq!((summary.receipts, summary.claimed_points), (1, 318));
    assert_eq!(summary.lines, 8);
    assert!(summary.header.is_some() && summary.trailer.is_some());
    let findings = all_findings(&receipts, &summary);
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(!summary.is_rejected());
}

#[test]
fn example_round_trips_byte_for_byte() {
    let bytes = cp932_crlf(EXAMPLE_10_1);
    let records: Vec<Record> = UkeReader::new(&bytes[..], "f").map(|l| l.record).collect();
    assert_eq!(to_bytes(&records).unwrap(), bytes);
}

#[test]
fn kind_is_detected_from_content_not_name() {
    let dpc = EXAMPLE_10_1.replace(
        "SY,0000999",
        "BU,060035xx99x60x,20240401,20240410,1,\nSY,0000999",
    );
    let (_, summary) = read_all(&cp932_crlf(&dpc), "RECEIPTC.UKE");
    assert_eq!(summary.kind, FileKind::Dpc);

    let pharmacy = EXAMPLE_10_1.replace(
        "IR,1,13,1,9999999,,テスト総合病院,202404,00,0399999999",
        "YK,1,13,4,9999999,,テスト薬局,202404,00,0399999999",
    );
    let (receipts, summary) = read_all(&cp932_crlf(&pharmacy), "RECEIPTD.UKE");
    assert_eq!(summary.kind, FileKind::Pharmacy);
    assert_eq!(receipts.len(), 1);
    // Pharmacy layouts are unknown: records are kept raw, untyped, without findings.
    assert!(matches!(receipts[0].records[0].record, Record::Raw(_)));
    assert!(all_findings(&receipts, &summary).is_empty());
}

#[test]
fn findings_serialize_to_json() {
    let bytes = cp932_crlf(&EXAMPLE_10_1.replace("GO,1,318,99", "GO,1,300,99"));
    let (_, summary) = read_all(&bytes, "RECEIPTC.UKE");
    let json = serde_json::to_string(&summary.findings).unwrap();
    assert!(json.contains("\"TrailerPointsMismatch\""), "{json}");
    let back: Vec<medinfra_formats::Finding> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, summary.findings);
}
