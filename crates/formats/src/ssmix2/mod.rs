//! SS-MIX2 standardized storage (標準化ストレージ; japan.md §4): the directory tree and file
//! names ([`path`]), HL7 v2.5 messages in ISO-2022-JP with CR segment separators ([`hl7`]),
//! and typed content — patient, visit, JLAC10 lab results, prescriptions ([`message`]).
//!
//! [`Ssmix2Reader`] walks a storage root one file at a time (memory bounded by
//! [`MAX_MESSAGE_BYTES`] plus one directory listing per level) and yields, per file, its path
//! coordinates, the raw and typed message and the findings. [`write_message`] stores typed
//! content under a root at the path the naming rules give.
//!
//! Unverified rules (japan.md) and where they live: condition-flag semantics and short patient
//! IDs — [`path`]; the message-type table per data type — [`path::DATA_TYPES`]. Files whose
//! path breaks the naming rules are still read (finding [`crate::FindingKind::BadPath`]).

pub mod hl7;
pub mod message;
pub mod path;
mod tree;

pub use hl7::{Hl7Error, Hl7WriteError, Message, Segment};
pub use message::{
    Header, Observation, ParsedMessage, Patient, PersonName, Prescription, Visit, build_message,
    parse_message,
};
pub use path::{PathError, StoragePath};
pub use tree::{
    MAX_MESSAGE_BYTES, Ssmix2File, Ssmix2Reader, Ssmix2WriteError, read_message, write_message,
};
