//! The quarantine report: per file, what was accepted, quarantined or rejected and why, as
//! JSON (for programs) and readable text (for the provider and the operator).

use std::collections::BTreeMap;
use std::fmt::Write;

use medinfra_formats::Finding;
use serde::Serialize;

/// What became of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Ingested (possibly with quarantined receipts).
    Accepted,
    /// Not ingested at all.
    Rejected,
    /// Same content as a file already ingested for this provider: skipped.
    Duplicate,
}

/// A problem found by ingest itself (policy, not format): e.g. a file from another provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: Option<u64>,
    pub record_type: Option<String>,
    pub field: Option<String>,
    pub reason: String,
}

/// One file's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct FileOutcome {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub kind: String,
    pub billing_month: Option<String>,
    pub status: FileStatus,
    pub receipts: u64,
    pub receipts_accepted: u64,
    pub receipts_quarantined: u64,
    /// Rows written per canonical table (0 for rejected files).
    pub rows: BTreeMap<String, u64>,
    /// Why the file was rejected, if it was.
    pub rejection: Option<String>,
    pub problems: Vec<Problem>,
    pub findings: Vec<Finding>,
}

impl FileOutcome {
    /// An accepted outcome with nothing counted yet.
    pub(crate) fn new(file: &str, sha256: &str, bytes: u64, kind: &str) -> Self {
        FileOutcome {
            file: file.to_string(),
            sha256: sha256.to_string(),
            bytes,
            kind: kind.to_string(),
            billing_month: None,
            status: FileStatus::Accepted,
            receipts: 0,
            receipts_accepted: 0,
            receipts_quarantined: 0,
            rows: BTreeMap::new(),
            rejection: None,
            problems: Vec::new(),
            findings: Vec::new(),
        }
    }
}

/// The outcome of one `ingest` run.
#[derive(Debug, Clone, Serialize)]
pub struct IngestOutcome {
    pub provider_id: String,
    pub dataset: String,
    /// The new version, when at least one file was accepted.
    pub version: Option<i64>,
    pub files: Vec<FileOutcome>,
    /// Rows per canonical table in the new version (carried-forward files included).
    pub version_rows: BTreeMap<String, i64>,
}

impl IngestOutcome {
    pub fn count(&self, status: FileStatus) -> usize {
        self.files.iter().filter(|f| f.status == status).count()
    }

    /// The readable report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "ingest report — provider {}", self.provider_id);
        match self.version {
            Some(v) => {
                let _ = writeln!(s, "new version: {} v{}", self.dataset, v);
            }
            None => {
                let _ = writeln!(s, "no new version (nothing accepted)");
            }
        }
        let _ = writeln!(
            s,
            "files: {} accepted, {} rejected, {} duplicate",
            self.count(FileStatus::Accepted),
            self.count(FileStatus::Rejected),
            self.count(FileStatus::Duplicate)
        );
        for f in &self.files {
            let _ = writeln!(
                s,
                "\n{} [{}] {:?}: {} receipts, {} accepted, {} quarantined (sha256 {})",
                f.file,
                f.kind,
                f.status,
                f.receipts,
                f.receipts_accepted,
                f.receipts_quarantined,
                &f.sha256[..16.min(f.sha256.len())]
            );
            if let Some(r) = &f.rejection {
                let _ = writeln!(s, "  rejected: {r}");
            }
            for p in &f.problems {
                let loc = p.line.map(|l| format!(":{l}")).unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  {}{loc} {}{}: {}",
                    p.file,
                    p.record_type.clone().unwrap_or_default(),
                    p.field
                        .as_ref()
                        .map(|f| format!(".{f}"))
                        .unwrap_or_default(),
                    p.reason
                );
            }
            for finding in &f.findings {
                let _ = writeln!(s, "  {}", finding.describe());
            }
        }
        s
    }
}
