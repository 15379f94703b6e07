//! What was submitted: the paths expanded into ingest units, each recognised by its content
//! (never by its name alone), and each unit's content hash.
//!
//! Units: an electronic receipt file (anything not recognised as another format goes to the
//! receipt reader, which rejects what is not one); an SS-MIX2 storage root (found from any
//! file that starts with `MSH|` and sits at the depth and names the storage rules give —
//! japan.md §4.1); a lone HL7 message file; a 特定健診 archive folder (the folder holding
//! `ix08_V08.xml`); a zip (read as a checkup archive); a lone CDA document (`<ClinicalDocument`
//! near the start of an XML file); FHIR JSON (`{` … `"resourceType"`: a Bundle, or NDJSON when
//! the first line is a whole non-Bundle resource); DPC survey files (tab-separated first line:
//! 31/32 columns EF, 17/18 様式1, 29 D file); Parquet (`PAR1`, needs the run's mapping); a CSV
//! whose header holds every source column of the run's mapping file. Files inside a storage root or an archive folder belong to
//! that unit and are not units of their own.
//!
//! A folder unit's hash is SHA-256 over its files in sorted order, each as relative path,
//! NUL, length (8 bytes little-endian) and content, so the same tree hashes the same wherever
//! it lies.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use medinfra_formats::checkup::INDEX_FILE;
use medinfra_formats::ssmix2::StoragePath;
use sha2::{Digest, Sha256};

use crate::IngestError;

/// The kind of an ingest unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputKind {
    Uke,
    Ssmix2Tree,
    Hl7Message,
    CheckupArchiveDir,
    CheckupZip,
    CheckupDocument,
    FhirBundle,
    FhirNdjson,
    DpcEf,
    DpcFf1,
    DpcD,
    MappedCsv,
    MappedParquet,
}

/// One ingest unit: a file or a folder.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub path: PathBuf,
    pub kind: InputKind,
}

pub(crate) fn io_err(path: &Path, source: std::io::Error) -> IngestError {
    IngestError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Files under the given paths (directories recursively), sorted for a stable order.
pub(crate) fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, IngestError> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).map_err(|e| io_err(&p, e))?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&p).map_err(|e| io_err(&p, e))? {
                stack.push(entry.map_err(|e| io_err(&p, e))?.path());
            }
        } else {
            out.push(p);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// What the first bytes of a file say it is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sniff {
    Hl7,
    Zip,
    Index,
    Document,
    FhirBundle,
    FhirNdjson,
    Parquet,
    Csv,
    /// Tab-separated with this many columns on the first line (DPC survey files).
    Tsv(usize),
    Other,
}

fn head(path: &Path) -> Result<Vec<u8>, IngestError> {
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut buf))
        .map_err(|e| io_err(path, e))?;
    Ok(buf)
}

/// FHIR JSON: a Bundle (one document) or bulk NDJSON (one resource per line), told apart by
/// whether the first line is a whole JSON object that is not a Bundle.
fn sniff_json(path: &Path, text: &[u8]) -> Result<Sniff, IngestError> {
    if !text.windows(14).any(|w| w == b"\"resourceType\"") {
        return Ok(Sniff::Other);
    }
    use std::io::BufRead;
    let mut first = Vec::new();
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    std::io::BufReader::new(file)
        .take(medinfra_formats::fhir::MAX_JSON_LINE_BYTES)
        .read_until(b'\n', &mut first)
        .map_err(|e| io_err(path, e))?;
    let first = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&first);
    Ok(match serde_json::from_slice::<serde_json::Value>(first) {
        Ok(v) if v.get("resourceType").and_then(|t| t.as_str()) != Some("Bundle") => {
            Sniff::FhirNdjson
        }
        _ => Sniff::FhirBundle,
    })
}

fn sniff(path: &Path, head: &[u8]) -> Result<Sniff, IngestError> {
    if head.starts_with(b"MSH|") {
        return Ok(Sniff::Hl7);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Ok(Sniff::Zip);
    }
    if head.starts_with(b"PAR1") {
        return Ok(Sniff::Parquet);
    }
    // DPC survey files: tab-separated (0x09 is never part of a CP932 character).
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or(head);
    if first_line.contains(&b'\t') && !head.starts_with(b"IR,") && !head.starts_with(b"YK,") {
        return Ok(Sniff::Tsv(
            first_line.iter().filter(|b| **b == b'\t').count() + 1,
        ));
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = match text.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(i) => &text[i..],
        None => return Ok(Sniff::Other),
    };
    if text.starts_with(b"{") {
        return sniff_json(path, text);
    }
    Ok(sniff_xml(path, text))
}

fn sniff_xml(path: &Path, text: &[u8]) -> Sniff {
    if !text.starts_with(b"<") {
        return Sniff::Other;
    }
    if path.file_name().is_some_and(|n| n == INDEX_FILE) {
        return Sniff::Index;
    }
    if text.windows(17).any(|w| w == b"<ClinicalDocument") {
        return Sniff::Document;
    }
    Sniff::Other
}

/// The storage root of a message file whose last six path components follow the naming rules.
fn storage_root(path: &Path) -> Option<PathBuf> {
    let parts: Vec<_> = path.components().collect();
    if parts.len() < 7 {
        return None;
    }
    let rel: PathBuf = parts[parts.len() - 6..].iter().collect();
    StoragePath::parse_relative(&rel).ok()?;
    path.ancestors().nth(6).map(Path::to_path_buf)
}

/// Whether the first line of a text file is a header naming a mapped source column (the
/// reader then rejects a header that lacks any of them).
fn mapped_header(head: &[u8], mapping: &medinfra_formats::csv_map::Mapping) -> bool {
    let line = head.split(|b| *b == b'\n').next().unwrap_or(head);
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let text = match mapping.encoding {
        medinfra_formats::ef::TextEncoding::Utf8 => String::from_utf8_lossy(line).into_owned(),
        medinfra_formats::ef::TextEncoding::Cp932 => {
            encoding_rs::SHIFT_JIS.decode(line).0.into_owned()
        }
    };
    let cells: Vec<&str> = text
        .trim_end_matches(['\r', '\n'])
        .split(mapping.delimiter as char)
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    mapping.columns.keys().any(|k| cells.contains(&k.as_str()))
}

/// The ingest units under `paths`, sorted by path. `mapping` (the run's mapping file) lets
/// a CSV export be recognised by its header.
pub(crate) fn discover(
    paths: &[PathBuf],
    mapping: Option<&medinfra_formats::csv_map::Mapping>,
) -> Result<Vec<Input>, IngestError> {
    let files = expand(paths)?;
    let mut sniffed = Vec::with_capacity(files.len());
    let mut trees = BTreeSet::new();
    let mut archives = BTreeSet::new();
    for f in files {
        let head = head(&f)?;
        let mut kind = sniff(&f, &head)?;
        if let Some(m) = mapping
            && matches!(kind, Sniff::Other | Sniff::Tsv(_))
            && mapped_header(&head, m)
        {
            kind = Sniff::Csv;
        }
        match kind {
            Sniff::Hl7 => {
                if let Some(root) = storage_root(&f) {
                    trees.insert(root);
                }
            }
            Sniff::Index => {
                if let Some(dir) = f.parent() {
                    archives.insert(dir.to_path_buf());
                }
            }
            _ => {}
        }
        sniffed.push((f, kind));
    }
    let inside = |f: &Path| {
        trees.iter().any(|r| f.starts_with(r)) || archives.iter().any(|a| f.starts_with(a))
    };
    let mut out: Vec<Input> = sniffed
        .into_iter()
        .filter(|(f, _)| !inside(f))
        .map(|(path, s)| Input {
            path,
            kind: match s {
                Sniff::Hl7 => InputKind::Hl7Message,
                Sniff::Zip => InputKind::CheckupZip,
                Sniff::Document => InputKind::CheckupDocument,
                Sniff::FhirBundle => InputKind::FhirBundle,
                Sniff::FhirNdjson => InputKind::FhirNdjson,
                Sniff::Parquet => InputKind::MappedParquet,
                Sniff::Csv => InputKind::MappedCsv,
                // EF: 31 or 32 columns; 様式1: 17 or 18; D file: 29 (japan.md §3).
                Sniff::Tsv(31 | 32) => InputKind::DpcEf,
                Sniff::Tsv(17 | 18) => InputKind::DpcFf1,
                Sniff::Tsv(29) => InputKind::DpcD,
                Sniff::Index | Sniff::Tsv(_) | Sniff::Other => InputKind::Uke,
            },
        })
        .collect();
    out.extend(trees.into_iter().map(|path| Input {
        path,
        kind: InputKind::Ssmix2Tree,
    }));
    out.extend(archives.into_iter().map(|path| Input {
        path,
        kind: InputKind::CheckupArchiveDir,
    }));
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn hash_into(h: &mut Sha256, path: &Path, buf: &mut [u8]) -> Result<u64, IngestError> {
    let mut f = File::open(path).map_err(|e| io_err(path, e))?;
    let mut n = 0u64;
    loop {
        let k = f.read(buf).map_err(|e| io_err(path, e))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok(n)
}

/// The unit's SHA-256 (hex) and size in bytes (see module docs for folders).
pub(crate) fn hash_input(input: &Input) -> Result<(String, u64), IngestError> {
    let mut h = Sha256::new();
    // 64 KiB: a 1 MiB buffer per unit was zeroed (and page-faulted) for every small file of
    // a bulk delivery, which showed in the ingest profile; larger reads gain nothing here.
    let mut buf = vec![0u8; 64 << 10];
    let is_dir = matches!(
        input.kind,
        InputKind::Ssmix2Tree | InputKind::CheckupArchiveDir
    );
    if !is_dir {
        let n = hash_into(&mut h, &input.path, &mut buf)?;
        return Ok((hex::encode(h.finalize()), n));
    }
    let mut total = 0u64;
    for f in expand(std::slice::from_ref(&input.path))? {
        let rel = f.strip_prefix(&input.path).unwrap_or(&f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0u8]);
        let len = std::fs::metadata(&f).map_err(|e| io_err(&f, e))?.len();
        h.update(len.to_le_bytes());
        total += hash_into(&mut h, &f, &mut buf)?;
    }
    Ok((hex::encode(h.finalize()), total))
}
