//! `medinfra-pseudo`: the core of medinfra's pseudonymization (仮名加工医療情報).
//!
//! It normalizes Japanese identity fields (names, kana, insurance card symbols and numbers,
//! dates of birth) so that the same person written differently by different providers yields the
//! same bytes; keeps secret keys in a permission-checked key directory; derives keyed tokens
//! (HMAC-SHA-256), per-project tokens that cannot be joined across projects, NDB-compatible
//! linkage IDs (ID1, ID2, ID5-style re-keying); and scrubs identifiers from free text.
//!
//! What it must never do:
//! - print, log, serialize or put into an error message any key material or identifier value
//!   (errors name the file, field and position, never the value);
//! - read a key file that group or others can read;
//! - depend on storage, Arrow or async runtimes: it is a small library the pipeline calls.

pub mod keys;
pub mod ndb;
pub mod normalize;
pub mod scrub;
pub mod scrub_corpus;
pub mod token;
