//! 様式1 (FF1) and D file: round trips (generated rows → write → read → same rows, same bytes)
//! and the §10.2 example shapes.

use medinfra_formats::dfile::{D_COLUMNS, DReader, DRow, write_d};
use medinfra_formats::ef::TextEncoding;
use medinfra_formats::ff1::{Ff1Layout, Ff1Reader, Ff1Row, write_ff1};
use proptest::prelude::*;

fn ff1_row(line: u64, code: &str, payloads: &[&str]) -> Ff1Row {
    let mut p: [String; 9] = Default::default();
    for (slot, v) in p.iter_mut().zip(payloads) {
        *slot = (*v).to_owned();
    }
    Ff1Row {
        line,
        facility_code: "139999999".into(),
        patient_id: "0000000001".into(),
        discharge_date: Some("20240410".into()),
        admission_date: "20240401".into(),
        count_no: "1".into(),
        unified_no: "0".into(),
        code: code.into(),
        version: "20240401".into(),
        seq: "1".into(),
        payloads: p,
    }
}

#[test]
fn ff1_example_rows_read_with_typed_payloads() {
    let rows = vec![
        ff1_row(1, "A000010", &["19800115", "1", "1000001"]),
        ff1_row(
            2,
            "A006010",
            &["", "I219", "", "", "", "", "", "", "急性心筋梗塞"],
        ),
    ];
    let bytes = write_ff1(Vec::new(), None, &rows, TextEncoding::Cp932, "\r\n").unwrap();
    // CP932 on the wire: 急 is 0x8B 0x7D.
    assert!(bytes.windows(2).any(|w| w == [0x8B, 0x7D]));
    let mut r = Ff1Reader::new(&bytes[..], "FF1_139999999_202404.txt");
    let back: Vec<Ff1Row> = r.by_ref().collect();
    assert_eq!(r.layout(), Some(Ff1Layout::WithDischargeDate));
    assert_eq!(r.encoding(), Some(TextEncoding::Cp932));
    assert!(r.finish().is_empty());
    assert_eq!(back, rows);
    assert_eq!(back[0].payload_named("生年月日"), Some("19800115"));
    assert_eq!(back[1].payload_named("ICD-10"), Some("I219"));
    assert_eq!(back[1].payload_named("傷病名"), Some("急性心筋梗塞"));
}

#[test]
fn d_example_row_reads_by_column_name() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/bad/d_bad_dpc_code.txt",
        env!("CARGO_MANIFEST_DIR")
    ));
    // The bad file is CP932; decode its first (good) row for the shape.
    let raw = std::fs::read(format!(
        "{}/tests/bad/d_bad_dpc_code.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert!(text.is_err(), "the D corpus file is CP932, not UTF-8");
    let mut r = DReader::new(&raw[..], "Dn");
    let row = r.next().unwrap();
    assert_eq!(row.get("分類番号"), Some("050050xx9910xx"));
    assert_eq!(row.get("医療機関係数"), Some("1.2345"));
    assert_eq!(row.get("診療明細名称"), Some("入院基本料"));
    assert_eq!(r.encoding(), Some(TextEncoding::Cp932));
}

fn cell() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::char::range('0', '9'),
            prop::char::range('A', 'Z'),
            prop::char::range('ァ', 'ヶ'),
            prop::sample::select(vec!['急', '性', '心', '筋', '梗', '塞', ' ', '.']),
        ],
        0..8,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::char::range('0', '9'), n).prop_map(|v| v.into_iter().collect())
}

fn date() -> impl Strategy<Value = String> {
    (2000u32..2030, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y}{m:02}{d:02}"))
}

prop_compose! {
    fn ff1_rows(with_discharge: bool)(
        n in 1usize..8,
        fac in digits(9),
        pid in digits(10),
        adm in date(),
        dis in prop_oneof![date(), Just("00000000".to_owned())],
        codes in prop::collection::vec(
            prop_oneof![
                Just("A000010".to_owned()),
                Just("A006010".to_owned()),
                Just("A007010".to_owned()),
                (0u32..999_999).prop_map(|n| format!("Z{n:06}")),
            ], 8),
        payloads in prop::collection::vec(prop::collection::vec(cell(), 9), 8),
        dates in prop::collection::vec(date(), 8),
        sexes in prop::collection::vec(prop::sample::select(vec!["1", "2"]), 8),
    ) -> Vec<Ff1Row> {
        (0..n).map(|i| {
            let mut p: [String; 9] = payloads[i].clone().try_into().unwrap();
            match codes[i].as_str() {
                "A000010" => { p[0] = dates[i].clone(); p[1] = sexes[i].to_owned(); }
                "A006010" => p[1] = "I219".to_owned(),
                "A007010" => p[0] = dates[i].clone(),
                _ => {}
            }
            Ff1Row {
                line: i as u64 + 1,
                facility_code: fac.clone(),
                patient_id: pid.clone(),
                discharge_date: with_discharge.then(|| dis.clone()),
                admission_date: adm.clone(),
                count_no: "1".to_owned(),
                unified_no: (i % 3).to_string(),
                code: codes[i].clone(),
                version: adm.clone(),
                seq: (i + 1).to_string(),
                payloads: p,
            }
        }).collect()
    }
}

prop_compose! {
    fn d_rows()(
        n in 1usize..8,
        cells in prop::collection::vec(prop::collection::vec(cell(), 29), 8),
        dates in prop::collection::vec(date(), 8),
        codes in prop::collection::vec(digits(14), 8),
        coef in prop::collection::vec(0u32..30000, 8),
    ) -> Vec<DRow> {
        (0..n).map(|i| {
            let mut columns = cells[i].clone();
            for (c, name) in D_COLUMNS.iter().enumerate() {
                if name.ends_with('日') {
                    columns[c] = dates[i].clone();
                }
            }
            columns[0] = format!("{i:09}");
            columns[27] = codes[i].clone();
            columns[28] = format!("{}.{:04}", coef[i] / 10000, coef[i] % 10000);
            DRow { line: i as u64 + 1, columns }
        }).collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn ff1_rows_round_trip(
        with_discharge in any::<bool>(),
        rows in any::<bool>().prop_flat_map(ff1_rows),
        cp932 in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let rows: Vec<Ff1Row> = rows.into_iter().map(|mut r| {
            if !with_discharge { r.discharge_date = None } else if r.discharge_date.is_none() {
                r.discharge_date = Some("00000000".into())
            }
            r
        }).collect();
        let enc = if cp932 { TextEncoding::Cp932 } else { TextEncoding::Utf8 };
        let end = if crlf { "\r\n" } else { "\n" };
        let bytes = write_ff1(Vec::new(), None, &rows, enc, end).unwrap();
        let mut r = Ff1Reader::new(&bytes[..], "ff1");
        let back: Vec<Ff1Row> = r.by_ref().collect();
        let findings = r.finish();
        prop_assert!(findings.is_empty(), "{:#?}", findings);
        prop_assert_eq!(&back, &rows);
        let again = write_ff1(Vec::new(), None, &back, enc, end).unwrap();
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn d_rows_round_trip(rows in d_rows(), cp932 in any::<bool>(), header in any::<bool>()) {
        let enc = if cp932 { TextEncoding::Cp932 } else { TextEncoding::Utf8 };
        let head: Vec<String> = D_COLUMNS.iter().map(|s| s.to_string()).collect();
        let rows: Vec<DRow> = rows.into_iter()
            .map(|mut r| { r.line += u64::from(header); r })
            .collect();
        let bytes = write_d(Vec::new(), header.then_some(&head[..]), &rows, enc, "\r\n").unwrap();
        let mut r = DReader::new(&bytes[..], "d");
        let back: Vec<DRow> = r.by_ref().collect();
        prop_assert_eq!(r.header().is_some(), header);
        prop_assert!(r.finish().is_empty());
        prop_assert_eq!(&back, &rows);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut r = Ff1Reader::new(&bytes[..], "x");
        r.by_ref().for_each(drop);
        let _ = r.finish();
        let mut d = DReader::new(&bytes[..], "x");
        d.by_ref().for_each(drop);
        let _ = d.finish();
    }
}
