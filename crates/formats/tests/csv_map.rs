//! Mapped CSV: generated rows → write → read → same rows (and bytes), mapping files both ways.

use std::collections::BTreeMap;

use medinfra_formats::csv_map::{CsvMappedReader, MappedRow, Mapping, write_csv};
use medinfra_formats::ef::TextEncoding;
use proptest::prelude::*;

#[test]
fn corpus_mapping_reads_and_renames() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/bad/csv_mapping.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let m = Mapping::from_toml(&text).unwrap();
    assert_eq!(
        m.columns.get("患者ID").map(String::as_str),
        Some("patient_id")
    );
    assert_eq!(Mapping::from_toml(&m.to_toml()).unwrap(), m);
    let data = "結果,患者ID,検査日,備考\r\n7.2,000123,20240401,x\r\n";
    let mut r = CsvMappedReader::new(data.as_bytes(), "lab.csv", m);
    let rows: Vec<MappedRow> = r.by_ref().collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].line, 2);
    assert_eq!(rows[0].fields["patient_id"], "000123");
    assert_eq!(rows[0].fields["value"], "7.2");
    let findings = r.finish();
    assert_eq!(
        findings.len(),
        1,
        "the unmapped 備考 column is reported once"
    );
    assert_eq!(findings[0].field.as_deref(), Some("備考"));
}

fn cell() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::char::range('0', '9'),
            prop::char::range('ァ', 'ヶ'),
            prop::sample::select(vec![',', '"', ' ', '\n', '試', ';'])
        ],
        0..8,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_rows_round_trip(
        names in prop::collection::btree_set("[a-z]{1,6}", 1..5),
        values in prop::collection::vec(prop::collection::vec(cell(), 5), 0..8),
        cp932 in any::<bool>(),
        semicolon in any::<bool>(),
    ) {
        let columns: BTreeMap<String, String> = names.iter().map(|n| (format!("列{n}"), n.clone())).collect();
        let mapping = Mapping {
            encoding: if cp932 { TextEncoding::Cp932 } else { TextEncoding::Utf8 },
            delimiter: if semicolon { b';' } else { b',' },
            columns,
            identifiers: vec![],
        };
        prop_assert_eq!(Mapping::from_toml(&mapping.to_toml()).unwrap(), mapping.clone());
        let mut line = 2;
        let rows: Vec<MappedRow> = values.iter().map(|v| {
            let fields: BTreeMap<String, String> = mapping.columns.values().cloned().zip(v.iter().cloned()).collect();
            let row = MappedRow { line, fields };
            // A quoted value with line breaks spans several physical lines.
            line += 1 + row.fields.values().map(|v| v.matches('\n').count() as u64).sum::<u64>();
            row
        }).collect();
        let bytes = write_csv(Vec::new(), &mapping, &rows).unwrap();
        let mut r = CsvMappedReader::new(&bytes[..], "gen.csv", mapping.clone());
        let back: Vec<MappedRow> = r.by_ref().collect();
        prop_assert!(r.finish().is_empty());
        prop_assert_eq!(&back, &rows);
        prop_assert_eq!(write_csv(Vec::new(), &mapping, &back).unwrap(), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let m = Mapping::from_toml("[columns]\n\"a\" = \"a\"\n").unwrap();
        let mut r = CsvMappedReader::new(&bytes[..], "x", m);
        r.by_ref().for_each(drop);
        let _ = r.finish();
        let _ = Mapping::from_toml(&String::from_utf8_lossy(&bytes));
    }
}
