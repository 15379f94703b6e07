//! The pipeline: identified-zone version in, pseudonymized-tier version out.
//!
//! Every table's plan is compiled (and every policy error found) before a row is read. Then each
//! input part file becomes one output part file, in parallel (rayon), streamed batch by batch:
//! memory holds one batch per worker, plus the person index when free text is scrubbed and the
//! reverse map when one is kept (both grow with persons, not rows). Nothing is visible until
//! the store's commit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arrow::array::{AsArray, BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, Date32Type};
use medinfra_model::Tier;
use medinfra_pseudo::keys::{KeyId, KeyStore};
use medinfra_pseudo::ndb::NdbHashConfig;
use medinfra_pseudo::token::Tokenizer;
use medinfra_store::{Lineage, Store, VersionInfo};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowPredicateFn, ParquetRecordBatchReaderBuilder, RowFilter};
use rayon::prelude::*;
use serde::Serialize;

use crate::apply::{
    Applier, PersonIndex, RunKeys, TableStats, person_key, person_key_into, yyyymmdd,
};
use crate::error::PseudonymizeError;
use crate::plan::{TablePlan, compile};
use crate::policy::{ColumnRule, Policy};
use crate::reverse_map;

/// What to pseudonymize, and how.
#[derive(Debug, Clone)]
pub struct Request {
    pub input: String,
    /// The input version (latest when `None`).
    pub input_version: Option<i64>,
    pub output: String,
    pub policy: Policy,
    /// Where the policy came from (`builtin:default` or a path), for the lineage.
    pub policy_source: String,
    /// Recipient project, for `project_token` columns.
    pub project: Option<String>,
    /// Only these tables (all the input's tables when `None`).
    pub tables: Option<Vec<String>>,
    /// Keep the reverse map of `keep_map` token columns (in the key directory, encrypted).
    pub keep_map: bool,
    pub ndb: NdbHashConfig,
}

/// The run's account, written as the version's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub input: VersionRef,
    pub output: VersionRef,
    pub policy_source: String,
    pub policy_sha256: String,
    pub key_id: String,
    pub project: Option<String>,
    pub tables: BTreeMap<String, TableReport>,
    pub omitted_tables: Vec<String>,
    pub reverse_map: Option<PathBuf>,
    pub rows: u64,
    pub elapsed_ms: f64,
    pub rows_per_second: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionRef {
    pub dataset: String,
    pub version: i64,
    pub tier: Tier,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub columns: BTreeMap<String, String>,
    #[serde(flatten)]
    pub stats: TableStats,
}

/// Runs the pipeline; `progress` is called with the number of rows done so far.
pub async fn pseudonymize(
    store: &Store,
    keys: &KeyStore,
    request: &Request,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<(VersionInfo, Report), PseudonymizeError> {
    let started = Instant::now();
    let info = store.version(&request.input, request.input_version).await?;
    if info.tier != Tier::Identified {
        return Err(PseudonymizeError::Dataset {
            dataset: info.dataset.clone(),
            reason: format!(
                "is {}: pseudonymization starts from identified-zone data",
                info.tier
            ),
        });
    }
    let manifest = store.read_manifest(&info)?;

    // Which tables, each checked against the policy before anything is read.
    let mut plans: Vec<TablePlan> = Vec::new();
    let mut omitted = Vec::new();
    if let Some(wanted) = &request.tables {
        for t in wanted {
            if manifest.table(t).is_none() {
                return Err(PseudonymizeError::Dataset {
                    dataset: info.dataset.clone(),
                    reason: format!("has no table {t}"),
                });
            }
        }
    }
    for entry in &manifest.tables {
        if let Some(wanted) = &request.tables
            && !wanted.contains(&entry.name)
        {
            omitted.push(entry.name.clone());
            continue;
        }
        let Some(table_policy) = request.policy.tables.get(&entry.name) else {
            return Err(PseudonymizeError::Table {
                table: entry.name.clone(),
                reason: "the policy does not name this table (deny by default: add it, or `omit = true`)".into(),
            });
        };
        if table_policy.omit {
            omitted.push(entry.name.clone());
            continue;
        }
        let schema = table_schema(store, &info, &entry.name)?;
        plans.push(compile(&entry.name, table_policy, &schema)?);
    }
    if plans.is_empty() {
        return Err(PseudonymizeError::Dataset {
            dataset: info.dataset.clone(),
            reason: "no table left to pseudonymize".into(),
        });
    }

    let key = keys.active(&request.policy.key_purpose)?;
    let needs_project = plans.iter().any(|p| p.needs_project_key);
    let project = match (&request.project, needs_project) {
        (Some(p), _) => Some(Tokenizer::for_project(&key, p)?),
        (None, true) => {
            return Err(PseudonymizeError::Policy {
                source_name: request.policy_source.clone(),
                reason:
                    "the policy has project_token columns: name the recipient project (--project)"
                        .into(),
            });
        }
        (None, false) => None,
    };
    let run_keys = RunKeys {
        key: &key,
        main: Tokenizer::new(&key)?,
        project,
        ndb: request.ndb.clone(),
    };

    // The reverse map is named before anything is written and written before the commit, so
    // a version is never visible without its map (a map written after the commit was lost
    // with the disk full, leaving a committed version whose tokens nobody could resolve). The
    // name is the version's lineage's, not its number's, which the commit decides.
    let map_name = request.keep_map.then(|| fresh_map_name(&request.output));
    let lineage = Lineage {
        step: "pseudonymize".into(),
        parameters: serde_json::json!({
            "reverse_map": map_name,
            "policy_source": request.policy_source,
            "policy_sha256": request.policy.sha256(),
            "policy": request.policy,
            "key_id": key.id().as_str(),
            "key_purpose": request.policy.key_purpose,
            "project": request.project,
            "tables": plans.iter().map(|p| p.table.clone()).collect::<Vec<_>>(),
            "omitted_tables": omitted,
        }),
        inputs: vec![Store::input_ref(&info)],
    };
    let writer = store.begin(&request.output, Tier::Pseudonymized, lineage)?;
    let params = serde_json::json!({
        "policy_sha256": request.policy.sha256(),
        "key_id": key.id().as_str(),
        "project": request.project,
    });
    let carry = Carry::find(
        store,
        keys,
        &info,
        &request.output,
        &params,
        request.keep_map,
    )
    .await?;

    // One job per input part file; each output part is named after its input part, so an
    // input part that did not change since the previous output version (same file, same key,
    // same policy) is carried from it instead of being pseudonymized again.
    let mut jobs = Vec::new();
    for (p, plan) in plans.iter().enumerate() {
        if let Some(t) = manifest.table(&plan.table) {
            for (n, f) in t.files.iter().enumerate() {
                let name = output_part_name(&plan.table, &f.path, n);
                let carried = carry
                    .as_ref()
                    .and_then(|c| c.part(&plan.table, &f.path, &f.sha256, &name));
                jobs.push((p, info.dir.join(&f.path), name, carried, f.rows));
            }
        }
    }
    // The person index, for the persons of the parts that are pseudonymized now (a carried
    // part's text was scrubbed when it was first written).
    let mut rebuilt: HashMap<String, Vec<PathBuf>> = HashMap::new();
    let mut carried_any = false;
    for (p, path, _, carried, _) in &jobs {
        if carried.is_some() {
            carried_any = true;
        } else {
            rebuilt
                .entry(plans[*p].table.clone())
                .or_default()
                .push(path.clone());
        }
    }
    let person_indexes =
        build_person_indexes(store, &info, &manifest, &plans, &rebuilt, carried_any)?;
    let total_rows: u64 = plans
        .iter()
        .filter_map(|p| manifest.table(&p.table).map(|t| t.rows))
        .sum();
    let done = AtomicU64::new(0);
    let stats: Mutex<BTreeMap<String, TableStats>> = Mutex::new(BTreeMap::new());
    let reverse: Mutex<HashMap<String, String>> = Mutex::new(HashMap::new());
    let results: Vec<Result<(), PseudonymizeError>> = jobs
        .par_iter()
        .enumerate()
        .map(|(_, (p, path, name, carried, rows))| {
            let plan = &plans[*p];
            if let (Some(entry), Some(c)) = (carried, carry.as_ref()) {
                writer.carry_part(
                    &plan.table,
                    plan.output_schema.clone(),
                    &c.output.dir,
                    entry,
                )?;
                let so_far = done.fetch_add(*rows, Ordering::Relaxed) + *rows;
                progress(so_far, total_rows);
                return Ok(());
            }
            let persons = person_indexes.get(&plan.table);
            let mut applier = Applier::new(plan, &run_keys, persons)?;
            let file = std::fs::File::open(path).map_err(|e| PseudonymizeError::file(path, e))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| PseudonymizeError::file(path, e))?
                .with_batch_size(16 * 1024)
                .build()
                .map_err(|e| PseudonymizeError::file(path, e))?;
            let mut out =
                writer.named_part_writer(&plan.table, name, plan.output_schema.clone())?;
            for batch in reader {
                let batch = batch.map_err(|e| PseudonymizeError::file(path, e))?;
                let rows = batch.num_rows() as u64;
                out.write(&applier.apply(&batch)?)?;
                let so_far = done.fetch_add(rows, Ordering::Relaxed) + rows;
                progress(so_far, total_rows);
            }
            writer.finish_part(out)?;
            if let Ok(mut s) = stats.lock() {
                s.entry(plan.table.clone())
                    .or_default()
                    .merge(applier.stats);
            }
            if request.keep_map
                && !applier.reverse_map.is_empty()
                && let Ok(mut m) = reverse.lock()
            {
                m.extend(applier.reverse_map);
            }
            Ok(())
        })
        .collect();
    for r in results {
        r?;
    }
    // Tables whose input had no part files still get their (empty) table in the output.
    for plan in &plans {
        if store.table_files(&info, &plan.table)?.is_empty() {
            writer.write_table(&plan.table, plan.output_schema.clone(), [])?;
        }
    }
    let reverse_map_path = match &map_name {
        Some(name) => {
            let mut map = reverse.into_inner().unwrap_or_default();
            // Carried parts' tokens are in the previous version's map: the new map holds them
            // too, so every version's map is complete on its own.
            if let Some(c) = carry
                .as_ref()
                .filter(|_| jobs.iter().any(|j| j.3.is_some()))
            {
                reverse_map::for_each(keys, &c.map, |token, original| {
                    map.entry(token.to_string())
                        .or_insert_with(|| original.to_string());
                })?;
            }
            Some(reverse_map::write(keys, name, key.id(), &map)?)
        }
        None => None,
    };
    let version = writer.commit().await?;

    let mut stats = stats.into_inner().unwrap_or_default();
    let tables = plans
        .iter()
        .map(|p| {
            (
                p.table.clone(),
                TableReport {
                    columns: p.summary.iter().cloned().collect(),
                    stats: stats.remove(&p.table).unwrap_or_default(),
                },
            )
        })
        .collect();
    let rows = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let report = Report {
        input: VersionRef {
            dataset: info.dataset.clone(),
            version: info.version,
            tier: info.tier,
        },
        output: VersionRef {
            dataset: version.dataset.clone(),
            version: version.version,
            tier: version.tier,
        },
        policy_source: request.policy_source.clone(),
        policy_sha256: request.policy.sha256(),
        key_id: key.id().as_str().to_string(),
        project: request.project.clone(),
        tables,
        omitted_tables: omitted,
        reverse_map: reverse_map_path,
        rows,
        elapsed_ms: elapsed * 1000.0,
        rows_per_second: if elapsed > 0.0 {
            rows as f64 / elapsed
        } else {
            0.0
        },
    };
    Ok((version, report))
}

/// The Arrow schema of a table of a version (from its first file, else the canonical model).
fn table_schema(
    store: &Store,
    info: &VersionInfo,
    table: &str,
) -> Result<arrow::datatypes::Schema, PseudonymizeError> {
    if let Some(path) = store.table_files(info, table)?.first() {
        let file = std::fs::File::open(path).map_err(|e| PseudonymizeError::file(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| PseudonymizeError::file(path, e))?;
        return Ok(builder.schema().as_ref().clone());
    }
    medinfra_model::CanonicalTable::from_name(table)
        .map(|t| t.schema().as_ref().clone())
        .ok_or_else(|| PseudonymizeError::Table {
            table: table.to_string(),
            reason: "has no files and is not a canonical table".into(),
        })
}

/// For every table that scrubs free text and has parts to pseudonymize now (`rebuilt`, by
/// table): the identified-zone identifiers of each person, read from the input tables that
/// carry the same person columns and names (persons, claims, ...). When some parts are carried
/// (`only_rebuilt_persons`), only the persons of the rebuilt parts are indexed: a monthly run
/// then reads the identity columns of its new persons' rows, not every name of the history
/// (which was most of a month's pseudonymization time and grew with every month).
fn build_person_indexes(
    store: &Store,
    info: &VersionInfo,
    manifest: &medinfra_store::Manifest,
    plans: &[TablePlan],
    rebuilt: &HashMap<String, Vec<PathBuf>>,
    only_rebuilt_persons: bool,
) -> Result<HashMap<String, PersonIndex>, PseudonymizeError> {
    let mut out = HashMap::new();
    // Indexes are shared between tables with the same person columns.
    let mut by_columns: HashMap<Vec<String>, PersonIndex> = HashMap::new();
    // Each table needing an index, with the names of its person columns (read once: the
    // schema comes from the table's first file).
    let mut needing: Vec<(&TablePlan, Vec<String>)> = Vec::new();
    for plan in plans
        .iter()
        .filter(|p| p.needs_person_index && rebuilt.contains_key(&p.table))
    {
        let schema = table_schema(store, info, &plan.table)?;
        let person_cols = plan
            .person
            .iter()
            .map(|&i| schema.field(i).name().clone())
            .collect();
        needing.push((plan, person_cols));
    }
    // Person columns → the persons whose rows are pseudonymized now (None: everyone).
    let mut wanted: HashMap<Vec<String>, Option<HashSet<Vec<u8>>>> = HashMap::new();
    for (plan, person_cols) in &needing {
        let set = wanted
            .entry(person_cols.clone())
            .or_insert_with(|| only_rebuilt_persons.then(HashSet::new));
        if let Some(set) = set {
            for path in rebuilt.get(&plan.table).into_iter().flatten() {
                persons_of_part(path, person_cols, set)?;
            }
        }
    }
    for (plan, person_cols) in needing {
        if !by_columns.contains_key(&person_cols) {
            let only = wanted.get(&person_cols).and_then(|w| w.as_ref());
            let mut index = PersonIndex::new();
            for entry in &manifest.tables {
                let names: Vec<&str> = entry.schema.iter().map(|c| c.name.as_str()).collect();
                if !person_cols.iter().all(|c| names.contains(&c.as_str())) {
                    continue;
                }
                let identity: Vec<&str> = [
                    "name_kanji",
                    "name_kana",
                    "patient_id",
                    "card_symbol",
                    "card_number",
                    "birth_date",
                ]
                .into_iter()
                .filter(|c| names.contains(c))
                .collect();
                if !identity.iter().any(|c| c.starts_with("name_")) {
                    continue;
                }
                index_table(
                    store,
                    info,
                    &entry.name,
                    &person_cols,
                    &identity,
                    only,
                    &mut index,
                )?;
            }
            by_columns.insert(person_cols.clone(), index);
        }
        if let Some(index) = by_columns.get(&person_cols) {
            out.insert(plan.table.clone(), index.clone());
        }
    }
    Ok(out)
}

/// Opens `path` reading only `columns` (those the file has).
fn projected_reader(
    path: &std::path::Path,
    columns: &[&str],
) -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>, PseudonymizeError> {
    let file = std::fs::File::open(path).map_err(|e| PseudonymizeError::file(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| PseudonymizeError::file(path, e))?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    Ok(builder.with_projection(mask))
}

/// Positions in `batch` of the person columns it has.
fn positions(batch: &RecordBatch, person_cols: &[String]) -> Vec<usize> {
    let schema = batch.schema();
    person_cols
        .iter()
        .filter_map(|c| schema.index_of(c).ok())
        .collect()
}

/// Adds the person key of every row of the part at `path` to `set`.
fn persons_of_part(
    path: &std::path::Path,
    person_cols: &[String],
    set: &mut HashSet<Vec<u8>>,
) -> Result<(), PseudonymizeError> {
    let cols: Vec<&str> = person_cols.iter().map(String::as_str).collect();
    let reader = projected_reader(path, &cols)?
        .build()
        .map_err(|e| PseudonymizeError::file(path, e))?;
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| PseudonymizeError::file(path, e))?;
        let person = positions(&batch, person_cols);
        for r in 0..batch.num_rows() {
            set.insert(person_key(&batch, &person, r));
        }
    }
    Ok(())
}

/// Indexes the identity columns of `table`'s rows, of the persons in `only` when given (the
/// other rows are filtered out before their identity columns are decoded).
fn index_table(
    store: &Store,
    info: &VersionInfo,
    table: &str,
    person_cols: &[String],
    identity: &[&str],
    only: Option<&HashSet<Vec<u8>>>,
    index: &mut PersonIndex,
) -> Result<(), PseudonymizeError> {
    let mut columns: Vec<&str> = person_cols.iter().map(String::as_str).collect();
    columns.extend(identity.iter().copied());
    // Shared by every file's filter (the set holds a month's persons, not worth a copy each).
    let only: Option<std::sync::Arc<HashSet<Vec<u8>>>> =
        only.map(|o| std::sync::Arc::new(o.clone()));
    for path in store.table_files(info, table)? {
        let mut builder = projected_reader(&path, &columns)?;
        if let Some(only) = &only {
            let only = only.clone();
            let cols: Vec<String> = person_cols.to_vec();
            let mask = ProjectionMask::columns(
                builder.parquet_schema(),
                person_cols.iter().map(String::as_str),
            );
            let predicate = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
                let person = positions(&batch, &cols);
                let mut key = Vec::with_capacity(32);
                Ok((0..batch.num_rows())
                    .map(|r| {
                        person_key_into(&batch, &person, r, &mut key);
                        Some(only.contains(key.as_slice()))
                    })
                    .collect::<BooleanArray>())
            });
            builder = builder.with_row_filter(RowFilter::new(vec![Box::new(predicate)]));
        }
        let reader = builder
            .build()
            .map_err(|e| PseudonymizeError::file(&path, e))?;
        for batch in reader {
            let batch: RecordBatch = batch.map_err(|e| PseudonymizeError::file(&path, e))?;
            let schema = batch.schema();
            let person = positions(&batch, person_cols);
            for r in 0..batch.num_rows() {
                let key = person_key(&batch, &person, r);
                let entry = index.entry(key).or_default();
                for &col in identity {
                    let Ok(c) = schema.index_of(col) else {
                        continue;
                    };
                    let array = batch.column(c);
                    if array.is_null(r) {
                        continue;
                    }
                    let value = match array.data_type() {
                        DataType::Utf8 => array.as_string::<i32>().value(r).to_string(),
                        DataType::Date32 => yyyymmdd(array.as_primitive::<Date32Type>().value(r)),
                        _ => continue,
                    };
                    if value.is_empty() {
                        continue;
                    }
                    let list = match col {
                        "name_kanji" | "name_kana" => &mut entry.names,
                        "birth_date" => &mut entry.birth_dates,
                        _ => &mut entry.numbers,
                    };
                    if !list.contains(&value) {
                        list.push(value);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The key id recorded in a version's lineage (for re-tokenization checks and audits).
/// Output part name for input part `path` (`TABLE.part-NAME.parquet` → `NAME`), or the part's
/// position when the input's name does not follow that form.
fn output_part_name(table: &str, path: &str, n: usize) -> String {
    path.strip_prefix(table)
        .and_then(|r| r.strip_prefix(".part-"))
        .and_then(|r| r.strip_suffix(".parquet"))
        .filter(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
        .map(str::to_string)
        .unwrap_or_else(|| format!("{n:05}"))
}

/// The name of a pseudonymized version's reverse map: the one its lineage names, or (versions
/// written before maps were named ahead of the commit) `DATASET-vN`.
pub fn map_name_of(info: &VersionInfo, lineage: &Lineage) -> String {
    lineage
        .parameters
        .get("reverse_map")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}-v{}", info.dataset, info.version))
}

/// A map name no other version can have: the output's name and the time in nanoseconds with
/// the process id (two writers of one dataset in the same nanosecond would also need the same
/// pid).
fn fresh_map_name(output: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{output}-{nanos:x}-{:x}", std::process::id())
}

/// What can be carried from the previous version of the output: made from the same input
/// dataset with the same policy, key and project. An input part is carried when the previous
/// input version had the same file (path and SHA-256) and the previous output has its part.
struct Carry {
    output: VersionInfo,
    /// (table, input part path) → SHA-256 in the previous input version.
    input: HashMap<(String, String), String>,
    /// Output part path → its manifest entry.
    parts: HashMap<String, medinfra_store::FileEntry>,
    /// The previous output's reverse map name (carried tokens come from it).
    map: String,
}

impl Carry {
    async fn find(
        store: &Store,
        keys: &KeyStore,
        input: &VersionInfo,
        output: &str,
        params: &serde_json::Value,
        keep_map: bool,
    ) -> Result<Option<Carry>, PseudonymizeError> {
        let prev = match store.version(output, None).await {
            Ok(v) => v,
            Err(medinfra_store::StoreError::NoSuchDataset(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let m = store.read_manifest(&prev)?;
        let same = ["policy_sha256", "key_id", "project"]
            .iter()
            .all(|k| m.lineage.parameters.get(*k) == params.get(*k));
        let Some(prev_input) = m.lineage.inputs.first() else {
            return Ok(None);
        };
        if !same || prev_input.dataset != input.dataset {
            return Ok(None);
        }
        let map_name = map_name_of(&prev, &m.lineage);
        if keep_map && !reverse_map::exists(keys, &map_name) {
            // Without the previous map the carried parts' tokens could not be looked up.
            return Ok(None);
        }
        let prev_input_info = match store
            .version(&prev_input.dataset, Some(prev_input.version))
            .await
        {
            Ok(v) => v,
            Err(_) => return Ok(None),
        };
        let input_files = store
            .read_manifest(&prev_input_info)?
            .tables
            .into_iter()
            .flat_map(|t| {
                let name = t.name.clone();
                t.files
                    .into_iter()
                    .map(move |f| ((name.clone(), f.path), f.sha256))
            })
            .collect();
        let parts = m
            .tables
            .into_iter()
            .flat_map(|t| t.files.into_iter().map(|f| (f.path.clone(), f)))
            .collect();
        Ok(Some(Carry {
            map: map_name,
            output: prev,
            input: input_files,
            parts,
        }))
    }

    fn part(
        &self,
        table: &str,
        input_path: &str,
        sha256: &str,
        output_name: &str,
    ) -> Option<medinfra_store::FileEntry> {
        if self
            .input
            .get(&(table.to_string(), input_path.to_string()))?
            != sha256
        {
            return None;
        }
        self.parts
            .get(&format!("{table}.part-{output_name}.parquet"))
            .cloned()
    }
}

pub fn key_id_of(lineage: &Lineage) -> Option<KeyId> {
    lineage
        .parameters
        .get("key_id")
        .and_then(|v| v.as_str())
        .and_then(|s| KeyId::parse(s).ok())
}

/// Whether any rule of the policy keeps a reverse map.
pub fn keeps_map(policy: &Policy) -> bool {
    policy.tables.values().any(|t| {
        t.columns
            .values()
            .any(|c| matches!(c.rule(), ColumnRule::Token { keep_map: true, .. }))
    })
}
