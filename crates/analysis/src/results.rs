//! Named result tables: a query's rows saved as Parquet under the project's workspace
//! directory, with a provenance file beside them, and registered in later sessions of the
//! same project only.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AnalysisError;

/// What a saved result is and where it came from (written as `NAME.json` beside
/// `NAME.parquet`; the disclosure checks read it when release is requested).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultInfo {
    pub name: String,
    pub project: String,
    pub sql: String,
    pub rows: u64,
    /// The dataset versions read, as `dataset@vN#manifest_sha256`, and earlier results.
    pub inputs: Vec<String>,
    pub created_at: String,
    pub created_by: String,
}

pub(crate) fn parquet_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.parquet"))
}

pub(crate) fn info_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// The saved results of a project, by name (sorted).
pub(crate) fn list(dir: &Path) -> Result<Vec<ResultInfo>, AnalysisError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| AnalysisError::io(dir, e))? {
        let path = entry.map_err(|e| AnalysisError::io(dir, e))?.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| AnalysisError::io(&path, e))?;
        let info: ResultInfo =
            serde_json::from_slice(&bytes).map_err(|e| AnalysisError::ResultFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        crate::names::validate_result_name(&info.name)?;
        if parquet_path(dir, &info.name).exists() {
            out.push(info);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

pub(crate) fn write_info(dir: &Path, info: &ResultInfo) -> Result<(), AnalysisError> {
    let path = info_path(dir, &info.name);
    let json = serde_json::to_vec_pretty(info).map_err(|e| AnalysisError::ResultFile {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(|e| AnalysisError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| AnalysisError::io(&path, e))
}
