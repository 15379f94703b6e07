//! One module per command.

mod anonymize;
mod anonymize_dataset;
mod application;
mod audit;
mod datasets;
mod demo;
mod export;
mod extract;
mod ingest;
mod keys;
mod link;
mod masters;
mod monthly;
mod optout;
mod package;
mod persons;
mod providers;
mod pseudonymize;
mod query;
mod release;
mod risk;
mod serve;
mod synth;

use std::process::ExitCode;

use anyhow::Context;
use medinfra_store::Store;

use crate::cli::{Cli, Command};

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let catalog = cli.catalog()?;
    match cli.command {
        Command::Masters { files } => masters::run(&files),
        Command::Package { command } => package::run(command),
        Command::Anonymize(args) if args.input.is_none() => anonymize::run(&args),
        Command::Link(args) if !link::needs_store(&args) => {
            link::run(None, &key_dir(&cli.data_dir, &cli.key_dir), &args).await
        }
        Command::Serve(args) => {
            serve::serve(
                &cli.data_dir,
                catalog,
                &key_dir(&cli.data_dir, &cli.key_dir),
                &args,
            )
            .await
        }
        Command::Pseudonymize(args) if args.print_default_policy => {
            print!("{}", medinfra_pseudonymize::DEFAULT_POLICY_TOML);
            Ok(ExitCode::SUCCESS)
        }
        command => {
            let store = Store::open_with(&cli.data_dir, &catalog)
                .await
                .with_context(|| format!("opening data directory {}", cli.data_dir.display()))?;
            crate::progress::record_runs_in(store.root().join("runs"));
            match command {
                Command::Demo(args) => {
                    demo::run(&store, &key_dir(&cli.data_dir, &cli.key_dir), args).await
                }
                Command::Synth(args) => synth::run(&store, args).await.map(|_| ExitCode::SUCCESS),
                Command::Datasets { command } => datasets::run(&store, command).await,
                Command::Ingest(args) => ingest::run(&store, &args).await,
                Command::Anonymize(args) => anonymize_dataset::run(&store, &args).await,
                Command::Pseudonymize(args) => {
                    pseudonymize::run(&store, &key_dir(&cli.data_dir, &cli.key_dir), &args).await
                }
                Command::Link(args) => {
                    link::run(Some(&store), &key_dir(&cli.data_dir, &cli.key_dir), &args).await
                }
                Command::Admin { command } => serve::admin(&store, command).await,
                Command::Query(args) => {
                    query::run(&store, &key_dir(&cli.data_dir, &cli.key_dir), &args).await
                }
                Command::Release {
                    command: crate::cli::ReleaseCommand::Package { project, user, out },
                } => {
                    let keys = key_dir(&cli.data_dir, &cli.key_dir);
                    package::release(&store, &keys, &project, &user, &out).await
                }
                Command::Release { command } => release::run(&store, command).await,
                Command::Application { command } => application::run(&store, command).await,
                Command::Optout { command } => {
                    optout::run(&store, &key_dir(&cli.data_dir, &cli.key_dir), command).await
                }
                Command::Serve(_) => unreachable!("handled above"),
                Command::Keys { command } => {
                    keys::run(&store, &key_dir(&cli.data_dir, &cli.key_dir), command).await
                }
                Command::Risk(args) => risk::run(&store, &args).await,
                Command::Audit { command } => audit::run(&store, command).await,
                Command::Extract(args) => extract::run(&store, &args).await,
                Command::Export { command } => export::run(&store, command).await,
                Command::Run(args) => {
                    monthly::run(&store, &key_dir(&cli.data_dir, &cli.key_dir), &args).await
                }
                Command::Persons { command } => persons::run(&store, command).await,
                Command::Providers { command } => providers::run(&store, command).await,
                Command::Masters { .. } | Command::Package { .. } => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

/// The key directory: `--key-dir`, else DATA_DIR/keys.
pub fn key_dir(
    data_dir: &std::path::Path,
    key_dir: &Option<std::path::PathBuf>,
) -> std::path::PathBuf {
    key_dir.clone().unwrap_or_else(|| data_dir.join("keys"))
}

/// All record batches of one table of a committed version, streamed from its Parquet files.
/// Only `columns` of `table` (those its files have), read part by part: a product that needs
/// a few columns of a large table does not decode, or hold, the rest.
pub fn read_columns(
    store: &Store,
    info: &medinfra_store::VersionInfo,
    table: &str,
    columns: &[&str],
) -> anyhow::Result<Vec<arrow::record_batch::RecordBatch>> {
    let mut out = Vec::new();
    for path in store.table_files(info, table)? {
        let file =
            std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?;
        let mask = parquet::arrow::ProjectionMask::columns(
            builder.parquet_schema(),
            columns.iter().copied(),
        );
        let reader = builder
            .with_projection(mask)
            .with_batch_size(64 * 1024)
            .build()?;
        for batch in reader {
            out.push(batch?);
        }
    }
    Ok(out)
}

pub fn read_table(
    store: &Store,
    info: &medinfra_store::VersionInfo,
    table: &str,
) -> anyhow::Result<Vec<arrow::record_batch::RecordBatch>> {
    let mut out = Vec::new();
    for path in store.table_files(info, table)? {
        let file =
            std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?
            .with_batch_size(64 * 1024)
            .build()?;
        for batch in reader {
            out.push(batch?);
        }
    }
    Ok(out)
}
