//! `medinfra`: the one binary (CLI and server) of the medinfra system.
//!
//! This crate is the edge: it parses arguments, wires the library crates together, shows
//! progress and turns errors into messages (anyhow). It must never hold domain logic that a
//! library crate could own, and never print key material or identifiers.

mod cli;
mod commands;
mod progress;

use clap::Parser;

/// mimalloc rather than the system allocator: ingest and the pipeline allocate many small,
/// short-lived strings per record, where it measured 15-25 % faster (BENCHMARKS.md, ingest).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MEDINFRA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
