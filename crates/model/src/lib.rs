//! The canonical data model of medinfra: the tables every pipeline step speaks (as Arrow
//! schemas, defined once here), the law's data tiers (as runtime values stored with every version),
//! and the code systems (SSK code masters) that give claims codes their meaning.
//!
//! This crate is the bottom of the dependency graph. It must never do I/O beyond reading a
//! master file it is handed, never depend on another medinfra crate, and never know about
//! storage, keys, or users.

pub mod buffers;
pub mod checkup_items;
pub mod days;
pub mod masters;
pub mod tables;
pub mod tier;

pub use tables::CanonicalTable;
pub use tier::Tier;
