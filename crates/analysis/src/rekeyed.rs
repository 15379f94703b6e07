//! Re-keyed copies: each granted dataset version written once per project with every key
//! column already replaced by the project's token, and the workspace's tables read from that
//! copy.
//!
//! Why a copy rather than re-keying in the plan. Re-keying at scan time (the view projection
//! of [`crate::views`], kept as [`crate::RekeyMode::OnScan`]) costs one HMAC per key value of
//! every row read, on every query, and joins and groups then ran on tokens built per batch
//! (64 characters then): 1–7× DuckDB's time on the benchmark queries. Joining on the stored keys and
//! re-keying only what is shown would be fast, but the stored keys would then sit inside the
//! plan, where any function a user can write reaches them (`WHERE substr(patient_id, 1, 1) =
//! 'a'`, `ORDER BY patient_id`, `length`, `min`, comparisons with literals ...): closing that
//! means typing keys as opaque and vetting every function, a fence with many gates. A copy has
//! no such gates: its files hold project tokens and nothing else, so whatever SQL does to a
//! key column it does to the project token. The price is disk (about the size of the stored
//! version, per project) and a one-time build (see BENCHMARKS.md).
//!
//! Layout, under the project's own workspace directory (never another project's):
//!
//! ```text
//! DATA_DIR/workspaces/PROJECT/rekeyed/DATASET/vN-MANIFEST16-KEYCHECK/
//!     copy.json            what it is: project, dataset, version, manifest SHA-256, key id,
//!                          key check, every file with rows and bytes
//!     TABLE/part-NNNNN.parquet
//! ```
//!
//! `KEYCHECK` is 16 hex characters of a MAC of a constant under the project key: it names the
//! key without revealing it, so a copy made under another key (rotation, another project's
//! files placed here) is never mistaken for this one. A copy is built in a staging directory
//! beside it and renamed into place after every file and `copy.json` are synced, so it is
//! complete or absent. It is used only if `copy.json` matches the project, the version, the
//! manifest and the key, and every file has its recorded size; otherwise it is rebuilt.
//!
//! Invalidation: a superseded version (an opt-out removed persons from its successor) is never
//! copied or read, and its copies are deleted — by the next workspace opened for the project,
//! by the next query of an open workspace, and for all projects by
//! [`purge_superseded_copies`], which the opt-out step should call.
//!
//! Files are written with direct identifiers left out (never even decoded: the reader projects
//! the view's columns only), one output file per stored file (stored order kept: rows of one
//! patient stay adjacent, which keeps the re-keying cheap and the key columns' dictionaries
//! small), Snappy-compressed except the key columns (hex HMAC output does not compress, and
//! decompressing it cost key joins 15 % of their CPU time), dictionary-encoded with a
//! dictionary page large enough for a file's distinct tokens.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;
use medinfra_model::{CanonicalTable, Tier};
use medinfra_pseudo::keys::Key;
use medinfra_pseudo::token::Tokenizer;
use medinfra_store::{Store, VersionInfo};
use serde::{Deserialize, Serialize};

use crate::error::AnalysisError;
use crate::names::validate_project;
use crate::pseudonym::{PROJECT_TOKEN_COLUMNS, rekey_array};
use crate::views::{is_workspace_table, view_columns_at};

/// The rule named when a superseded version is refused (the server uses the same name).
pub const SUPERSEDED_RULE: &str = "superseded-version-unreadable";

/// Bumped when the layout or the writer settings change, so older copies are rebuilt.
const COPY_FORMAT: u32 = 6;
const COPY_META: &str = "copy.json";
const KEY_CHECK_DOMAIN: &[u8] = b"medinfra-analysis/rekeyed-copy/key-check";
/// Staging directories older than this are leftovers of a crash (a build takes minutes).
const STALE_STAGING: Duration = Duration::from_secs(6 * 3600);

/// What [`prepare_rekeyed_copies`] (or opening a workspace) did for one dataset version.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub dataset: String,
    pub version: i64,
    /// False when a valid copy already existed and was reused.
    pub built: bool,
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// The copy's files: (absolute path, path relative to the copy, bytes) — e.g. for a
    /// type-I package of the project's own pseudonyms.
    pub files: Vec<(PathBuf, String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CopyMeta {
    format: u32,
    project: String,
    dataset: String,
    version: i64,
    manifest_sha256: String,
    key_id: String,
    key_check: String,
    created_at: String,
    tables: Vec<CopyTable>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CopyTable {
    name: String,
    files: Vec<CopyFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CopyFile {
    /// Relative to the copy directory: `TABLE/part-NNNNN.parquet`.
    path: String,
    rows: u64,
    bytes: u64,
}

/// A valid copy: its directory and, per canonical table, its files (absolute paths).
#[derive(Debug, Clone)]
pub(crate) struct Copy {
    pub(crate) tables: BTreeMap<String, Vec<PathBuf>>,
}

/// The project's key as the copies need it: the tokenizer, and the names of the key.
#[derive(Clone)]
pub(crate) struct ProjectKey {
    project: String,
    tokenizer: Tokenizer,
    key_id: String,
    /// The key's check value, with `-ndb` when the copy holds the NDB linkage columns (so a
    /// copy made for one visibility is never read for the other).
    check: String,
    ndb_linkage: bool,
}

impl ProjectKey {
    pub(crate) fn new(
        master: &Key,
        project: &str,
        ndb_linkage: bool,
    ) -> Result<Self, AnalysisError> {
        validate_project(project)?;
        let tokenizer = Tokenizer::for_project(master, project)
            .map_err(|e| AnalysisError::BadProject(e.to_string()))?;
        let mut hex = [0u8; 64];
        tokenizer.hex_into(KEY_CHECK_DOMAIN, &[], &mut hex);
        let mut check = String::from_utf8_lossy(&hex[..16]).into_owned();
        if ndb_linkage {
            check.push_str("-ndb");
        }
        Ok(ProjectKey {
            project: project.to_string(),
            tokenizer,
            key_id: master.id().as_str().to_string(),
            check,
            ndb_linkage,
        })
    }
}

/// Builds (or finds valid) the re-keyed copies of `versions` for `project`. Call it when a
/// project is approved, so its first query does not wait for the build; opening the project's
/// workspace builds whatever is missing anyway. `master` is the key the versions' stored key
/// columns were made with (the same key `Workspace::open` gets). Refuses superseded versions.
pub async fn prepare_rekeyed_copies(
    store: &Store,
    master: &Key,
    project: &str,
    ndb_linkage: bool,
    versions: &[VersionInfo],
) -> Result<Vec<CopyReport>, AnalysisError> {
    let key = Arc::new(ProjectKey::new(master, project, ndb_linkage)?);
    sweep_project(store, project).await?;
    let mut out = Vec::new();
    for info in versions {
        out.push(ensure(store, &key, info, crate::limits::cpus()).await?.1);
    }
    Ok(out)
}

/// Deletes every project's copies of superseded or no longer catalogued versions (and stale
/// staging directories). Call it after an opt-out supersedes versions; returns how many copies
/// were deleted.
pub async fn purge_superseded_copies(store: &Store) -> Result<usize, AnalysisError> {
    let root = store.root().join("workspaces");
    let mut deleted = 0;
    for project in list_dirs(&root)? {
        let Some(name) = project.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if validate_project(name).is_ok() {
            deleted += sweep_project(store, name).await?;
        }
    }
    Ok(deleted)
}

/// Deletes the copies of `project` whose version is superseded or gone.
pub(crate) async fn sweep_project(store: &Store, project: &str) -> Result<usize, AnalysisError> {
    let root = copies_root(store, project);
    let mut deleted = 0;
    for dir in list_dirs(&root)? {
        let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with(".staging-") {
            let old = std::fs::metadata(&dir)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE_STAGING);
            if old {
                remove_dir(&dir)?;
            }
            continue;
        }
        for copy in list_dirs(&dir)? {
            let meta = read_meta(&copy);
            let live = match &meta {
                Some(m) => match store.version(&m.dataset, Some(m.version)).await {
                    Ok(v) => !v.superseded && v.manifest_sha256 == m.manifest_sha256,
                    Err(medinfra_store::StoreError::NoSuchDataset(_))
                    | Err(medinfra_store::StoreError::NoSuchVersion { .. }) => false,
                    Err(e) => return Err(e.into()),
                },
                // Unreadable metadata: an interrupted rename or a damaged copy.
                None => false,
            };
            if !live {
                remove_dir(&copy)?;
                deleted += 1;
            }
        }
    }
    Ok(deleted)
}

/// Deletes `project`'s copies of one version (after it was found superseded).
pub(crate) fn remove_version_copies(
    store: &Store,
    project: &str,
    info: &VersionInfo,
) -> Result<(), AnalysisError> {
    let dir = copies_root(store, project).join(dataset_dir_name(&info.dataset)?);
    let prefix = format!("v{}-", info.version);
    for copy in list_dirs(&dir)? {
        if copy
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&prefix))
        {
            remove_dir(&copy)?;
        }
    }
    Ok(())
}

/// The valid copy of `info` for the project of `key`, built first if needed.
pub(crate) async fn ensure(
    store: &Store,
    key: &Arc<ProjectKey>,
    info: &VersionInfo,
    parallelism: usize,
) -> Result<(Copy, CopyReport), AnalysisError> {
    let started = Instant::now();
    if info.superseded {
        remove_version_copies(store, &key.project, info)?;
        return Err(superseded(info));
    }
    let root = copies_root(store, &key.project);
    let dataset_dir = root.join(dataset_dir_name(&info.dataset)?);
    let dir = dataset_dir.join(format!(
        "v{}-{}-{}",
        info.version,
        info.manifest_sha256
            .get(..16)
            .unwrap_or(&info.manifest_sha256),
        key.check
    ));
    if let Some(meta) = valid_meta(&dir, key, info) {
        return Ok(report(&dir, &meta, false, started));
    }
    if dir.exists() {
        remove_dir(&dir)?;
    }
    let manifest = store.read_manifest(info)?;
    let mut jobs = Vec::new();
    let mut tables = Vec::new();
    for entry in &manifest.tables {
        let Some(table) = CanonicalTable::from_name(&entry.name) else {
            continue;
        };
        if !is_workspace_table(table) {
            continue;
        }
        let mut files = Vec::new();
        for (i, group) in group_files(&entry.files).into_iter().enumerate() {
            let rel = format!("{}/part-{i:05}.parquet", table.name());
            jobs.push(Job {
                table,
                tier: info.tier,
                inputs: group
                    .iter()
                    .map(|f| contained(&info.dir, &f.path))
                    .collect::<Result<_, _>>()?,
                output: rel.clone(),
            });
            files.push(rel);
        }
        tables.push((table.name().to_string(), files));
    }
    let staging = root.join(format!(
        ".staging-{}-v{}-{}-{}",
        dataset_dir_name(&info.dataset)?,
        info.version,
        std::process::id(),
        STAGING_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&staging).map_err(|e| AnalysisError::io(&staging, e))?;
    let built = {
        let (key, staging) = (key.clone(), staging.clone());
        tokio::task::spawn_blocking(move || build_files(&staging, &jobs, &key, parallelism))
            .await
            .map_err(|e| AnalysisError::Copy {
                path: dir.clone(),
                reason: format!("build task failed: {e}"),
            })
    };
    let files = match built {
        Ok(Ok(files)) => files,
        Ok(Err(e)) | Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let meta = CopyMeta {
        format: COPY_FORMAT,
        project: key.project.clone(),
        dataset: info.dataset.clone(),
        version: info.version,
        manifest_sha256: info.manifest_sha256.clone(),
        key_id: key.key_id.clone(),
        key_check: key.check.clone(),
        created_at: medinfra_store::now_rfc3339(),
        tables: tables
            .into_iter()
            .map(|(name, paths)| CopyTable {
                name,
                files: paths
                    .into_iter()
                    .filter_map(|p| files.get(&p).cloned())
                    .collect(),
            })
            .collect(),
    };
    if let Err(e) = publish(&staging, &dataset_dir, &dir, &meta) {
        let _ = std::fs::remove_dir_all(&staging);
        // Another workspace of the same project may have published the same copy first.
        return match valid_meta(&dir, key, info) {
            Some(meta) => Ok(report(&dir, &meta, false, started)),
            None => Err(e),
        };
    }
    // Copies of this version under an earlier key of the project are dead weight now — once
    // no workspace opened under that key can still be reading them: a copy made in the last
    // hours may belong to a workspace that is open right now (concurrent requests opened
    // under different keys once deleted each other's copies mid-query).
    let prefix = format!("v{}-", info.version);
    for other in list_dirs(&dataset_dir)? {
        let name = other.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if other != dir && name.starts_with(&prefix) && older_than(&other, STALE_STAGING) {
            remove_dir(&other)?;
        }
    }
    Ok(report(&dir, &meta, true, started))
}

static STAGING_COUNTER: AtomicU64 = AtomicU64::new(0);

fn older_than(dir: &Path, age: Duration) -> bool {
    std::fs::metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|a| a > age)
}

pub(crate) fn superseded(info: &VersionInfo) -> AnalysisError {
    AnalysisError::Denied {
        dataset: info.dataset.clone(),
        version: info.version,
        tier: info.tier,
        rule: SUPERSEDED_RULE,
    }
}

fn copies_root(store: &Store, project: &str) -> PathBuf {
    store
        .root()
        .join("workspaces")
        .join(project)
        .join("rekeyed")
}

/// A dataset name as one path component (the store validates names; this refuses anything
/// that could still walk out of the project's directory).
fn dataset_dir_name(dataset: &str) -> Result<&str, AnalysisError> {
    let mut parts = Path::new(dataset).components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) if !dataset.starts_with('.') => Ok(dataset),
        _ => Err(AnalysisError::Copy {
            path: PathBuf::from("workspaces"),
            reason: "dataset name is not a plain directory name".into(),
        }),
    }
}

/// `dir/relative` for a manifest path, refusing anything that could leave `dir`.
pub(crate) fn contained(dir: &Path, relative: &str) -> Result<PathBuf, AnalysisError> {
    let rel = Path::new(relative);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(AnalysisError::ResultFile {
            path: dir.join(relative),
            reason: "manifest path leaves the version directory".into(),
        });
    }
    Ok(dir.join(rel))
}

fn list_dirs(dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AnalysisError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| AnalysisError::io(dir, e))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

fn remove_dir(dir: &Path) -> Result<(), AnalysisError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(AnalysisError::io(dir, e)),
    }
}

fn read_meta(dir: &Path) -> Option<CopyMeta> {
    let bytes = std::fs::read(dir.join(COPY_META)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The copy's metadata if the copy at `dir` is complete and is the one asked for.
fn valid_meta(dir: &Path, key: &ProjectKey, info: &VersionInfo) -> Option<CopyMeta> {
    let meta = read_meta(dir)?;
    let same = meta.format == COPY_FORMAT
        && meta.project == key.project
        && meta.key_check == key.check
        && meta.dataset == info.dataset
        && meta.version == info.version
        && meta.manifest_sha256 == info.manifest_sha256;
    let complete = meta.tables.iter().all(|t| {
        t.files.iter().all(|f| {
            contained(dir, &f.path)
                .ok()
                .and_then(|p| std::fs::metadata(p).ok())
                .is_some_and(|m| m.len() == f.bytes)
        })
    });
    (same && complete).then_some(meta)
}

fn report(dir: &Path, meta: &CopyMeta, built: bool, started: Instant) -> (Copy, CopyReport) {
    let files = meta.tables.iter().flat_map(|t| &t.files);
    let (rows, bytes) = files.fold((0, 0), |(r, b), f| (r + f.rows, b + f.bytes));
    let tables = meta
        .tables
        .iter()
        .map(|t| {
            let paths = t.files.iter().map(|f| dir.join(&f.path)).collect();
            (t.name.clone(), paths)
        })
        .collect();
    (
        Copy { tables },
        CopyReport {
            dataset: meta.dataset.clone(),
            version: meta.version,
            built,
            rows,
            bytes,
            seconds: started.elapsed().as_secs_f64(),
            files: meta
                .tables
                .iter()
                .flat_map(|t| &t.files)
                .map(|f| (dir.join(&f.path), f.path.clone(), f.bytes))
                .collect(),
        },
    )
}

/// Writes `copy.json` into the synced staging directory and renames it to `dir`.
fn publish(
    staging: &Path,
    parent: &Path,
    dir: &Path,
    meta: &CopyMeta,
) -> Result<(), AnalysisError> {
    let json = serde_json::to_vec_pretty(meta).map_err(|e| AnalysisError::Copy {
        path: staging.join(COPY_META),
        reason: e.to_string(),
    })?;
    let meta_path = staging.join(COPY_META);
    write_synced(&meta_path, &json)?;
    for d in list_dirs(staging)?
        .iter()
        .chain([staging.to_path_buf()].iter())
    {
        sync_dir(d)?;
    }
    std::fs::create_dir_all(parent).map_err(|e| AnalysisError::io(parent, e))?;
    std::fs::rename(staging, dir).map_err(|e| AnalysisError::io(dir, e))?;
    sync_dir(parent)?;
    Ok(())
}

// The store's fsync helpers are private to it; this is the same two lines.
fn sync_dir(dir: &Path) -> Result<(), AnalysisError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AnalysisError::io(dir, e))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), AnalysisError> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| AnalysisError::io(path, e))?;
    f.write_all(bytes).map_err(|e| AnalysisError::io(path, e))?;
    f.sync_all().map_err(|e| AnalysisError::io(path, e))
}

struct Job {
    table: CanonicalTable,
    tier: Tier,
    inputs: Vec<PathBuf>,
    output: String,
}

/// Rows an output file may collect from consecutive stored files. Small tables become one
/// file (a query then opens one footer, not dozens); big ones stay several, so the build runs
/// in parallel, and DataFusion splits every file by row groups when it scans anyway.
const ROWS_PER_OUTPUT_FILE: u64 = 4 << 20;
/// Row groups of the copies: small enough for every core to get several of a big table.
const ROWS_PER_ROW_GROUP: usize = 256 << 10;

/// Consecutive stored files grouped into outputs of at most [`ROWS_PER_OUTPUT_FILE`] rows
/// (a bigger stored file is an output on its own).
fn group_files(files: &[medinfra_store::FileEntry]) -> Vec<Vec<&medinfra_store::FileEntry>> {
    let mut groups: Vec<Vec<&medinfra_store::FileEntry>> = Vec::new();
    let mut rows = 0u64;
    for f in files {
        match groups.last_mut() {
            Some(g) if rows + f.rows <= ROWS_PER_OUTPUT_FILE => {
                g.push(f);
                rows += f.rows;
            }
            _ => {
                groups.push(vec![f]);
                rows = f.rows;
            }
        }
    }
    groups
}

/// Runs the jobs on `parallelism` threads (files are independent); returns each output's
/// entry by relative path, or the first error.
fn build_files(
    staging: &Path,
    jobs: &[Job],
    key: &ProjectKey,
    parallelism: usize,
) -> Result<BTreeMap<String, CopyFile>, AnalysisError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let done: Mutex<BTreeMap<String, CopyFile>> = Mutex::new(BTreeMap::new());
    let first_error: Mutex<Option<AnalysisError>> = Mutex::new(None);
    for t in jobs.iter().map(|j| j.table.name()) {
        let d = staging.join(t);
        std::fs::create_dir_all(&d).map_err(|e| AnalysisError::io(&d, e))?;
    }
    std::thread::scope(|s| {
        for _ in 0..parallelism.clamp(1, jobs.len().max(1)) {
            s.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let out = staging.join(&job.output);
                    match rekey_files(
                        job.table,
                        job.tier,
                        key.ndb_linkage,
                        &job.inputs,
                        &out,
                        &key.tokenizer,
                    ) {
                        Ok((rows, bytes)) => {
                            let entry = CopyFile {
                                path: job.output.clone(),
                                rows,
                                bytes,
                            };
                            if let Ok(mut d) = done.lock() {
                                d.insert(job.output.clone(), entry);
                            }
                        }
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            if let Ok(mut slot) = first_error.lock() {
                                slot.get_or_insert(e);
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    let done = done.into_inner().unwrap_or_default();
    if done.len() != jobs.len() {
        return Err(AnalysisError::Copy {
            path: staging.to_path_buf(),
            reason: "not every file was written".into(),
        });
    }
    Ok(done)
}

/// Writer settings of the copies (see the module docs).
fn writer_properties() -> WriterProperties {
    let mut builder = WriterProperties::builder().set_compression(Compression::SNAPPY);
    // Tokens are HMAC output in hex: Snappy finds nothing to shorten in them beyond what the
    // dictionary already did, and decompressing them was 15 % of a key join's CPU time.
    for column in PROJECT_TOKEN_COLUMNS {
        builder =
            builder.set_column_compression(ColumnPath::from(*column), Compression::UNCOMPRESSED);
    }
    builder
        // A file's key columns hold up to ~200 k distinct tokens of 32 bytes; the default
        // 1 MiB dictionary page would fall back to plain encoding after 32 k of them.
        .set_dictionary_page_size_limit(16 << 20)
        .set_max_row_group_row_count(Some(ROWS_PER_ROW_GROUP))
        .build()
}

fn bad(path: &Path, e: &dyn std::fmt::Display) -> AnalysisError {
    AnalysisError::Copy {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Reads stored files in order (view columns only), re-keys their key columns, and writes
/// them as one file `output`. Every input must have the output's schema.
fn rekey_files(
    table: CanonicalTable,
    tier: Tier,
    ndb_linkage: bool,
    inputs: &[PathBuf],
    output: &Path,
    tokenizer: &Tokenizer,
) -> Result<(u64, u64), AnalysisError> {
    let mut writer: Option<(ArrowWriter<std::fs::File>, SchemaRef)> = None;
    let mut rows = 0u64;
    for input in inputs {
        let (reader, columns, schema) = open_projected(table, tier, ndb_linkage, input)?;
        let (w, expected) = match &mut writer {
            Some(w) => w,
            None => {
                let out =
                    std::fs::File::create(output).map_err(|e| AnalysisError::io(output, e))?;
                let w = ArrowWriter::try_new(out, schema.clone(), Some(writer_properties()))
                    .map_err(|e| bad(output, &e))?;
                writer.insert((w, schema.clone()))
            }
        };
        if *expected != schema {
            return Err(bad(input, &"columns differ from the table's other files"));
        }
        for batch in reader {
            let batch = batch.map_err(|e| bad(input, &e))?;
            let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
            for (array, (_, rekeyed)) in batch.columns().iter().zip(&columns) {
                arrays.push(if *rekeyed {
                    match rekey_array(array.as_ref(), tokenizer) {
                        Some(a) => Arc::new(a),
                        None => return Err(bad(input, &"a key column is not a string column")),
                    }
                } else {
                    array.clone()
                });
            }
            let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| bad(input, &e))?;
            rows += batch.num_rows() as u64;
            w.write(&batch).map_err(|e| bad(output, &e))?;
        }
    }
    let Some((w, _)) = writer else {
        return Err(bad(output, &"no input files"));
    };
    let file = w.into_inner().map_err(|e| bad(output, &e))?;
    file.sync_all().map_err(|e| AnalysisError::io(output, e))?;
    let bytes = file
        .metadata()
        .map_err(|e| AnalysisError::io(output, e))?
        .len();
    Ok((rows, bytes))
}

type Projected = (
    datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    Vec<(String, bool)>,
    SchemaRef,
);

/// A reader of `input`'s view columns (direct identifiers are never decoded), the columns
/// with their re-key flags, and the output schema (key columns as strings).
fn open_projected(
    table: CanonicalTable,
    tier: Tier,
    ndb_linkage: bool,
    input: &Path,
) -> Result<Projected, AnalysisError> {
    let file = std::fs::File::open(input).map_err(|e| AnalysisError::io(input, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(input, &e))?;
    let stored = builder.schema().clone();
    let columns = view_columns_at(table, &stored, tier, ndb_linkage);
    let mut indices = Vec::with_capacity(columns.len());
    let mut fields = Vec::with_capacity(columns.len());
    for (name, rekeyed) in &columns {
        let i = stored.index_of(name).map_err(|e| bad(input, &e))?;
        let f = stored.field(i);
        fields.push(if *rekeyed {
            Field::new(name, DataType::Utf8, f.is_nullable())
        } else {
            f.as_ref().clone()
        });
        indices.push(i);
    }
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| bad(input, &e))?;
    Ok((reader, columns, schema))
}

#[cfg(test)]
mod tests {
    use super::*;
    use medinfra_store::FileEntry;

    fn entry(rows: u64) -> FileEntry {
        serde_json::from_value(serde_json::json!({
            "path": "t/part.parquet", "rows": rows, "bytes": 1, "sha256": "00"
        }))
        .unwrap()
    }

    #[test]
    fn dataset_names_stay_one_directory() {
        assert!(dataset_dir_name("sample1m").is_ok());
        for bad in ["", "..", ".", "../x", "a/b", ".hidden", "/abs"] {
            assert!(dataset_dir_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn small_files_are_merged_and_big_ones_kept_apart() {
        let small: Vec<FileEntry> = (0..40).map(|_| entry(400)).collect();
        assert_eq!(group_files(&small).len(), 1);
        let big: Vec<FileEntry> = (0..6)
            .map(|_| entry(ROWS_PER_OUTPUT_FILE / 2 + 1))
            .collect();
        let groups = group_files(&big);
        assert_eq!(groups.len(), 6);
        let mixed = [
            entry(ROWS_PER_OUTPUT_FILE),
            entry(1),
            entry(ROWS_PER_OUTPUT_FILE - 1),
        ];
        let sizes: Vec<usize> = group_files(&mixed).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1, 2]);
        assert!(group_files(&[]).is_empty());
    }
}
