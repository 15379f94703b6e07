//! The audit chain finds every kind of tampering and names the first bad entry.

use medinfra_govern::AuditLog;
use medinfra_store::Store;

async fn log_with(n: usize) -> (tempfile::TempDir, Store, AuditLog) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let log = AuditLog::new(&store);
    for i in 0..n {
        log.append(
            "cli:operator",
            "read",
            &format!("dataset d{i} v1"),
            "allowed",
            "rule operator-runs-pipeline",
        )
        .await
        .unwrap();
    }
    (dir, store, log)
}

async fn exec(store: &Store, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn intact_chain_verifies() {
    let (_d, _s, log) = log_with(6).await;
    let (n, problem) = log.verify().await.unwrap();
    assert_eq!((n, problem), (6, None));
    let e = log.entries(Some(2)).await.unwrap();
    assert_eq!(e.iter().map(|x| x.seq).collect::<Vec<_>>(), vec![5, 6]);
    assert_eq!(e[1].prev_hash, e[0].hash);
}

#[tokio::test]
async fn edited_entry_is_named() {
    let (_d, store, log) = log_with(6).await;
    exec(
        &store,
        "UPDATE audit_log SET outcome = 'denied' WHERE seq = 3",
    )
    .await;
    let (_, p) = log.verify().await.unwrap();
    let p = p.unwrap();
    assert_eq!(p.seq, 3);
    assert!(p.reason.contains("edited"));
}

#[tokio::test]
async fn rewritten_hash_is_caught_by_the_successor() {
    let (_d, store, log) = log_with(6).await;
    // An attacker who edits entry 3 and writes a new hash for it still breaks the link that
    // entry 4 holds to the old hash (and cannot forge entry 3's hash from its content).
    exec(
        &store,
        &format!(
            "UPDATE audit_log SET detail = 'x', hash = '{}' WHERE seq = 3",
            "0".repeat(64)
        ),
    )
    .await;
    let (_, p) = log.verify().await.unwrap();
    assert_eq!(p.unwrap().seq, 3);
}

#[tokio::test]
async fn deleted_entry_is_named() {
    let (_d, store, log) = log_with(6).await;
    exec(&store, "DELETE FROM audit_log WHERE seq = 4").await;
    let (n, p) = log.verify().await.unwrap();
    let p = p.unwrap();
    assert_eq!((n, p.seq), (3, 5));
    assert!(p.reason.contains("entry 4 is missing"));
}

#[tokio::test]
async fn reordered_entries_are_named() {
    let (_d, store, log) = log_with(6).await;
    // Swap the contents (not the sequence numbers) of entries 2 and 3.
    exec(&store, "UPDATE audit_log SET seq = -2 WHERE seq = 2").await;
    exec(&store, "UPDATE audit_log SET seq = 2 WHERE seq = 3").await;
    exec(&store, "UPDATE audit_log SET seq = 3 WHERE seq = -2").await;
    let (_, p) = log.verify().await.unwrap();
    let p = p.unwrap();
    assert_eq!(p.seq, 2);
    assert!(p.reason.contains("chain"));
}

#[tokio::test]
async fn renumbered_deletion_is_named() {
    let (_d, store, log) = log_with(6).await;
    // Delete entry 4 and renumber the rest so the sequence looks complete.
    exec(&store, "DELETE FROM audit_log WHERE seq = 4").await;
    exec(&store, "UPDATE audit_log SET seq = seq - 1 WHERE seq > 4").await;
    let (_, p) = log.verify().await.unwrap();
    assert_eq!(p.unwrap().seq, 4);
}

// ---- signed checkpoints ----

use medinfra_govern::AuditRecord;
use sha2::{Digest, Sha256};

async fn checkpointed(n: usize, every: i64) -> (tempfile::TempDir, Store, AuditLog) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let log = AuditLog::with_checkpoint_interval(&store, every);
    let recs: Vec<AuditRecord> = (0..n)
        .map(|i| AuditRecord {
            actor: format!("u{}", i % 3),
            action: "read".into(),
            resource: format!("dataset d{i} v1"),
            outcome: "allowed".into(),
            detail: "rule x".into(),
        })
        .collect();
    // Two batches, so checkpoints are made inside and across batches.
    log.append_batch(&recs[..n / 2]).await.unwrap();
    log.append_batch(&recs[n / 2..]).await.unwrap();
    (dir, store, log)
}

/// The chain hash as an attacker with database access would recompute it (the function is
/// public knowledge; only the checkpoint key is secret).
fn rehash(prev: &str, seq: i64, row: &[String; 6]) -> String {
    let mut h = Sha256::new();
    let seq = seq.to_string();
    let parts = [
        prev, &seq, &row[0], &row[1], &row[2], &row[3], &row[4], &row[5],
    ];
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Rewrite entries from `from` on: change the detail of `from`, recompute every hash after it.
async fn rewrite_chain_from(store: &Store, log: &AuditLog, from: i64) {
    let entries = log.entries(None).await.unwrap();
    let mut prev = entries[(from - 2) as usize].hash.clone();
    for e in entries.iter().filter(|e| e.seq >= from) {
        let detail = if e.seq == from {
            "rule forged".to_string()
        } else {
            e.detail.clone()
        };
        let row = [
            e.at.clone(),
            e.actor.clone(),
            e.action.clone(),
            e.resource.clone(),
            e.outcome.clone(),
            detail.clone(),
        ];
        let h = rehash(&prev, e.seq, &row);
        sqlx::query("UPDATE audit_log SET detail = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(&detail)
            .bind(&prev)
            .bind(&h)
            .bind(e.seq)
            .execute(store.pool())
            .await
            .unwrap();
        prev = h;
    }
}

#[tokio::test]
async fn checkpoints_are_signed_at_the_interval_and_verify() {
    let (_d, _s, log) = checkpointed(23, 5).await;
    let cps = log.checkpoints().await.unwrap();
    assert_eq!(
        cps.iter().map(|c| c.seq).collect::<Vec<_>>(),
        vec![5, 10, 15, 20]
    );
    assert_eq!(log.verify().await.unwrap(), (23, None));
    // An explicit checkpoint signs the head; a second one is a no-op.
    assert_eq!(log.checkpoint().await.unwrap().map(|c| c.seq), Some(23));
    assert_eq!(log.checkpoint().await.unwrap(), None);
    assert_eq!(log.verify().await.unwrap(), (23, None));
}

#[tokio::test]
async fn a_recomputed_chain_is_caught_by_the_checkpoint() {
    let (_d, store, log) = checkpointed(23, 5).await;
    // Without checkpoints this rewrite would verify: every hash is recomputed.
    rewrite_chain_from(&store, &log, 7).await;
    let (n, p) = log.verify().await.unwrap();
    let p = p.unwrap();
    // Entries up to the last intact checkpoint (5) are vouched for; 6 is the first that is not.
    assert_eq!((n, p.seq), (5, 6));
    assert!(p.reason.contains("rewritten"), "{}", p.reason);
}

#[tokio::test]
async fn a_forged_checkpoint_is_named() {
    let (_d, store, log) = checkpointed(23, 5).await;
    rewrite_chain_from(&store, &log, 7).await;
    // The attacker also points the checkpoint at the new head hash, but cannot compute its MAC.
    exec(
        &store,
        "UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit_log WHERE seq = 10) WHERE seq = 10",
    )
    .await;
    let (_, p) = log.verify().await.unwrap();
    let p = p.unwrap();
    assert_eq!(p.seq, 6);
    assert!(p.reason.contains("forged"), "{}", p.reason);
}

#[tokio::test]
async fn truncating_the_tail_after_a_checkpoint_is_named() {
    let (_d, store, log) = checkpointed(23, 5).await;
    exec(&store, "DELETE FROM audit_log WHERE seq >= 9").await;
    let (n, p) = log.verify().await.unwrap();
    let p = p.unwrap();
    assert_eq!((n, p.seq), (8, 9));
    assert!(p.reason.contains("truncated"), "{}", p.reason);
}

#[tokio::test]
async fn deleting_checkpoints_with_the_tail_is_named() {
    let (_d, store, log) = checkpointed(23, 5).await;
    exec(&store, "DELETE FROM audit_log WHERE seq >= 12").await;
    exec(&store, "DELETE FROM audit_checkpoints WHERE seq >= 15").await;
    // The head file outside the database still names checkpoint 20.
    let (_, p) = log.verify().await.unwrap();
    let p = p.unwrap();
    assert_eq!(p.seq, 11);
    assert!(p.reason.contains("deleted"), "{}", p.reason);
}

#[tokio::test]
async fn an_inserted_entry_is_named_at_its_successor() {
    let (_d, store, log) = log_with(6).await;
    // Make room after entry 3 and insert a well-formed entry 4 chained to entry 3.
    exec(
        &store,
        "UPDATE audit_log SET seq = -(seq + 1) WHERE seq > 3",
    )
    .await;
    exec(&store, "UPDATE audit_log SET seq = -seq WHERE seq < 0").await;
    let e3 = log.entries(None).await.unwrap()[2].clone();
    let row = [
        e3.at.clone(),
        "attacker".to_string(),
        "read".to_string(),
        "dataset x v1".to_string(),
        "allowed".to_string(),
        "rule y".to_string(),
    ];
    let h = rehash(&e3.hash, 4, &row);
    sqlx::query("INSERT INTO audit_log (seq, at, actor, action, resource, outcome, detail, prev_hash, hash) VALUES (4, $1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&row[0]).bind(&row[1]).bind(&row[2]).bind(&row[3]).bind(&row[4]).bind(&row[5])
        .bind(&e3.hash).bind(&h)
        .execute(store.pool()).await.unwrap();
    let (_, p) = log.verify().await.unwrap();
    // The inserted entry is self-consistent; the chain breaks at the entry after it.
    assert_eq!(p.unwrap().seq, 5);
}

#[tokio::test]
async fn a_missing_checkpoint_key_is_reported() {
    let (d, _s, log) = checkpointed(12, 5).await;
    std::fs::remove_file(d.path().join("audit/checkpoint.key")).unwrap();
    let (_, p) = log.verify().await.unwrap();
    assert!(p.unwrap().reason.contains("key is missing"));
}

#[tokio::test]
async fn concurrent_appenders_keep_one_chain() {
    let (_d, store, _log) = log_with(0).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let log = AuditLog::with_checkpoint_interval(&store, 7);
        tasks.push(tokio::spawn(async move {
            log.append("u", "read", &format!("r{i}"), "allowed", "")
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let writer = medinfra_govern::AuditWriter::spawn(AuditLog::with_checkpoint_interval(&store, 7));
    let mut tasks = Vec::new();
    for i in 0..200 {
        let w = writer.clone();
        tasks.push(tokio::spawn(async move {
            w.append(AuditRecord {
                actor: "w".into(),
                action: "read".into(),
                resource: format!("r{i}"),
                outcome: "allowed".into(),
                detail: String::new(),
            })
            .await
            .unwrap()
            .seq
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs.len(), 200);
    let log = AuditLog::new(&store);
    assert_eq!(log.verify().await.unwrap(), (240, None));
    assert_eq!(log.checkpoints().await.unwrap().len(), 240 / 7);
}
