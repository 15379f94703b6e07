use std::sync::Arc;

use arrow::array::{Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use medinfra_model::Tier;
use medinfra_store::{Lineage, Store, StoreError};

fn batch(n: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("code", DataType::Utf8, false),
    ]));
    let ids: Vec<i64> = (0..n).collect();
    let codes: Vec<String> = ids.iter().map(|i| format!("C{i:04}")).collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(codes)),
        ],
    )
    .unwrap()
}

fn lineage(step: &str) -> Lineage {
    Lineage {
        step: step.into(),
        parameters: serde_json::json!({"n": 1}),
        inputs: vec![],
    }
}

#[tokio::test]
async fn commit_list_show_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let b = batch(100);
    let w = store.begin("demo", Tier::Sample, lineage("test")).unwrap();
    w.write_table("things", b.schema(), [&b]).unwrap();
    let mut p = w.part_writer("other", 3, b.schema()).unwrap();
    p.write(&b).unwrap();
    p.write(&b).unwrap();
    w.finish_part(p).unwrap();
    let v1 = w.commit().await.unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.tier, Tier::Sample);
    let rows: Vec<_> = v1
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t.rows))
        .collect();
    assert_eq!(rows, vec![("other", 200), ("things", 100)]);

    // Second version with lineage to the first.
    let mut l = lineage("derive");
    l.inputs.push(Store::input_ref(&v1));
    let w = store.begin("demo", Tier::Sample, l).unwrap();
    w.write_table("things", b.schema(), [&b]).unwrap();
    let v2 = w.commit().await.unwrap();
    assert_eq!(v2.version, 2);
    let m = store.read_manifest(&v2).unwrap();
    assert_eq!(m.lineage.inputs[0].manifest_sha256, v1.manifest_sha256);

    let list = store.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].versions, 2);
    assert_eq!(list[0].latest.version, 2);

    let report = store.verify("demo", Some(1)).await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.files_checked, 2);

    // Tamper with one byte of a committed file: verify must name it.
    let path = v1.dir.join("other.part-00003.parquet");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let report = store.verify("demo", Some(1)).await.unwrap();
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].path, "other.part-00003.parquet");
    assert!(report.problems[0].reason.contains("SHA-256"));

    // Editing the manifest is caught against the catalog's hash.
    let mpath = v2.dir.join("manifest.json");
    let text = std::fs::read_to_string(&mpath)
        .unwrap()
        .replace("\"rows\": 100", "\"rows\": 101");
    std::fs::write(&mpath, text).unwrap();
    let report = store.verify("demo", None).await.unwrap();
    assert!(report.problems.iter().any(|p| p.path == "manifest.json"));
}

#[tokio::test]
async fn a_dataset_never_changes_tier() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let b = batch(3);
    let w = store.begin("x", Tier::Identified, lineage("a")).unwrap();
    w.write_table("t", b.schema(), [&b]).unwrap();
    w.commit().await.unwrap();
    let w = store.begin("x", Tier::Sample, lineage("b")).unwrap();
    w.write_table("t", b.schema(), [&b]).unwrap();
    let err = w.commit().await.unwrap_err();
    assert!(matches!(err, StoreError::TierChange { .. }), "{err}");
    assert_eq!(store.versions("x").await.unwrap().len(), 1);
    // Nothing of the refused version remains on disk.
    let dirs = std::fs::read_dir(dir.path().join("datasets/x"))
        .unwrap()
        .count();
    assert_eq!(dirs, 1);
    assert_eq!(
        std::fs::read_dir(dir.path().join("staging"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn uncommitted_and_orphaned_versions_are_cleaned_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let live_staging;
    {
        let store = Store::open(dir.path()).await.unwrap();
        let b = batch(5);
        let w = store.begin("keep", Tier::Sample, lineage("a")).unwrap();
        w.write_table("t", b.schema(), [&b]).unwrap();
        w.commit().await.unwrap();
        // A writer still at work (here, or in another process or node) is left alone by
        // another open of the same directory: its staging lock is held.
        let w = store.begin("busy", Tier::Sample, lineage("a")).unwrap();
        w.write_table("t", b.schema(), [&b]).unwrap();
        live_staging = w.staging_dir().to_path_buf();
        let _other = Store::open(dir.path()).await.unwrap();
        assert!(live_staging.join("t.part-00000.parquet").exists());
        drop(w);
    }
    assert!(!live_staging.exists());
    // What crashed writers leave: staging directories nobody holds a lock on (the OS released
    // it with the process), one still under its `.`-name from creation (old enough), and
    // one that is not (left: a writer may be about to lock it).
    for name in ["gone-1-0-0", ".gone-1-0-1", ".young-1-0-2"] {
        std::fs::create_dir_all(dir.path().join("staging").join(name).join("t")).unwrap();
        std::fs::write(
            dir.path()
                .join("staging")
                .join(name)
                .join("t/part-0.parquet"),
            b"x",
        )
        .unwrap();
    }
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::open(dir.path().join("staging/.gone-1-0-1"))
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    // Simulate a crash between rename and catalog commit.
    std::fs::create_dir_all(dir.path().join("datasets/keep/v2-dead")).unwrap();
    std::fs::write(
        dir.path().join("datasets/keep/v2-dead/manifest.json"),
        b"{}",
    )
    .unwrap();

    let store = Store::open(dir.path()).await.unwrap();
    let left: Vec<_> = std::fs::read_dir(dir.path().join("staging"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, [".young-1-0-2"]);
    assert!(!dir.path().join("datasets/keep/v2-dead").exists());
    let list = store.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "keep");
    assert!(store.verify("keep", None).await.unwrap().ok());
}

#[tokio::test]
async fn bad_names_and_unknown_datasets_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    assert!(matches!(
        store.begin("../escape", Tier::Sample, lineage("a")),
        Err(StoreError::InvalidName(_))
    ));
    assert!(matches!(
        store.version("nope", None).await,
        Err(StoreError::NoSuchDataset(_))
    ));
    let b = batch(1);
    let w = store.begin("one", Tier::Sample, lineage("a")).unwrap();
    w.write_table("t", b.schema(), [&b]).unwrap();
    w.commit().await.unwrap();
    assert!(matches!(
        store.version("one", Some(7)).await,
        Err(StoreError::NoSuchVersion { version: 7, .. })
    ));
}

/// Several versions committed together: one transaction, all visible, each verifiable.
#[tokio::test]
async fn commit_all_makes_many_versions_visible_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let b = batch(10);
    let w = store.begin("a", Tier::Identified, lineage("x")).unwrap();
    w.write_table("t", b.schema(), [&b]).unwrap();
    w.commit().await.unwrap();
    let mut writers = Vec::new();
    for name in ["a", "b", "c"] {
        let w = store
            .begin(name, Tier::Identified, lineage("bulk"))
            .unwrap();
        // Two parts of one table: the table directory is created once.
        for part in 0..2 {
            let mut p = w.part_writer("t", part, b.schema()).unwrap();
            p.write(&b).unwrap();
            w.finish_part(p).unwrap();
        }
        w.write_table("u", b.schema(), [&b]).unwrap();
        writers.push(w);
    }
    let infos = store.commit_all(writers, &[]).await.unwrap();
    let got: Vec<(&str, i64)> = infos
        .iter()
        .map(|i| (i.dataset.as_str(), i.version))
        .collect();
    assert_eq!(got, [("a", 2), ("b", 1), ("c", 1)]);
    for info in &infos {
        // What commit_all returns is what the catalog says.
        let again = store
            .version(&info.dataset, Some(info.version))
            .await
            .unwrap();
        assert_eq!(again.manifest_sha256, info.manifest_sha256);
        assert_eq!(again.dir, info.dir);
        let tables: Vec<(String, i64, i64)> = again
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.rows, t.files))
            .collect();
        let returned: Vec<(String, i64, i64)> = info
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.rows, t.files))
            .collect();
        assert_eq!(tables, returned);
        assert_eq!(tables, [("t".into(), 20, 2), ("u".into(), 10, 1)]);
        let report = store
            .verify(&info.dataset, Some(info.version))
            .await
            .unwrap();
        assert!(report.ok(), "{:?}", report.problems);
        assert_eq!(report.files_checked, 3);
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("staging"))
            .unwrap()
            .count(),
        0
    );
}

fn submission(status: &str) -> medinfra_store::Submission {
    medinfra_store::Submission {
        provider_id: "1319999999".into(),
        file_name: "f".into(),
        file_sha256: "00".repeat(32),
        bytes: 1,
        kind: "uke-medical".into(),
        billing_month: None,
        status: status.into(),
        receipts_accepted: 0,
        receipts_quarantined: 0,
        findings: 0,
        dataset: None,
        version: None,
        submitted_at: "2024-01-01T00:00:00Z".into(),
    }
}

/// A batch is all or nothing: a refusal before the rename (tier change) and a failure of the
/// catalog transaction after it (a submission the catalog refuses) both leave no version of
/// the batch, no directory, and nothing in staging.
#[tokio::test]
async fn commit_all_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let b = batch(3);
    let w = store.begin("x", Tier::Sample, lineage("a")).unwrap();
    w.write_table("t", b.schema(), [&b]).unwrap();
    w.commit().await.unwrap();
    let nothing_new = |dir: &std::path::Path| {
        assert!(
            !dir.join("datasets/new").exists()
                || std::fs::read_dir(dir.join("datasets/new")).unwrap().count() == 0
        );
        assert_eq!(
            std::fs::read_dir(dir.join("datasets/x")).unwrap().count(),
            1
        );
        assert_eq!(std::fs::read_dir(dir.join("staging")).unwrap().count(), 0);
    };

    let writers = |tier_of_x: Tier| {
        let good = store.begin("new", Tier::Sample, lineage("b")).unwrap();
        good.write_table("t", b.schema(), [&b]).unwrap();
        let x = store.begin("x", tier_of_x, lineage("b")).unwrap();
        x.write_table("t", b.schema(), [&b]).unwrap();
        vec![good, x]
    };
    let err = store
        .commit_all(writers(Tier::Identified), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::TierChange { .. }), "{err}");
    assert!(store.version("new", None).await.is_err());
    nothing_new(dir.path());

    // The transaction fails after the directories were renamed: they are taken away again.
    let err = store
        .commit_all(writers(Tier::Sample), &[submission("bogus")])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Catalog(_)), "{err}");
    assert!(store.version("new", None).await.is_err());
    assert_eq!(store.versions("x").await.unwrap().len(), 1);
    nothing_new(dir.path());

    // The same dataset twice in one batch is refused.
    let one = store.begin("d", Tier::Sample, lineage("c")).unwrap();
    let two = store.begin("d", Tier::Sample, lineage("c")).unwrap();
    assert!(matches!(
        store.commit_all(vec![one, two], &[]).await,
        Err(StoreError::DuplicateInBatch(_))
    ));
    nothing_new(dir.path());

    // And a good batch with a rejected file's record commits both.
    let infos = store
        .commit_all(writers(Tier::Sample), &[submission("rejected")])
        .await
        .unwrap();
    assert_eq!(infos.len(), 2);
    assert_eq!(store.submissions("1319999999").await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_data_directory_stays_with_the_catalog_it_was_created_with() {
    use medinfra_store::CatalogLocation;
    // Never reached: each refusal comes before any connection.
    let postgres = CatalogLocation::Postgres("postgres://medinfra@127.0.0.1:1/none".into());

    let embedded = tempfile::tempdir().unwrap();
    Store::open_with(embedded.path(), &CatalogLocation::Embedded)
        .await
        .unwrap();
    let err = Store::open_with(embedded.path(), &postgres)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::CatalogConfig(m) if m.contains("catalog.sqlite")),
        "{err}"
    );

    let bound = tempfile::tempdir().unwrap();
    std::fs::write(
        bound.path().join("catalog.json"),
        r#"{"backend":"postgres","schema":"medinfra_0123456789abcdef"}"#,
    )
    .unwrap();
    let err = Store::open_with(bound.path(), &CatalogLocation::Embedded)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::CatalogConfig(m) if m.contains("postgres") && m.contains("medinfra_0123456789abcdef")),
        "{err}"
    );
    assert!(!bound.path().join("catalog.sqlite").exists());

    // The schema name goes into SQL: anything but the form the store writes is refused.
    std::fs::write(
        bound.path().join("catalog.json"),
        r#"{"backend":"postgres","schema":"public; DROP TABLE users"}"#,
    )
    .unwrap();
    let err = Store::open_with(bound.path(), &postgres).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::CatalogConfig(m) if m.contains("16 hex digits")),
        "{err}"
    );
}

/// Parts are written flat (`TABLE.part-NAME.parquet`); parts carried from a version in the
/// earlier nested layout (`TABLE/part-NAME.parquet`) keep their path and verify; anything
/// else is refused.
#[tokio::test]
async fn flat_parts_and_carried_nested_parts_both_commit_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let b = batch(4);
    let w = store.begin("flat", Tier::Sample, lineage("a")).unwrap();
    w.write_table("t", b.schema(), [&b]).unwrap();
    let v1 = w.commit().await.unwrap();
    let m1 = store.read_manifest(&v1).unwrap();
    let flat = &m1.table("t").unwrap().files[0];
    assert_eq!(flat.path, "t.part-00000.parquet");
    assert!(v1.dir.join(&flat.path).is_file());
    assert!(!v1.dir.join("t").exists());

    // An older version's nested part, as the manifest of such a version lists it.
    let old = tempfile::tempdir().unwrap();
    std::fs::create_dir(old.path().join("t")).unwrap();
    std::fs::copy(
        v1.dir.join(&flat.path),
        old.path().join("t/part-00007.parquet"),
    )
    .unwrap();
    let nested = medinfra_store::FileEntry {
        path: "t/part-00007.parquet".into(),
        ..flat.clone()
    };
    let w = store.begin("flat", Tier::Sample, lineage("b")).unwrap();
    w.carry_part("t", b.schema(), &v1.dir, flat).unwrap();
    w.carry_part("t", b.schema(), old.path(), &nested).unwrap();
    for bad in [
        "u.part-00000.parquet",
        "t/../../x.parquet",
        "tt.part-0.parquet",
    ] {
        let entry = medinfra_store::FileEntry {
            path: bad.into(),
            ..flat.clone()
        };
        assert!(
            w.carry_part("t", b.schema(), &v1.dir, &entry).is_err(),
            "{bad}"
        );
    }
    let v2 = w.commit().await.unwrap();
    assert_eq!(v2.tables[0].rows, 8);
    let report = store.verify("flat", Some(2)).await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.files_checked, 2);
}

/// A part carried by hard link from a committed version shares that version's file. Writing a
/// part under the same name must fail, never truncate the shared file (which would rewrite the
/// committed version behind its manifest's back).
#[tokio::test]
async fn a_new_part_never_overwrites_a_carried_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let b = batch(4);
    let w = store.begin("shared", Tier::Sample, lineage("a")).unwrap();
    let mut p = w.named_part_writer("t", "run-000001", b.schema()).unwrap();
    p.write(&b).unwrap();
    w.finish_part(p).unwrap();
    let v1 = w.commit().await.unwrap();
    let entry = store.read_manifest(&v1).unwrap().table("t").unwrap().files[0].clone();

    let w = store.begin("shared", Tier::Sample, lineage("b")).unwrap();
    w.carry_part("t", b.schema(), &v1.dir, &entry).unwrap();
    assert!(
        w.named_part_writer("t", "run-000001", b.schema()).is_err(),
        "a second part under a carried part's name is refused"
    );
    drop(w);
    let report = store.verify("shared", Some(1)).await.unwrap();
    assert!(report.ok(), "v1 is intact: {:?}", report.problems);
}

/// Finding 7 of the attack on the served demo: the catalog (password hashes) and identified
/// Parquet were created 0644 in 0755 directories, readable by every account on the machine.
#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_catalog_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    // Even a directory someone created world-readable beforehand.
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = Store::open_with(&root, &medinfra_store::CatalogLocation::Embedded)
        .await
        .unwrap();
    let w = store
        .begin("ids", Tier::Identified, lineage("test"))
        .unwrap();
    let b = batch(3);
    w.write_table("t", b.schema(), [&b]).unwrap();
    w.commit().await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join("catalog.sqlite")), 0o600);
    for extra in ["catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let p = root.join(extra);
        if p.exists() {
            assert_eq!(mode(&p) & 0o077, 0, "{extra} is readable by others");
        }
    }
}
