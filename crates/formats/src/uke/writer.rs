//! UKE writer: typed records → CP932 bytes with CRLF line ends, the exact form the reader
//! accepts (so `read(write(records)) == records`).

use std::io::Write;

use encoding_rs::SHIFT_JIS;

use super::records::Record;

/// Why a record could not be written. Carries positions only, never the values (which may be
/// identifiers).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("line {line}: {record_type} field {field_index} has a character CP932 cannot encode")]
    Unencodable {
        line: u64,
        record_type: String,
        field_index: usize,
    },
    #[error(
        "line {line}: {record_type} field {field_index} contains a comma or LF, which the unquoted UKE CSV cannot carry"
    )]
    Separator {
        line: u64,
        record_type: String,
        field_index: usize,
    },
    #[error("line {line}: a raw record has no fields")]
    EmptyRecord { line: u64 },
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Encodes one record as a CP932 line with CRLF, appending to `out`. A CR inside a field is
/// allowed: the reader strips exactly one CR before the LF, so it reads back unchanged. `line` is only used in
/// errors.
pub fn encode_record(record: &Record, line: u64, out: &mut Vec<u8>) -> Result<(), WriteError> {
    let fields = record.to_fields();
    if fields.is_empty() {
        return Err(WriteError::EmptyRecord { line });
    }
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if field.contains([',', '\n']) {
            return Err(WriteError::Separator {
                line,
                record_type: record.code().to_owned(),
                field_index: i,
            });
        }
        let (bytes, _, unmappable) = SHIFT_JIS.encode(field);
        if !unmappable {
            out.extend_from_slice(&bytes);
        } else if !encode_with_user_defined(field, out) {
            return Err(WriteError::Unencodable {
                line,
                record_type: record.code().to_owned(),
                field_index: i,
            });
        }
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Private-use code points the CP932 decoder gives the user-defined area (外字, lead bytes
/// 0xF0–0xF9), per the WHATWG Shift_JIS index that encoding_rs implements.
const USER_DEFINED: std::ops::RangeInclusive<u32> = 0xE000..=0xE757;
/// WHATWG index pointer of U+E000.
const USER_DEFINED_FIRST_POINTER: u32 = 8836;

/// Slow path for a field encoding_rs refuses: the WHATWG encoder deliberately has no mapping
/// back to the user-defined area, but the decoder maps it to U+E000–U+E757, so without this a
/// file with 外字 would read but not write back. Returns false if some other character is
/// unmappable.
pub(crate) fn encode_with_user_defined(field: &str, out: &mut Vec<u8>) -> bool {
    let mut char_buf = [0u8; 4];
    for c in field.chars() {
        let cp = c as u32;
        if USER_DEFINED.contains(&cp) {
            let pointer = USER_DEFINED_FIRST_POINTER + (cp - USER_DEFINED.start());
            let (lead, trail) = (pointer / 188, pointer % 188);
            let lead = lead + if lead < 0x1F { 0x81 } else { 0xC1 };
            let trail = trail + if trail < 0x3F { 0x40 } else { 0x41 };
            // Both fit in a byte: pointers 8836..=10715 give leads 0xF0..=0xF9.
            out.push(lead as u8);
            out.push(trail as u8);
        } else {
            let (bytes, _, unmappable) = SHIFT_JIS.encode(c.encode_utf8(&mut char_buf));
            if unmappable {
                return false;
            }
            out.extend_from_slice(&bytes);
        }
    }
    true
}

/// Streaming UKE writer.
pub struct UkeWriter<W: Write> {
    inner: W,
    line: u64,
    buf: Vec<u8>,
}

impl<W: Write> UkeWriter<W> {
    pub fn new(inner: W) -> Self {
        UkeWriter {
            inner,
            line: 0,
            buf: Vec::with_capacity(512),
        }
    }

    /// Writes one record as one line. On error nothing of the record is written.
    pub fn write_record(&mut self, record: &Record) -> Result<(), WriteError> {
        self.buf.clear();
        encode_record(record, self.line + 1, &mut self.buf)?;
        self.inner.write_all(&self.buf)?;
        self.line += 1;
        Ok(())
    }

    pub fn write_all<'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a Record>,
    ) -> Result<(), WriteError> {
        records.into_iter().try_for_each(|r| self.write_record(r))
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.line
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> Result<W, WriteError> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

/// Writes `records` to a byte vector (convenience for tests and small files).
pub fn to_bytes<'a>(records: impl IntoIterator<Item = &'a Record>) -> Result<Vec<u8>, WriteError> {
    let mut w = UkeWriter::new(Vec::new());
    w.write_all(records)?;
    w.into_inner()
}
