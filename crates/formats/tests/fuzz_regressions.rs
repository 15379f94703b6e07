//! Every input the fuzzer (`fuzz/fuzz_targets/uke_reader.rs`) found failing, kept under
//! `tests/fuzz_regressions/` and checked against the same invariants as the fuzz target.

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
        check(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
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
