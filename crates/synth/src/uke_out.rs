//! Provider files: the generator's medical and DPC claims written as electronic receipt files
//! (`.UKE`, CP932, CRLF) through the format crate's writer. Chunks of persons run in parallel,
//! so each chunk first writes its own volume per provider and care month; [`merge_volumes`]
//! then joins them into one `RECEIPTC.UKE` per provider and month.
//!
//! Pharmacy (調剤) claims are written as pharmacies' files (YK header; RE, HO, SN, then SH, CZ
//! and IY per drug). `formats/japan.md` §2.5 lists these records and their field names but not
//! the field order, so the order used in `generate.rs` (`uke_receipt`) is an assumption; the
//! format reader keeps pharmacy records raw and ingest does not take them yet.
//!
//! Memory: encoded lines are buffered per file and appended to disk whenever the chunk's
//! buffers exceed [`FLUSH_BYTES`], so memory does not grow with the population.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use medinfra_formats::uke::{RawRecord, RawWhy, Record, encode_record};

use crate::SynthError;

/// Buffered bytes per chunk before they are appended to the files.
pub const FLUSH_BYTES: usize = 64 << 20;

/// One receipt's records as CSV fields (identifier first), in file order.
pub type Lines = Vec<Vec<String>>;

struct FileState {
    path: PathBuf,
    header: Vec<String>,
    buf: Vec<u8>,
    receipts: u64,
    points: u64,
    lines: u64,
    created: bool,
}

/// The provider files of one chunk.
pub struct UkeOut {
    root: PathBuf,
    chunk: usize,
    files: HashMap<(usize, usize), FileState>,
    buffered: usize,
    pub rows_written: u64,
}

fn io(path: &Path, e: std::io::Error) -> SynthError {
    SynthError::Sink {
        table: "provider files",
        reason: format!("{}: {e}", path.display()),
    }
}

fn encode(fields: Vec<String>, line: u64, out: &mut Vec<u8>) -> Result<(), SynthError> {
    let record = Record::Raw(RawRecord {
        fields,
        why: RawWhy::Untyped,
    });
    encode_record(&record, line, out).map_err(|e| SynthError::Sink {
        table: "provider files",
        reason: e.to_string(),
    })
}

impl UkeOut {
    pub fn new(root: &Path, chunk: usize) -> Self {
        UkeOut {
            root: root.to_path_buf(),
            chunk,
            files: HashMap::new(),
            buffered: 0,
            rows_written: 0,
        }
    }

    /// Add one receipt to the file of (`provider`, `month`). `header` is the IR record used if
    /// the file is new; `receipt` the RE… records with the receipt number field left empty
    /// (it is numbered here, from 1 within the file).
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        provider: usize,
        month: usize,
        provider_id: &str,
        ym: &str,
        header: impl FnOnce() -> Vec<String>,
        mut receipt: Lines,
        points: u64,
    ) -> Result<(), SynthError> {
        let chunk = self.chunk;
        let root = &self.root;
        let state = self
            .files
            .entry((provider, month))
            .or_insert_with(|| FileState {
                path: root
                    .join(provider_id)
                    .join(ym)
                    .join(format!("RECEIPTC_{:02}.UKE", chunk + 1)),
                header: header(),
                buf: Vec::new(),
                receipts: 0,
                points: 0,
                lines: 1,
                created: false,
            });
        state.receipts += 1;
        state.points += points;
        if let Some(re) = receipt.first_mut()
            && re.len() > 1
        {
            re[1] = state.receipts.to_string();
        }
        let before = state.buf.len();
        for fields in receipt {
            state.lines += 1;
            encode(fields, state.lines, &mut state.buf)?;
            self.rows_written += 1;
        }
        self.buffered += state.buf.len() - before;
        if self.buffered > FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SynthError> {
        for state in self.files.values_mut() {
            if state.buf.is_empty() && state.created {
                continue;
            }
            append(state)?;
        }
        self.buffered = 0;
        Ok(())
    }

    /// Write what is buffered and close every file with its GO trailer. Returns the number
    /// of files and of receipts written.
    pub fn finish(mut self) -> Result<(usize, u64), SynthError> {
        self.flush()?;
        let n = self.files.len();
        let receipts = self.files.values().map(|f| f.receipts).sum();
        for state in self.files.values_mut() {
            let go = vec![
                "GO".to_string(),
                state.receipts.to_string(),
                state.points.to_string(),
                "99".to_string(),
            ];
            state.lines += 1;
            encode(go, state.lines, &mut state.buf)?;
            append(state)?;
        }
        Ok((n, receipts))
    }
}

fn append(state: &mut FileState) -> Result<(), SynthError> {
    if !state.created {
        if let Some(dir) = state.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        let mut head = Vec::new();
        encode(std::mem::take(&mut state.header), 1, &mut head)?;
        head.extend_from_slice(&state.buf);
        state.buf = head;
        std::fs::write(&state.path, &state.buf).map_err(|e| io(&state.path, e))?;
        state.created = true;
    } else {
        let mut f = OpenOptions::new()
            .append(true)
            .open(&state.path)
            .map_err(|e| io(&state.path, e))?;
        f.write_all(&state.buf).map_err(|e| io(&state.path, e))?;
    }
    state.buf.clear();
    Ok(())
}

/// Merge the per-chunk volumes of every provider and month under `root` into one file per
/// provider and month (`RECEIPTC.UKE`), as providers submit them: the first volume's IR (with
/// マルチボリューム識別情報 `00`), every receipt renumbered from 1, and one GO with the summed
/// totals. Works on bytes: in Shift_JIS a comma (0x2C) is never part of a multi-byte
/// character, so fields can be split without decoding. Returns the number of files.
pub fn merge_volumes(root: &Path) -> Result<u64, SynthError> {
    use rayon::prelude::*;
    let mut dirs = Vec::new();
    let providers = std::fs::read_dir(root).map_err(|e| io(root, e))?;
    for p in providers {
        let p = p.map_err(|e| io(root, e))?.path();
        if !p.is_dir() {
            continue;
        }
        for m in std::fs::read_dir(&p).map_err(|e| io(&p, e))? {
            let m = m.map_err(|e| io(&p, e))?.path();
            // Only the care-month folders (`YYYYMM`) hold receipt volumes;
            // `ssmix2/` and `checkup/` beside them are other formats.
            let is_month = m.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.len() == 6 && n.bytes().all(|b| b.is_ascii_digit())
            });
            if is_month && m.is_dir() {
                dirs.push(m);
            }
        }
    }
    dirs.sort();
    dirs.par_iter()
        .map(|d| merge_dir(d))
        .collect::<Result<Vec<()>, _>>()?;
    Ok(dirs.len() as u64)
}

fn merge_dir(dir: &Path) -> Result<(), SynthError> {
    let mut volumes: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("RECEIPTC_"))
        })
        .collect();
    volumes.sort();
    let target = dir.join("RECEIPTC.UKE");
    let mut out: Vec<u8> = Vec::new();
    let (mut receipts, mut points) = (0u64, 0u64);
    for (i, v) in volumes.iter().enumerate() {
        let bytes = std::fs::read(v).map_err(|e| io(v, e))?;
        for line in bytes.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            if line.starts_with(b"IR,") || line.starts_with(b"YK,") {
                if i == 0 {
                    let mut fields: Vec<&[u8]> = line.split(|b| *b == b',').collect();
                    if fields.len() > 8 {
                        fields[8] = b"00";
                    }
                    out.extend_from_slice(&fields.join(&b','));
                    out.extend_from_slice(b"\r\n");
                }
            } else if line.starts_with(b"GO,") {
                let fields: Vec<&[u8]> = line.split(|b| *b == b',').collect();
                let num = |f: Option<&&[u8]>| {
                    f.and_then(|x| std::str::from_utf8(x).ok())
                        .and_then(|x| x.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                points += num(fields.get(2));
            } else if let Some(rest) = line.strip_prefix(b"RE,") {
                receipts += 1;
                let after = rest
                    .iter()
                    .position(|b| *b == b',')
                    .map(|p| &rest[p..])
                    .unwrap_or(b"");
                out.extend_from_slice(format!("RE,{receipts}").as_bytes());
                out.extend_from_slice(after);
                out.extend_from_slice(b"\r\n");
            } else {
                out.extend_from_slice(line);
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(format!("GO,{receipts},{points},99\r\n").as_bytes());
    std::fs::write(&target, &out).map_err(|e| io(&target, e))?;
    for v in &volumes {
        std::fs::remove_file(v).map_err(|e| io(v, e))?;
    }
    Ok(())
}
