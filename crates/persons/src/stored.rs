//! The registry as a dataset: [`REGISTRY_DATASET`], identified tier, one version per run or
//! operator action. Small tables (records, aliases, overrides, runs) are written whole; the
//! tables that only grow (variants, events, sources) carry their earlier parts by hard link and
//! add one part per run, so a run writes what it added, not the history.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Int64Array, Int64Builder, RecordBatch, StringArray, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use medinfra_model::Tier;
use medinfra_store::{InputRef, Lineage, Store, StoreError, VersionInfo};

use crate::error::{PersonsError, Result};
use crate::record::{Identity, RecordKey, RecordKind};
use crate::registry::{
    Alias, Event, EventKind, Override, OverrideKind, Record, Registry, RunSummary, Source, Variant,
};

/// The registry's dataset.
pub const REGISTRY_DATASET: &str = "person-registry";

const APPENDED: [&str; 3] = ["variants", "events", "sources"];

fn schema(fields: &[(&str, DataType, bool)]) -> SchemaRef {
    Arc::new(Schema::new(
        fields
            .iter()
            .map(|(n, t, null)| Field::new(*n, t.clone(), *null))
            .collect::<Vec<_>>(),
    ))
}

fn records_schema() -> SchemaRef {
    use DataType::*;
    schema(&[
        ("record_no", Int64, false),
        ("kind", Utf8, false),
        ("provider_id", Utf8, false),
        ("record_id", Utf8, false),
        ("person_id", Int64, false),
        ("first_run", Int64, false),
    ])
}

fn variants_schema() -> SchemaRef {
    use DataType::*;
    let mut f: Vec<(&str, DataType, bool)> =
        vec![("record_no", Int64, false), ("month", Utf8, true)];
    for name in Identity::FIELDS {
        f.push((name, Utf8, false));
    }
    f.extend([
        ("id1", Utf8, true),
        ("id2", Utf8, true),
        ("run", Int64, false),
    ]);
    schema(&f)
}

fn aliases_schema() -> SchemaRef {
    use DataType::*;
    schema(&[
        ("retired", Int64, false),
        ("survivor", Int64, false),
        ("run", Int64, false),
        ("evidence", Utf8, false),
    ])
}

fn events_schema() -> SchemaRef {
    use DataType::*;
    schema(&[
        ("run", Int64, false),
        ("kind", Utf8, false),
        ("record_no", Int64, true),
        ("person_id", Int64, false),
        ("other_person", Int64, true),
        ("evidence", Utf8, false),
    ])
}

fn overrides_schema() -> SchemaRef {
    use DataType::*;
    schema(&[
        ("kind", Utf8, false),
        ("record_a", Int64, false),
        ("record_b", Int64, false),
        ("reason", Utf8, false),
        ("run", Int64, false),
    ])
}

fn runs_schema() -> SchemaRef {
    use DataType::*;
    schema(&[("run", Int64, false), ("summary", Utf8, false)])
}

fn sources_schema() -> SchemaRef {
    use DataType::*;
    schema(&[
        ("dataset", Utf8, false),
        ("version", Int64, false),
        ("table", Utf8, false),
        ("sha256", Utf8, false),
        ("run", Int64, false),
    ])
}

fn batch(schema: SchemaRef, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    RecordBatch::try_new(schema, columns)
        .map_err(|e| PersonsError::Corrupt(format!("building a registry table: {e}")))
}

fn i64s(v: impl IntoIterator<Item = i64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(v))
}

fn opt_i64s(v: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
    let mut b = Int64Builder::new();
    for x in v {
        b.append_option(x);
    }
    Arc::new(b.finish())
}

fn strs<'a>(v: impl IntoIterator<Item = &'a str>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for x in v {
        b.append_value(x);
    }
    Arc::new(b.finish())
}

fn opt_strs<'a>(v: impl IntoIterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for x in v {
        b.append_option(x);
    }
    Arc::new(b.finish())
}

/// The latest registry version, loaded (`None` before the first run).
pub async fn load(store: &Store) -> Result<Option<(Registry, VersionInfo)>> {
    let info = match store.version(REGISTRY_DATASET, None).await {
        Ok(i) => i,
        Err(StoreError::NoSuchDataset(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let manifest = store.read_manifest(&info)?;
    let key_id = manifest
        .lineage
        .parameters
        .get("key_id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let next_person = manifest
        .lineage
        .parameters
        .get("next_person")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| PersonsError::Corrupt("lineage has no next_person".into()))?;
    let mut reg = Registry::new(&key_id);
    reg.next_person = next_person;
    // Parameters a later version cannot read are retrained, not an error.
    reg.model = manifest
        .lineage
        .parameters
        .get("trained")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let files = |t: &str| store.table_files(&info, t);
    for path in files("records")? {
        each_batch(store, &path, |b| {
            let c = Cols::new(&path, b);
            let (no, kind, prov, id, person, first) = (
                c.i64("record_no")?,
                c.str("kind")?,
                c.str("provider_id")?,
                c.str("record_id")?,
                c.i64("person_id")?,
                c.i64("first_run")?,
            );
            for i in 0..b.num_rows() {
                if no.value(i) != reg.records.len() as i64 {
                    return Err(PersonsError::Corrupt(
                        "records are not numbered in order".into(),
                    ));
                }
                let kind = RecordKind::parse(kind.value(i))
                    .ok_or_else(|| PersonsError::Corrupt("unknown record kind".into()))?;
                reg.records.push(Record {
                    key: RecordKey {
                        kind,
                        provider_id: prov.value(i).into(),
                        record_id: id.value(i).into(),
                    },
                    person_id: person.value(i),
                    first_run: first.value(i),
                });
            }
            Ok(())
        })?;
    }
    for path in files("variants")? {
        each_batch(store, &path, |b| {
            let c = Cols::new(&path, b);
            let no = c.i64("record_no")?;
            let month = c.str("month")?;
            let fields: Vec<&StringArray> = Identity::FIELDS
                .iter()
                .map(|f| c.str(f))
                .collect::<Result<_>>()?;
            let (id1, id2, run) = (c.str("id1")?, c.str("id2")?, c.i64("run")?);
            for i in 0..b.num_rows() {
                let mut identity = Identity::default();
                for (name, col) in Identity::FIELDS.iter().zip(&fields) {
                    if let Some(slot) = identity.get_mut(name) {
                        *slot = col.value(i).to_string();
                    }
                }
                let opt = |a: &StringArray| a.is_valid(i).then(|| a.value(i).to_string());
                reg.variants.push(Variant {
                    record: usize::try_from(no.value(i))
                        .map_err(|_| PersonsError::Corrupt("negative record number".into()))?,
                    month: opt(month),
                    identity,
                    id1: opt(id1),
                    id2: opt(id2),
                    run: run.value(i),
                });
            }
            Ok(())
        })?;
    }
    for path in files("aliases")? {
        each_batch(store, &path, |b| {
            let c = Cols::new(&path, b);
            let (r, s, run, e) = (
                c.i64("retired")?,
                c.i64("survivor")?,
                c.i64("run")?,
                c.str("evidence")?,
            );
            for i in 0..b.num_rows() {
                reg.aliases.push(Alias {
                    retired: r.value(i),
                    survivor: s.value(i),
                    run: run.value(i),
                    evidence: e.value(i).into(),
                });
            }
            Ok(())
        })?;
    }
    for path in files("events")? {
        each_batch(store, &path, |b| {
            let c = Cols::new(&path, b);
            let (run, kind, rec, person, other, ev) = (
                c.i64("run")?,
                c.str("kind")?,
                c.i64("record_no")?,
                c.i64("person_id")?,
                c.i64("other_person")?,
                c.str("evidence")?,
            );
            for i in 0..b.num_rows() {
                reg.events.push(Event {
                    run: run.value(i),
                    kind: EventKind::parse(kind.value(i))
                        .ok_or_else(|| PersonsError::Corrupt("unknown event kind".into()))?,
                    record: rec.is_valid(i).then(|| rec.value(i) as usize),
                    person_id: person.value(i),
                    other_person: other.is_valid(i).then(|| other.value(i)),
                    evidence: ev.value(i).into(),
                });
            }
            Ok(())
        })?;
    }
    for path in files("overrides")? {
        each_batch(store, &path, |b| {
            let c = Cols::new(&path, b);
            let (kind, a, bb, reason, run) = (
                c.str("kind")?,
                c.i64("record_a")?,
                c.i64("record_b")?,
                c.str("reason")?,
                c.i64("run")?,
            );
            for i in 0..b.num_rows() {
                reg.overrides.push(Override {
                    kind: OverrideKind::parse(kind.value(i))
                        .ok_or_else(|| PersonsError::Corrupt("unknown override kind".into()))?,
                    a: a.value(i) as usize,
                    b: bb.value(i) as usize,
                    reason: reason.value(i).into(),
                    run: run.value(i),
                });
            }
            Ok(())
        })?;
    }
    for path in files("runs")? {
        each_batch(store, &path, |b| {
            let c = Cols::new(&path, b);
            let s = c.str("summary")?;
            for i in 0..b.num_rows() {
                let summary: RunSummary = serde_json::from_str(s.value(i))
                    .map_err(|e| PersonsError::Corrupt(format!("run summary: {e}")))?;
                reg.runs.push(summary);
            }
            Ok(())
        })?;
    }
    for path in files("sources")? {
        each_batch(store, &path, |b| {
            let c = Cols::new(&path, b);
            let (d, v, t, sha, run) = (
                c.str("dataset")?,
                c.i64("version")?,
                c.str("table")?,
                c.str("sha256")?,
                c.i64("run")?,
            );
            for i in 0..b.num_rows() {
                reg.add_source(Source {
                    dataset: d.value(i).into(),
                    version: v.value(i),
                    table: t.value(i).into(),
                    sha256: sha.value(i).into(),
                    run: run.value(i),
                });
            }
            Ok(())
        })?;
    }
    reg.runs.sort_by_key(|r| r.run);
    reg.persisted_run = reg.runs.last().map_or(0, |r| r.run);
    reg.reindex()?;
    Ok(Some((reg, info)))
}

fn each_batch(
    store: &Store,
    path: &Path,
    mut f: impl FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    for b in store.read_part(path)? {
        let b = b.map_err(|e| PersonsError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        f(&b)?;
    }
    Ok(())
}

struct Cols<'a> {
    path: &'a Path,
    batch: &'a RecordBatch,
}

impl<'a> Cols<'a> {
    fn new(path: &'a Path, batch: &'a RecordBatch) -> Self {
        Cols { path, batch }
    }

    fn bad(&self, col: &str, why: &str) -> PersonsError {
        PersonsError::Read {
            path: self.path.to_path_buf(),
            reason: format!("column {col}: {why}"),
        }
    }

    fn str(&self, col: &str) -> Result<&'a StringArray> {
        self.batch
            .column_by_name(col)
            .ok_or_else(|| self.bad(col, "missing"))?
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| self.bad(col, "expected Utf8"))
    }

    fn i64(&self, col: &str) -> Result<&'a Int64Array> {
        self.batch
            .column_by_name(col)
            .ok_or_else(|| self.bad(col, "missing"))?
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| self.bad(col, "expected Int64"))
    }
}

/// Writes the registry as a new version and commits it. `previous` is the version it was
/// loaded from (its appended tables' parts are carried); `inputs` the provider versions this
/// run read.
pub async fn save(
    store: &Store,
    reg: &mut Registry,
    previous: Option<&VersionInfo>,
    inputs: Vec<InputRef>,
) -> Result<VersionInfo> {
    let writer = stage(store, reg, previous, inputs)?;
    Ok(writer.commit().await?)
}

/// Writes the registry's new version without committing it, for a caller that commits it
/// together with other versions (`Store::commit_all`). The registry counts as persisted
/// afterwards; discard it if the commit fails.
pub fn stage(
    store: &Store,
    reg: &mut Registry,
    previous: Option<&VersionInfo>,
    inputs: Vec<InputRef>,
) -> Result<medinfra_store::VersionWriter> {
    let run = reg.runs.last().map_or(0, |r| r.run);
    let mut lineage_inputs: Vec<InputRef> = previous.map(Store::input_ref).into_iter().collect();
    lineage_inputs.extend(inputs);
    let lineage = Lineage {
        step: "persons".into(),
        parameters: serde_json::json!({
            "key_id": reg.key_id,
            "next_person": reg.next_person,
            "run": run,
            "model": "japan-person",
            "trained": reg.model,
        }),
        inputs: lineage_inputs,
    };
    let writer = store.begin(REGISTRY_DATASET, Tier::Identified, lineage)?;
    let part = format!("run-{run:06}");
    let after = reg.persisted_run;

    let r = &reg.records;
    let records = batch(
        records_schema(),
        vec![
            i64s(0..r.len() as i64),
            strs(r.iter().map(|x| x.key.kind.as_str())),
            strs(r.iter().map(|x| x.key.provider_id.as_str())),
            strs(r.iter().map(|x| x.key.record_id.as_str())),
            i64s(r.iter().map(|x| x.person_id)),
            i64s(r.iter().map(|x| x.first_run)),
        ],
    )?;
    writer.write_table("records", records_schema(), [&records])?;

    let a = &reg.aliases;
    let aliases = batch(
        aliases_schema(),
        vec![
            i64s(a.iter().map(|x| x.retired)),
            i64s(a.iter().map(|x| x.survivor)),
            i64s(a.iter().map(|x| x.run)),
            strs(a.iter().map(|x| x.evidence.as_str())),
        ],
    )?;
    writer.write_table("aliases", aliases_schema(), [&aliases])?;

    let o = &reg.overrides;
    let overrides = batch(
        overrides_schema(),
        vec![
            strs(o.iter().map(|x| x.kind.as_str())),
            i64s(o.iter().map(|x| x.a as i64)),
            i64s(o.iter().map(|x| x.b as i64)),
            strs(o.iter().map(|x| x.reason.as_str())),
            i64s(o.iter().map(|x| x.run)),
        ],
    )?;
    writer.write_table("overrides", overrides_schema(), [&overrides])?;

    let summaries: Vec<String> = reg
        .runs
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<_, _>>()
        .map_err(|e| PersonsError::Corrupt(format!("run summary: {e}")))?;
    let runs = batch(
        runs_schema(),
        vec![
            i64s(reg.runs.iter().map(|x| x.run)),
            strs(summaries.iter().map(String::as_str)),
        ],
    )?;
    writer.write_table("runs", runs_schema(), [&runs])?;

    // Appended tables: earlier parts carried, this run's rows in a part of their own.
    if let Some(prev) = previous {
        let manifest = store.read_manifest(prev)?;
        for t in APPENDED {
            if t == "variants" && reg.rewrite_variants {
                continue;
            }
            if let Some(entry) = manifest.table(t) {
                let schema = match t {
                    "variants" => variants_schema(),
                    "events" => events_schema(),
                    _ => sources_schema(),
                };
                for f in &entry.files {
                    writer.carry_part(t, schema.clone(), &prev.dir, f)?;
                }
            }
        }
    }
    let all_variants = reg.rewrite_variants;
    let v: Vec<&Variant> = reg
        .variants
        .iter()
        .filter(|x| all_variants || x.run > after)
        .collect();
    let mut cols: Vec<ArrayRef> = vec![
        i64s(v.iter().map(|x| x.record as i64)),
        opt_strs(v.iter().map(|x| x.month.as_deref())),
    ];
    for f in Identity::FIELDS {
        cols.push(strs(v.iter().map(|x| x.identity.get(f))));
    }
    cols.push(opt_strs(v.iter().map(|x| x.id1.as_deref())));
    cols.push(opt_strs(v.iter().map(|x| x.id2.as_deref())));
    cols.push(i64s(v.iter().map(|x| x.run)));
    let variants = batch(variants_schema(), cols)?;
    write_named(&writer, "variants", &part, variants_schema(), &variants)?;

    let e: Vec<&Event> = reg.events.iter().filter(|x| x.run > after).collect();
    let events = batch(
        events_schema(),
        vec![
            i64s(e.iter().map(|x| x.run)),
            strs(e.iter().map(|x| x.kind.as_str())),
            opt_i64s(e.iter().map(|x| x.record.map(|r| r as i64))),
            i64s(e.iter().map(|x| x.person_id)),
            opt_i64s(e.iter().map(|x| x.other_person)),
            strs(e.iter().map(|x| x.evidence.as_str())),
        ],
    )?;
    write_named(&writer, "events", &part, events_schema(), &events)?;

    let s: Vec<&Source> = reg.sources.iter().filter(|x| x.run > after).collect();
    let sources = batch(
        sources_schema(),
        vec![
            strs(s.iter().map(|x| x.dataset.as_str())),
            i64s(s.iter().map(|x| x.version)),
            strs(s.iter().map(|x| x.table.as_str())),
            strs(s.iter().map(|x| x.sha256.as_str())),
            i64s(s.iter().map(|x| x.run)),
        ],
    )?;
    write_named(&writer, "sources", &part, sources_schema(), &sources)?;

    reg.persisted_run = run;
    reg.rewrite_variants = false;
    Ok(writer)
}

fn write_named(
    writer: &medinfra_store::VersionWriter,
    table: &str,
    part: &str,
    schema: SchemaRef,
    batch: &RecordBatch,
) -> Result<()> {
    let mut w = writer.named_part_writer(table, part, schema)?;
    w.write(batch)?;
    writer.finish_part(w)?;
    Ok(())
}

/// Record → person of the latest registry version, by key, without loading the rest (the
/// research database's lookup).
pub async fn assignments(store: &Store) -> Result<Option<HashMap<RecordKey, i64>>> {
    Ok(load(store).await?.map(|(reg, _)| {
        reg.records
            .into_iter()
            .map(|r| (r.key, r.person_id))
            .collect()
    }))
}
