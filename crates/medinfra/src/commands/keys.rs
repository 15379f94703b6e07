//! `medinfra keys new|list|rotate|retire|reveal`: the key directory. Key material is never
//! printed; every change and every reverse-map lookup is audited by key id.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use medinfra_govern::Action;
use medinfra_model::Tier;
use medinfra_pseudo::keys::{KeyId, KeyStore};
use medinfra_store::Store;

use crate::cli::KeysCommand;

pub async fn run(store: &Store, key_dir: &Path, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let keys = KeyStore::open(key_dir)
        .with_context(|| format!("opening key directory {}", key_dir.display()))?;
    // Keys belong to the identified zone: only operators manage them.
    let audit = |what: String| async move {
        super::audit::check(store, Action::Write, Tier::Identified, &what).await
    };
    match command {
        KeysCommand::New { purpose } => {
            audit(format!("keys new (purpose {purpose})")).await?;
            let meta = keys.new_key(&purpose)?;
            println!(
                "created key {} (purpose {}, {})",
                meta.id, meta.purpose, meta.algorithm
            );
        }
        KeysCommand::List { json } => {
            let list = keys.list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<48} {:<12} {:<8} {:<22} retired",
                    "id", "purpose", "status", "created"
                );
                for m in list {
                    println!(
                        "{:<48} {:<12} {:<8} {:<22} {}",
                        m.id.as_str(),
                        m.purpose,
                        format!("{:?}", m.status).to_lowercase(),
                        m.created,
                        m.retired.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        KeysCommand::Rotate { purpose } => {
            audit(format!("keys rotate (purpose {purpose})")).await?;
            let r = keys.rotate(&purpose)?;
            println!("new active key {} (purpose {})", r.new.id, r.new.purpose);
            for m in r.retired {
                println!("retired {}", m.id);
            }
            println!(
                "re-run `medinfra pseudonymize` to re-tokenize into a new version under the new key"
            );
        }
        KeysCommand::Retire { id } => {
            let id = KeyId::parse(&id)?;
            audit(format!("keys retire {id}")).await?;
            let m = keys.retire(&id)?;
            println!("retired {} (purpose {})", m.id, m.purpose);
        }
        KeysCommand::Reveal {
            dataset,
            version,
            tokens,
        } => {
            let info = store.version(&dataset, version).await?;
            audit(format!(
                "reverse map lookup of {} token(s) in {} v{}",
                tokens.len(),
                info.dataset,
                info.version
            ))
            .await?;
            let lineage = store.read_manifest(&info)?.lineage;
            let path = keys.dir().join("maps").join(format!(
                "{}.map",
                medinfra_pseudonymize::map_name_of(&info, &lineage)
            ));
            let found = medinfra_pseudonymize::reverse_map::lookup(&keys, &path, &tokens)?;
            for t in &tokens {
                match found.get(t) {
                    Some(parts) => println!("{t}\t{}", parts.join("\t")),
                    None => println!("{t}\t(not in the map)"),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
