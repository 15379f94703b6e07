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
