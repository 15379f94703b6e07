//! Opening a workspace as the registry describes it: a project's tier and pinned dataset
//! versions, or sample datasets (open to everyone, to develop SQL before approval), with the
//! key the stored tokens were made with so the views re-key them for the project.

use std::path::{Path, PathBuf};

use medinfra_analysis::{DatasetGrant, Limits, Workspace, WorkspaceSpec};
use medinfra_govern::{Actor, Registry};
use medinfra_model::Tier;
use medinfra_pseudo::keys::{Key, KeyStore};
use medinfra_store::Store;

use crate::ResearchError;

/// What to open.
#[derive(Debug, Clone)]
pub enum Opening {
    /// A project of the registry (its tier and granted versions).
    Project(String),
    /// Sample-tier datasets (latest versions) in a scratch workspace named `scratch`.
    Sample {
        datasets: Vec<String>,
        scratch: String,
    },
}

/// The key the stored tokens of `grants` were made with (from the first pseudonymized
/// version's lineage), else the active `pseudonym` key, else the data directory's `workspace`
/// key, made on first use. Not a throw-away key per opening: every opening under a new key
/// builds its own re-keyed copy, and concurrent openings under different keys raced on them.
pub async fn master_key(
    store: &Store,
    keys: &KeyStore,
    grants: &[DatasetGrant],
) -> Result<Key, ResearchError> {
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
    if let Ok(k) = keys.active("workspace") {
        return Ok(k);
    }
    let meta = keys.new_key("workspace")?;
    Ok(keys.load(&meta.id)?)
}

/// Opens the workspace `actor` works in. Access (membership, tier, authorization, expiry) is
/// decided and audited by `Workspace::open` through `medinfra_govern::can`.
pub async fn open_workspace(
    store: &Store,
    key_dir: &Path,
    actor: Actor,
    opening: &Opening,
    limits: Limits,
    masters: Option<&Path>,
    today: i32,
) -> Result<Workspace, ResearchError> {
    let keys = KeyStore::open(key_dir)?;
    let (project, tier, grants, ndb_linkage) = match opening {
        Opening::Sample { datasets, scratch } => (
            scratch.clone(),
            Tier::Sample,
            datasets
                .iter()
                .map(|d| DatasetGrant {
                    dataset: d.clone(),
                    version: None,
                })
                .collect::<Vec<_>>(),
            false,
        ),
        Opening::Project(name) => {
            let project = Registry::new(store).project(name).await?;
            let grants = project
                .grants
                .iter()
                .map(|g| DatasetGrant {
                    dataset: g.dataset.clone(),
                    version: Some(g.version),
                })
                .collect();
            (project.name, project.tier, grants, project.ndb_linkage)
        }
    };
    let master = master_key(store, &keys, &grants).await?;
    let spec = WorkspaceSpec {
        project,
        tier,
        datasets: grants,
        limits,
        masters_dir: masters.map(PathBuf::from),
        today,
        ndb_linkage,
    };
    Ok(Workspace::open(store, actor, &master, spec).await?)
}
