//! The HL7 v2.5 wire layer of SS-MIX2 files (japan.md §4.3): ISO-2022-JP text, segments ended
//! by CR, fields split by the separators MSH declares, and HL7 escapes.
//!
//! Hand-written because no maintained pure-Rust HL7 v2 crate keeps the raw segments for a
//! byte-exact round trip; the grammar needed here is small (split on separators).
//!
//! Byte-exactness: [`Message::to_bytes`] re-encodes with encoding_rs's ISO-2022-JP encoder
//! (ESC $ B for JIS X 0208, ESC ( B back to ASCII), which is what the public samples use. Two
//! things cannot round-trip and are refused by the writer: half-width katakana (the WHATWG
//! encoder widens them silently) and characters outside JIS X 0208.
//! A trailing 0x1C (MLLP end-of-block, present in the public samples) is kept as a flag.

use encoding_rs::ISO_2022_JP;

/// MLLP end-of-block byte some writers leave after the last segment.
const BLOCK_END: char = '\u{1c}';

/// One segment: `fields[0]` is the segment ID; for MSH, `fields[1]` is MSH-2 (the encoding
/// characters) because MSH-1 is the field separator itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub fields: Vec<String>,
}

impl Segment {
    pub fn id(&self) -> &str {
        self.fields.first().map_or("", String::as_str)
    }
    /// Field `n` (1-based, HL7 numbering), raw (still escaped); empty when absent.
    pub fn field(&self, n: usize) -> &str {
        let idx = if self.id() == "MSH" {
            if n == 1 {
                return "|";
            }
            n.wrapping_sub(1)
        } else {
            n
        };
        self.fields.get(idx).map_or("", String::as_str)
    }
}

/// Separators declared by MSH-1/MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
}

impl Default for Separators {
    fn default() -> Self {
        Separators {
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
        }
    }
}

/// A decoded message: its segments in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub segments: Vec<Segment>,
    /// Whether the file ends with 0x1C after the last CR.
    pub block_end: bool,
}

/// Why bytes are not an HL7 message; `segment` is 1-based (0 = the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("segment {segment}: {reason}")]
pub struct Hl7Error {
    pub segment: usize,
    pub segment_id: Option<String>,
    pub reason: String,
    pub undecodable: bool,
}

fn hl7_err(segment: usize, id: Option<&str>, reason: impl Into<String>) -> Hl7Error {
    Hl7Error {
        segment,
        segment_id: id.map(str::to_owned),
        reason: reason.into(),
        undecodable: false,
    }
}

impl Message {
    /// Decodes ISO-2022-JP bytes and splits segments (CR; a CR LF pair or bare LF is refused:
    /// it would not round-trip and HL7 requires CR).
    pub fn parse(bytes: &[u8]) -> Result<Message, Hl7Error> {
        let text = ISO_2022_JP
            .decode_without_bom_handling_and_without_replacement(bytes)
            .ok_or(Hl7Error {
                segment: 0,
                segment_id: None,
                reason: "bytes are not valid ISO-2022-JP".to_owned(),
                undecodable: true,
            })?;
        let (body, block_end) = match text.strip_suffix(BLOCK_END) {
            Some(b) => (b, true),
            None => (&text[..], false),
        };
        let Some(body) = body.strip_suffix('\r') else {
            return Err(hl7_err(0, None, "message does not end with CR"));
        };
        if !body.starts_with("MSH") {
            return Err(hl7_err(1, None, "message does not start with MSH"));
        }
        let mut chars = body.chars().skip(3);
        let field_sep = chars.next();
        let enc: Vec<char> = chars.take(4).collect();
        if field_sep != Some('|') || enc != ['^', '~', '\\', '&'] {
            return Err(hl7_err(
                1,
                Some("MSH"),
                "separators other than |^~\\& are not supported",
            ));
        }
        let mut segments = Vec::new();
        for (i, seg) in body.split('\r').enumerate() {
            if seg.contains(['\n', BLOCK_END]) {
                return Err(hl7_err(i + 1, None, "line feed or 0x1C inside the message"));
            }
            let fields: Vec<String> = seg.split('|').map(str::to_owned).collect();
            let id = fields.first().map_or("", String::as_str);
            let id_ok = id.len() == 3
                && id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !id_ok {
                return Err(hl7_err(i + 1, None, "segment ID is not 3 letters/digits"));
            }
            if i > 0 && id == "MSH" {
                return Err(hl7_err(i + 1, Some("MSH"), "second MSH in one file"));
            }
            segments.push(Segment { fields });
        }
        Ok(Message {
            segments,
            block_end,
        })
    }

    /// The bytes of the message: segments joined and ended by CR, ISO-2022-JP.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Hl7WriteError> {
        let mut text = String::new();
        for (i, seg) in self.segments.iter().enumerate() {
            for f in &seg.fields {
                if f.contains(['\r', '\n', '|', BLOCK_END]) {
                    return Err(Hl7WriteError::Separator { segment: i + 1 });
                }
            }
            text.push_str(&seg.fields.join("|"));
            text.push('\r');
        }
        if self.block_end {
            text.push(BLOCK_END);
        }
        encode_iso2022jp(&text).ok_or(Hl7WriteError::Unencodable)
    }

    /// The first segment with this ID.
    pub fn segment(&self, id: &str) -> Option<(usize, &Segment)> {
        self.segments.iter().enumerate().find(|(_, s)| s.id() == id)
    }
}

/// ISO-2022-JP bytes that decode back to `text`, or `None` if that is impossible.
pub fn encode_iso2022jp(text: &str) -> Option<Vec<u8>> {
    // Half-width katakana are widened by the encoder (WHATWG), so they would not come back.
    if text.chars().any(|c| ('\u{ff61}'..='\u{ff9f}').contains(&c)) {
        return None;
    }
    let (bytes, _, unmappable) = ISO_2022_JP.encode(text);
    (!unmappable).then(|| bytes.into_owned())
}

/// Why a message could not be written (positions only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Hl7WriteError {
    #[error("segment {segment}: a field contains a segment or field separator")]
    Separator { segment: usize },
    #[error("text has characters ISO-2022-JP cannot carry (or half-width katakana)")]
    Unencodable,
    #[error("{0}")]
    Invalid(String),
}

/// Splits a field at `sep` (repetitions, components or subcomponents).
pub fn split(raw: &str, sep: char) -> Vec<&str> {
    raw.split(sep).collect()
}

/// Component `c` (1-based) of the first repetition of a raw field, unescaped.
pub fn component(raw: &str, c: usize) -> String {
    let first = raw.split('~').next().unwrap_or("");
    unescape(first.split('^').nth(c.wrapping_sub(1)).unwrap_or(""))
}

/// Replaces HL7 escapes (`\F\ \S\ \T\ \R\ \E\`); other escape sequences are kept as written.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('\\') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('\\') else {
            out.push_str(&rest[start..]);
            return out;
        };
        match &after[..end] {
            "F" => out.push('|'),
            "S" => out.push('^'),
            "T" => out.push('&'),
            "R" => out.push('~'),
            "E" => out.push('\\'),
            other => {
                out.push('\\');
                out.push_str(other);
                out.push('\\');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Escapes the delimiter characters of a value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '&' => out.push_str("\\T\\"),
            '~' => out.push_str("\\R\\"),
            '\\' => out.push_str("\\E\\"),
            c => out.push(c),
        }
    }
    out
}

/// Joins escaped components with `^`, dropping trailing empty ones (as HL7 writers do).
pub fn components(parts: &[&str]) -> String {
    let mut v: Vec<String> = parts.iter().map(|p| escape(p)).collect();
    while v.last().is_some_and(String::is_empty) {
        v.pop();
    }
    v.join("^")
}
