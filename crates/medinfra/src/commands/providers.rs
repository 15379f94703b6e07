//! `medinfra providers add|import|list|withdraw`: the register of providers whose files this
//! producer may read (see `medinfra_govern::Provider`), which `medinfra run` applies.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use medinfra_govern::{Action, Registry};
use medinfra_model::Tier;
use medinfra_store::Store;

use crate::cli::ProvidersCommand;

/// The register is governance metadata (no rows of any tier), administered as organizations
/// and users are: the resource tier the access rules give registry changes.
const REGISTER: Tier = Tier::Statistics;

pub async fn run(store: &Store, command: ProvidersCommand) -> anyhow::Result<ExitCode> {
    let registry = Registry::new(store);
    match command {
        ProvidersCommand::Add {
            id,
            name,
            notified_on,
        } => {
            super::audit::check(
                store,
                Action::Administer,
                REGISTER,
                &format!("register provider {id}"),
            )
            .await?;
            let p = registry.register_provider(&id, &name, &notified_on).await?;
            println!(
                "provider {} registered; its files are read from {}",
                p.id, p.notified_on
            );
        }
        ProvidersCommand::Import { file } => {
            let (listed, added) = import(store, &file).await?;
            println!(
                "{added} providers registered, {} already were ({})",
                listed - added,
                file.display()
            );
        }
        ProvidersCommand::List { json } => {
            super::audit::check(
                store,
                Action::ReadCatalog,
                Tier::Identified,
                "provider list",
            )
            .await?;
            let all = registry.providers().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                for p in &all {
                    println!(
                        "{}  notified {}  {}{}",
                        p.id,
                        p.notified_on,
                        p.name,
                        p.withdrawn_at
                            .as_deref()
                            .map(|w| format!("  (withdrawn {w})"))
                            .unwrap_or_default()
                    );
                }
                println!("{} providers", all.len());
            }
        }
        ProvidersCommand::Withdraw { id } => {
            super::audit::check(
                store,
                Action::Administer,
                REGISTER,
                &format!("withdraw provider {id}"),
            )
            .await?;
            registry.withdraw_provider(&id).await?;
            println!("provider {id} withdrawn: its later files will be refused");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Registers the providers a CSV lists (audited); returns (listed, newly registered).
pub async fn import(store: &Store, file: &Path) -> anyhow::Result<(u64, u64)> {
    let rows = read_csv(file)?;
    super::audit::check(
        store,
        Action::Administer,
        REGISTER,
        &format!("register {} providers from a file", rows.len()),
    )
    .await?;
    let added = Registry::new(store).import_providers(&rows).await?;
    Ok((rows.len() as u64, added))
}

/// The rows of a `provider_id,name,notified_on` CSV, every line checked before any is used;
/// errors name the file, line and field.
fn read_csv(path: &Path) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: header", path.display()))?
        .clone();
    let expected = ["provider_id", "name", "notified_on"];
    if headers.iter().collect::<Vec<_>>() != expected {
        bail!(
            "{}: line 1: the header must be {}",
            path.display(),
            expected.join(",")
        );
    }
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = record.with_context(|| format!("{}: line {line}", path.display()))?;
        let field = |i: usize| record.get(i).unwrap_or_default().trim().to_string();
        let row = (field(0), field(1), field(2));
        if let Err(e) = medinfra_govern::validate_provider(&row.0, &row.1, &row.2) {
            bail!("{}: line {line}: {e}", path.display());
        }
        rows.push(row);
    }
    if rows.is_empty() {
        bail!("{}: no providers listed", path.display());
    }
    Ok(rows)
}
