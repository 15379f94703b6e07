//! The synthetic Japanese sample population: persons with realistic identity noise, insurance
//! histories, chronic and acute disease, claims, DPC stays, lab results, specific health
//! checkups and deaths, written as the canonical tables (and, through the provider-format
//! writers, as the files hospitals send).
//!
//! Deterministic: the same seed and configuration give byte-identical output, whatever the
//! number of threads (persons are generated in fixed chunks, each with its own RNG stream).
//! Streaming: every table is flushed in batches, so memory does not grow with the population.
//! This crate never writes to the catalog and never reads real patient data; every name,
//! number and code it emits is synthetic (invented codes are marked as samples in the
//! sample masters).

mod checkup_out;
mod config;
pub mod deliveries;
mod dpc_out;
mod generate;
mod insurance;
pub mod kana;
mod people;
mod providers;
mod reference;
mod ssmix2_out;
mod uke_out;

pub use config::{NoiseRates, SynthConfig};
pub use generate::{PartSink, SynthSummary, TableSink, generate};
pub use insurance::{InsurerKind, check_digit, is_valid_insurer_number};
pub use reference::{
    Reference, SAMPLE_DISEASE_MASTER, SAMPLE_DRUG_MASTER, SAMPLE_PROCEDURE_MASTER,
};

/// Errors of the generator. Messages name the reference file or output table and the reason.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("reference data {file}:{line}: {reason}")]
    Reference {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("building {table} batch: {source}")]
    Arrow {
        table: &'static str,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error("writing {table}: {reason}")]
    Sink { table: &'static str, reason: String },
    #[error("invalid configuration: {0}")]
    Config(String),
}
