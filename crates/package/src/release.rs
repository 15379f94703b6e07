//! The governed release of a package (`medinfra release package`): the project's recipient
//! must be allowed to take its pseudonymized rows out (`can(.., Download, ..)`, which only a
//! valid type I authorization and an active membership allow), the decision is recorded before
//! anything is read, the organization must have a registered public key, and the outcome
//! (package id, file count, bytes) is recorded after.

use std::path::{Path, PathBuf};

use medinfra_govern::{
    Action, AuditLog, AuthorizationKind, Registry, RegistryError, Resource, Via, audited,
};
use medinfra_model::Tier;
use medinfra_store::Store;

use crate::write::{InputFile, PackageMeta, write_package_file};
use crate::{DatasetRef, Manifest, PackageError, Recipient, RecipientKey};

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("access denied by rule {0}")]
    Denied(&'static str),
    #[error("project {project}: {reason}")]
    Project { project: String, reason: String },
    #[error("{dataset} v{version} is superseded (an opt-out removed persons from a later version)")]
    Superseded { dataset: String, version: i64 },
    #[error("organization {0} has no registered recipient key (medinfra admin set-recipient-key)")]
    NoRecipientKey(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Audit(#[from] medinfra_govern::AuditError),
    #[error(transparent)]
    Admin(#[from] medinfra_govern::AdminError),
    #[error(transparent)]
    Store(#[from] medinfra_store::StoreError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("packaging task failed")]
    Task,
}

/// What goes into the package.
#[derive(Debug, Clone)]
pub enum Contents {
    /// The files of every dataset version granted to the project, as stored.
    StoredVersions,
    /// Files the caller prepared (e.g. per-project re-keyed copies of the granted versions);
    /// each must belong to one of `datasets`, which must be granted to the project.
    Files {
        datasets: Vec<DatasetRef>,
        files: Vec<InputFile>,
    },
}

#[derive(Debug, Clone)]
pub struct ReleaseRequest<'a> {
    pub project: &'a str,
    /// The project member (an authorized user of a type I organization) receiving it.
    pub recipient_user: &'a str,
    /// Who runs the release (audited as the second party), e.g. `cli:operator`.
    pub released_by: &'a str,
    /// The certified producer's name for the manifest.
    pub producer: &'a str,
    pub out: &'a Path,
    pub contents: Contents,
}

#[derive(Debug, Clone)]
pub struct ReleaseOutcome {
    pub package: PathBuf,
    pub manifest: Manifest,
    pub bytes: u64,
}

/// `medinfra admin set-recipient-key ORG --public-key age1...`: parse the key, then register
/// it through the audited admin path.
pub async fn register_recipient_key(
    store: &Store,
    organization: &str,
    public_key: &str,
) -> Result<RecipientKey, ReleaseError> {
    let key = RecipientKey::parse(public_key)?;
    medinfra_govern::set_recipient_key(store, organization, key.as_str()).await?;
    Ok(key)
}

fn iso(days: i32) -> String {
    medinfra_model::days::date_of(days)
        .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        .unwrap_or_else(|| days.to_string())
}

/// The stored files of the given dataset versions, each checked later against its version's
/// manifest (size and SHA-256).
pub async fn stored_version_files(
    store: &Store,
    versions: &[(String, i64)],
) -> Result<(Vec<DatasetRef>, Vec<InputFile>), ReleaseError> {
    let mut datasets = Vec::new();
    let mut files = Vec::new();
    for (dataset, version) in versions {
        let info = store.version(dataset, Some(*version)).await?;
        if info.superseded {
            return Err(ReleaseError::Superseded {
                dataset: dataset.clone(),
                version: *version,
            });
        }
        let manifest = store.read_manifest(&info)?;
        for table in &manifest.tables {
            for f in &table.files {
                files.push(InputFile {
                    source: info.dir.join(&f.path),
                    dataset: dataset.clone(),
                    version: *version,
                    path: f.path.clone(),
                    expected_sha256: Some(f.sha256.clone()),
                    expected_bytes: Some(f.bytes),
                });
            }
        }
        datasets.push(DatasetRef {
            dataset: dataset.clone(),
            version: *version,
            tier: info.tier.as_str().to_string(),
            manifest_sha256: info.manifest_sha256.clone(),
            step: info.step.clone(),
        });
    }
    Ok((datasets, files))
}

/// Decide, audit, and write the package for `req.recipient_user` in `req.project`.
pub async fn release_package(
    store: &Store,
    req: ReleaseRequest<'_>,
) -> Result<ReleaseOutcome, ReleaseError> {
    let registry = Registry::new(store);
    let log = AuditLog::new(store);
    let today = medinfra_govern::today();
    let project = registry.project(req.project).await?;
    let project_err = |reason: &str| ReleaseError::Project {
        project: req.project.to_string(),
        reason: reason.to_string(),
    };
    if project.tier != Tier::Pseudonymized {
        return Err(project_err(
            "packages are for pseudonymized projects (anonymized data is downloaded)",
        ));
    }
    let actor = registry.actor(req.recipient_user, today).await?;
    let what = format!(
        "package of project {} for {}",
        req.project, req.recipient_user
    );
    // The recipient's right to take the rows out decides; recorded before anything is read.
    let decision = audited(
        &log,
        &actor,
        Action::Download,
        &Resource::in_project(project.tier, req.project.to_string()).via(Via::Package),
        &what,
        today,
    )
    .await?;
    if !decision.allowed {
        return Err(ReleaseError::Denied(decision.rule));
    }
    let prepared = prepare(store, &registry, &req, &project, &actor, today).await;
    let written = match prepared {
        Ok((meta, files, key)) => {
            let out = req.out.to_path_buf();
            tokio::task::spawn_blocking(move || write_package_file(&meta, &files, &key, &out))
                .await
                .map_err(|_| ReleaseError::Task)
                .and_then(|r| r.map_err(ReleaseError::from))
        }
        Err(e) => Err(e),
    };
    // Every allowed release ends with a second record: what was written, or why not.
    let detail = match &written {
        Ok(m) => format!(
            "package {} for {} ({}), {} files, {} datasets, expires {}",
            m.package_id,
            m.recipient.organization,
            m.recipient.authorization_number,
            m.files.len(),
            m.datasets.len(),
            m.expires
        ),
        Err(e) => format!("failed: {e}"),
    };
    log.append(
        req.released_by,
        "release_package",
        &what,
        if written.is_ok() { "done" } else { "failed" },
        &detail,
    )
    .await?;
    let manifest = written?;
    let out = req.out.to_path_buf();
    let bytes = std::fs::metadata(&out)
        .map_err(|e| PackageError::io(&out, e))?
        .len();
    Ok(ReleaseOutcome {
        package: out,
        manifest,
        bytes,
    })
}

/// After an allowed decision: the recipient's organization, key and authorization, and the
/// files, checked against the project's grants.
async fn prepare(
    store: &Store,
    registry: &Registry,
    req: &ReleaseRequest<'_>,
    project: &medinfra_govern::Project,
    actor: &medinfra_govern::Actor,
    today: i32,
) -> Result<(PackageMeta, Vec<InputFile>, RecipientKey), ReleaseError> {
    let project_err = |reason: &str| ReleaseError::Project {
        project: req.project.to_string(),
        reason: reason.to_string(),
    };
    // `can` allowed Download of pseudonymized data, which only a valid type I authorization
    // does; the manifest names it.
    let Some(authorization) = actor
        .authorization
        .as_ref()
        .filter(|a| a.valid_on(today) && a.kind == AuthorizationKind::TypeI)
    else {
        return Err(ReleaseError::Denied("pseudonymized-authorized-member"));
    };
    let user = registry.user(req.recipient_user).await?;
    let organization = user
        .organization
        .ok_or_else(|| project_err("the recipient belongs to no organization"))?;
    let key_text = registry
        .recipient_key(&organization)
        .await?
        .ok_or_else(|| ReleaseError::NoRecipientKey(organization.clone()))?;
    let key = RecipientKey::parse(&key_text)?;

    let granted: Vec<(String, i64)> = project
        .grants
        .iter()
        .map(|g| (g.dataset.clone(), g.version))
        .collect();
    let (datasets, files) = match req.contents.clone() {
        Contents::StoredVersions => stored_version_files(store, &granted).await?,
        Contents::Files { datasets, files } => {
            for d in &datasets {
                if !granted.contains(&(d.dataset.clone(), d.version)) {
                    return Err(project_err(&format!(
                        "{} v{} is not granted to the project",
                        d.dataset, d.version
                    )));
                }
            }
            (datasets, files)
        }
    };
    for d in &datasets {
        if d.tier != Tier::Pseudonymized.as_str() {
            return Err(project_err(&format!(
                "{} v{} is {}, not pseudonymized",
                d.dataset, d.version, d.tier
            )));
        }
    }
    let meta = PackageMeta {
        project: req.project.to_string(),
        producer: req.producer.to_string(),
        recipient: Recipient {
            organization: organization.clone(),
            user: req.recipient_user.to_string(),
            authorization_number: authorization.number.clone(),
            authorization_kind: authorization.kind.as_str().to_string(),
            public_key: String::new(),
        },
        expires: iso(project.expires.min(authorization.valid_to)),
        datasets,
    };
    Ok((meta, files, key))
}
