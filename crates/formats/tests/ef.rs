//! EF integrated file: the public sample, round trips and bad rows.

use medinfra_formats::ef::{EfLayout, EfReader, EfRow, TextEncoding, write_ef};
use medinfra_formats::{FindingKind, Severity};
use proptest::prelude::*;

const SAMPLE: &str = "../../../shared/data/samples/dpc/sample_EFn_XXXXXXXXX_2408.txt";

fn read(bytes: &[u8]) -> (Vec<EfRow>, EfReader<&[u8]>) {
    let mut reader = EfReader::new(bytes, "ef");
    let rows: Vec<EfRow> = reader.by_ref().collect();
    (rows, reader)
}

#[test]
fn public_sample_reads_and_round_trips_byte_for_byte() {
    let path = format!("{}/{SAMPLE}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(path).unwrap();
    let (rows, reader) = read(&bytes);
    assert_eq!(rows.len(), 7);
    assert_eq!(reader.layout(), Some(EfLayout::Columns31));
    assert_eq!(reader.encoding(), Some(TextEncoding::Utf8));
    let header = reader.header().unwrap().to_vec();
    assert_eq!(header.len(), 31);
    assert_eq!(rows[0].line, 2);
    assert_eq!(rows[0].ef(EfLayout::Columns31, 2), Some("0000000004"));
    assert_eq!(rows[0].ef(EfLayout::Columns31, 3), Some("20240801"));
    assert_eq!(rows[0].ef(EfLayout::Columns31, 9), Some("160064510"));
    assert_eq!(rows[0].ef(EfLayout::Columns31, 21), None); // absent in 31 columns
    assert!(reader.finish().is_empty());
    let written = write_ef(Vec::new(), Some(&header), &rows, TextEncoding::Utf8, "\n").unwrap();
    assert_eq!(written, bytes);
}

#[test]
fn cp932_crlf_variant_of_section_10_2_reads() {
    let line = "139999999\t0000000001\t20240410\t20240401\t60\t0001\t001\tLAB001\t160008010\tD007\t検査名\t0000001.000\t000\t11\t1\t11\t\t11\t0\t0\t1\t1\t06139999\t1111\t20240402\t1\t01\tD001\tW01\t1\t1\t1\r\n";
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(line);
    let (rows, reader) = read(&bytes);
    assert_eq!(rows.len(), 1);
    assert_eq!(reader.layout(), Some(EfLayout::Columns32));
    assert_eq!(reader.encoding(), Some(TextEncoding::Cp932));
    assert_eq!(rows[0].ef(EfLayout::Columns32, 11), Some("検査名"));
    assert_eq!(rows[0].ef(EfLayout::Columns32, 25), Some("20240402"));
}

#[test]
fn bad_date_and_wrong_width_rows_are_quarantined_with_location() {
    let mut cells = vec!["1"; 31];
    cells[2] = "00000000"; // EF-3 退院年月日: zeros allowed
    cells[3] = "20240401"; // EF-4 入院年月日
    cells[23] = "20240402"; // EF-25 実施年月日 (index 23 in the 31-column layout)
    let good = cells.join("\t");
    let bad_date = good.replace("20240401", "20240431");
    let short = "1\t2\t3";
    let text = format!("{good}\n{bad_date}\n{short}\n{good}\n");
    let (rows, reader) = read(text.as_bytes());
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 4]);
    let findings = reader.finish();
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert_eq!(findings[0].kind, FindingKind::BadDate);
    assert_eq!(findings[0].line, Some(2));
    assert_eq!(findings[0].field.as_deref(), Some("入院年月日"));
    assert_eq!(findings[0].severity, Severity::ReceiptQuarantine);
    assert_eq!(findings[1].kind, FindingKind::WrongFieldCount);
    assert_eq!(findings[1].line, Some(3));
}

fn cell() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::char::range('0', '9'),
            prop::char::range('A', 'Z'),
            prop::char::range('ァ', 'ヶ'),
            Just(' '),
            Just('.'),
        ],
        0..8,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Generated rows → write (either layout, either encoding, LF or CRLF) → read → same rows.
    #[test]
    fn generated_rows_round_trip(
        wide in any::<bool>(),
        cp932 in any::<bool>(),
        crlf in any::<bool>(),
        rows in prop::collection::vec(prop::collection::vec(cell(), 32), 1..10),
        day in 1u32..=28,
    ) {
        let width = if wide { 32 } else { 31 };
        let date = format!("202404{day:02}");
        let rows: Vec<EfRow> = rows
            .into_iter()
            .enumerate()
            .map(|(i, mut columns)| {
                columns.truncate(width);
                let layout = if wide { EfLayout::Columns32 } else { EfLayout::Columns31 };
                for (c, value) in columns.iter_mut().enumerate() {
                    if [3, 4, 25].contains(&layout.ef_number(c)) {
                        *value = date.clone();
                    }
                }
                // Never start with the header's first cell.
                columns[0] = format!("{i:09}");
                EfRow { line: i as u64 + 1, columns }
            })
            .collect();
        let encoding = if cp932 { TextEncoding::Cp932 } else { TextEncoding::Utf8 };
        let bytes = write_ef(Vec::new(), None, &rows, encoding, if crlf { "\r\n" } else { "\n" }).unwrap();
        let (back, reader) = read(&bytes);
        prop_assert_eq!(back, rows);
        prop_assert!(reader.finish().is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let (_, reader) = read(&bytes);
        let _ = reader.finish();
    }
}
