//! The store: a data directory with a catalog and immutable version directories.
//!
//! Layout:
//! ```text
//! DATA_DIR/catalog.sqlite                 the embedded catalog (datasets, versions, tables, lineage)
//! DATA_DIR/catalog.json                   instead, when the catalog is in PostgreSQL: its schema
//! DATA_DIR/datasets/NAME/vN-SUFFIX/       one committed version: manifest.json + TABLE.part-*.parquet
//! DATA_DIR/staging/                       versions being written (each locked by its writer)
//! DATA_DIR/commit.lock                    shared by commits, exclusive for the leftover sweep
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

use medinfra_model::Tier;

use crate::catalog::{self, Backend, CatalogLocation};
use crate::manifest::{InputRef, Lineage, Manifest};
use crate::{MEDINFRA_VERSION, StoreError, VersionWriter, fsutil, validate_dataset_name};

/// Columns of a version with one of its tables (LEFT JOIN: a version without tables still
/// gives one row). Used with [`VERSION_FROM`].
const VERSION_SELECT: &str = "SELECT d.name AS name, v.id AS id, v.version AS version, v.dir AS dir, v.tier AS tier, v.manifest_sha256 AS sha, v.step AS step, v.created_at AS created_at, v.superseded AS superseded, t.table_name AS table_name, t.rows AS rows, t.files AS files, t.bytes AS bytes";
const VERSION_FROM: &str = "FROM versions v JOIN datasets d ON d.id = v.dataset_id LEFT JOIN version_tables t ON t.version_id = v.id";

/// Held shared by commits between rename and catalog transaction, exclusively by the sweep
/// of unrecorded version directories.
const COMMIT_LOCK: &str = "commit.lock";

/// A `.`-named staging directory younger than this is left alone: its writer may be between
/// creating it and locking it.
const STAGING_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// Tables whose writers serialize through [`Store::begin_locked`] (a closed list: the name
/// goes into SQL text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockedTable {
    AuditLog,
}

impl LockedTable {
    fn name(self) -> &'static str {
        match self {
            LockedTable::AuditLog => "audit_log",
        }
    }
}

/// A committed dataset version as the catalog knows it.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    pub dataset: String,
    pub version: i64,
    pub tier: Tier,
    #[serde(skip)]
    pub dir: PathBuf,
    pub manifest_sha256: String,
    pub step: String,
    pub created_at: String,
    pub superseded: bool,
    pub tables: Vec<TableSummary>,
}

/// Row counts and sizes of one table of a version.
#[derive(Debug, Clone, Serialize)]
pub struct TableSummary {
    pub name: String,
    pub rows: i64,
    pub files: i64,
    pub bytes: i64,
}

/// One dataset with its latest version.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetSummary {
    pub name: String,
    pub tier: Tier,
    pub versions: i64,
    pub latest: VersionInfo,
}

/// One problem found by [`Store::verify`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VerifyProblem {
    pub path: String,
    pub reason: String,
}

/// Result of re-hashing a version's files against its manifest.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub dataset: String,
    pub version: i64,
    pub files_checked: usize,
    pub problems: Vec<VerifyProblem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

struct Inner {
    root: PathBuf,
    pool: AnyPool,
    catalog: CatalogLocation,
    manifests: std::sync::Mutex<ManifestCache>,
}

/// Parsed manifests of committed versions, which never change: a monthly run reads each
/// provider's manifest in several steps, and the research database's (thousands of parts)
/// once per table it reads. Keyed by the manifest's path and checked against the catalog's
/// SHA-256 of it; bounded by the bytes parsed, and emptied when full.
#[derive(Default)]
struct ManifestCache {
    entries: std::collections::HashMap<PathBuf, (String, Arc<Manifest>)>,
    bytes: usize,
}

/// What the manifest cache may hold, in bytes of manifest JSON.
const MANIFEST_CACHE_BYTES: usize = 64 << 20;

/// Handle to a data directory. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// The current time as RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

impl Store {
    /// Open (or create) a data directory with the catalog [`CatalogLocation::from_env`] names
    /// (the embedded SQLite file unless `MEDINFRA_CATALOG` says otherwise). See
    /// [`Store::open_with`].
    pub async fn open(root: &Path) -> Result<Store, StoreError> {
        Store::open_with(root, &CatalogLocation::from_env()?).await
    }

    /// Open (or create) a data directory with its catalog at `location`, migrate the
    /// catalog, and remove what an earlier crash left behind: staging directories and
    /// version directories the catalog never recorded.
    pub async fn open_with(root: &Path, location: &CatalogLocation) -> Result<Store, StoreError> {
        fsutil::create_dir_synced(root)?;
        fsutil::make_private_dir(root)?;
        let root = root.canonicalize().map_err(|e| StoreError::io(root, e))?;
        for sub in ["datasets", "staging"] {
            fsutil::create_dir_synced(&root.join(sub))?;
        }
        let pool = catalog::open(&root, location).await?;
        let store = Store {
            inner: Arc::new(Inner {
                root,
                pool,
                catalog: location.clone(),
                manifests: Default::default(),
            }),
        };
        store.remove_leftovers().await?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The catalog's connection pool. Queries through it must be valid on both backends
    /// (see the `catalog` module).
    pub fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// Which database holds the catalog.
    pub fn backend(&self) -> Backend {
        self.inner.catalog.backend()
    }

    /// Where the catalog is (to open the same directory again, e.g. from a server).
    pub fn catalog(&self) -> &CatalogLocation {
        &self.inner.catalog
    }

    /// A transaction that holds `table`'s write lock from its first statement, so that a
    /// read-then-append (the audit chain's head) cannot interleave with another process's.
    /// SQLite: `BEGIN IMMEDIATE` (the database's one write lock). PostgreSQL: `LOCK TABLE …
    /// IN SHARE ROW EXCLUSIVE MODE`, which excludes other writers of that table but not its
    /// readers.
    pub async fn begin_locked(
        &self,
        table: LockedTable,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        match self.backend() {
            Backend::Sqlite => Ok(self.pool().begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => {
                let mut tx = self.pool().begin().await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
                    table.name()
                )))
                .execute(&mut *tx)
                .await?;
                Ok(tx)
            }
        }
    }

    /// Remove what crashed writers left, never what live ones (in this or another process,
    /// on this or another node) are writing: a staging directory goes only when nobody holds
    /// its lock (the writer is gone) and it is over a minute old, and unrecorded version
    /// directories are swept
    /// only while no commit is between its rename and its catalog transaction.
    async fn remove_leftovers(&self) -> Result<(), StoreError> {
        let staging = self.root().join("staging");
        let entries = std::fs::read_dir(&staging).map_err(|e| StoreError::io(&staging, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&staging, e))?;
            let p = entry.path();
            // A live writer holds a lock on its staging directory from before the directory
            // has its name; a `.`-name is one being locked right now, or a crash's (old).
            let being_created = entry.file_name().to_string_lossy().starts_with('.')
                && entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_none_or(|age| age < STAGING_GRACE);
            if being_created || (p.is_dir() && fsutil::dir_is_locked(&p)?) {
                continue;
            }
            tracing::info!(path = %p.display(), "removing unfinished version from an earlier run");
            let removed = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            removed.map_err(|e| StoreError::io(&p, e))?;
        }
        let Some(_sweeping) = fsutil::try_exclusive(&self.root().join(COMMIT_LOCK))? else {
            tracing::debug!(
                "a commit is in progress: unrecorded version directories are left for a later open"
            );
            return Ok(());
        };
        // Read after taking the lock: every directory renamed into place by then is recorded.
        let known: HashSet<String> = sqlx::query("SELECT dir FROM versions")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("dir"))
            .collect::<Result<_, _>>()?;
        let datasets = self.root().join("datasets");
        let entries = std::fs::read_dir(&datasets).map_err(|e| StoreError::io(&datasets, e))?;
        for ds in entries {
            let ds = ds.map_err(|e| StoreError::io(&datasets, e))?;
            let ds_path = ds.path();
            let versions = std::fs::read_dir(&ds_path).map_err(|e| StoreError::io(&ds_path, e))?;
            for v in versions {
                let v = v.map_err(|e| StoreError::io(&ds_path, e))?;
                let rel = format!(
                    "datasets/{}/{}",
                    ds.file_name().to_string_lossy(),
                    v.file_name().to_string_lossy()
                );
                if !known.contains(&rel) {
                    let p = v.path();
                    tracing::info!(path = %p.display(), "removing version directory the catalog never committed");
                    std::fs::remove_dir_all(&p).map_err(|e| StoreError::io(&p, e))?;
                }
            }
        }
        Ok(())
    }

    /// Start writing a new version of dataset `name` at `tier`.
    pub fn begin(
        &self,
        name: &str,
        tier: Tier,
        lineage: Lineage,
    ) -> Result<VersionWriter, StoreError> {
        validate_dataset_name(name)?;
        let staging = self
            .root()
            .join("staging")
            .join(format!("{name}-{}", fsutil::unique_suffix()));
        // Created under a `.`-name, locked, then renamed: a staging directory with its real
        // name is locked for as long as its writer lives. Not fsynced: nothing depends on it
        // surviving a crash (open removes it anyway); commit fsyncs it before renaming it
        // into place.
        let unnamed = staging.with_file_name(format!(
            ".{}",
            staging
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        std::fs::create_dir(&unnamed).map_err(|e| StoreError::io(&unnamed, e))?;
        let lock = fsutil::hold_dir(&unnamed)?;
        std::fs::rename(&unnamed, &staging).map_err(|e| StoreError::io(&staging, e))?;
        Ok(VersionWriter::new(
            self.clone(),
            name.to_string(),
            tier,
            lineage,
            staging,
            lock,
        ))
    }

    /// Make several new versions visible at once, in one catalog transaction, together with
    /// `other_submissions` (submissions that produced no version, e.g. rejected files). The
    /// versions must be of distinct datasets. Either all of them become visible or none.
    ///
    /// Order, so that a crash at any point leaves the previous state: (1) every file written
    /// into the staging directories and every table directory is fsynced, (2) each manifest
    /// is written and fsynced and its staging directory fsynced, (3) each staging directory is
    /// renamed to `datasets/NAME/vN-SUFFIX` and the parents fsynced, (4) one transaction
    /// records every version and submission. Until (4) commits, the catalog knows none of the
    /// directories, and [`Store::open`] removes them after a crash; if (4) fails, they are
    /// removed at once.
    ///
    /// Doing this for many versions at once is what makes a bulk ingest of many small
    /// providers cheap: the fsyncs run concurrently, and the catalog commits once.
    pub async fn commit_all(
        &self,
        mut writers: Vec<VersionWriter>,
        other_submissions: &[crate::Submission],
    ) -> Result<Vec<VersionInfo>, StoreError> {
        let mut names = HashSet::new();
        for w in &writers {
            if !names.insert(w.name().to_string()) {
                return Err(StoreError::DuplicateInBatch(w.name().to_string()));
            }
        }
        // (1) File contents and the table directories' entries.
        let mut unsynced = Vec::new();
        for w in &writers {
            let (files, dirs) = w.unsynced()?;
            unsynced.extend(files);
            unsynced.extend(dirs);
        }
        fsutil::sync_paths(&unsynced)?;

        // Next version numbers; a tier change is refused before anything moves.
        let mut planned = Vec::with_capacity(writers.len());
        for w in &writers {
            let row = sqlx::query(
                "SELECT d.tier AS tier, COALESCE((SELECT MAX(v.version) FROM versions v WHERE v.dataset_id = d.id), 0) + 1 AS next FROM datasets d WHERE d.name = $1",
            )
            .bind(w.name())
            .fetch_optional(self.pool())
            .await?;
            let version = match row {
                Some(row) => {
                    let existing = parse_tier(&row.try_get::<String, _>("tier")?)?;
                    if existing != w.tier() {
                        return Err(StoreError::TierChange {
                            name: w.name().to_string(),
                            existing,
                            requested: w.tier(),
                        });
                    }
                    row.try_get::<i64, _>("next")?
                }
                None => 1,
            };
            planned.push(version);
        }

        // (2) Manifests.
        let created_at = now_rfc3339();
        let mut staged = Vec::with_capacity(writers.len());
        for (w, &version) in writers.iter().zip(&planned) {
            let manifest = Manifest {
                dataset: w.name().to_string(),
                version,
                tier: w.tier(),
                created_at: created_at.clone(),
                medinfra_version: MEDINFRA_VERSION.to_string(),
                lineage: w.lineage().clone(),
                tables: w.table_entries()?,
            };
            let staging = w.staging_dir();
            let manifest_path = staging.join("manifest.json");
            let bytes =
                serde_json::to_vec_pretty(&manifest).map_err(|source| StoreError::Manifest {
                    path: manifest_path.clone(),
                    source,
                })?;
            std::fs::write(&manifest_path, &bytes)
                .map_err(|e| StoreError::io(&manifest_path, e))?;
            let manifest_sha256 = hex::encode(Sha256::digest(&bytes));
            let suffix = staging
                .file_name()
                .map(|s| {
                    s.to_string_lossy()
                        .rsplit('-')
                        .next()
                        .unwrap_or("0")
                        .to_string()
                })
                .unwrap_or_default();
            let rel_dir = format!("datasets/{}/v{version}-{suffix}", w.name());
            staged.push((manifest, manifest_sha256, rel_dir));
        }
        let manifests: Vec<PathBuf> = writers
            .iter()
            .map(|w| w.staging_dir().join("manifest.json"))
            .collect();
        fsutil::sync_paths(&manifests)?;
        let stagings: Vec<PathBuf> = writers
            .iter()
            .map(|w| w.staging_dir().to_path_buf())
            .collect();
        fsutil::sync_paths(&stagings)?;

        // (3) Into place. From here until the catalog records them, the directories are
        // unrecorded: the shared commit lock keeps other processes' open from sweeping them.
        let _committing = fsutil::hold_shared(&self.root().join(COMMIT_LOCK))?;
        let mut moved: Vec<PathBuf> = Vec::with_capacity(writers.len());
        let renamed = self.move_into_place(&writers, &staged, &mut moved);

        // (4) The catalog.
        let recorded = match renamed {
            Ok(()) => {
                self.record_versions(&writers, &staged, &created_at, other_submissions)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = recorded {
            // Not in the catalog, so not visible: take the files away again.
            for dir in &moved {
                let _ = std::fs::remove_dir_all(dir);
            }
            return Err(e);
        }
        let mut out = Vec::with_capacity(writers.len());
        for (w, (manifest, manifest_sha256, rel_dir)) in writers.iter_mut().zip(staged) {
            w.mark_committed();
            out.push(VersionInfo {
                dataset: manifest.dataset.clone(),
                version: manifest.version,
                tier: manifest.tier,
                dir: self.root().join(&rel_dir),
                manifest_sha256,
                step: manifest.lineage.step.clone(),
                created_at: manifest.created_at.clone(),
                superseded: false,
                tables: manifest
                    .tables
                    .iter()
                    .map(|t| TableSummary {
                        name: t.name.clone(),
                        rows: t.rows as i64,
                        files: t.files.len() as i64,
                        bytes: t.bytes() as i64,
                    })
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Rename each staging directory to its version directory, then fsync the parents so the
    /// renames survive a crash. `moved` collects what was renamed (to undo on failure).
    fn move_into_place(
        &self,
        writers: &[VersionWriter],
        staged: &[(Manifest, String, String)],
        moved: &mut Vec<PathBuf>,
    ) -> Result<(), StoreError> {
        let datasets = self.root().join("datasets");
        let mut new_parent = false;
        let mut parents = Vec::with_capacity(writers.len() + 2);
        for (w, (_, _, rel_dir)) in writers.iter().zip(staged) {
            let parent = datasets.join(w.name());
            match std::fs::create_dir(&parent) {
                Ok(()) => new_parent = true,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::io(&parent, e)),
            }
            let final_dir = self.root().join(rel_dir);
            std::fs::rename(w.staging_dir(), &final_dir)
                .map_err(|e| StoreError::io(&final_dir, e))?;
            moved.push(final_dir);
            parents.push(parent);
        }
        if new_parent {
            parents.push(datasets);
        }
        parents.push(self.root().join("staging"));
        fsutil::sync_paths(&parents)
    }

    /// One transaction for every version of a batch and every submission.
    async fn record_versions(
        &self,
        writers: &[VersionWriter],
        staged: &[(Manifest, String, String)],
        created_at: &str,
        other_submissions: &[crate::Submission],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for (w, (manifest, manifest_sha256, rel_dir)) in writers.iter().zip(staged) {
            record_version(
                &mut tx,
                manifest,
                rel_dir,
                manifest_sha256,
                created_at,
                w.submissions(),
            )
            .await?;
        }
        for sub in other_submissions {
            crate::submissions::insert(&mut tx, sub).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// All datasets with their latest version, by name (one query: the server lists the
    /// catalog on every page).
    pub async fn list(&self) -> Result<Vec<DatasetSummary>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{VERSION_SELECT}, (SELECT COUNT(*) FROM versions c WHERE c.dataset_id = d.id) AS n
             {VERSION_FROM}
             WHERE v.version = (SELECT MAX(m.version) FROM versions m WHERE m.dataset_id = d.id)
             ORDER BY d.name, t.table_name"
        )))
        .fetch_all(self.pool())
        .await?;
        let counts: std::collections::HashMap<String, i64> = rows
            .iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("n")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        self.versions_of_rows(&rows)?
            .into_iter()
            .map(|latest| {
                Ok(DatasetSummary {
                    name: latest.dataset.clone(),
                    tier: latest.tier,
                    versions: counts.get(&latest.dataset).copied().unwrap_or(0),
                    latest,
                })
            })
            .collect()
    }

    /// All versions of a dataset, oldest first.
    pub async fn versions(&self, name: &str) -> Result<Vec<VersionInfo>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{VERSION_SELECT} {VERSION_FROM} WHERE d.name = $1 ORDER BY v.version, t.table_name"
        )))
        .bind(name)
        .fetch_all(self.pool())
        .await?;
        let out = self.versions_of_rows(&rows)?;
        if out.is_empty() {
            return Err(StoreError::NoSuchDataset(name.to_string()));
        }
        Ok(out)
    }

    /// One version (the latest when `version` is `None`).
    pub async fn version(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<VersionInfo, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{VERSION_SELECT} {VERSION_FROM}
             WHERE d.name = $1 AND v.version = COALESCE($2, (SELECT MAX(m.version) FROM versions m WHERE m.dataset_id = d.id))
             ORDER BY t.table_name"
        )))
        .bind(name)
        .bind(version)
        .fetch_all(self.pool())
        .await?;
        self.versions_of_rows(&rows)?
            .pop()
            .ok_or_else(|| match version {
                Some(v) => StoreError::NoSuchVersion {
                    name: name.to_string(),
                    version: v,
                },
                None => StoreError::NoSuchDataset(name.to_string()),
            })
    }

    /// Versions from rows of [`VERSION_SELECT`] (one row per table, rows of a version
    /// adjacent), in row order.
    fn versions_of_rows(&self, rows: &[sqlx::any::AnyRow]) -> Result<Vec<VersionInfo>, StoreError> {
        let mut out: Vec<(i64, VersionInfo)> = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            if out.last().map(|(last, _)| *last) != Some(id) {
                let dir: String = row.try_get("dir")?;
                out.push((
                    id,
                    VersionInfo {
                        dataset: row.try_get("name")?,
                        version: row.try_get("version")?,
                        tier: parse_tier(&row.try_get::<String, _>("tier")?)?,
                        dir: self.root().join(dir),
                        manifest_sha256: row.try_get("sha")?,
                        step: row.try_get("step")?,
                        created_at: row.try_get("created_at")?,
                        superseded: row.try_get::<i64, _>("superseded")? != 0,
                        tables: Vec::new(),
                    },
                ));
            }
            if let Some(table) = row.try_get::<Option<String>, _>("table_name")?
                && let Some((_, v)) = out.last_mut()
            {
                v.tables.push(TableSummary {
                    name: table,
                    rows: row.try_get("rows")?,
                    files: row.try_get("files")?,
                    bytes: row.try_get("bytes")?,
                });
            }
        }
        Ok(out.into_iter().map(|(_, v)| v).collect())
    }

    /// Mark every version of `name` older than `keep` superseded (e.g. after an opt-out
    /// removed a person from `keep`). Files stay: versions are never rewritten; readers refuse
    /// superseded versions to projects. Returns how many versions changed.
    pub async fn supersede_older_versions(&self, name: &str, keep: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE versions SET superseded = 1 WHERE superseded = 0 AND version < $1 AND dataset_id = (SELECT id FROM datasets WHERE name = $2)",
        )
        .bind(keep)
        .bind(name)
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// Read and parse a version's manifest.
    pub fn read_manifest(&self, info: &VersionInfo) -> Result<Manifest, StoreError> {
        let path = info.dir.join("manifest.json");
        if let Ok(cache) = self.inner.manifests.lock()
            && let Some((sha, m)) = cache.entries.get(&path)
            && !info.manifest_sha256.is_empty()
            && *sha == info.manifest_sha256
        {
            return Ok(m.as_ref().clone());
        }
        let bytes = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Manifest {
                path: path.clone(),
                source,
            })?;
        // Only a file whose hash is the catalog's is cached (a version being replaced on
        // disk by hand must not be served from memory).
        if !info.manifest_sha256.is_empty()
            && bytes.len() <= MANIFEST_CACHE_BYTES / 4
            && hex::encode(Sha256::digest(&bytes)) == info.manifest_sha256
            && let Ok(mut cache) = self.inner.manifests.lock()
        {
            if cache.bytes + bytes.len() > MANIFEST_CACHE_BYTES {
                cache.entries.clear();
                cache.bytes = 0;
            }
            cache.bytes += bytes.len();
            cache.entries.insert(
                path,
                (info.manifest_sha256.clone(), Arc::new(manifest.clone())),
            );
        }
        Ok(manifest)
    }

    /// A reference to a version, for the lineage of a version derived from it.
    pub fn input_ref(info: &VersionInfo) -> InputRef {
        InputRef {
            dataset: info.dataset.clone(),
            version: info.version,
            manifest_sha256: info.manifest_sha256.clone(),
        }
    }

    /// Absolute paths of the Parquet files of one table of a version.
    pub fn table_files(&self, info: &VersionInfo, table: &str) -> Result<Vec<PathBuf>, StoreError> {
        let manifest = self.read_manifest(info)?;
        Ok(manifest
            .table(table)
            .map(|t| t.files.iter().map(|f| info.dir.join(&f.path)).collect())
            .unwrap_or_default())
    }

    /// Stream the record batches of one committed part file (a path from
    /// [`Store::table_files`] or a manifest entry under the version directory). Readers take
    /// batches from here instead of opening Parquet themselves, so the store alone knows how
    /// a part is stored.
    pub fn read_part(
        &self,
        path: &Path,
    ) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader, StoreError> {
        read_part(path)
    }

    /// Re-hash every file of a version and compare with the manifest, and the manifest with
    /// the catalog.
    pub async fn verify(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<VerifyReport, StoreError> {
        let info = self.version(name, version).await?;
        let mut problems = Vec::new();
        let manifest_path = info.dir.join("manifest.json");
        let mut files_checked = 0;
        match std::fs::read(&manifest_path) {
            Err(e) => problems.push(VerifyProblem {
                path: "manifest.json".into(),
                reason: format!("cannot read: {e}"),
            }),
            Ok(bytes) => {
                if hex::encode(Sha256::digest(&bytes)) != info.manifest_sha256 {
                    problems.push(VerifyProblem {
                        path: "manifest.json".into(),
                        reason: "SHA-256 differs from the catalog's".into(),
                    });
                }
                match serde_json::from_slice::<Manifest>(&bytes) {
                    Err(e) => problems.push(VerifyProblem {
                        path: "manifest.json".into(),
                        reason: format!("not a valid manifest: {e}"),
                    }),
                    Ok(manifest) => {
                        for table in &manifest.tables {
                            for f in &table.files {
                                files_checked += 1;
                                if let Some(reason) =
                                    check_file(&info.dir.join(&f.path), f.bytes, &f.sha256)
                                {
                                    problems.push(VerifyProblem {
                                        path: f.path.clone(),
                                        reason,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(VerifyReport {
            dataset: info.dataset,
            version: info.version,
            files_checked,
            problems,
        })
    }
}

/// Record one version (and its submissions) inside the batch's transaction.
async fn record_version(
    tx: &mut sqlx::AnyConnection,
    manifest: &Manifest,
    rel_dir: &str,
    manifest_sha256: &str,
    created_at: &str,
    submissions: &[crate::Submission],
) -> Result<(), StoreError> {
    let name = manifest.dataset.as_str();
    sqlx::query("INSERT INTO datasets (name, tier, created_at) VALUES ($1, $2, $3) ON CONFLICT(name) DO NOTHING")
        .bind(name)
        .bind(manifest.tier.as_str())
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
    let dataset_id: i64 = sqlx::query("SELECT id FROM datasets WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
    let version_id: i64 = sqlx::query(
        "INSERT INTO versions (dataset_id, version, dir, tier, manifest_sha256, step, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(dataset_id)
    .bind(manifest.version)
    .bind(rel_dir)
    .bind(manifest.tier.as_str())
    .bind(manifest_sha256)
    .bind(&manifest.lineage.step)
    .bind(created_at)
    .fetch_one(&mut *tx)
    .await?
    .try_get("id")?;
    for t in &manifest.tables {
        sqlx::query("INSERT INTO version_tables (version_id, table_name, rows, files, bytes) VALUES ($1, $2, $3, $4, $5)")
            .bind(version_id)
            .bind(&t.name)
            .bind(t.rows as i64)
            .bind(t.files.len() as i64)
            .bind(t.bytes() as i64)
            .execute(&mut *tx)
            .await?;
    }
    for input in &manifest.lineage.inputs {
        sqlx::query(
            "INSERT INTO lineage (version_id, input_version_id) SELECT $1, v.id FROM versions v JOIN datasets d ON d.id = v.dataset_id WHERE d.name = $2 AND v.version = $3",
        )
        .bind(version_id)
        .bind(&input.dataset)
        .bind(input.version)
        .execute(&mut *tx)
        .await?;
    }
    for sub in submissions {
        let mut sub = sub.clone();
        sub.dataset = Some(name.to_string());
        sub.version = Some(manifest.version);
        crate::submissions::insert(&mut *tx, &sub).await?;
    }
    Ok(())
}

fn check_file(path: &Path, bytes: u64, sha256: &str) -> Option<String> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Some(format!("cannot open: {e}")),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n_total = 0u64;
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                n_total += n as u64;
            }
            Err(e) => return Some(format!("cannot read: {e}")),
        }
    }
    if n_total != bytes {
        return Some(format!("size {n_total} bytes, manifest says {bytes}"));
    }
    if hex::encode(hasher.finalize()) != sha256 {
        return Some("SHA-256 differs from the manifest's".into());
    }
    None
}

fn parse_tier(s: &str) -> Result<Tier, StoreError> {
    s.parse()
        .map_err(|e: medinfra_model::tier::UnknownTier| StoreError::Corrupt(e.to_string()))
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.inner.root)
            .finish()
    }
}

/// See [`Store::read_part`]; usable without a store handle (e.g. on parts a writer just made).
pub fn read_part(
    path: &Path,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader, StoreError> {
    let file = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(8192).build())
        .map_err(|source| StoreError::Parquet {
            path: path.to_path_buf(),
            source,
        })
}
