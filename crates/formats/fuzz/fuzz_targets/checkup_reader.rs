//! Arbitrary bytes → 特定健診 CDA document reader. Besides "never panics": a document the
//! reader accepts writes back and reads again to the same document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medinfra_formats::checkup::{read_document, write_document};

fuzz_target!(|data: &[u8]| {
    let (doc, findings) = read_document(data, "fuzz.xml");
    for f in &findings {
        let _ = f.describe();
    }
    if let Some(doc) = doc {
        let bytes = write_document(&doc);
        let (again, _) = read_document(&bytes[..], "again.xml");
        assert_eq!(
            again.as_ref(),
            Some(&doc),
            "round trip changed the document"
        );
    }
});
