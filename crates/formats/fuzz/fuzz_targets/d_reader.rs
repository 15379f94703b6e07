//! Arbitrary bytes → D file reader. Besides "never panics": every accepted row must write back
//! (in the detected encoding) and read again to the same row.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medinfra_formats::dfile::{DReader, write_d};
use medinfra_formats::ef::TextEncoding;

fuzz_target!(|data: &[u8]| {
    let mut reader = DReader::new(data, "fuzz");
    let rows: Vec<_> = reader.by_ref().collect();
    let encoding = reader.encoding().unwrap_or(TextEncoding::Utf8);
    for f in reader.finish() {
        let _ = f.describe();
    }
    for row in rows {
        let mut row = row;
        row.line = 1;
        let out = write_d(
            Vec::new(),
            None,
            std::slice::from_ref(&row),
            encoding,
            "\r\n",
        )
        .expect("accepted row must write");
        let mut again = DReader::with_encoding(&out[..], "again", encoding);
        let back: Vec<_> = again.by_ref().collect();
        assert_eq!(back, vec![row], "round trip changed the row");
    }
});
