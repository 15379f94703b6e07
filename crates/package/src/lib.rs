//! Encrypted per-recipient packages (`formats/japan.md` §7.4): a type I authorized user
//! (Ⅰ型認定利用事業者) receives the pseudonymized extract of an approved project into its own
//! environment as ONE file encrypted to its organization's registered public key. Inside: a
//! manifest (every file with its SHA-256 and size, provenance, expiry, and the "no onward
//! provision / 第三者提供禁止" notice in Japanese and English), the notice as text, and the
//! files.
//!
//! The file is a standard age file (X25519 recipient, `age1...`) holding a tar archive, so a
//! recipient opens it with this crate ([`open_package`], which verifies every hash) or with
//! the standard tools: `age -d -i key.txt pkg.age | tar x`.
//!
//! This crate must never hold a whole package or file in memory (everything streams), never
//! see or store a recipient's secret key on the producer side (only public keys are
//! registered), never put key material or data values in errors, and never release a package
//! that `medinfra_govern::can` did not allow and the audit log did not record
//! ([`release_package`]).

mod error;
mod keys;
mod manifest;
mod open;
mod release;
mod write;

pub use error::PackageError;
pub use keys::{Identity, RecipientKey};
pub use manifest::{
    DatasetRef, FORMAT, MANIFEST_NAME, Manifest, NOTICE_EN, NOTICE_JA, NOTICE_NAME, Notice,
    PackagedFile, Recipient,
};
pub use open::{open_package, verify_package};
pub use release::{
    Contents, ReleaseError, ReleaseOutcome, ReleaseRequest, register_recipient_key,
    release_package, stored_version_files,
};
pub use write::{InputFile, PackageMeta, write_package, write_package_file};
