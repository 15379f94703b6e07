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
    /// What each rule cost, by rule (a finding kind, or `mapping: …` for what ingest itself
    /// could not map): receipts and rows quarantined, and Warnings on kept rows.
    pub rule_costs: BTreeMap<String, RuleCost>,
    /// Points of the accepted and of the quarantined receipts (receipt files).
    pub points_accepted: u64,
    pub points_quarantined: u64,
    /// What the file's trailer declares (GO 総件数, 総合計点数), when it has one.
    pub declared: Option<Declared>,
}

/// The cost of one validation rule in one file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleCost {
    /// Receipts (messages, documents) this rule quarantined.
    pub receipts: u64,
    /// Their records (lines) — what research lost to the rule.
    pub rows: u64,
    /// Warnings on rows that were kept.
    pub warnings: u64,
}

/// A file's own totals (UKE GO record).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Declared {
    pub receipts: Option<u64>,
    pub points: Option<u64>,
}

impl FileOutcome {
    /// Books a quarantined unit under every distinct rule that quarantined it.
    pub(crate) fn cost_quarantined(&mut self, rules: impl IntoIterator<Item = String>, rows: u64) {
        let mut seen = std::collections::BTreeSet::new();
        for rule in rules {
            if seen.insert(rule.clone()) {
                let c = self.rule_costs.entry(rule).or_default();
                c.receipts += 1;
                c.rows += rows;
            }
        }
    }

    /// Books the Warnings of a kept unit.
    pub(crate) fn cost_warnings<'a>(&mut self, findings: impl IntoIterator<Item = &'a Finding>) {
        for f in findings {
            if f.severity == medinfra_formats::Severity::Warning {
                self.rule_costs
                    .entry(format!("{:?}", f.kind))
                    .or_default()
                    .warnings += 1;
            }
        }
    }

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
            rule_costs: BTreeMap::new(),
            points_accepted: 0,
            points_quarantined: 0,
            declared: None,
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
            if let Some(d) = &f.declared {
                let show = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
                let _ = writeln!(
                    s,
                    "  books: trailer declares {} receipts, {} points; read {} = {} accepted + {} quarantined; points {} = {} accepted + {} quarantined",
                    show(d.receipts),
                    show(d.points),
                    f.receipts,
                    f.receipts_accepted,
                    f.receipts_quarantined,
                    f.points_accepted + f.points_quarantined,
                    f.points_accepted,
                    f.points_quarantined
                );
            }
            if !f.rule_costs.is_empty() {
                let _ = writeln!(
                    s,
                    "  {:<40} {:>9} {:>9} {:>9}",
                    "rule", "receipts", "rows", "warnings"
                );
                for (rule, c) in &f.rule_costs {
                    let _ = writeln!(
                        s,
                        "  {:<40} {:>9} {:>9} {:>9}",
                        rule, c.receipts, c.rows, c.warnings
                    );
                }
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
