//! Every input the fuzzers (`fuzz/fuzz_targets/*.rs`) found failing, kept under
//! `tests/fuzz_regressions/` and checked against the same invariants as the fuzz targets.
//! `*.UKE` files belong to the UKE target; the others are named `<target>_<what>.<ext>`.

use medinfra_formats::uke::{ReceiptReader, Record, UkeReader, encode_record};

fn check(data: &[u8]) {
    let mut receipts = ReceiptReader::from_reader(data, "fuzz");
    for r in receipts.by_ref() {
        let _ = r.claimed_points();
    }
    let _ = receipts.finish();
    for line in UkeReader::new(data, "fuzz") {
        if matches!(line.record, Record::Raw(_)) {
            continue;
        }
        let mut out = Vec::new();
        encode_record(&line.record, line.line, &mut out).unwrap();
        let back: Vec<_> = UkeReader::new(&out[..], "again").collect();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].record, line.record);
    }
}

#[test]
fn fuzz_regressions_hold() {
    let dir = format!("{}/tests/fuzz_regressions", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "UKE") {
            check(&std::fs::read(path).unwrap());
            n += 1;
        }
    }
    assert!(n >= 1);
}

/// 外字 (user-defined area, lead bytes 0xF0–0xF9) decodes to private-use code points; the
/// writer must map them back to the same bytes (found by the fuzzer).
#[test]
fn user_defined_characters_round_trip_byte_for_byte() {
    let mut line = b"CO,21,1,810000001,".to_vec();
    line.extend_from_slice(&[0xF0, 0x40, 0xF1, 0x92, 0xF9, 0xFC, 0x82, 0xA0]);
    line.extend_from_slice(b"\r\n");
    let records: Vec<Record> = UkeReader::new(&line[..], "g").map(|l| l.record).collect();
    assert!(matches!(records[0], Record::Co(_)));
    assert_eq!(medinfra_formats::uke::to_bytes(&records).unwrap(), line);
}

/// Reads every regression file whose name starts with `prefix`.
fn regressions(prefix: &str) -> Vec<Vec<u8>> {
    let dir = format!("{}/tests/fuzz_regressions", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(prefix) {
            out.push(std::fs::read(path).unwrap());
        }
    }
    assert!(!out.is_empty(), "no regression files for {prefix}");
    out
}

/// 様式1: a file whose encoding is detected as CP932 from one line must read its other lines
/// as CP932 too, and a re-read in that encoding gives the same rows (found by the fuzzer: a
/// UTF-8 line after a CP932 one came back different when re-detected alone).
#[test]
fn ff1_rows_round_trip_in_the_detected_encoding() {
    use medinfra_formats::ef::TextEncoding;
    use medinfra_formats::ff1::{Ff1Reader, write_ff1};
    for data in regressions("ff1_") {
        let mut reader = Ff1Reader::new(&data[..], "fuzz");
        let rows: Vec<_> = reader.by_ref().collect();
        let encoding = reader.encoding().unwrap_or(TextEncoding::Utf8);
        assert!(!rows.is_empty());
        for mut row in rows {
            row.line = 1;
            let out = write_ff1(
                Vec::new(),
                None,
                std::slice::from_ref(&row),
                encoding,
                "\r\n",
            )
            .unwrap();
            let back: Vec<_> = Ff1Reader::with_encoding(&out[..], "again", encoding).collect();
            assert_eq!(back, vec![row]);
        }
    }
}

/// D file: every accepted row writes back in the detected encoding — 外字 included — and a
/// lone CR inside a line is a quarantined row, never a cell value (both found by the fuzzer).
#[test]
fn d_rows_write_back_and_inner_carriage_return_is_quarantined() {
    use medinfra_formats::FindingKind;
    use medinfra_formats::dfile::{DReader, write_d};
    use medinfra_formats::ef::TextEncoding;
    for data in regressions("d_") {
        let mut reader = DReader::new(&data[..], "fuzz");
        let rows: Vec<_> = reader.by_ref().collect();
        let encoding = reader.encoding().unwrap_or(TextEncoding::Utf8);
        for mut row in rows {
            row.line = 1;
            let out = write_d(
                Vec::new(),
                None,
                std::slice::from_ref(&row),
                encoding,
                "\r\n",
            )
            .unwrap();
            let back: Vec<_> = DReader::with_encoding(&out[..], "again", encoding).collect();
            assert_eq!(back, vec![row]);
        }
        let _ = reader.finish();
    }
    let dir = format!("{}/tests/fuzz_regressions", env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read(format!("{dir}/d_carriage_return_in_cell.txt")).unwrap();
    let mut reader = DReader::new(&data[..], "fuzz");
    reader.by_ref().for_each(drop);
    let findings = reader.finish();
    assert!(
        findings
            .iter()
            .any(|f| f.kind == FindingKind::BadRow && f.line == Some(1))
    );
}

/// 特定健診: an observation code in another code system keeps its `codeSystem` through a write,
/// so it is not re-read as an item code and dropped (found by the fuzzer).
#[test]
fn checkup_documents_round_trip_with_foreign_code_systems() {
    use medinfra_formats::checkup::{read_document, write_document};
    for data in regressions("checkup_") {
        let (doc, _) = read_document(&data[..], "fuzz.xml");
        let doc = doc.unwrap();
        assert!(
            doc.observations
                .iter()
                .any(|o| o.code_system == "1.2.392.200119.6.1001")
        );
        let (again, _) = read_document(&write_document(&doc)[..], "again.xml");
        assert_eq!(again, Some(doc));
    }
}

/// SS-MIX2 (fuzz target `ssmix2_reader`): typed content that can be built reads back equal.
/// Found on the third-party RAS^O17 sample: an RXA followed by RXR (route) lost the route
/// when written back, because the writer wrote RXA alone.
#[test]
fn ssmix2_typed_content_round_trips() {
    use medinfra_formats::ssmix2::{build_message, read_message};
    let inputs = regressions("ssmix2_");
    assert!(!inputs.is_empty());
    for data in inputs {
        let (_, parsed, _) = read_message(&data, "fuzz", None);
        let parsed = parsed.expect("the regression input parses");
        let bytes = build_message(&parsed).unwrap().to_bytes().unwrap();
        let (_, again, _) = read_message(&bytes, "again", None);
        assert_eq!(again.as_ref(), Some(&parsed));
    }
}
