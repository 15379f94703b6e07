//! `medinfra optout record|list|apply`: a patient's opt-out, recorded from a provider by chart
//! number, removed from every dataset that holds the person — the provider's identified-zone
//! datasets by chart number, pseudonymized datasets by the pseudonym that chart number became
//! under the key their lineage names. Older versions are superseded (unreadable for projects).

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use medinfra_govern::{Action, Registry};
use medinfra_model::Tier;
use medinfra_pseudo::keys::KeyStore;
use medinfra_store::Store;

use crate::cli::OptoutCommand;

pub async fn run(
    store: &Store,
    key_dir: &Path,
    command: OptoutCommand,
) -> anyhow::Result<ExitCode> {
    let registry = Registry::new(store);
    match command {
        OptoutCommand::Record { provider, patient } => {
            super::audit::check(
                store,
                Action::Write,
                Tier::Identified,
                &format!("opt-out from provider {provider}"),
            )
            .await?;
            let id = registry.record_optout(&provider, &patient).await?;
            println!(
                "opt-out {id} recorded for a patient of provider {provider}; run `medinfra optout apply`"
            );
        }
        OptoutCommand::List { pending } => {
            super::audit::check(store, Action::Read, Tier::Identified, "opt-out list").await?;
            for o in registry.optouts(pending).await? {
                println!(
                    "{:>5} provider {} patient {} recorded {} {}",
                    o.id,
                    o.provider,
                    o.person_key,
                    o.recorded_at,
                    o.applied_at
                        .map(|a| format!("applied {a}"))
                        .unwrap_or_else(|| "pending".into())
                );
            }
        }
        OptoutCommand::Apply => {
            let pending = registry.optouts(true).await?;
            if pending.is_empty() {
                println!("no pending opt-outs");
                return Ok(ExitCode::SUCCESS);
            }
            let persons: Vec<(String, String)> = pending
                .iter()
                .map(|o| (o.provider.clone(), o.person_key.clone()))
                .collect();
            let keys = KeyStore::open(key_dir)
                .with_context(|| format!("opening key directory {}", key_dir.display()))?;
            for dataset in store.list().await? {
                let info = store.version(&dataset.name, None).await?;
                let manifest = store.read_manifest(&info)?;
                let (column, remove): (String, HashSet<String>) = if let Some(provider) =
                    dataset.name.strip_prefix("provider-")
                {
                    let ids = persons
                        .iter()
                        .filter(|(p, _)| p == provider)
                        .map(|(_, c)| c.clone())
                        .collect::<HashSet<_>>();
                    ("patient_id".into(), ids)
                } else if info.tier == Tier::Pseudonymized {
                    match medinfra_pseudonymize::optout::person_pseudonyms(
                        &manifest.lineage,
                        &keys,
                        &persons,
                    )? {
                        Some(found) => found,
                        None => {
                            println!(
                                "  {} v{}: no person pseudonyms from chart numbers; not changed",
                                info.dataset, info.version
                            );
                            continue;
                        }
                    }
                } else {
                    continue;
                };
                if remove.is_empty() {
                    continue;
                }
                super::audit::check(
                    store,
                    Action::Write,
                    info.tier,
                    &format!("dataset {} (opt-out)", info.dataset),
                )
                .await?;
                let r = registry
                    .apply_optout(&info.dataset, &column, &remove)
                    .await?;
                println!(
                    "  {} v{} -> v{}: {} rows removed, {} older versions superseded",
                    r.dataset, r.old_version, r.new_version, r.rows_removed, r.versions_superseded
                );
            }
            let ids: Vec<i64> = pending.iter().map(|o| o.id).collect();
            registry.mark_optouts_applied(&ids).await?;
            println!("{} opt-out(s) applied", ids.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
