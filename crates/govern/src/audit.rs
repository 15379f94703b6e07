//! The tamper-evident audit log: an append-only table in the catalog where every entry
//! carries the SHA-256 of the previous entry's hash and its own content, so editing, deleting
//! or reordering any entry breaks the chain at that entry. `verify` names the first bad entry.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use medinfra_store::Store;

/// The hash the first entry chains to.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log: {0}")]
    Db(#[from] sqlx::Error),
}

/// One audit record. `detail` names datasets, versions and rules; never data values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub outcome: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A break in the chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditProblem {
    pub seq: i64,
    pub reason: String,
}

#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev: &str,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    resource: &str,
    outcome: &str,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &seq.to_string(),
        at,
        actor,
        action,
        resource,
        outcome,
        detail,
    ] {
        // Length-prefixed so that no two field splits give the same bytes.
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The audit log of a data directory.
#[derive(Debug, Clone)]
pub struct AuditLog {
    store: Store,
}

impl AuditLog {
    pub fn new(store: &Store) -> Self {
        AuditLog {
            store: store.clone(),
        }
    }

    /// Append an entry; the caller must not perform the action if this fails.
    pub async fn append(
        &self,
        actor: &str,
        action: &str,
        resource: &str,
        outcome: &str,
        detail: &str,
    ) -> Result<AuditEntry, AuditError> {
        let mut tx = self.store.pool().begin().await?;
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (seq, prev) = match last {
            Some(r) => (
                r.try_get::<i64, _>("seq")? + 1,
                r.try_get::<String, _>("hash")?,
            ),
            None => (1, GENESIS.to_string()),
        };
        let at = medinfra_store::now_rfc3339();
        let hash = entry_hash(&prev, seq, &at, actor, action, resource, outcome, detail);
        sqlx::query("INSERT INTO audit_log (seq, at, actor, action, resource, outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(seq)
            .bind(&at)
            .bind(actor)
            .bind(action)
            .bind(resource)
            .bind(outcome)
            .bind(detail)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(AuditEntry {
            seq,
            at,
            actor: actor.into(),
            action: action.into(),
            resource: resource.into(),
            outcome: outcome.into(),
            detail: detail.into(),
            prev_hash: prev,
            hash,
        })
    }

    /// Entries, oldest first (the last `limit` when given).
    pub async fn entries(&self, limit: Option<i64>) -> Result<Vec<AuditEntry>, AuditError> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?) ORDER BY seq",
        )
        .bind(limit.unwrap_or(i64::MAX))
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: r.try_get("seq")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    resource: r.try_get("resource")?,
                    outcome: r.try_get("outcome")?,
                    detail: r.try_get("detail")?,
                    prev_hash: r.try_get("prev_hash")?,
                    hash: r.try_get("hash")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(AuditError::from)
    }

    /// Walk the chain; returns the number of entries checked and the first problem, if any.
    pub async fn verify(&self) -> Result<(u64, Option<AuditProblem>), AuditError> {
        let entries = self.entries(None).await?;
        let mut prev = GENESIS.to_string();
        for (i, e) in entries.iter().enumerate() {
            let expected_seq = i as i64 + 1;
            let problem = |reason: &str| {
                Some(AuditProblem {
                    seq: e.seq,
                    reason: reason.into(),
                })
            };
            if e.seq != expected_seq {
                return Ok((
                    i as u64,
                    problem(&format!("entry {expected_seq} is missing (deleted)")),
                ));
            }
            if e.prev_hash != prev {
                return Ok((
                    i as u64,
                    problem(
                        "does not chain to the previous entry (deleted, inserted or reordered)",
                    ),
                ));
            }
            let h = entry_hash(
                &e.prev_hash,
                e.seq,
                &e.at,
                &e.actor,
                &e.action,
                &e.resource,
                &e.outcome,
                &e.detail,
            );
            if h != e.hash {
                return Ok((
                    i as u64,
                    problem("content does not match its hash (edited)"),
                ));
            }
            prev = e.hash.clone();
        }
        Ok((entries.len() as u64, None))
    }
}
