//! Specific health checkup (特定健診) XML, HL7 CDA R2 (japan.md §6): one examinee document
//! ([`document`]) and the submission archive ([`archive`]: `ix08_V08.xml` index plus
//! `DATA/h….xml`, as a directory tree or a zip).
//!
//! Unverified rules and where they live: the branch-number OID 211 and section codes —
//! [`document::oid`]; the archive layout and file naming (secondary source) and the index
//! file's inner structure (not in japan.md at all) — [`archive`]. XML is read as UTF-8 (the
//! declared encoding of the examples; japan.md §10.5 says "verify").

pub mod archive;
pub mod document;

pub use archive::{
    ArchiveMember, CheckupArchiveReader, DataFileName, INDEX_FILE, write_archive_dir,
    write_archive_zip,
};
pub use document::{
    CheckupDocument, CheckupObservation, CheckupValue, MAX_DOCUMENT_BYTES, read_document,
    write_document,
};
