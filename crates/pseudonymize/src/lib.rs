//! `medinfra-pseudonymize`: the pseudonymization pipeline (仮名加工医療情報). It applies a
//! per-table, per-column [`Policy`] (drop, keep, keyed token, per-project token, per-person date
//! shift, date truncation, generalization, free-text scrubbing, added NDB-style linkage keys) to
//! an identified-zone dataset version and writes a new pseudonymized-tier version with lineage to
//! its input, the policy's hash and the key id. The reverse map, when kept, goes to the key
//! directory, encrypted ([`reverse_map`]).
//!
//! What it must never do:
//! - pass through a column the policy does not name (deny by default), or read a table the
//!   policy does not name;
//! - write key material or an identifier into the output's manifest, the report, a log line or
//!   an error message (errors name dataset, table, column and reason only);
//! - write the reverse map anywhere but the key directory;
//! - commit anything when a policy or input error is found (every plan is checked before the
//!   first row is read, and the store commits atomically).
//!
//! The primitives (normalization, keys, HMAC tokens, NDB IDs, scrubbing) are `medinfra-pseudo`'s;
//! this crate adds Arrow, Parquet and the store around them.

mod apply;
mod error;
pub mod optout;
mod plan;
pub mod policy;
pub mod reverse_map;
mod run;

pub use apply::TableStats;
pub use error::PseudonymizeError;
pub use plan::{Step, TablePlan, compile};
pub use policy::{DEFAULT_POLICY_TOML, Policy};
pub use run::{
    Report, Request, TableReport, VersionRef, keeps_map, key_id_of, map_name_of, pseudonymize,
};
