//! `medinfra-link`: record linkage and person resolution.
//!
//! - Probabilistic linkage (Fellegi–Sunter): blocking rules unioned without duplicates and
//!   counted before running ([`blocking`]), comparison levels ([`compare`], [`spec`]),
//!   term-frequency adjustment ([`tf`]), u by random sampling and m by EM sessions per training
//!   rule, Splink-style ([`fs`]), weights,
//!   probabilities and explanations ([`model`]), union–find clustering into persons
//!   ([`cluster`]), evaluation against truth ([`eval`]); built-in models `japan-person` and
//!   `febrl` ([`models`]); the CSV entry point [`run_csv`] ([`run`]).
//! - Deterministic ID0-style resolution over NDB ID1/ID2 or keyed tokens ([`deterministic`]).
//! - Privacy-preserving linkage with keyed Bloom-filter encodings (CLK) and Dice matching
//!   ([`clk`]).
//!
//! Identity fields are normalized and hashed with `medinfra-pseudo` only, so every part of the
//! platform agrees on when two values are the same.
//!
//! What it must never do:
//! - materialize all candidate pairs: blocks are streamed, EM runs on pattern counts of
//!   sampled pairs, scoring is one streamed pass;
//! - put a name, birth date, card number, linkage ID or key into an error message or log
//!   (errors name the file, line, field and reason);
//! - write key material anywhere (CLK files hold only the filters and keyed block tokens).

pub mod blocking;
pub mod clk;
pub mod cluster;
pub mod compare;
pub mod deterministic;
pub mod error;
pub mod eval;
pub mod fs;
pub mod html;
pub mod input;
pub mod model;
pub mod models;
pub mod run;
pub mod spec;
pub mod table;
pub mod tf;

pub use error::{LinkError, Result};
pub use run::{DEFAULT_THRESHOLD, LinkRequest, Report, run_csv};
