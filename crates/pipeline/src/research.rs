//! The linked research database: every canonical table of every provider's latest version,
//! each row with the `person_id` the registry gives its record, opted-out persons withheld.
//!
//! Incremental: one research part per provider part (`TABLE.part-<provider>-<sha16>`). A part
//! is carried from the previous research version by hard link when its source part is the
//! same file and its provider is not affected this run (no record of it changed person, no
//! person of it newly opted out); only the others are read and written.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use serde::Serialize;

use medinfra_model::CanonicalTable;
use medinfra_persons::RecordKey;
use medinfra_store::{FileEntry, Store, VersionInfo, VersionWriter};

use crate::error::{PipelineError, Result};

/// The research table's schema: the canonical one with `person_id` last (`person_keys` has
/// it already).
pub fn research_schema(table: CanonicalTable) -> SchemaRef {
    if table.index_of("person_id").is_some() {
        return table.schema();
    }
    let mut fields: Vec<Field> = table
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("person_id", DataType::Int64, false));
    Arc::new(Schema::new(fields))
}

/// Rows of one table of the research version, against its sources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartBooks {
    pub source_rows: u64,
    pub rows: u64,
    pub withheld: u64,
    pub parts_built: u64,
    pub parts_carried: u64,
    /// Rows read this run (built parts only) and what became of them.
    pub rows_read: u64,
    pub rows_written: u64,
    pub withheld_now: u64,
}

pub struct BuildPlan<'a> {
    pub store: &'a Store,
    pub providers: &'a [VersionInfo],
    pub persons: &'a HashMap<RecordKey, i64>,
    pub withheld: &'a HashSet<i64>,
    pub affected_providers: &'a HashSet<String>,
    pub previous: Option<&'a VersionInfo>,
    /// The provider versions the previous research version was built from (its lineage).
    pub previous_inputs: &'a [VersionInfo],
}

/// One unit of work: carry one part of the previous research version, or write one new part
/// from some source parts of one provider's table.
enum Job<'a> {
    /// The previous parts of one provider's table, kept whole.
    Carry {
        table: CanonicalTable,
        entries: Vec<FileEntry>,
        /// Rows of the source parts they were built from.
        source_rows: u64,
    },
    Build {
        table: CanonicalTable,
        provider: String,
        source_dir: &'a std::path::Path,
        sources: Vec<FileEntry>,
        part_name: String,
    },
}

/// `NAME` of a part path `TABLE.part-NAME.parquet` (or `TABLE/part-NAME.parquet`).
fn part_name_of<'a>(table: &str, path: &'a str) -> Option<&'a str> {
    let rest = path
        .strip_prefix(table)?
        .strip_prefix(".part-")
        .or_else(|| path.strip_prefix(table)?.strip_prefix("/part-"))?;
    let name = rest.strip_suffix(".parquet")?;
    (!name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'))
    .then_some(name)
}

fn provider_of(dataset: &str) -> &str {
    dataset.strip_prefix("provider-").unwrap_or(dataset)
}

/// Writes every part into `writer` and returns the books per table.
///
/// Per provider and table: the source parts the previous research version was built from are
/// those of the provider version its lineage names. If they are all still current and no
/// person of the provider changed, the previous research parts of that provider and table are
/// carried, and the source parts added since become one new part (`PROVIDER-vN`); otherwise
/// every current source part is rebuilt into one new part. A month therefore writes one part
/// per provider and table it brought, and reads only what it brought.
pub fn build(plan: &BuildPlan<'_>, writer: &VersionWriter) -> Result<BTreeMap<String, PartBooks>> {
    let (previous_parts, previous_sources, next_version) = match plan.previous {
        Some(p) => {
            let m = plan.store.read_manifest(p)?;
            let parts: Vec<(String, FileEntry)> = m
                .tables
                .iter()
                .flat_map(|t| t.files.iter().map(|f| (t.name.clone(), f.clone())))
                .collect();
            let mut sources: HashMap<String, HashMap<String, HashSet<String>>> = HashMap::new();
            for info in plan.previous_inputs {
                let pm = plan.store.read_manifest(info)?;
                let by_table = sources
                    .entry(provider_of(&info.dataset).to_string())
                    .or_default();
                for t in pm.tables {
                    by_table
                        .entry(t.name.clone())
                        .or_default()
                        .extend(t.files.into_iter().map(|f| f.path));
                }
            }
            (parts, sources, p.version + 1)
        }
        None => (Vec::new(), HashMap::new(), 1),
    };
    let manifests: Vec<_> = plan
        .providers
        .iter()
        .map(|v| plan.store.read_manifest(v).map(|m| (v, m)))
        .collect::<Result<_, _>>()?;
    let mut jobs = Vec::new();
    for (info, manifest) in &manifests {
        let provider = provider_of(&info.dataset).to_string();
        let covered_by_table = previous_sources.get(&provider);
        for t in &manifest.tables {
            let Some(table) = CanonicalTable::from_name(&t.name) else {
                continue;
            };
            if matches!(table, CanonicalTable::Truth | CanonicalTable::Population) {
                continue;
            }
            for f in &t.files {
                if part_name_of(&t.name, &f.path).is_none() {
                    return Err(PipelineError::Read {
                        path: info.dir.join(&f.path),
                        reason: format!("is not named as a part of table {}", t.name),
                    });
                }
            }
            let current: HashSet<&str> = t.files.iter().map(|f| f.path.as_str()).collect();
            let empty = HashSet::new();
            let covered = covered_by_table
                .and_then(|c| c.get(&t.name))
                .unwrap_or(&empty);
            let prefix = format!("{}.part-{provider}-", t.name);
            let carried: Vec<&FileEntry> = previous_parts
                .iter()
                .filter(|(name, f)| name == &t.name && f.path.starts_with(&prefix))
                .map(|(_, f)| f)
                .collect();
            let still_current = covered.iter().all(|c| current.contains(c.as_str()));
            let keep = !plan.affected_providers.contains(&provider)
                && still_current
                && !carried.is_empty();
            let sources: Vec<FileEntry> = t
                .files
                .iter()
                .filter(|f| !keep || !covered.contains(&f.path))
                .cloned()
                .collect();
            if keep {
                // The carried parts hold the covered sources' rows (less what was withheld).
                let covered_rows: u64 = t
                    .files
                    .iter()
                    .filter(|f| covered.contains(&f.path))
                    .map(|f| f.rows)
                    .sum();
                jobs.push(Job::Carry {
                    table,
                    entries: carried.iter().map(|e| (*e).clone()).collect(),
                    source_rows: covered_rows,
                });
            }
            if !sources.is_empty() {
                jobs.push(Job::Build {
                    table,
                    provider: provider.clone(),
                    source_dir: &info.dir,
                    sources,
                    part_name: format!("{provider}-v{next_version}"),
                });
            }
        }
    }
    let prev_dir = plan.previous.map(|p| p.dir.clone());
    let results: Vec<(String, PartBooks)> = jobs
        .par_iter()
        .map(|job| run_job(plan, writer, job, prev_dir.as_deref()))
        .collect::<Result<_>>()?;
    let mut books: BTreeMap<String, PartBooks> = BTreeMap::new();
    for (table, b) in results {
        let e = books.entry(table).or_default();
        e.source_rows += b.source_rows;
        e.rows += b.rows;
        e.withheld += b.withheld;
        e.parts_built += b.parts_built;
        e.parts_carried += b.parts_carried;
        e.rows_read += b.rows_read;
        e.rows_written += b.rows_written;
        e.withheld_now += b.withheld_now;
    }
    Ok(books)
}

fn run_job(
    plan: &BuildPlan<'_>,
    writer: &VersionWriter,
    job: &Job<'_>,
    prev_dir: Option<&std::path::Path>,
) -> Result<(String, PartBooks)> {
    let (table, provider, source_dir, sources, part_name) = match job {
        Job::Carry {
            table,
            entries,
            source_rows,
        } => {
            let name = table.name().to_string();
            let dir = prev_dir
                .ok_or_else(|| PipelineError::Task("carry without a previous version".into()))?;
            let mut rows = 0;
            for entry in entries {
                writer.carry_part(&name, research_schema(*table), dir, entry)?;
                rows += entry.rows;
            }
            if rows > *source_rows {
                return Err(PipelineError::Unbalanced {
                    table: name,
                    rows_in: *source_rows,
                    rows_out: rows,
                    withheld: 0,
                });
            }
            return Ok((
                name,
                PartBooks {
                    source_rows: *source_rows,
                    rows,
                    withheld: source_rows - rows,
                    parts_carried: entries.len() as u64,
                    ..PartBooks::default()
                },
            ));
        }
        Job::Build {
            table,
            provider,
            source_dir,
            sources,
            part_name,
        } => (table, provider, source_dir, sources, part_name),
    };
    let name = table.name().to_string();
    let schema = research_schema(*table);
    let mut out = writer.named_part_writer(&name, part_name, schema.clone())?;
    let (mut read, mut written, mut withheld, mut unresolved) = (0u64, 0u64, 0u64, 0u64);
    let mut source_rows = 0u64;
    for entry in sources {
        source_rows += entry.rows;
        let path = source_dir.join(&entry.path);
        let before = read;
        for batch in plan.store.read_part(&path)? {
            let batch = batch.map_err(|e| PipelineError::Read {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            read += batch.num_rows() as u64;
            let ids = person_ids(*table, &batch, plan.persons, &path)?;
            let mut keep = Vec::with_capacity(ids.len());
            let mut person = Vec::with_capacity(ids.len());
            for id in ids {
                match id {
                    Some(p) if plan.withheld.contains(&p) => {
                        withheld += 1;
                        keep.push(false);
                    }
                    Some(p) => {
                        keep.push(true);
                        person.push(p);
                    }
                    None => {
                        unresolved += 1;
                        keep.push(false);
                    }
                }
            }
            let kept = if person.len() == batch.num_rows() {
                batch
            } else {
                filter_record_batch(&batch, &BooleanArray::from(keep)).map_err(|e| {
                    PipelineError::Read {
                        path: path.clone(),
                        reason: e.to_string(),
                    }
                })?
            };
            let mut columns = kept.columns().to_vec();
            columns.push(Arc::new(Int64Array::from(person)));
            let out_batch =
                RecordBatch::try_new(schema.clone(), columns).map_err(|e| PipelineError::Read {
                    path: path.clone(),
                    reason: format!("does not have the canonical {name} schema: {e}"),
                })?;
            written += out_batch.num_rows() as u64;
            out.write(&out_batch)?;
        }
        if read - before != entry.rows {
            return Err(PipelineError::Unbalanced {
                table: name,
                rows_in: entry.rows,
                rows_out: read - before,
                withheld: 0,
            });
        }
    }
    if unresolved > 0 {
        return Err(PipelineError::Unresolved {
            table: name,
            provider: provider.clone(),
            rows: unresolved,
        });
    }
    writer.finish_part(out)?;
    if read != written + withheld {
        return Err(PipelineError::Unbalanced {
            table: name,
            rows_in: source_rows,
            rows_out: written,
            withheld,
        });
    }
    Ok((
        name,
        PartBooks {
            source_rows,
            rows: written,
            withheld,
            parts_built: 1,
            rows_read: read,
            rows_written: written,
            withheld_now: withheld,
            ..PartBooks::default()
        },
    ))
}

fn str_col<'a>(
    batch: &'a RecordBatch,
    name: &str,
    path: &std::path::Path,
) -> Result<&'a StringArray> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| PipelineError::Read {
            path: path.to_path_buf(),
            reason: format!("column {name} missing or not Utf8"),
        })
}

/// The person of each row (`None`: the registry does not know its record).
fn person_ids(
    table: CanonicalTable,
    batch: &RecordBatch,
    persons: &HashMap<RecordKey, i64>,
    path: &std::path::Path,
) -> Result<Vec<Option<i64>>> {
    let (a, b, checkup) = if table == CanonicalTable::Checkups {
        (
            str_col(batch, "facility_id", path)?,
            str_col(batch, "checkup_id", path)?,
            true,
        )
    } else {
        (
            str_col(batch, "provider_id", path)?,
            str_col(batch, "patient_id", path)?,
            false,
        )
    };
    let mut out = Vec::with_capacity(batch.num_rows());
    // Rows of one patient are adjacent in provider files: reuse the last lookup.
    let mut last: Option<(usize, Option<i64>)> = None;
    for i in 0..batch.num_rows() {
        if !a.is_valid(i) || !b.is_valid(i) {
            out.push(None);
            continue;
        }
        if let Some((j, p)) = last
            && a.value(j) == a.value(i)
            && b.value(j) == b.value(i)
        {
            out.push(p);
            continue;
        }
        let key = if checkup {
            RecordKey::checkup(a.value(i), b.value(i))
        } else {
            RecordKey::patient(a.value(i), b.value(i))
        };
        let p = persons.get(&key).copied();
        last = Some((i, p));
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::part_name_of;

    #[test]
    fn part_names_come_from_the_path() {
        assert_eq!(
            part_name_of("persons", "persons.part-0a1b.parquet"),
            Some("0a1b")
        );
        assert_eq!(
            part_name_of("persons", "persons/part-00001.parquet"),
            Some("00001")
        );
        assert_eq!(part_name_of("persons", "claims.part-0a1b.parquet"), None);
        assert_eq!(part_name_of("persons", "persons.part-../x.parquet"), None);
    }
}
