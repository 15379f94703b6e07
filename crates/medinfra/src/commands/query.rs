//! `medinfra query`: SQL in a project's remote analysis workspace (`medinfra-analysis`), or on
//! sample-tier datasets with `--sample`. The project's tier, granted versions and members come
//! from the registry; the actor is the named user as the registry knows them (the CLI is the
//! operator's console: researchers reach the same workspace through the API).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use medinfra_analysis::{DatasetGrant, Limits, Workspace, WorkspaceSpec};
use medinfra_govern::{Actor, Registry, Role, today};
use medinfra_model::Tier;
use medinfra_pseudo::keys::{Key, KeyMaterial, KeyStore};
use medinfra_store::Store;

use crate::cli::QueryArgs;

/// The key the stored tokens of `datasets` were made with (from the first pseudonymized
/// version's lineage), else the active `pseudonym` key, else a throw-away key (sample and
/// anonymized data hold no tokens to re-key consistently).
pub async fn master_key(
    store: &Store,
    keys: &KeyStore,
    grants: &[DatasetGrant],
) -> anyhow::Result<Key> {
    for g in grants {
        let info = store.version(&g.dataset, g.version).await?;
        let manifest = store.read_manifest(&info)?;
        if let Some(id) = medinfra_pseudonymize::key_id_of(&manifest.lineage) {
            return Ok(keys.load(&id)?);
        }
    }
    if let Ok(k) = keys.active("pseudonym") {
        return Ok(k);
    }
    let mut bytes = [0u8; 32];
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut bytes)
        .map_err(|e| anyhow::anyhow!("operating-system random source: {e}"))?;
    Ok(Key::in_memory(
        "ephemeral",
        "workspace",
        KeyMaterial::from_bytes(bytes),
    ))
}

/// Opens the workspace a user works in: the project's (from the registry) or the sample one.
pub async fn open(
    store: &Store,
    key_dir: &Path,
    project: Option<&str>,
    user: Option<&str>,
    sample: Option<&[String]>,
    limits: Limits,
    masters: Option<&Path>,
) -> anyhow::Result<Workspace> {
    let keys = KeyStore::open(key_dir)
        .with_context(|| format!("opening key directory {}", key_dir.display()))?;
    let registry = Registry::new(store);
    let t = today();
    let (actor, spec_project, tier, grants) = match (sample, project, user) {
        (Some(datasets), _, _) => {
            let actor = match user {
                Some(u) => registry.actor(u, t).await?,
                None => Actor {
                    user: "public".into(),
                    role: Role::Public,
                    authorization: None,
                    memberships: vec![],
                },
            };
            let grants: Vec<DatasetGrant> = datasets
                .iter()
                .map(|d| DatasetGrant {
                    dataset: d.clone(),
                    version: None,
                })
                .collect();
            (actor, "sample".to_string(), Tier::Sample, grants)
        }
        (None, Some(p), Some(u)) => {
            let project = registry
                .project(p)
                .await
                .with_context(|| format!("project {p}"))?;
            let grants: Vec<DatasetGrant> = project
                .grants
                .iter()
                .map(|g| DatasetGrant {
                    dataset: g.dataset.clone(),
                    version: Some(g.version),
                })
                .collect();
            (
                registry.actor(u, t).await?,
                project.name,
                project.tier,
                grants,
            )
        }
        _ => bail!("query needs --project P --as USER, or --sample DATASET"),
    };
    let master = master_key(store, &keys, &grants).await?;
    let spec = WorkspaceSpec {
        project: spec_project,
        tier,
        datasets: grants,
        limits,
        masters_dir: masters.map(Path::to_path_buf),
        today: t,
    };
    Ok(Workspace::open(store, actor, &master, spec).await?)
}

pub async fn run(store: &Store, key_dir: &Path, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let limits = Limits {
        max_rows_shown: args.max_rows,
        ..Limits::default()
    };
    let mut ws = open(
        store,
        key_dir,
        args.project.as_deref(),
        args.user.as_deref(),
        args.sample.as_deref(),
        limits,
        args.masters.as_deref(),
    )
    .await?;
    let out = ws.query(&args.sql).await?;
    println!("{}", out.to_pretty()?);
    println!(
        "{} row(s){}",
        out.total_rows,
        if out.truncated {
            format!(", {} shown", out.shown_rows)
        } else {
            String::new()
        }
    );
    if let Some(name) = &args.save {
        let info = ws.save_result(name, &args.sql).await?;
        println!(
            "saved result {} ({} rows) in the workspace",
            info.name, info.rows
        );
    }
    Ok(ExitCode::SUCCESS)
}
