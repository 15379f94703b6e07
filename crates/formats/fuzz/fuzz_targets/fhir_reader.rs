//! Arbitrary bytes → FHIR Bundle and NDJSON readers. Besides "never panics": resources the
//! readers accept write back (both forms) and read again to the same resources.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medinfra_formats::fhir::{NdjsonReader, read_bundle, write_bundle, write_ndjson};

fuzz_target!(|data: &[u8]| {
    let (from_bundle, findings) = read_bundle(data, "fuzz.json");
    for f in &findings {
        let _ = f.describe();
    }
    let mut nd = NdjsonReader::new(data, "fuzz.ndjson");
    let from_ndjson: Vec<_> = nd.by_ref().collect();
    let _ = nd.finish();
    for resources in [from_bundle, from_ndjson] {
        let bundle = write_bundle(&resources).expect("accepted resources must write");
        let (again, _) = read_bundle(&bundle[..], "again");
        assert_eq!(again, resources, "bundle round trip");
        let lines = write_ndjson(&resources).expect("accepted resources must write");
        let again: Vec<_> = NdjsonReader::new(&lines[..], "again").collect();
        assert_eq!(again, resources, "ndjson round trip");
    }
});
