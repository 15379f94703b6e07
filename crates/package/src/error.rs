//! What can go wrong writing or opening a package. Messages name the file (the package, the
//! input, or the entry inside the package) and the reason; never key material or data.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An input file differs from what its dataset version's manifest records, or changed
    /// while it was being packaged.
    #[error("{}: {reason}", path.display())]
    Input { path: PathBuf, reason: String },
    /// The package description (project, paths, datasets) is not acceptable.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{}: line {line}: {reason}", path.display())]
    IdentityFile {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("recipient public key: {0}")]
    RecipientKey(String),
    #[error("{}: not a medinfra package: {reason}", path.display())]
    NotAPackage { path: PathBuf, reason: String },
    #[error("{}: the identity does not match this package's recipient key", path.display())]
    WrongKey { path: PathBuf },
    /// Authentication of the encrypted stream failed: the file was modified.
    #[error("{}: tampered or corrupted: {what}", path.display())]
    Tampered { path: PathBuf, what: String },
    #[error("{}: truncated: {what}", path.display())]
    Truncated { path: PathBuf, what: String },
    /// The package decrypted but its content does not match its own manifest.
    #[error("{}: {entry}: {reason}", path.display())]
    Content {
        path: PathBuf,
        entry: String,
        reason: String,
    },
}

impl PackageError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PackageError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        PackageError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
