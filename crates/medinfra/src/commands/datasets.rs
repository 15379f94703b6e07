//! `medinfra datasets list|show|verify`.

use std::process::ExitCode;

use medinfra_store::{Store, VerifyReport};

use crate::cli::DatasetsCommand;

pub async fn run(store: &Store, command: DatasetsCommand) -> anyhow::Result<ExitCode> {
    match command {
        DatasetsCommand::List { json } => {
            let list = store.list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no datasets in {}", store.root().display());
            } else {
                println!(
                    "{:<24} {:<14} {:>8} {:>14}  created",
                    "dataset", "tier", "version", "rows"
                );
                for d in list {
                    let rows: i64 = d.latest.tables.iter().map(|t| t.rows).sum();
                    println!(
                        "{:<24} {:<14} {:>8} {:>14}  {}",
                        d.name, d.tier, d.latest.version, rows, d.latest.created_at
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DatasetsCommand::Show {
            name,
            version,
            json,
        } => {
            let info = store.version(&name, version).await?;
            let manifest = store.read_manifest(&info)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "dataset": info.dataset,
                        "version": info.version,
                        "tier": info.tier,
                        "created_at": info.created_at,
                        "superseded": info.superseded,
                        "manifest_sha256": info.manifest_sha256,
                        "rows": info.tables.iter().map(|t| (t.name.clone(), t.rows)).collect::<std::collections::BTreeMap<_, _>>(),
                        "tables": info.tables,
                        "lineage": manifest.lineage,
                        "versions": store.versions(&name).await?.iter().map(|v| v.version).collect::<Vec<_>>(),
                    }))?
                );
            } else {
                println!("{} v{} ({})", info.dataset, info.version, info.tier);
                println!("  created   {}", info.created_at);
                println!("  step      {}", manifest.lineage.step);
                println!("  manifest  sha256:{}", info.manifest_sha256);
                for input in &manifest.lineage.inputs {
                    println!(
                        "  input     {} v{} (sha256:{})",
                        input.dataset, input.version, input.manifest_sha256
                    );
                }
                println!(
                    "  {:<20} {:>12} {:>6} {:>14}",
                    "table", "rows", "files", "bytes"
                );
                for t in &info.tables {
                    println!(
                        "  {:<20} {:>12} {:>6} {:>14}",
                        t.name, t.rows, t.files, t.bytes
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DatasetsCommand::Verify {
            name,
            version,
            json,
        } => {
            let mut reports: Vec<VerifyReport> = Vec::new();
            match name {
                Some(n) => reports.push(store.verify(&n, version).await?),
                None => {
                    for d in store.list().await? {
                        for v in store.versions(&d.name).await? {
                            reports.push(store.verify(&d.name, Some(v.version)).await?);
                        }
                    }
                }
            }
            let ok = reports.iter().all(|r| r.ok());
            if json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            } else {
                for r in &reports {
                    if r.ok() {
                        println!(
                            "ok      {} v{} ({} files)",
                            r.dataset, r.version, r.files_checked
                        );
                    } else {
                        for p in &r.problems {
                            println!(
                                "BROKEN  {} v{}: {}: {}",
                                r.dataset, r.version, p.path, p.reason
                            );
                        }
                    }
                }
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
