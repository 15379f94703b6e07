//! What was submitted: the paths expanded into ingest units, each recognised by its content
//! (never by its name alone), and each unit's content hash.
//!
//! Units: an electronic receipt file (anything not recognised as another format goes to the
//! receipt reader, which rejects what is not one); an SS-MIX2 storage root (found from any
//! file that starts with `MSH|` and sits at the depth and names the storage rules give —
//! japan.md §4.1); a lone HL7 message file; a 特定健診 archive folder (the folder holding
//! `ix08_V08.xml`); a zip (read as a checkup archive); a lone CDA document (`<ClinicalDocument`
//! near the start of an XML file). Files inside a storage root or an archive folder belong to
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
    Other,
}

fn head(path: &Path) -> Result<Vec<u8>, IngestError> {
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut buf))
        .map_err(|e| io_err(path, e))?;
    Ok(buf)
}

fn sniff(path: &Path, head: &[u8]) -> Sniff {
    if head.starts_with(b"MSH|") {
        return Sniff::Hl7;
    }
    if head.starts_with(b"PK\x03\x04") {
        return Sniff::Zip;
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = match text.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(i) => &text[i..],
        None => return Sniff::Other,
    };
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

/// The ingest units under `paths`, sorted by path.
pub(crate) fn discover(paths: &[PathBuf]) -> Result<Vec<Input>, IngestError> {
    let files = expand(paths)?;
    let mut sniffed = Vec::with_capacity(files.len());
    let mut trees = BTreeSet::new();
    let mut archives = BTreeSet::new();
    for f in files {
        let kind = sniff(&f, &head(&f)?);
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
                Sniff::Index | Sniff::Other => InputKind::Uke,
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
    let mut buf = vec![0u8; 1 << 20];
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
