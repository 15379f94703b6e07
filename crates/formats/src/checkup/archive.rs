//! The 特定健診 submission archive (japan.md §6.1, secondary source):
//! `<sender>_<receiver>_<YYYYMMDD><seq>_<type>/` holding `ix08_V08.xml` (index), optional
//! `su08_V08.xml`, `DATA/h<facility10><YYYYMMDD><seq1><type1><serial6>.xml` (one examinee each),
//! `CLAIMS/…` and `XSD/…`. A zip has the same tree, optionally under one top folder.
//!
//! Assumptions (unverified — japan.md has no index schema): the index lists its members as
//! element text or attribute values ending in `.xml` that contain a `/` (`DATA/h….xml`); the
//! writer produces `<index><file>DATA/h….xml</file>…</index>`. Members the index lists but the
//! archive lacks are FileFatal; members present but not listed are Warnings.
//!
//! Memory: members are read one at a time, each capped at
//! [`super::document::MAX_DOCUMENT_BYTES`]; the index is capped the same way.

use std::fs;
use std::io::{BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::checkup::document::{
    CheckupDocument, MAX_DOCUMENT_BYTES, read_document, write_document,
};
use crate::finding::{Finding, FindingKind, Severity};
use crate::tsv::check_gregorian;

/// Index file name.
pub const INDEX_FILE: &str = "ix08_V08.xml";

/// A parsed `DATA/` file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFileName {
    /// `h` checkup, `g` guidance, `c`/`p` settlements.
    pub prefix: char,
    pub facility: String,
    pub date: String,
    pub seq: char,
    pub kind: char,
    pub serial: String,
}

impl DataFileName {
    pub fn parse(name: &str) -> Result<DataFileName, String> {
        let stem = name
            .strip_suffix(".xml")
            .ok_or("file name does not end with .xml")?;
        if !stem.is_ascii() || stem.len() != 27 {
            return Err(
                "expected <h|g|c|p><facility 10><YYYYMMDD><seq><type><serial 6>.xml".into(),
            );
        }
        let prefix = stem.as_bytes()[0] as char;
        if !matches!(prefix, 'h' | 'g' | 'c' | 'p') {
            return Err("prefix is not h, g, c or p".into());
        }
        let digits = &stem[1..];
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("expected digits after the prefix".into());
        }
        check_gregorian(&stem[11..19])?;
        Ok(DataFileName {
            prefix,
            facility: stem[1..11].to_owned(),
            date: stem[11..19].to_owned(),
            seq: stem.as_bytes()[19] as char,
            kind: stem.as_bytes()[20] as char,
            serial: stem[21..27].to_owned(),
        })
    }
    pub fn file_name(&self) -> String {
        format!(
            "{}{}{}{}{}{}.xml",
            self.prefix, self.facility, self.date, self.seq, self.kind, self.serial
        )
    }
}

/// One examinee file of an archive, read.
#[derive(Debug, Clone)]
pub struct ArchiveMember {
    /// Path inside the archive, e.g. `DATA/h….xml`.
    pub name: String,
    pub document: Option<CheckupDocument>,
    pub findings: Vec<Finding>,
}

/// Where the members come from.
enum Source {
    Dir(PathBuf),
    Zip {
        archive: Box<zip::ZipArchive<BufReader<fs::File>>>,
        prefix: String,
    },
}

/// Reads an archive's index, then its `DATA/` documents one at a time.
pub struct CheckupArchiveReader {
    label: String,
    source: Source,
    /// Members under `DATA/` still to read (sorted; reversed for popping).
    pending: Vec<String>,
    /// File-level findings (index, naming); drained by [`CheckupArchiveReader::finish`].
    findings: Vec<Finding>,
}

fn finding(
    file: &str,
    kind: FindingKind,
    severity: Severity,
    field: Option<&str>,
    reason: String,
) -> Finding {
    Finding {
        file: file.to_owned(),
        line: None,
        record_type: None,
        field: field.map(str::to_owned),
        value_masked: None,
        reason,
        severity,
        kind,
    }
}

/// Member names listed by an index document (see module docs).
fn index_entries(bytes: &[u8]) -> Result<Vec<String>, String> {
    use quick_xml::events::Event;
    let mut xml = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let listed = |s: &str| s.ends_with(".xml") && s.contains('/');
    loop {
        buf.clear();
        match xml
            .read_event_into(&mut buf)
            .map_err(|e| format!("index not well-formed: {e}"))?
        {
            Event::Start(e) | Event::Empty(e) => {
                for a in e.attributes() {
                    let a = a.map_err(|e| format!("index attribute: {e}"))?;
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| format!("index attribute: {e}"))?;
                    if listed(v.trim()) {
                        out.push(v.trim().to_owned());
                    }
                }
            }
            Event::Text(t) => {
                let v = t.xml10_content();
                if listed(v.trim()) {
                    out.push(v.trim().to_owned());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

impl CheckupArchiveReader {
    /// Opens a directory tree (the archive folder itself).
    pub fn open_dir(root: &Path) -> CheckupArchiveReader {
        let label = root
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut members = Vec::new();
        let mut findings = Vec::new();
        match fs::read_dir(root.join("DATA")) {
            Ok(entries) => {
                for e in entries.flatten() {
                    members.push(format!("DATA/{}", e.file_name().to_string_lossy()));
                }
            }
            Err(e) => findings.push(finding(
                &label,
                FindingKind::MissingElement,
                Severity::FileFatal,
                Some("DATA/"),
                format!("no DATA folder: {}", e.kind()),
            )),
        }
        let index = read_capped(fs::File::open(root.join(INDEX_FILE)));
        let mut reader = CheckupArchiveReader {
            label,
            source: Source::Dir(root.to_owned()),
            pending: Vec::new(),
            findings,
        };
        reader.setup(members, index);
        reader
    }

    /// Opens a zip archive.
    pub fn open_zip(path: &Path) -> CheckupArchiveReader {
        let label = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let opened = fs::File::open(path)
            .map_err(|e| e.to_string())
            .and_then(|f| zip::ZipArchive::new(BufReader::new(f)).map_err(|e| e.to_string()));
        let mut archive = match opened {
            Ok(a) => a,
            Err(reason) => {
                return CheckupArchiveReader {
                    findings: vec![finding(
                        &label,
                        FindingKind::BadPath,
                        Severity::FileFatal,
                        None,
                        format!("not a readable zip: {reason}"),
                    )],
                    label,
                    source: Source::Dir(PathBuf::new()),
                    pending: Vec::new(),
                };
            }
        };
        let names: Vec<String> = archive
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect();
        // One optional top folder named like the archive: strip it.
        let prefix = names
            .iter()
            .find_map(|n| {
                n.strip_suffix(INDEX_FILE)
                    .filter(|p| p.is_empty() || p.ends_with('/'))
            })
            .unwrap_or("")
            .to_owned();
        let members = names
            .iter()
            .filter_map(|n| n.strip_prefix(&prefix))
            .filter(|n| n.starts_with("DATA/") && n.len() > 5 && !n.ends_with('/'))
            .map(str::to_owned)
            .collect();
        let index = match archive.by_name(&format!("{prefix}{INDEX_FILE}")) {
            Ok(f) => read_capped(Ok(f)),
            Err(e) => Err(format!("missing: {e}")),
        };
        let mut reader = CheckupArchiveReader {
            label,
            source: Source::Zip {
                archive: Box::new(archive),
                prefix,
            },
            pending: Vec::new(),
            findings: Vec::new(),
        };
        reader.setup(members, index);
        reader
    }

    fn setup(&mut self, mut members: Vec<String>, index: Result<Vec<u8>, String>) {
        members.sort();
        match index.and_then(|b| index_entries(&b)) {
            Ok(listed) => {
                for l in listed
                    .iter()
                    .filter(|l| l.starts_with("DATA/") && !members.contains(l))
                {
                    self.findings.push(finding(
                        &self.label,
                        FindingKind::IndexMismatch,
                        Severity::FileFatal,
                        Some(INDEX_FILE),
                        format!("lists {l}, which the archive lacks"),
                    ));
                }
                for m in members.iter().filter(|m| !listed.contains(m)) {
                    self.findings.push(finding(
                        &self.label,
                        FindingKind::IndexMismatch,
                        Severity::Warning,
                        Some(m),
                        "not listed in the index".to_owned(),
                    ));
                }
            }
            Err(reason) => self.findings.push(finding(
                &self.label,
                FindingKind::MissingElement,
                Severity::FileFatal,
                Some(INDEX_FILE),
                reason,
            )),
        }
        members.reverse();
        self.pending = members;
    }

    /// Archive-level findings (index, missing members). Complete once the iterator is drained.
    pub fn finish(self) -> Vec<Finding> {
        self.findings
    }

    fn read_member(&mut self, name: &str) -> Result<Vec<u8>, String> {
        match &mut self.source {
            Source::Dir(root) => read_capped(fs::File::open(root.join(name))),
            Source::Zip { archive, prefix } => {
                let entry = archive
                    .by_name(&format!("{prefix}{name}"))
                    .map_err(|e| e.to_string())?;
                read_capped(Ok(entry))
            }
        }
    }
}

fn read_capped<R: Read>(r: std::io::Result<R>) -> Result<Vec<u8>, String> {
    let r = r.map_err(|e| format!("cannot open: {}", e.kind()))?;
    let mut bytes = Vec::new();
    r.take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("read failed: {}", e.kind()))?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(format!("larger than {MAX_DOCUMENT_BYTES} bytes"));
    }
    Ok(bytes)
}

impl Iterator for CheckupArchiveReader {
    type Item = ArchiveMember;

    fn next(&mut self) -> Option<ArchiveMember> {
        let name = self.pending.pop()?;
        let label = format!("{}/{name}", self.label);
        let mut findings = Vec::new();
        let base = name.strip_prefix("DATA/").unwrap_or(&name);
        if let Err(reason) = DataFileName::parse(base) {
            findings.push(finding(
                &label,
                FindingKind::BadPath,
                Severity::Warning,
                None,
                reason,
            ));
        }
        let document = match self.read_member(&name) {
            Ok(bytes) => {
                let (doc, more) = read_document(&bytes[..], &label);
                findings.extend(more);
                doc
            }
            Err(reason) => {
                findings.push(finding(
                    &label,
                    FindingKind::IoError,
                    Severity::FileFatal,
                    None,
                    reason,
                ));
                None
            }
        };
        Some(ArchiveMember {
            name,
            document,
            findings,
        })
    }
}

fn index_xml(names: &[String]) -> Vec<u8> {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<index>\n");
    for n in names {
        x.push_str(&format!(
            "  <file>{}</file>\n",
            quick_xml::escape::escape(n.as_str())
        ));
    }
    x.push_str("</index>\n");
    x.into_bytes()
}

/// Why an archive could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveWriteError {
    #[error("document {index}: bad file name ({reason})")]
    Name { index: usize, reason: String },
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
}

fn member_names(
    docs: &[(DataFileName, CheckupDocument)],
) -> Result<Vec<String>, ArchiveWriteError> {
    docs.iter()
        .enumerate()
        .map(|(index, (n, _))| {
            let name = n.file_name();
            DataFileName::parse(&name)
                .map_err(|reason| ArchiveWriteError::Name { index, reason })?;
            Ok(format!("DATA/{name}"))
        })
        .collect()
}

/// Writes the archive as a directory tree under `root` (which becomes the archive folder).
pub fn write_archive_dir(
    root: &Path,
    docs: &[(DataFileName, CheckupDocument)],
) -> Result<(), ArchiveWriteError> {
    let names = member_names(docs)?;
    fs::create_dir_all(root.join("DATA"))?;
    fs::write(root.join(INDEX_FILE), index_xml(&names))?;
    for (name, (_, doc)) in names.iter().zip(docs) {
        fs::write(root.join(name), write_document(doc))?;
    }
    Ok(())
}

/// Writes the archive as a zip (deflate) with the tree under a top folder `folder`.
pub fn write_archive_zip<W: Write + Seek>(
    out: W,
    folder: &str,
    docs: &[(DataFileName, CheckupDocument)],
) -> Result<W, ArchiveWriteError> {
    let names = member_names(docs)?;
    let mut zip = zip::ZipWriter::new(out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(format!("{folder}/{INDEX_FILE}"), options)?;
    zip.write_all(&index_xml(&names))?;
    for (name, (_, doc)) in names.iter().zip(docs) {
        zip.start_file(format!("{folder}/{name}"), options)?;
        zip.write_all(&write_document(doc))?;
    }
    Ok(zip.finish()?)
}
