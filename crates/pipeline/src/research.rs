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

/// The research table's schema: the canonical one with `person_id` last.
pub fn research_schema(table: CanonicalTable) -> SchemaRef {
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
}

struct Job<'a> {
    table: CanonicalTable,
    provider: String,
    source_dir: &'a std::path::Path,
    entry: FileEntry,
    part_name: String,
    carry_from: Option<FileEntry>,
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
pub fn build(plan: &BuildPlan<'_>, writer: &VersionWriter) -> Result<BTreeMap<String, PartBooks>> {
    let previous: HashMap<String, FileEntry> = match plan.previous {
        Some(p) => plan
            .store
            .read_manifest(p)?
            .tables
            .into_iter()
            .flat_map(|t| t.files.into_iter().map(|f| (f.path.clone(), f)))
            .collect(),
        None => HashMap::new(),
    };
    let manifests: Vec<_> = plan
        .providers
        .iter()
        .map(|v| plan.store.read_manifest(v).map(|m| (v, m)))
        .collect::<Result<_, _>>()?;
    let mut jobs = Vec::new();
    for (info, manifest) in &manifests {
        let provider = provider_of(&info.dataset).to_string();
        for t in &manifest.tables {
            let Some(table) = CanonicalTable::from_name(&t.name) else {
                continue;
            };
            if matches!(table, CanonicalTable::Truth | CanonicalTable::Population) {
                continue;
            }
            for f in &t.files {
                // Named after the source part's own name (ingest names parts after the file
                // they came from), never its content hash: two parts with the same rows (one
                // patient's `persons` row in two months' files) are two parts.
                let Some(source_name) = part_name_of(&t.name, &f.path) else {
                    return Err(PipelineError::Read {
                        path: info.dir.join(&f.path),
                        reason: format!("is not named as a part of table {}", t.name),
                    });
                };
                let part_name = format!("{provider}-{source_name}");
                let path = format!("{}.part-{part_name}.parquet", t.name);
                let carry_from = if plan.affected_providers.contains(&provider) {
                    None
                } else {
                    previous.get(&path).cloned()
                };
                jobs.push(Job {
                    table,
                    provider: provider.clone(),
                    source_dir: &info.dir,
                    entry: f.clone(),
                    part_name,
                    carry_from,
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
    let name = job.table.name().to_string();
    let schema = research_schema(job.table);
    if let (Some(entry), Some(dir)) = (&job.carry_from, prev_dir) {
        writer.carry_part(&name, schema, dir, entry)?;
        return Ok((
            name,
            PartBooks {
                source_rows: job.entry.rows,
                rows: entry.rows,
                withheld: job.entry.rows.saturating_sub(entry.rows),
                parts_carried: 1,
                ..PartBooks::default()
            },
        ));
    }
    let path = job.source_dir.join(&job.entry.path);
    let mut out = writer.named_part_writer(&name, &job.part_name, schema.clone())?;
    let (mut read, mut written, mut withheld, mut unresolved) = (0u64, 0u64, 0u64, 0u64);
    for batch in plan.store.read_part(&path)? {
        let batch = batch.map_err(|e| PipelineError::Read {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        read += batch.num_rows() as u64;
        let ids = person_ids(job.table, &batch, plan.persons, &path)?;
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
                reason: format!("does not have the canonical {} schema: {e}", name),
            })?;
        written += out_batch.num_rows() as u64;
        out.write(&out_batch)?;
    }
    if unresolved > 0 {
        return Err(PipelineError::Unresolved {
            table: name,
            provider: job.provider.clone(),
            rows: unresolved,
        });
    }
    writer.finish_part(out)?;
    if read != written + withheld || read != job.entry.rows {
        return Err(PipelineError::Unbalanced {
            table: name,
            rows_in: job.entry.rows,
            rows_out: written,
            withheld,
        });
    }
    Ok((
        name,
        PartBooks {
            source_rows: job.entry.rows,
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
