//! Arbitrary bytes → UKE reader and receipt grouping. Besides "never panics", checks the
//! reader/writer contract on whatever typed records the input happens to contain: writing a
//! typed record and reading it back gives the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medinfra_formats::uke::{ReceiptReader, Record, UkeReader, encode_record};

fuzz_target!(|data: &[u8]| {
    let mut receipts = ReceiptReader::from_reader(data, "fuzz");
    for receipt in receipts.by_ref() {
        let _ = receipt.severity();
        let _ = receipt.claimed_points();
    }
    let summary = receipts.finish();
    for f in &summary.findings {
        let _ = f.describe();
    }

    for line in UkeReader::new(data, "fuzz") {
        if matches!(line.record, Record::Raw(_)) {
            continue;
        }
        let mut out = Vec::new();
        // Typed records hold only text that came from CP932 without separators, so they
        // must always encode.
        encode_record(&line.record, line.line, &mut out).expect("typed record must encode");
        let back: Vec<_> = UkeReader::new(&out[..], "again").collect();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].record, line.record, "round trip changed the record");
    }
});
