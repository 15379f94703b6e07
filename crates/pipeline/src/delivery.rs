//! What a delivery holds: each provider's files. A delivery directory holds provider
//! directories named by the 10-digit provider id (how providers upload: UKE files, DPC survey
//! files, an SS-MIX2 storage tree, checkup archives), and loose receipt files anywhere else,
//! placed by the provider their IR/YK header names. Files placed nowhere are reported, not
//! guessed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{PipelineError, Result};

#[derive(Debug, Default)]
pub struct Delivery {
    /// Provider id → the paths (directories or files) of its submission.
    pub groups: Vec<(String, Vec<PathBuf>)>,
    /// Files whose provider could not be determined.
    pub unplaced: Vec<PathBuf>,
}

fn is_provider_id(name: &str) -> bool {
    name.len() == 10 && name.bytes().all(|b| b.is_ascii_digit())
}

fn has_files(dir: &Path) -> Result<bool> {
    let entries = std::fs::read_dir(dir).map_err(|e| PipelineError::Delivery {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    for e in entries {
        let e = e.map_err(|e| PipelineError::Delivery {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let p = e.path();
        if p.is_file() || (p.is_dir() && has_files(&p)?) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Finds the providers' submissions in a delivery directory.
pub fn scan(dir: &Path) -> Result<Delivery> {
    if !dir.is_dir() {
        return Err(PipelineError::Delivery {
            path: dir.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    if !has_files(dir)? {
        return Err(PipelineError::Delivery {
            path: dir.to_path_buf(),
            reason: "the delivery holds no files".into(),
        });
    }
    let mut groups: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let mut loose = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| PipelineError::Delivery {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() && is_provider_id(&name) {
            if has_files(&p)? {
                groups.entry(name).or_default().push(p);
            }
        } else {
            loose.push(p);
        }
    }
    let mut unplaced = Vec::new();
    if !loose.is_empty() {
        let (by_header, unknown) = medinfra_ingest::group_by_provider(&loose)?;
        for (id, files) in by_header {
            groups.entry(id).or_default().extend(files);
        }
        unplaced = unknown;
    }
    Ok(Delivery {
        groups: groups.into_iter().collect(),
        unplaced,
    })
}
