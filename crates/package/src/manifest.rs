//! The manifest inside a package (`manifest.json`, the archive's first entry): what the
//! package holds, for whom, from which dataset versions, until when, and the notice that it
//! must not be provided onward. Every file with its size and SHA-256.

use serde::{Deserialize, Serialize};

use crate::PackageError;

/// The format tag; opening refuses any other.
pub const FORMAT: &str = "medinfra-package/1";
/// Name of the manifest entry (always first in the archive).
pub const MANIFEST_NAME: &str = "manifest.json";
/// Name of the notice entry (always second): the notice as plain text for whoever unpacks.
pub const NOTICE_NAME: &str = "NOTICE.txt";
/// Prefix of every data file's path inside the archive.
pub(crate) const DATA_DIR: &str = "data";

/// The notice (Japanese), after the Act's rule for pseudonymized data (`formats/japan.md`
/// §7.3–7.4): no onward provision except the Act's route for regulatory submissions, no
/// collation to re-identify, irreversible deletion.
pub const NOTICE_JA: &str = "第三者提供禁止。本パッケージの仮名加工医療情報は、受領者（認定仮名加工医療情報利用事業者）が、承認された利用目的の範囲内で、受領者が管理する環境においてのみ利用できます。法律が認める場合（薬事承認申請のための厚生労働省・PMDAへの提供）を除き、第三者に提供してはなりません。他の情報と照合して本人を識別してはなりません。有効期限の後は復元できない方法で消去してください。";

/// The notice (English).
pub const NOTICE_EN: &str = "No onward provision. The pseudonymized medical data in this package may be used only by the recipient (a certified user, 認定仮名加工医療情報利用事業者), within the approved purpose, and only inside the recipient's own controlled environment. It must not be provided to any third party, except where the Act allows it (submission to MHLW/PMDA for regulatory approval). Do not collate it with other information to identify any person. Delete it irreversibly after the expiry date.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub ja: String,
    pub en: String,
}

impl Notice {
    pub fn standard() -> Notice {
        Notice {
            ja: NOTICE_JA.into(),
            en: NOTICE_EN.into(),
        }
    }

    /// The text of `NOTICE.txt`.
    pub fn render(&self, manifest: &Manifest) -> String {
        format!(
            "{}\n\n{}\n\nProject / プロジェクト: {}\nRecipient / 受領者: {} (authorization / 認定番号 {})\nExpires / 有効期限: {}\n",
            self.ja,
            self.en,
            manifest.project,
            manifest.recipient.organization,
            manifest.recipient.authorization_number,
            manifest.expires
        )
    }
}

/// Who the package is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub organization: String,
    /// The authorized user the package was released to.
    pub user: String,
    /// The government authorization (認定) number and its type (`type_i`).
    pub authorization_number: String,
    pub authorization_kind: String,
    /// The age public key the package is encrypted to (filled in when writing).
    pub public_key: String,
}

/// One dataset version in the package (provenance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRef {
    pub dataset: String,
    pub version: i64,
    pub tier: String,
    /// SHA-256 of the version's manifest in the producer's catalog.
    pub manifest_sha256: String,
    /// The pipeline step that made the version.
    pub step: String,
}

/// One file in the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagedFile {
    /// Path inside the package: `data/DATASET/vVERSION/PATH-IN-VERSION`.
    pub path: String,
    pub dataset: String,
    pub version: i64,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// Random id of this package (also in the producer's audit log).
    pub package_id: String,
    pub created_at: String,
    /// Who made it (the certified producer's system).
    pub producer: String,
    pub medinfra_version: String,
    pub project: String,
    pub recipient: Recipient,
    /// Last day of permitted use (YYYY-MM-DD): the project's expiry or the authorization's,
    /// whichever comes first.
    pub expires: String,
    pub no_onward_provision: bool,
    pub notice: Notice,
    pub datasets: Vec<DatasetRef>,
    pub files: Vec<PackagedFile>,
}

/// One path segment a recipient's `tar x` can write safely anywhere: no separators, no
/// `.`/`..`, no hidden files, letters, digits and `-_.` only.
fn safe_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && !s.starts_with('.')
        && s.len() <= 200
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A relative `/`-separated path of safe segments.
pub(crate) fn safe_path(s: &str) -> bool {
    s.len() <= 1000 && s.split('/').all(safe_segment)
}

/// Where a version's file goes inside the package.
pub(crate) fn package_path(dataset: &str, version: i64, path: &str) -> String {
    format!("{DATA_DIR}/{dataset}/v{version}/{path}")
}

impl Manifest {
    /// Structural checks shared by writing and opening: format, safe and unique paths under
    /// `data/`, every file belonging to a listed dataset version, hashes in hex.
    pub(crate) fn validate(&self) -> Result<(), PackageError> {
        if self.format != FORMAT {
            return Err(PackageError::invalid(
                "format",
                format!("unsupported package format (expected {FORMAT})"),
            ));
        }
        if !self.no_onward_provision {
            return Err(PackageError::invalid("no_onward_provision", "must be true"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, f) in self.files.iter().enumerate() {
            let field = || format!("files[{i}]");
            if !safe_path(&f.path) || f.path != package_path(&f.dataset, f.version, rest(&f.path)) {
                return Err(PackageError::invalid(
                    field(),
                    "path must be data/DATASET/vVERSION/... of letters, digits and -_. segments",
                ));
            }
            if !seen.insert(f.path.as_str()) {
                return Err(PackageError::invalid(field(), "path listed twice"));
            }
            if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(PackageError::invalid(
                    field(),
                    "sha256 is not 64 hex digits",
                ));
            }
            if !self
                .datasets
                .iter()
                .any(|d| d.dataset == f.dataset && d.version == f.version)
            {
                return Err(PackageError::invalid(
                    field(),
                    "file of a dataset version the manifest does not list",
                ));
            }
        }
        Ok(())
    }
}

/// The part of a package path after `data/DATASET/vVERSION/` (empty if it has no such
/// prefix; validation then fails on the comparison).
fn rest(path: &str) -> &str {
    let mut parts = path.splitn(4, '/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some(_), Some(r)) => r,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_could_escape_are_unsafe() {
        for bad in [
            "",
            "../x",
            "a/../b",
            "/abs",
            "a//b",
            "a/./b",
            ".hidden",
            "a\\b",
            "a b",
            "ｆｕｌｌ",
        ] {
            assert!(!safe_path(bad), "{bad:?}");
        }
        for good in ["t/part-0.parquet", "claims/part-00001.parquet", "a_b-c.d"] {
            assert!(safe_path(good), "{good:?}");
        }
        assert_eq!(rest("data/ds/v3/t/p.parquet"), "t/p.parquet");
        assert_eq!(rest("data/ds"), "");
    }
}
