//! Property tests: for every record type, generated records → write → read → same records
//! (and the same bytes), plus whole generated files that must read back without findings, and
//! arbitrary bytes that must never panic.
//!
//! Records are generated from the layout tables themselves (one value generator per field
//! kind), so a new record type or field is covered without touching this file.

mod common;

use common::{all_findings, read_all};
use medinfra_formats::uke::{
    FieldKind, Record, UkeReader, encode_record, layout_of, records::RawRecord, records::RawWhy,
    to_bytes,
};
use proptest::prelude::*;

/// Characters that survive CP932 both ways: ASCII (no comma), kana, kanji, full-width
/// digits/letters, the ideographic space and half-width katakana.
fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::char::range(' ', '+'),
        prop::char::range('-', '~'),
        prop::char::range('ぁ', 'ん'),
        prop::char::range('ァ', 'ヶ'),
        prop::char::range('０', '９'),
        prop::char::range('Ａ', 'Ｚ'),
        prop::sample::select(vec![
            '試', '験', '太', '郎', '病', '院', '東', '京', '　', '食', '後'
        ]),
        prop::char::range('｡', 'ﾟ'),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(text_char(), 0..12).prop_map(|v| v.into_iter().collect())
}

fn digits(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::char::range('0', '9'), len).prop_map(|v| v.into_iter().collect())
}

fn optional(s: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    prop_oneof![1 => Just(String::new()), 3 => s]
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (era digit, first Gregorian year, last era year), written independently of the crate.
const ERAS: [(u32, u32, u32); 5] = [
    (1, 1868, 45),
    (2, 1912, 15),
    (3, 1926, 64),
    (4, 1989, 31),
    (5, 2019, 99),
];

fn date() -> impl Strategy<Value = String> {
    let gregorian = (1868u32..=2999, 1u32..=12, 1u32..=31)
        .prop_map(|(y, m, d)| format!("{y:04}{m:02}{:02}", d.min(days_in_month(y, m))));
    let era = (0usize..5, 1u32..=99, 1u32..=12, 1u32..=31).prop_map(|(e, yy, m, d)| {
        let (g, first, last) = ERAS[e];
        let yy = yy.min(last);
        format!(
            "{g}{yy:02}{m:02}{:02}",
            d.min(days_in_month(first + yy - 1, m))
        )
    });
    optional(prop_oneof![gregorian, era])
}

fn year_month() -> impl Strategy<Value = String> {
    let gregorian = (1868u32..=2999, 1u32..=12).prop_map(|(y, m)| format!("{y:04}{m:02}"));
    let era = (0usize..5, 1u32..=99, 1u32..=12).prop_map(|(e, yy, m)| {
        let (g, _, last) = ERAS[e];
        format!("{g}{:02}{m:02}", yy.min(last))
    });
    optional(prop_oneof![gregorian, era])
}

fn column_values(kind: FieldKind) -> BoxedStrategy<Vec<String>> {
    match kind {
        FieldKind::Text | FieldKind::CardText => text().prop_map(|s| vec![s]).boxed(),
        FieldKind::Number => optional(digits(1..=9)).prop_map(|s| vec![s]).boxed(),
        FieldKind::Date => date().prop_map(|s| vec![s]).boxed(),
        FieldKind::YearMonth => year_month().prop_map(|s| vec![s]).boxed(),
        FieldKind::InsurerNo => prop_oneof![digits(8..=8), digits(6..=6)]
            .prop_map(|s| vec![s])
            .boxed(),
        FieldKind::DayCounts => prop::collection::vec(optional(digits(1..=2)), 31).boxed(),
    }
}

/// A valid line (fields) of record type `code`, generated from its layout table.
fn valid_fields(code: &'static str) -> BoxedStrategy<Vec<String>> {
    let (_, specs) = layout_of(code).unwrap();
    let columns: Vec<BoxedStrategy<Vec<String>>> =
        specs.iter().map(|s| column_values(s.kind)).collect();
    columns
        .prop_map(move |cols| {
            let mut fields = vec![code.to_owned()];
            fields.extend(cols.into_iter().flatten());
            fields
        })
        .boxed()
}

fn encode_line(fields: &[String]) -> Vec<u8> {
    let line = fields.join(",");
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(&line);
    assert!(!bad);
    let mut out = bytes.into_owned();
    out.extend_from_slice(b"\r\n");
    out
}

/// Generated line → read → typed record → write → identical bytes → read → same record.
fn check_round_trip(fields: &[String]) -> Result<(), TestCaseError> {
    let bytes = encode_line(fields);
    let read: Vec<_> = UkeReader::new(&bytes[..], "p").collect();
    prop_assert_eq!(read.len(), 1);
    let first = &read[0];
    prop_assert!(first.findings.is_empty(), "{:?}", first.findings);
    prop_assert!(
        !matches!(first.record, Record::Raw(_)),
        "{:?} stayed raw",
        fields[0]
    );
    let written = to_bytes([&first.record]).unwrap();
    prop_assert_eq!(&written, &bytes);
    let again: Vec<_> = UkeReader::new(&written[..], "p")
        .map(|l| l.record)
        .collect();
    prop_assert_eq!(&again[..], std::slice::from_ref(&first.record));
    Ok(())
}

macro_rules! round_trip_tests {
    ($($name:ident => $code:literal),* $(,)?) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            $(
                #[test]
                fn $name(fields in valid_fields($code)) {
                    check_round_trip(&fields)?;
                }
            )*
        }
    };
}

round_trip_tests! {
    ir_round_trips => "IR", re_round_trips => "RE", ho_round_trips => "HO",
    ko_round_trips => "KO", sn_round_trips => "SN", sy_round_trips => "SY",
    si_round_trips => "SI", iy_round_trips => "IY", to_round_trips => "TO",
    co_round_trips => "CO", sj_round_trips => "SJ", go_round_trips => "GO",
    bu_round_trips => "BU", sb_round_trips => "SB", kk_round_trips => "KK",
    sk_round_trips => "SK", ga_round_trips => "GA", hh_round_trips => "HH",
    gt_round_trips => "GT", cd_round_trips => "CD",
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Record types without a layout (JD, MF, pharmacy records, …) round-trip as raw fields.
    #[test]
    fn untyped_records_round_trip_raw(
        code in prop::sample::select(vec!["JD", "MF", "KH", "NI", "SH", "CZ", "KI", "TK", "ST"]),
        rest in prop::collection::vec(text(), 0..20),
    ) {
        let mut fields = vec![code.to_owned()];
        fields.extend(rest);
        let record = Record::Raw(RawRecord { fields, why: RawWhy::Untyped });
        let bytes = to_bytes([&record]).unwrap();
        let read: Vec<_> = UkeReader::new(&bytes[..], "p").collect();
        prop_assert_eq!(read.len(), 1);
        prop_assert!(read[0].findings.is_empty());
        prop_assert_eq!(&read[0].record, &record);
    }

    /// Whole files built by the rules (points on the last record of each unit, day columns
    /// summing to 回数, HO and GO totals) read back with no findings and the right totals.
    #[test]
    fn consistent_files_have_no_findings(
        receipts in prop::collection::vec(
            prop::collection::vec((1u64..5000, 1u64..6, 0usize..3, 1usize..29), 1..6),
            1..5,
        ),
    ) {
        let mut lines = vec!["IR,1,13,1,9999999,,テスト病院,202404,00,".to_owned()];
        let mut grand = 0;
        let mut total_records = 0;
        for (i, units) in receipts.iter().enumerate() {
            lines.push(format!("RE,{},1112,202404,試験　太郎,1,19800115{}", i + 1, ",".repeat(31)));
            let total: u64 = units.iter().map(|(p, c, _, _)| p * c).sum();
            grand += total;
            lines.push(format!("HO,06139999,１２３,４５６７,2,{total},,,,,,,,,"));
            for &(points, count, leading, day) in units {
                for _ in 0..leading {
                    lines.push(format!("SI,,1,160000010,{}", ",".repeat(39)));
                }
                let mut days = vec![String::new(); 31];
                days[day] = (count - 1).to_string();
                days[day + 1] = "1".to_owned();
                if count == 1 {
                    days[day].clear();
                }
                lines.push(format!("IY,21,1,620000000,1,{points},{count},,,,,,,{}", days.join(",")));
            }
            total_records += 2 + units.iter().map(|u| u.2 + 1).sum::<usize>();
        }
        lines.push(format!("GO,{},{grand},99", receipts.len()));
        let mut text = lines.join("\r\n");
        text.push_str("\r\n");
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        let (read, summary) = read_all(&bytes, "gen.UKE");
        let findings = all_findings(&read, &summary);
        prop_assert!(findings.is_empty(), "{:#?}", findings);
        prop_assert_eq!(read.len(), receipts.len());
        prop_assert_eq!(read.iter().map(|r| r.records.len()).sum::<usize>(), total_records);
        prop_assert_eq!(summary.claimed_points, grand);
        // And the whole file round-trips byte for byte.
        let records: Vec<Record> = UkeReader::new(&bytes[..], "gen").map(|l| l.record).collect();
        prop_assert_eq!(to_bytes(&records).unwrap(), bytes.into_owned());
    }

    /// Arbitrary bytes never panic, and every line of output is accounted for.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let (receipts, summary) = read_all(&bytes, "fuzz");
        prop_assert!(summary.lines <= bytes.len() as u64 + 1);
        let _ = all_findings(&receipts, &summary);
    }

    /// Arbitrary lines made of plausible UKE pieces (record ids, commas, digits, CRLF) never
    /// panic and always re-encode if they read as typed records.
    #[test]
    fn structured_noise_never_panics(
        parts in prop::collection::vec(
            prop_oneof![
                prop::sample::select(vec!["IR", "RE", "HO", "SI", "IY", "TO", "SY", "GO", "YK", "BU"])
                    .prop_map(str::to_owned),
                Just(",".to_owned()),
                Just("\r\n".to_owned()),
                digits(1..=8),
                text(),
            ],
            0..200,
        ),
    ) {
        let text: String = parts.concat();
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        for line in UkeReader::new(&bytes[..], "noise") {
            if !matches!(line.record, Record::Raw(_)) {
                let mut out = Vec::new();
                prop_assert!(encode_record(&line.record, line.line, &mut out).is_ok());
            }
        }
        let _ = read_all(&bytes, "noise");
    }
}

#[test]
fn overlong_line_is_file_fatal_and_memory_is_bounded() {
    let mut bytes = b"IR,".to_vec();
    bytes.resize(medinfra_formats::uke::MAX_LINE_BYTES + 10, b'9');
    bytes.extend_from_slice(b"\r\nGO,0,0,99\r\n");
    let (_, summary) = read_all(&bytes, "long");
    let f = summary
        .findings
        .iter()
        .find(|f| f.kind == medinfra_formats::FindingKind::LineTooLong)
        .unwrap();
    assert_eq!(f.line, Some(1));
    assert_eq!(f.severity, medinfra_formats::Severity::FileFatal);
    assert!(
        summary.trailer.is_some(),
        "reading continues after the long line"
    );
}

#[test]
fn writer_rejects_unencodable_and_separator_text_without_echoing_it() {
    let mut fields = vec!["CO".to_owned(), "21".into(), "1".into(), "810000001".into()];
    fields.push("secret😀".into());
    let record = Record::Raw(RawRecord {
        fields: fields.clone(),
        why: RawWhy::Untyped,
    });
    let err = to_bytes([&record]).unwrap_err().to_string();
    assert!(err.contains("field 4") && !err.contains("secret"), "{err}");
    fields[4] = "a,b".into();
    let record = Record::Raw(RawRecord {
        fields,
        why: RawWhy::Untyped,
    });
    assert!(
        to_bytes([&record])
            .unwrap_err()
            .to_string()
            .contains("comma")
    );
}
