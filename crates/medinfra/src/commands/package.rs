//! Encrypted packages for type I recipients (`medinfra-package`): the producer's side
//! (`medinfra release package`, `medinfra admin set-recipient-key`) and the recipient's
//! (`medinfra package keygen|open|verify`).
//!
//! The package holds the project's own pseudonyms, never the stored ones: the granted
//! versions go in as the workspace's per-project re-keyed copies (`medinfra-analysis`), so two
//! recipients' extracts cannot be joined on their keys.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use medinfra_analysis::{DatasetGrant, prepare_rekeyed_copies};
use medinfra_govern::{Action, AuditLog, Registry, Resource, Via, can, today};
use medinfra_package::{Contents, Identity, InputFile, ReleaseRequest, release_package};
use medinfra_pseudo::keys::KeyStore;
use medinfra_store::Store;

use crate::cli::PackageCommand;

/// `medinfra release package --project P --for USER --out FILE`.
pub async fn release(
    store: &Store,
    key_dir: &Path,
    project: &str,
    user: &str,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let registry = Registry::new(store);
    let p = registry
        .project(project)
        .await
        .with_context(|| format!("project {project}"))?;
    let t = today();
    let actor = registry.actor(user, t).await?;
    // Decide (and record) before a single row is read to build the copies; the package
    // writer decides and records again when it writes.
    let resource = Resource::in_project(p.tier, p.name.clone()).via(Via::Package);
    let d = can(&actor, Action::Download, &resource, t);
    AuditLog::new(store)
        .append(
            "cli:operator",
            "package_prepare",
            &format!("package of project {} for {user}", p.name),
            if d.allowed { "allowed" } else { "denied" },
            &format!("rule {}", d.rule),
        )
        .await?;
    if !d.allowed {
        bail!(
            "access denied: {user} may not receive row-level data of project {} (rule {})",
            p.name,
            d.rule
        );
    }
    let grants: Vec<DatasetGrant> = p
        .grants
        .iter()
        .map(|g| DatasetGrant {
            dataset: g.dataset.clone(),
            version: Some(g.version),
        })
        .collect();
    let keys = KeyStore::open(key_dir)
        .with_context(|| format!("opening key directory {}", key_dir.display()))?;
    let master = medinfra_research::master_key(store, &keys, &grants).await?;
    let mut versions = Vec::new();
    for g in &p.grants {
        versions.push(store.version(&g.dataset, Some(g.version)).await?);
    }
    let copies = prepare_rekeyed_copies(store, &master, &p.name, p.ndb_linkage, &versions).await?;
    let pairs: Vec<(String, i64)> = p
        .grants
        .iter()
        .map(|g| (g.dataset.clone(), g.version))
        .collect();
    let (datasets, _stored) = medinfra_package::stored_version_files(store, &pairs).await?;
    let files: Vec<InputFile> = copies
        .iter()
        .flat_map(|c| {
            c.files.iter().map(|(source, path, bytes)| InputFile {
                source: source.clone(),
                dataset: c.dataset.clone(),
                version: c.version,
                path: path.clone(),
                expected_sha256: None,
                expected_bytes: Some(*bytes),
            })
        })
        .collect();
    let outcome = release_package(
        store,
        ReleaseRequest {
            project: &p.name,
            recipient_user: user,
            released_by: "cli:operator",
            producer: "medinfra",
            out,
            contents: Contents::Files { datasets, files },
        },
    )
    .await?;
    println!(
        "package {} for {} ({}, authorization {}): {} files, {} bytes, expires {}",
        outcome.manifest.package_id,
        user,
        outcome.manifest.recipient.organization,
        outcome.manifest.recipient.authorization_number,
        outcome.manifest.files.len(),
        outcome.bytes,
        outcome.manifest.expires
    );
    println!("  -> {}", outcome.package.display());
    Ok(ExitCode::SUCCESS)
}

/// `medinfra admin set-recipient-key ORG --public-key age1...`.
pub async fn set_recipient_key(store: &Store, org: &str, key: &str) -> anyhow::Result<ExitCode> {
    let key = medinfra_package::register_recipient_key(store, org, key).await?;
    println!(
        "organization {org}: recipient key {} registered",
        key.as_str()
    );
    Ok(ExitCode::SUCCESS)
}

/// `medinfra package ...` (the recipient's side; no data directory).
pub fn run(command: PackageCommand) -> anyhow::Result<ExitCode> {
    match command {
        PackageCommand::Keygen { out } => {
            if out.exists() {
                bail!("{} exists; not overwriting a key", out.display());
            }
            let identity = Identity::generate();
            identity.write_file(&out)?;
            println!(
                "secret identity written to {} (keep it private)",
                out.display()
            );
            println!("public key to register: {}", identity.recipient().as_str());
        }
        PackageCommand::Open {
            file,
            identity,
            out,
        } => {
            let id = Identity::from_file(&identity)?;
            let m = medinfra_package::open_package(&file, &id, &out)?;
            println!(
                "package {} verified ({} files) and unpacked into {}",
                m.package_id,
                m.files.len(),
                out.display()
            );
        }
        PackageCommand::Verify { file, identity } => {
            let id = Identity::from_file(&identity)?;
            let m = medinfra_package::verify_package(&file, &id)?;
            println!(
                "package {} verified: {} files, project {}, expires {}",
                m.package_id,
                m.files.len(),
                m.project,
                m.expires
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
