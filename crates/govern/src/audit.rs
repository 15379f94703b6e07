//! The tamper-evident audit log: an append-only table in the catalog where every entry
//! carries the SHA-256 of the previous entry's hash and its own content, so editing, deleting
//! or reordering any entry breaks the chain at that entry. `verify` names the first bad entry.
//!
//! A bare hash chain can be recomputed by whoever can write the database, and its tail can be
//! cut off. Signed checkpoints close both holes: every [`CHECKPOINT_EVERY`] entries (and on
//! demand) the chain head is signed with HMAC-SHA-256 under a key kept outside the database
//! (`DATA_DIR/audit/checkpoint.key`, 0600), each checkpoint's MAC also covering the previous
//! one; the latest checkpoint is mirrored in `DATA_DIR/audit/checkpoint-head.json` so deleting
//! checkpoint rows is seen too. Entries after the latest checkpoint can still be cut off
//! unseen; checkpoint often (the server checkpoints on a timer and on shutdown).

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
    #[error("audit log: {0}")]
    Store(#[from] medinfra_store::StoreError),
    #[error(transparent)]
    Key(#[from] crate::checkpoint::KeyError),
    #[error("audit writer: {0}")]
    Writer(String),
}

/// Entries between automatic checkpoints.
pub const CHECKPOINT_EVERY: i64 = 100;

/// One record to append (owned, so it can cross to the writer task).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub outcome: String,
    pub detail: String,
}

/// A signed checkpoint of the chain head at `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at: String,
    pub mac: String,
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

/// The chain's head as an auditor keeps it outside the data directory (`medinfra audit
/// anchor`): whoever can write the data directory can delete the last entries and re-sign
/// the checkpoints with the key that lives beside them, but cannot make the chain hold an
/// anchored entry it no longer has.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
    pub at: String,
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
    checkpoint_every: i64,
}

fn entry_of(r: &sqlx::any::AnyRow) -> Result<AuditEntry, sqlx::Error> {
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
}

impl AuditLog {
    pub fn new(store: &Store) -> Self {
        AuditLog::with_checkpoint_interval(store, CHECKPOINT_EVERY)
    }

    /// A log that signs a checkpoint every `every` entries (at least 1).
    pub fn with_checkpoint_interval(store: &Store, every: i64) -> Self {
        AuditLog {
            store: store.clone(),
            checkpoint_every: every.max(1),
        }
    }

    fn key_dir(&self) -> std::path::PathBuf {
        self.store.root().join("audit")
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
        let mut v = self
            .append_batch(&[AuditRecord {
                actor: actor.into(),
                action: action.into(),
                resource: resource.into(),
                outcome: outcome.into(),
                detail: detail.into(),
            }])
            .await?;
        v.pop()
            .ok_or_else(|| AuditError::Writer("nothing appended".into()))
    }

    /// Append records in one transaction (one fsync for all of them), signing a checkpoint
    /// whenever a multiple of the interval is reached. [`Store::begin_locked`] takes the write
    /// lock before the head is read, so appenders in other processes cannot fork the chain.
    pub async fn append_batch(
        &self,
        records: &[AuditRecord],
    ) -> Result<Vec<AuditEntry>, AuditError> {
        if records.is_empty() {
            return Ok(vec![]);
        }
        let key = crate::checkpoint::load_or_create_key(&self.key_dir())?;
        let mut tx = self
            .store
            .begin_locked(medinfra_store::LockedTable::AuditLog)
            .await?;
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (mut seq, mut prev) = match last {
            Some(r) => (r.try_get::<i64, _>("seq")?, r.try_get::<String, _>("hash")?),
            None => (0, GENESIS.to_string()),
        };
        let mut out = Vec::with_capacity(records.len());
        let mut due = Vec::new();
        for rec in records {
            seq += 1;
            let at = medinfra_store::now_rfc3339();
            let hash = entry_hash(
                &prev,
                seq,
                &at,
                &rec.actor,
                &rec.action,
                &rec.resource,
                &rec.outcome,
                &rec.detail,
            );
            if seq % self.checkpoint_every == 0 {
                due.push((seq, hash.clone()));
            }
            out.push(AuditEntry {
                seq,
                at,
                actor: rec.actor.clone(),
                action: rec.action.clone(),
                resource: rec.resource.clone(),
                outcome: rec.outcome.clone(),
                detail: rec.detail.clone(),
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
            });
        }
        // Many rows per statement: one round trip to SQLite per 100 entries, not per entry.
        for chunk in out.chunks(100) {
            let mut sql = String::from(
                "INSERT INTO audit_log (seq, at, actor, action, resource, outcome, detail, prev_hash, hash) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 9;
                sql.push_str(if i == 0 { "(" } else { ",(" });
                for k in 1..=9 {
                    sql.push_str(&format!("{}${}", if k == 1 { "" } else { "," }, b + k));
                }
                sql.push(')');
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                q = q
                    .bind(e.seq)
                    .bind(&e.at)
                    .bind(&e.actor)
                    .bind(&e.action)
                    .bind(&e.resource)
                    .bind(&e.outcome)
                    .bind(&e.detail)
                    .bind(&e.prev_hash)
                    .bind(&e.hash);
            }
            q.execute(&mut *tx).await?;
        }
        let mut signed = None;
        for (seq, hash) in due {
            signed = Some(sign_in(&mut tx, &key, seq, &hash).await?);
        }
        tx.commit().await?;
        if let Some(cp) = signed {
            crate::checkpoint::write_head(&self.key_dir(), &cp)?;
        }
        Ok(out)
    }

    /// Sign the current chain head now (no-op when it is already signed or the log is empty).
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, AuditError> {
        let key = crate::checkpoint::load_or_create_key(&self.key_dir())?;
        let mut tx = self
            .store
            .begin_locked(medinfra_store::LockedTable::AuditLog)
            .await?;
        let Some(last) = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let seq: i64 = last.try_get("seq")?;
        let done = sqlx::query("SELECT 1 FROM audit_checkpoints WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if done {
            return Ok(None);
        }
        let cp = sign_in(&mut tx, &key, seq, &last.try_get::<String, _>("hash")?).await?;
        tx.commit().await?;
        crate::checkpoint::write_head(&self.key_dir(), &cp)?;
        Ok(Some(cp))
    }

    /// Checkpoints, oldest first.
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>, AuditError> {
        sqlx::query("SELECT seq, hash, at, mac FROM audit_checkpoints ORDER BY seq")
            .fetch_all(self.store.pool())
            .await?
            .iter()
            .map(|r| {
                Ok(Checkpoint {
                    seq: r.try_get("seq")?,
                    hash: r.try_get("hash")?,
                    at: r.try_get("at")?,
                    mac: r.try_get("mac")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(AuditError::from)
    }

    /// Entries, oldest first (the last `limit` when given).
    pub async fn entries(&self, limit: Option<i64>) -> Result<Vec<AuditEntry>, AuditError> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT * FROM audit_log ORDER BY seq DESC LIMIT $1) AS tail ORDER BY seq",
        )
        .bind(limit.unwrap_or(i64::MAX))
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(entry_of)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(AuditError::from)
    }

    /// The chain's head now (none for an empty log), to keep outside the data directory.
    pub async fn anchor(&self) -> Result<Option<Anchor>, AuditError> {
        Ok(self.entries(None).await?.last().map(|e| Anchor {
            seq: e.seq,
            hash: e.hash.clone(),
            at: medinfra_store::now_rfc3339(),
        }))
    }

    /// [`AuditLog::verify`], and every anchor kept outside must still be in the chain with
    /// its hash: catches the entries since the last checkpoint being cut, and a chain
    /// rewritten and re-signed with the key beside it.
    pub async fn verify_with_anchors(
        &self,
        anchors: &[Anchor],
    ) -> Result<(u64, Option<AuditProblem>), AuditError> {
        let (ok, problem) = self.verify().await?;
        let entries = self.entries(None).await?;
        let last = entries.last().map_or(0, |e| e.seq);
        let mut found: Option<AuditProblem> = None;
        for a in anchors {
            let p = match entries.iter().find(|e| e.seq == a.seq) {
                None => Some(AuditProblem {
                    seq: last + 1,
                    reason: format!(
                        "truncated: the chain ends at entry {last}, but entry {} was anchored at {}",
                        a.seq, a.at
                    ),
                }),
                Some(e) if e.hash != a.hash => Some(AuditProblem {
                    seq: a.seq,
                    reason: format!(
                        "rewritten: entry {} differs from its anchor of {}",
                        a.seq, a.at
                    ),
                }),
                Some(_) => None,
            };
            if let Some(p) = p
                && found.as_ref().is_none_or(|f| p.seq < f.seq)
            {
                found = Some(p);
            }
        }
        Ok(match (problem, found) {
            (Some(a), Some(b)) => {
                let first = if b.seq < a.seq { b } else { a };
                let ok = entries.iter().take_while(|e| e.seq < first.seq).count() as u64;
                (ok, Some(first))
            }
            (None, Some(b)) => {
                let ok = entries.iter().take_while(|e| e.seq < b.seq).count() as u64;
                (ok, Some(b))
            }
            (p, None) => (ok, p),
        })
    }

    /// Walk the chain and the signed checkpoints; returns the number of entries that verified
    /// before the first problem, and the first bad entry, if any.
    pub async fn verify(&self) -> Result<(u64, Option<AuditProblem>), AuditError> {
        let entries = self.entries(None).await?;
        let chain = verify_chain(&entries);
        let checkpoints = self.checkpoints().await?;
        let key = crate::checkpoint::load_key(&self.key_dir())?;
        let head = crate::checkpoint::read_head(&self.key_dir());
        let signed = verify_checkpoints(&entries, &checkpoints, key.as_ref(), head);
        // The first bad entry is the lower of what the chain and the checkpoints found.
        let problem = match (chain, signed) {
            (Some(a), Some(b)) => Some(if b.seq < a.seq { b } else { a }),
            (a, b) => a.or(b),
        };
        let ok = match &problem {
            Some(p) => entries.iter().take_while(|e| e.seq < p.seq).count() as u64,
            None => entries.len() as u64,
        };
        Ok((ok, problem))
    }
}

async fn sign_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    key: &crate::checkpoint::CheckpointKey,
    seq: i64,
    hash: &str,
) -> Result<Checkpoint, AuditError> {
    let prev_mac: String =
        sqlx::query("SELECT mac FROM audit_checkpoints WHERE seq < $1 ORDER BY seq DESC LIMIT 1")
            .bind(seq)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get("mac"))
            .transpose()?
            .unwrap_or_default();
    let at = medinfra_store::now_rfc3339();
    let mac = key.mac(seq, hash, &at, &prev_mac);
    sqlx::query("INSERT INTO audit_checkpoints (seq, hash, at, mac) VALUES ($1, $2, $3, $4)")
        .bind(seq)
        .bind(hash)
        .bind(&at)
        .bind(&mac)
        .execute(&mut **tx)
        .await?;
    Ok(Checkpoint {
        seq,
        hash: hash.into(),
        at,
        mac,
    })
}

fn verify_chain(entries: &[AuditEntry]) -> Option<AuditProblem> {
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        let problem = |reason: String| Some(AuditProblem { seq: e.seq, reason });
        if e.seq != expected_seq {
            return problem(format!("entry {expected_seq} is missing (deleted)"));
        }
        if e.prev_hash != prev {
            return problem(
                "does not chain to the previous entry (deleted, inserted or reordered)".into(),
            );
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
            return problem("content does not match its hash (edited)".into());
        }
        prev = e.hash.clone();
    }
    None
}

fn verify_checkpoints(
    entries: &[AuditEntry],
    checkpoints: &[Checkpoint],
    key: Option<&crate::checkpoint::CheckpointKey>,
    head: Option<Checkpoint>,
) -> Option<AuditProblem> {
    let last_seq = entries.last().map(|e| e.seq).unwrap_or(0);
    let problem = |seq: i64, reason: String| Some(AuditProblem { seq, reason });
    // The head file names the newest checkpoint ever signed: the table must still hold it.
    if let Some(h) = &head
        && !checkpoints.iter().any(|c| c == h)
    {
        let after = checkpoints
            .iter()
            .filter(|c| c.seq < h.seq)
            .map(|c| c.seq)
            .max()
            .unwrap_or(0);
        return problem(
            after + 1,
            format!(
                "signed checkpoint at entry {} was deleted or altered (the checkpoint head file still holds it)",
                h.seq
            ),
        );
    }
    if checkpoints.is_empty() {
        return None;
    }
    let Some(key) = key else {
        return problem(
            checkpoints[0].seq,
            "checkpoints exist but the checkpoint key is missing".into(),
        );
    };
    let mut prev_mac = String::new();
    let mut prev_seq = 0;
    for c in checkpoints {
        if !key.verify(c.seq, &c.hash, &c.at, &prev_mac, &c.mac) {
            return problem(
                prev_seq + 1,
                format!(
                    "signed checkpoint at entry {} is forged or altered (its MAC does not verify)",
                    c.seq
                ),
            );
        }
        if c.seq > last_seq {
            return problem(
                last_seq + 1,
                format!(
                    "entry {} is missing: the log was truncated (a signed checkpoint covers entry {})",
                    last_seq + 1,
                    c.seq
                ),
            );
        }
        match entries.iter().find(|e| e.seq == c.seq) {
            Some(e) if e.hash == c.hash => {}
            _ => {
                return problem(
                    prev_seq + 1,
                    format!(
                        "entries {}..={} were rewritten: entry {} differs from its signed checkpoint",
                        prev_seq + 1,
                        c.seq,
                        c.seq
                    ),
                );
            }
        }
        prev_mac = c.mac.clone();
        prev_seq = c.seq;
    }
    None
}
