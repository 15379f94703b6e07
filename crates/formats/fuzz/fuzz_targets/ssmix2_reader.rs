//! Arbitrary bytes → SS-MIX2 message reader (ISO-2022-JP decode, segment split, typed
//! extraction). Besides "never panics": a raw message that can be written reads back equal,
//! and typed content that can be built reads back as the same typed content.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medinfra_formats::ssmix2::{Message, StoragePath, build_message, read_message};

fuzz_target!(|data: &[u8]| {
    let path = StoragePath::parse_file_name(
        "1234567_20240402_OML-11_000000000000123_20240402110000000_01_1",
    )
    .ok();
    let (raw, parsed, findings) = read_message(data, "fuzz", path.as_ref());
    for f in &findings {
        let _ = f.describe();
    }
    if let Some(raw) = raw
        && let Ok(bytes) = raw.to_bytes()
    {
        assert_eq!(Message::parse(&bytes).as_ref(), Ok(&raw), "raw round trip");
    }
    if let Some(parsed) = parsed
        && let Ok(bytes) = build_message(&parsed).and_then(|m| m.to_bytes())
    {
        let (_, again, _) = read_message(&bytes, "again", None);
        assert_eq!(again.as_ref(), Some(&parsed), "typed round trip");
    }
});
