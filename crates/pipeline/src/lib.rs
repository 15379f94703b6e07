//! `medinfra-pipeline`: the monthly run a certified producer makes (`medinfra run`).
//!
//! One delivery directory in (every provider's files, found by content and by the provider
//! directories they sit in), then:
//! 1. **ingest** — each provider's files into its identified-zone `provider-<ID>` version, with
//!    the quarantine report (`medinfra-ingest`);
//! 2. **registry** — the identity rows of every provider part the registry has not read yet go
//!    to the person registry (`medinfra-persons`), which links only what is new;
//! 3. **research database** — one identified-zone dataset (default [`DEFAULT_RESEARCH`]) with
//!    every canonical table over all providers, each row carrying `person_id`; a part whose
//!    source part and persons did not change is carried from the previous version by hard
//!    link, so a month costs what the month brought; rows of opted-out persons are withheld;
//! 4. **reconciliation** — per table, rows in = rows out + withheld, or the run fails and
//!    the registry and research versions are not committed (they commit together, in one
//!    catalog transaction, after the books balance).
//!
//! What it must never do: decide access (the binary asks `govern` before calling it), write a
//! key or an identifier into its report or logs, or commit a research version whose books do
//! not balance.

pub mod delivery;
pub mod error;
pub mod person_keys;
pub mod research;
pub mod run;

pub use error::{PipelineError, Result};
pub use run::{
    DEFAULT_RESEARCH, Observer, ProviderGate, Reconciliation, RunOptions, RunReport, StepTime,
    TableBooks, run_month,
};
