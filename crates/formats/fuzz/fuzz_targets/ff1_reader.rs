//! Arbitrary bytes → 様式1 reader. Besides "never panics": every row the reader accepts must
//! write back (in the encoding the reader detected) and read again to the same row.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medinfra_formats::ef::TextEncoding;
use medinfra_formats::ff1::{Ff1Reader, write_ff1};

fuzz_target!(|data: &[u8]| {
    let mut reader = Ff1Reader::new(data, "fuzz");
    let rows: Vec<_> = reader.by_ref().collect();
    let encoding = reader.encoding().unwrap_or(TextEncoding::Utf8);
    for f in reader.finish() {
        let _ = f.describe();
    }
    for row in rows {
        let mut row = row;
        row.line = 1;
        let out = write_ff1(
            Vec::new(),
            None,
            std::slice::from_ref(&row),
            encoding,
            "\r\n",
        )
        .expect("accepted row must write");
        let mut again = Ff1Reader::with_encoding(&out[..], "again", encoding);
        let back: Vec<_> = again.by_ref().collect();
        assert_eq!(back, vec![row], "round trip changed the row");
    }
});
