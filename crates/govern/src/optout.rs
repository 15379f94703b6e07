//! Opt-out: a patient's refusal, recorded from a provider by the identified-zone key, and the
//! operator's apply step, which writes a new version of each derived dataset without that
//! person's rows, marks the older versions superseded (unreadable for projects), and moves
//! the projects' grants to the new version.
//!
//! Derived datasets do not carry the identified-zone key (they carry pseudonyms), so the caller
//! (the pipeline, which holds the pseudonymization keys) translates the opted-out keys into
//! each dataset's key space and names the column holding them. This module never sees keys.

use std::collections::HashSet;

use arrow::array::{Array, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;
use sqlx::Row;

use medinfra_store::{Lineage, Store, StoreError};

use crate::registry::{Registry, RegistryError};

#[derive(Debug, thiserror::Error)]
pub enum OptOutError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{path}: {reason}")]
    Read { path: String, reason: String },
    #[error("dataset {dataset:?}: no table has the person column {column:?}")]
    NoPersonColumn { dataset: String, column: String },
    #[error("opt-out task failed")]
    Task,
}

/// A recorded opt-out (the key is the identified zone's; shown to operators only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptOut {
    pub id: i64,
    pub provider: String,
    pub person_key: String,
    pub recorded_at: String,
    pub applied_at: Option<String>,
}

/// What applying opt-outs to one dataset did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptOutReport {
    pub dataset: String,
    pub old_version: i64,
    pub new_version: i64,
    pub rows_removed: u64,
    pub versions_superseded: u64,
}

impl Registry {
    /// Record an opt-out; recording the same person twice is a no-op. Returns its id.
    pub async fn record_optout(
        &self,
        provider: &str,
        person_key: &str,
    ) -> Result<i64, RegistryError> {
        if person_key.is_empty() {
            return Err(RegistryError::invalid("person_key", "must not be empty"));
        }
        sqlx::query("INSERT INTO optouts (provider, person_key, recorded_at) VALUES ($1, $2, $3) ON CONFLICT(provider, person_key) DO NOTHING")
            .bind(provider)
            .bind(person_key)
            .bind(medinfra_store::now_rfc3339())
            .execute(self.store.pool())
            .await?;
        Ok(
            sqlx::query("SELECT id FROM optouts WHERE provider = $1 AND person_key = $2")
                .bind(provider)
                .bind(person_key)
                .fetch_one(self.store.pool())
                .await?
                .try_get("id")?,
        )
    }

    /// Opt-outs, oldest first (only those not yet applied when `pending`).
    pub async fn optouts(&self, pending: bool) -> Result<Vec<OptOut>, RegistryError> {
        sqlx::query("SELECT id, provider, person_key, recorded_at, applied_at FROM optouts WHERE ($1 = 0 OR applied_at IS NULL) ORDER BY id")
            .bind(pending as i64)
            .fetch_all(self.store.pool())
            .await?
            .iter()
            .map(|r| {
                Ok(OptOut {
                    id: r.try_get("id")?,
                    provider: r.try_get("provider")?,
                    person_key: r.try_get("person_key")?,
                    recorded_at: r.try_get("recorded_at")?,
                    applied_at: r.try_get("applied_at")?,
                })
            })
            .collect()
    }

    /// Mark opt-outs applied (after every derived dataset has been rewritten).
    pub async fn mark_optouts_applied(&self, ids: &[i64]) -> Result<(), RegistryError> {
        let at = medinfra_store::now_rfc3339();
        let mut tx = self.store.pool().begin().await?;
        for id in ids {
            sqlx::query("UPDATE optouts SET applied_at = $1 WHERE id = $2 AND applied_at IS NULL")
                .bind(&at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Write a new version of `dataset` without the rows whose `person_column` value is in
    /// `remove` (values compared as text), supersede the older versions and move project grants
    /// to the new version. Tables without the column are carried over unchanged. A crash after
    /// the new version commits leaves the old ones readable until the step is re-run (re-running
    /// is safe: the new version no longer holds the persons).
    pub async fn apply_optout(
        &self,
        dataset: &str,
        person_column: &str,
        remove: &HashSet<String>,
    ) -> Result<OptOutReport, OptOutError> {
        let store = self.store.clone();
        let old = store.version(dataset, None).await?;
        let manifest = store.read_manifest(&old)?;
        if !manifest
            .tables
            .iter()
            .any(|t| t.schema.iter().any(|c| c.name == person_column))
        {
            return Err(OptOutError::NoPersonColumn {
                dataset: dataset.into(),
                column: person_column.into(),
            });
        }
        let writer = store.begin(
            dataset,
            old.tier,
            Lineage {
                step: "optout".into(),
                parameters: serde_json::json!({
                    "person_column": person_column,
                    "persons_removed": remove.len(),
                }),
                inputs: vec![Store::input_ref(&old)],
            },
        )?;
        let (s2, old2, col, remove2) = (
            store.clone(),
            old.clone(),
            person_column.to_string(),
            remove.clone(),
        );
        let (writer, removed) = tokio::task::spawn_blocking(move || {
            filter_version(&s2, &old2, &writer, &col, &remove2).map(|n| (writer, n))
        })
        .await
        .map_err(|_| OptOutError::Task)??;
        let new = writer.commit().await?;
        let superseded = store.supersede_older_versions(dataset, new.version).await?;
        // Grants of older versions move to the new one (a project that already holds it keeps
        // one grant): insert the new grants, then drop the old ones, in one transaction.
        let mut tx = store.pool().begin().await.map_err(RegistryError::from)?;
        sqlx::query(
            "INSERT INTO project_grants (project_id, dataset, version) SELECT DISTINCT project_id, dataset, $1 FROM project_grants WHERE dataset = $2 AND version < $1 ON CONFLICT DO NOTHING",
        )
        .bind(new.version)
        .bind(dataset)
        .execute(&mut *tx)
        .await
        .map_err(RegistryError::from)?;
        sqlx::query("DELETE FROM project_grants WHERE dataset = $1 AND version < $2")
            .bind(dataset)
            .bind(new.version)
            .execute(&mut *tx)
            .await
            .map_err(RegistryError::from)?;
        tx.commit().await.map_err(RegistryError::from)?;
        Ok(OptOutReport {
            dataset: dataset.into(),
            old_version: old.version,
            new_version: new.version,
            rows_removed: removed,
            versions_superseded: superseded,
        })
    }
}

fn read_err(path: &std::path::Path, e: impl std::fmt::Display) -> OptOutError {
    OptOutError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Copy every part of every table of `old` into `writer`, dropping the opted-out rows.
fn filter_version(
    store: &Store,
    old: &medinfra_store::VersionInfo,
    writer: &medinfra_store::VersionWriter,
    column: &str,
    remove: &HashSet<String>,
) -> Result<u64, OptOutError> {
    let manifest = store.read_manifest(old)?;
    let mut removed = 0u64;
    for table in &manifest.tables {
        for (i, f) in table.files.iter().enumerate() {
            let path = old.dir.join(&f.path);
            let file = std::fs::File::open(&path).map_err(|e| read_err(&path, e))?;
            let builder =
                ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_err(&path, e))?;
            let schema = builder.schema().clone();
            let reader = builder.build().map_err(|e| read_err(&path, e))?;
            let idx = schema.index_of(column).ok();
            let mut part = writer.part_writer(&table.name, i, schema)?;
            for batch in reader {
                let batch = batch.map_err(|e| read_err(&path, e))?;
                let Some(idx) = idx else {
                    part.write(&batch)?;
                    continue;
                };
                let col = batch.column(idx);
                let fmt = ArrayFormatter::try_new(col.as_ref(), &FormatOptions::default())
                    .map_err(|e| read_err(&path, e))?;
                let keep: BooleanArray = (0..batch.num_rows())
                    .map(|r| Some(col.is_null(r) || !remove.contains(&fmt.value(r).to_string())))
                    .collect();
                removed += keep.false_count() as u64;
                let kept = filter_record_batch(&batch, &keep).map_err(|e| read_err(&path, e))?;
                part.write(&kept)?;
            }
            writer.finish_part(part)?;
        }
    }
    Ok(removed)
}
