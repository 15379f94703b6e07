//! The manifest: the self-describing record of one dataset version, written as
//! `manifest.json` inside the version's directory. It names every file with its size and
//! SHA-256 so `datasets verify` can prove the files are the ones that were committed.
//! It never contains keys or data values.

use serde::{Deserialize, Serialize};

use medinfra_model::Tier;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub dataset: String,
    pub version: i64,
    pub tier: Tier,
    pub created_at: String,
    pub medinfra_version: String,
    pub lineage: Lineage,
    pub tables: Vec<TableEntry>,
}

/// Where a version came from: the pipeline step, its parameters, and its input versions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Lineage {
    pub step: String,
    pub parameters: serde_json::Value,
    pub inputs: Vec<InputRef>,
}

/// A reference to an input version, pinned by its manifest hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRef {
    pub dataset: String,
    pub version: i64,
    pub manifest_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    pub rows: u64,
    pub schema: Vec<ColumnSchema>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnSchema {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the version directory, `/`-separated.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

impl TableEntry {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

impl Manifest {
    pub fn table(&self, name: &str) -> Option<&TableEntry> {
        self.tables.iter().find(|t| t.name == name)
    }
}
