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
    let path = v1.dir.join("other/part-00003.parquet");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let report = store.verify("demo", Some(1)).await.unwrap();
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].path, "other/part-00003.parquet");
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
    {
        let store = Store::open(dir.path()).await.unwrap();
        let b = batch(5);
        let w = store.begin("keep", Tier::Sample, lineage("a")).unwrap();
        w.write_table("t", b.schema(), [&b]).unwrap();
        w.commit().await.unwrap();
        let w = store.begin("gone", Tier::Sample, lineage("a")).unwrap();
        w.write_table("t", b.schema(), [&b]).unwrap();
        // Simulate a crash: the writer's files stay in staging (forget skips its Drop).
        std::mem::forget(w);
    }
    // Simulate a crash between rename and catalog commit.
    std::fs::create_dir_all(dir.path().join("datasets/keep/v2-dead")).unwrap();
    std::fs::write(
        dir.path().join("datasets/keep/v2-dead/manifest.json"),
        b"{}",
    )
    .unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path().join("staging"))
            .unwrap()
            .count(),
        1
    );

    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path().join("staging"))
            .unwrap()
            .count(),
        0
    );
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
