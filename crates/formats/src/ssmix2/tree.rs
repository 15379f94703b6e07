//! Walking and writing a storage tree.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::finding::{Finding, FindingKind, Severity};
use crate::ssmix2::hl7::{Hl7WriteError, Message};
use crate::ssmix2::message::{ParsedMessage, build_message, parse_message};
use crate::ssmix2::path::StoragePath;

/// Largest message file read; SS-MIX2 files hold one message (kilobytes in practice).
pub const MAX_MESSAGE_BYTES: u64 = 4 << 20;

/// One file of the tree, read.
#[derive(Debug, Clone)]
pub struct Ssmix2File {
    /// Path relative to the root.
    pub relative: PathBuf,
    /// `None` when the path breaks the naming rules.
    pub path: Option<StoragePath>,
    pub message: Option<Message>,
    /// `None` when the message is structurally unusable (a FileFatal finding says why).
    pub parsed: Option<ParsedMessage>,
    pub findings: Vec<Finding>,
}

fn file_finding(file: &str, kind: FindingKind, severity: Severity, reason: String) -> Finding {
    Finding {
        file: file.to_owned(),
        line: None,
        record_type: None,
        field: None,
        value_masked: None,
        reason,
        severity,
        kind,
    }
}

/// Parses and checks one message file's bytes. `file` labels findings.
pub fn read_message(
    bytes: &[u8],
    file: &str,
    path: Option<&StoragePath>,
) -> (Option<Message>, Option<ParsedMessage>, Vec<Finding>) {
    let message = match Message::parse(bytes) {
        Ok(m) => m,
        Err(e) => {
            let kind = if e.undecodable {
                FindingKind::UndecodableBytes
            } else {
                FindingKind::BadSegment
            };
            let finding = Finding {
                file: file.to_owned(),
                line: (e.segment > 0).then_some(e.segment as u64),
                record_type: e.segment_id.clone(),
                field: None,
                value_masked: None,
                reason: e.reason,
                severity: Severity::FileFatal,
                kind,
            };
            return (None, None, vec![finding]);
        }
    };
    let (parsed, findings) = parse_message(&message, file, path);
    (Some(message), parsed, findings)
}

/// Streaming walk of a storage root, in sorted path order.
pub struct Ssmix2Reader {
    root: PathBuf,
    /// Per open directory level: its remaining entries (sorted, reversed for popping).
    stack: Vec<Vec<PathBuf>>,
    pending: Vec<Finding>,
}

impl Ssmix2Reader {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let mut reader = Ssmix2Reader {
            root: root.clone(),
            stack: Vec::new(),
            pending: Vec::new(),
        };
        reader.push_dir(&root);
        reader
    }

    fn label(&self, p: &Path) -> String {
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    }

    fn push_dir(&mut self, dir: &Path) {
        match fs::read_dir(dir) {
            Ok(entries) => {
                let mut v: Vec<PathBuf> =
                    entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                v.sort();
                v.reverse();
                self.stack.push(v);
            }
            Err(e) => {
                let label = self.label(dir);
                self.pending.push(file_finding(
                    &label,
                    FindingKind::IoError,
                    Severity::FileFatal,
                    format!("cannot list directory: {}", e.kind()),
                ));
            }
        }
    }

    fn read_file(&self, full: &Path) -> Ssmix2File {
        let relative = full.strip_prefix(&self.root).unwrap_or(full).to_path_buf();
        let label = relative.to_string_lossy().into_owned();
        let mut findings = Vec::new();
        let path = match StoragePath::parse_relative(&relative) {
            Ok(p) => Some(p),
            Err(e) => {
                findings.push(file_finding(
                    &label,
                    FindingKind::BadPath,
                    Severity::Warning,
                    e.to_string(),
                ));
                None
            }
        };
        let mut bytes = Vec::new();
        let read = fs::File::open(full)
            .and_then(|f| f.take(MAX_MESSAGE_BYTES + 1).read_to_end(&mut bytes));
        let empty = |findings| Ssmix2File {
            relative: relative.clone(),
            path: path.clone(),
            message: None,
            parsed: None,
            findings,
        };
        if let Err(e) = read {
            findings.push(file_finding(
                &label,
                FindingKind::IoError,
                Severity::FileFatal,
                format!("read failed: {}", e.kind()),
            ));
            return empty(findings);
        }
        if bytes.len() as u64 > MAX_MESSAGE_BYTES {
            findings.push(file_finding(
                &label,
                FindingKind::FileTooLarge,
                Severity::FileFatal,
                format!("larger than {MAX_MESSAGE_BYTES} bytes"),
            ));
            return empty(findings);
        }
        let (message, parsed, more) = read_message(&bytes, &label, path.as_ref());
        findings.extend(more);
        Ssmix2File {
            relative,
            path,
            message,
            parsed,
            findings,
        }
    }
}

impl Iterator for Ssmix2Reader {
    type Item = Result<Ssmix2File, Finding>;

    /// Files come as `Ok`; a directory that cannot be listed comes as `Err(finding)`.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(f) = self.pending.pop() {
                return Some(Err(f));
            }
            let top = self.stack.last_mut()?;
            let Some(entry) = top.pop() else {
                self.stack.pop();
                continue;
            };
            if entry.is_dir() {
                // Depth is 6 in a valid tree; deeper nesting is still walked, one level per
                // stack entry, and reported through the path check of its files.
                self.push_dir(&entry);
                continue;
            }
            return Some(Ok(self.read_file(&entry)));
        }
    }
}

/// Why a message could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum Ssmix2WriteError {
    #[error("path: {0}")]
    Path(#[from] crate::ssmix2::path::PathError),
    #[error("message: {0}")]
    Message(#[from] Hl7WriteError),
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes typed content under `root` at `path` (creating folders); returns the file path.
pub fn write_message(
    root: &Path,
    path: &StoragePath,
    content: &ParsedMessage,
) -> Result<PathBuf, Ssmix2WriteError> {
    path.validate()?;
    let bytes = build_message(content)?.to_bytes()?;
    let full = root.join(path.relative_path());
    if let Some(dir) = full.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(&full, bytes)?;
    Ok(full)
}
