//! The data directory's `reports/` (one directory per run or step: reconciliations,
//! quarantine lists, assessments) and `runs/` (one JSON progress record per pipeline run),
//! read for the operators' pages. The store owns the layout; nothing else opens these paths.

use std::path::Path;

use crate::error::StoreError;
use crate::store::Store;

/// One report directory and the files in it that can be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDir {
    pub name: String,
    pub files: Vec<String>,
}

/// A plain name of one directory entry (no paths, no hidden files).
fn plain(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\']) && !s.starts_with('.')
}

fn names(dir: &Path) -> Vec<std::fs::DirEntry> {
    std::fs::read_dir(dir)
        .map(|es| es.filter_map(|e| e.ok()).collect())
        .unwrap_or_default()
}

impl Store {
    /// The JSON records of `runs/` (newest changes are the caller's to sort), as bytes.
    pub fn run_records(&self) -> Vec<Vec<u8>> {
        names(&self.root().join("runs"))
            .into_iter()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read(e.path()).ok())
            .collect()
    }

    /// The report directories and their files whose names `keep` accepts.
    pub fn reports(&self, keep: impl Fn(&str) -> bool) -> Vec<ReportDir> {
        names(&self.root().join("reports"))
            .into_iter()
            .filter(|e| e.path().is_dir())
            .map(|e| {
                let mut files: Vec<String> = names(&e.path())
                    .into_iter()
                    .map(|f| f.file_name().to_string_lossy().into_owned())
                    .filter(|n| plain(n) && keep(n))
                    .collect();
                files.sort();
                ReportDir {
                    name: e.file_name().to_string_lossy().into_owned(),
                    files,
                }
            })
            .collect()
    }

    /// One report file, by the plain names of its directory and itself.
    pub async fn read_report(&self, dir: &str, file: &str) -> Result<Vec<u8>, StoreError> {
        if !plain(dir) || !plain(file) {
            return Err(StoreError::InvalidName(format!("{dir}/{file}")));
        }
        let path = self.root().join("reports").join(dir).join(file);
        tokio::fs::read(&path)
            .await
            .map_err(|e| StoreError::io(&path, e))
    }
}
