//! Bulk delivery (`ingest_many`): many providers read in parallel and committed together,
//! yet each provider is its own submission — its own dataset version and submission records,
//! its bad file rejected alone — and a failed batch commits nothing.

use std::path::{Path, PathBuf};

use medinfra_ingest::{FileStatus, IngestError, IngestOptions, ingest_many};
use medinfra_model::Tier;
use medinfra_store::{Lineage, Store, StoreError};

/// japan.md §10.1's example receipt file for facility `facility` (7 digits, prefecture 13,
/// 医科), billing `month`; `points` is the GO total (318 is right).
fn receipt_file(facility: &str, month: &str, points: u32) -> String {
    let mut s = format!("IR,1,13,1,{facility},,テスト総合病院,{month},00,0399999999\n");
    s.push_str(&format!("RE,1,1112,{month},試験　太郎,1,19800115,,,,,,,P0000001,,,,,,,,,,,,,,,,,,,,,,,シケン　タロウ,\n"));
    s.push_str("HO,06139999,１２３,４５６７,2,318,,,,,,,,,\n");
    s.push_str("SY,0000999,20240401,1,,テスト病名,01,\n");
    s.push_str("SI,12,1,112007410,,75,2,,,,,,,,,1,,,,,,,,,,,,,,1,,,,,,,,,,,,,,\n");
    s.push_str("IY,21,1,620000000,2,12,14,,,,,,,,,14,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n");
    s.push_str(&format!("GO,1,{points},99\n"));
    s
}

/// The same file without its GO trailer: structural damage, rejected whole.
fn broken_file(facility: &str, month: &str) -> String {
    receipt_file(facility, month, 318)
        .lines()
        .filter(|l| !l.starts_with("GO"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let crlf = text.replace('\n', "\r\n");
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(&crlf);
    assert!(!bad);
    let p = dir.join(name);
    std::fs::write(&p, &bytes).unwrap();
    p
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Provider A: one good file. B: a good file and a broken one. C: only a broken file.
fn delivery(dir: &Path) -> Vec<(String, Vec<PathBuf>)> {
    vec![
        (
            "1311111111".into(),
            vec![write(dir, "a.UKE", &receipt_file("1111111", "202404", 318))],
        ),
        (
            "1312222222".into(),
            vec![
                write(dir, "b1.UKE", &receipt_file("2222222", "202404", 318)),
                write(dir, "b2.UKE", &broken_file("2222222", "202405")),
            ],
        ),
        (
            "1313333333".into(),
            vec![write(dir, "c.UKE", &broken_file("3333333", "202404"))],
        ),
    ]
}

#[tokio::test]
async fn each_provider_is_its_own_submission_in_a_shared_commit() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let opts = IngestOptions::new("0000000000");
    let out = ingest_many(&store, &opts, delivery(input.path()), 2, &|_, _| {})
        .await
        .unwrap();
    let ids: Vec<&str> = out.iter().map(|o| o.provider_id.as_str()).collect();
    assert_eq!(ids, ["1311111111", "1312222222", "1313333333"]);

    // A: accepted into its own dataset.
    assert_eq!(out[0].version, Some(1));
    assert_eq!(out[0].dataset, "provider-1311111111");
    assert_eq!(out[0].version_rows["claims"], 1);
    // B: its broken file rejected alone, its good file committed.
    assert_eq!(out[1].version, Some(1));
    let status: Vec<FileStatus> = out[1].files.iter().map(|f| f.status).collect();
    assert_eq!(status, [FileStatus::Accepted, FileStatus::Rejected]);
    assert!(out[1].files[1].rejection.is_some());
    // C: nothing accepted, no dataset, but its rejected file is on record.
    assert_eq!(out[2].version, None);
    assert_eq!(out[2].files[0].status, FileStatus::Rejected);

    let names: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["provider-1311111111", "provider-1312222222"]);
    for name in &names {
        assert!(store.verify(name, None).await.unwrap().ok());
        let m = store
            .read_manifest(&store.version(name, None).await.unwrap())
            .unwrap();
        assert_eq!(
            m.lineage.parameters["provider_id"],
            name.trim_start_matches("provider-")
        );
    }
    // Submissions are traceable per provider, to the version holding their rows.
    let b = store.submissions("1312222222").await.unwrap();
    let b: Vec<(&str, Option<&str>, Option<i64>)> = b
        .iter()
        .map(|s| (s.status.as_str(), s.dataset.as_deref(), s.version))
        .collect();
    assert_eq!(
        b,
        [
            ("accepted", Some("provider-1312222222"), Some(1)),
            ("rejected", Some("provider-1312222222"), Some(1)),
        ]
    );
    let c = store.submissions("1313333333").await.unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!((c[0].status.as_str(), c[0].version), ("rejected", None));
    assert_eq!(count(&data.path().join("staging")), 0);

    // The same delivery again: every accepted file is a duplicate, no new version.
    let again = ingest_many(&store, &opts, delivery(input.path()), 1, &|_, _| {})
        .await
        .unwrap();
    assert!(again.iter().all(|o| o.version.is_none()));
    assert_eq!(again[0].files[0].status, FileStatus::Duplicate);
    assert_eq!(
        store.versions("provider-1311111111").await.unwrap().len(),
        1
    );

    // A corrected file for A's month gives A a second version; B is untouched.
    let corrected = vec![(
        "1311111111".to_string(),
        vec![write(
            input.path(),
            "a2.UKE",
            &receipt_file("1111111", "202404", 318).replace("P0000001", "P0000009"),
        )],
    )];
    let out = ingest_many(&store, &opts, corrected, 0, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out[0].version, Some(2));
    assert_eq!(out[0].version_rows["claims"], 1, "the correction replaces");
    assert_eq!(
        store.versions("provider-1312222222").await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_failed_batch_commits_nothing() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    // Provider B's dataset already exists at another tier: its commit must be refused, and
    // with it the whole batch (A's good file and C's rejection record too).
    let w = store
        .begin("provider-1312222222", Tier::Sample, Lineage::default())
        .unwrap();
    w.commit().await.unwrap();
    let opts = IngestOptions::new("0000000000");
    let err = ingest_many(&store, &opts, delivery(input.path()), 2, &|_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, IngestError::Store(StoreError::TierChange { .. })),
        "{err}"
    );
    let names: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["provider-1312222222"]);
    for p in ["1311111111", "1312222222", "1313333333"] {
        assert!(store.submissions(p).await.unwrap().is_empty(), "{p}");
    }
    assert_eq!(count(&data.path().join("staging")), 0);
    assert_eq!(count(&data.path().join("datasets/provider-1311111111")), 0);

    // Bad arguments are refused before anything is read.
    let twice = vec![
        ("1311111111".to_string(), vec![]),
        ("1311111111".to_string(), vec![]),
    ];
    assert!(
        ingest_many(&store, &opts, twice, 1, &|_, _| {})
            .await
            .is_err()
    );
    let bad_id = vec![("13".to_string(), vec![])];
    assert!(matches!(
        ingest_many(&store, &opts, bad_id, 1, &|_, _| {}).await,
        Err(IngestError::BadProviderId)
    ));
}

/// More providers than one batch holds: the first batch commits while the second is read;
/// when the second fails, the first stays (complete) and nothing of the second appears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_commit_in_order_and_a_later_failure_keeps_the_earlier_batches() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let n = medinfra_ingest::BATCH_PROVIDERS + 20;
    let ids: Vec<String> = (0..n).map(|i| format!("131{i:07}")).collect();
    let delivery: Vec<(String, Vec<PathBuf>)> = ids
        .iter()
        .map(|id| {
            let file = write(
                input.path(),
                &format!("{id}.UKE"),
                &receipt_file(&id[3..], "202404", 318),
            );
            (id.clone(), vec![file])
        })
        .collect();
    // One provider of the second batch cannot commit (its dataset is at another tier).
    let spoiler = &ids[n - 5];
    let w = store
        .begin(
            &format!("provider-{spoiler}"),
            Tier::Sample,
            Lineage::default(),
        )
        .unwrap();
    w.commit().await.unwrap();
    let opts = IngestOptions::new("0000000000");
    let err = ingest_many(&store, &opts, delivery.clone(), 2, &|_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, IngestError::Store(StoreError::TierChange { .. })),
        "{err}"
    );
    for (i, id) in ids.iter().enumerate() {
        let versions = store
            .versions(&format!("provider-{id}"))
            .await
            .map(|v| v.len())
            .unwrap_or(0);
        let subs = store.submissions(id).await.unwrap().len();
        if i < medinfra_ingest::BATCH_PROVIDERS {
            assert_eq!((versions, subs), (1, 1), "provider {i} of the first batch");
        } else if id == spoiler {
            assert_eq!(
                (versions, subs),
                (1, 0),
                "the spoiler's own earlier version"
            );
        } else {
            assert_eq!((versions, subs), (0, 0), "provider {i} of the failed batch");
        }
    }
    assert_eq!(count(&data.path().join("staging")), 0);

    // Re-running the delivery without the spoiler takes the rest and skips the first batch.
    let rest: Vec<_> = delivery
        .into_iter()
        .filter(|(id, _)| id != spoiler)
        .collect();
    let out = ingest_many(&store, &opts, rest, 2, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out.len(), n - 1);
    let new = out.iter().filter(|o| o.version.is_some()).count();
    assert_eq!(new, n - 1 - medinfra_ingest::BATCH_PROVIDERS);
    let providers: Vec<&str> = out.iter().map(|o| o.provider_id.as_str()).collect();
    let mut sorted = providers.clone();
    sorted.sort();
    assert_eq!(providers, sorted, "outcomes in provider order");
}
