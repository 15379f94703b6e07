//! Ingest end to end against a real store: the §10.1 example, duplicates, corrected
//! re-submissions, quarantined receipts, rejected files, and nothing half-committed.

use std::path::{Path, PathBuf};

use medinfra_ingest::{FileStatus, IngestOptions, ingest};
use medinfra_store::Store;

const PROVIDER: &str = "1319999999";

/// japan.md §10.1, with one more receipt (a second patient) when `second` is set.
fn example(month: &str, second: Option<&str>) -> String {
    let mut s = format!("IR,1,13,1,9999999,,テスト総合病院,{month},00,0399999999\n");
    s.push_str(&format!("RE,1,1112,{month},試験　太郎,1,19800115,,,,,,,P0000001,,,,,,,,,,,,,,,,,,,,,,,シケン　タロウ,\n"));
    s.push_str("HO,06139999,１２３,４５６７,2,318,,,,,,,,,\n");
    s.push_str("SY,0000999,20240401,1,,テスト病名,01,\n");
    s.push_str("SI,12,1,112007410,,75,2,,,,,,,,,1,,,,,,,,,,,,,,1,,,,,,,,,,,,,,\n");
    s.push_str("IY,21,1,620000000,2,12,14,,,,,,,,,14,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n");
    s.push_str("CO,21,1,810000001,１日２回朝夕食後\n");
    let mut receipts = 1;
    let mut points = 318;
    if let Some(start) = second {
        s.push_str(&format!("RE,2,1112,{month},見本　花子,2,19750301,,,,,,,P0000002,,,,,,,,,,,,,,,,,,,,,,,ミホン　ハナコ,\n"));
        s.push_str("HO,01130012,12345678,12,1,75,,,,,,,,,\n");
        s.push_str(&format!("SY,0000999,{start},1,8002,テスト病名,01,\n"));
        s.push_str("SI,12,1,112007410,,75,1,,,,,,,,,1,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n");
        receipts += 1;
        points += 75;
    }
    s.push_str(&format!("GO,{receipts},{points},99\n"));
    s
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let crlf = text.replace('\n', "\r\n");
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(&crlf);
    assert!(!bad);
    let p = dir.join(name);
    std::fs::write(&p, &bytes).unwrap();
    p
}

async fn rows(store: &Store, table: &str) -> i64 {
    let v = store.version("provider-1319999999", None).await.unwrap();
    v.tables
        .iter()
        .find(|t| t.name == table)
        .map(|t| t.rows)
        .unwrap_or(0)
}

#[tokio::test]
async fn example_file_ingests_into_canonical_tables() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let f = write(
        input.path(),
        "RECEIPTC.UKE",
        &example("202404", Some("20240402")),
    );
    let out = ingest(&store, &IngestOptions::new(PROVIDER), &[f], &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out.version, Some(1));
    let file = &out.files[0];
    assert_eq!(file.status, FileStatus::Accepted, "{}", out.to_text());
    assert_eq!((file.receipts, file.receipts_accepted), (2, 2));
    assert_eq!(file.kind, "uke-medical");
    assert_eq!(file.billing_month.as_deref(), Some("202404"));
    // One claims row per RE, one diagnoses row per SY, one item row per SI/IY.
    for (table, n) in [
        ("claims", 2),
        ("diagnoses", 2),
        ("procedures", 2),
        ("drugs", 1),
        ("persons", 2),
        ("insurance_periods", 2),
    ] {
        assert_eq!(rows(&store, table).await, n, "{table}");
    }
    assert!(
        store
            .verify("provider-1319999999", None)
            .await
            .unwrap()
            .ok()
    );
    let subs = store.submissions(PROVIDER).await.unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].status, "accepted");
    assert_eq!(subs[0].version, Some(1));
}

#[tokio::test]
async fn duplicates_corrections_and_months() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let opts = IngestOptions::new(PROVIDER);
    let april = write(input.path(), "a.UKE", &example("202404", None));
    ingest(&store, &opts, std::slice::from_ref(&april), &|_, _| {})
        .await
        .unwrap();
    // The same content again: recognised, not ingested twice, no new version.
    let again = ingest(&store, &opts, &[april], &|_, _| {}).await.unwrap();
    assert_eq!(again.files[0].status, FileStatus::Duplicate);
    assert_eq!(again.version, None);
    assert_eq!(rows(&store, "claims").await, 1);
    // Another month adds to it.
    let may = write(input.path(), "b.UKE", &example("202405", None));
    let out = ingest(&store, &opts, &[may], &|_, _| {}).await.unwrap();
    assert_eq!(out.version, Some(2));
    assert_eq!(rows(&store, "claims").await, 2);
    // A corrected April file replaces the earlier April file in the next version.
    let april_fixed = write(input.path(), "a2.UKE", &example("202404", Some("20240403")));
    let out = ingest(&store, &opts, &[april_fixed], &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out.version, Some(3));
    assert_eq!(
        rows(&store, "claims").await,
        3,
        "April (2 receipts) + May (1)"
    );
    let statuses: Vec<String> = store
        .submissions(PROVIDER)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.status)
        .collect();
    assert_eq!(statuses, vec!["superseded", "accepted", "accepted"]);
    assert!(
        store
            .verify("provider-1319999999", None)
            .await
            .unwrap()
            .ok()
    );
    // Earlier versions stay as they were.
    let v1 = store.version("provider-1319999999", Some(1)).await.unwrap();
    assert_eq!(
        v1.tables.iter().find(|t| t.name == "claims").unwrap().rows,
        1
    );
}

#[tokio::test]
async fn bad_receipts_are_quarantined_and_bad_files_rejected_whole() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let opts = IngestOptions::new(PROVIDER);

    // Second receipt has an impossible diagnosis start date: odd but interpretable, so the
    // receipt is kept and the row carries a Warning (quarantine policy: lose a receipt only
    // when it is unusable).
    let odd = write(
        input.path(),
        "odd.UKE",
        &example("202403", Some("20240231")),
    );
    let out = ingest(&store, &opts, &[odd], &|_, _| {}).await.unwrap();
    let f = &out.files[0];
    assert_eq!((f.receipts_accepted, f.receipts_quarantined), (2, 0));
    let odd = f
        .findings
        .iter()
        .find(|x| x.field.as_deref() == Some("診療開始日"))
        .expect("finding names the field");
    assert_eq!(odd.line, Some(10), "the second receipt's SY is line 10");
    assert_eq!(odd.severity, medinfra_formats::Severity::Warning);
    assert_eq!(f.rule_costs["BadDate"].warnings, 1);
    assert_eq!(rows(&store, "claims").await, 2);

    // Second receipt has an impossible birth date: no patient, so it is quarantined, the
    // first kept, and the report books what the rule cost.
    let text = example("202404", Some("20240401")).replace("19750301", "19750231");
    let quarantine = write(input.path(), "q.UKE", &text);
    let out = ingest(&store, &opts, &[quarantine], &|_, _| {})
        .await
        .unwrap();
    let f = &out.files[0];
    assert_eq!(f.status, FileStatus::Accepted, "{}", out.to_text());
    assert_eq!((f.receipts_accepted, f.receipts_quarantined), (1, 1));
    let bad = f
        .findings
        .iter()
        .find(|x| x.field.as_deref() == Some("生年月日"))
        .expect("finding names the field");
    assert_eq!(bad.line, Some(8), "the second receipt's RE is line 8");
    let cost = &f.rule_costs["BadDate"];
    assert_eq!((cost.receipts, cost.rows), (1, 4), "RE, HO, SY, SI");
    assert_eq!((f.points_accepted, f.points_quarantined), (318, 75));
    assert_eq!(f.declared.unwrap().points, Some(393));
    assert!(
        out.to_text()
            .contains("points 393 = 318 accepted + 75 quarantined")
    );
    assert_eq!(rows(&store, "claims").await, 3);

    // No GO trailer: structural damage, rejected whole, nothing committed.
    let text = example("202405", None);
    let truncated: String = text
        .lines()
        .filter(|l| !l.starts_with("GO"))
        .map(|l| format!("{l}\n"))
        .collect();
    let broken = write(input.path(), "broken.UKE", &truncated);
    let out = ingest(&store, &opts, &[broken], &|_, _| {}).await.unwrap();
    assert_eq!(out.files[0].status, FileStatus::Rejected);
    assert_eq!(out.version, None);
    assert_eq!(
        store.versions("provider-1319999999").await.unwrap().len(),
        2
    );
    assert_eq!(
        std::fs::read_dir(data.path().join("staging"))
            .unwrap()
            .count(),
        0
    );

    // A file from another provider is refused.
    let other = example("202406", None).replace("IR,1,13,1,9999999", "IR,1,27,1,9999999");
    let other = write(input.path(), "other.UKE", &other);
    let out = ingest(&store, &opts, &[other], &|_, _| {}).await.unwrap();
    assert_eq!(out.files[0].status, FileStatus::Rejected);
    assert!(
        out.files[0]
            .rejection
            .as_deref()
            .unwrap()
            .contains("another provider")
    );

    // The report never shows names in clear.
    let report = out.to_text() + &serde_json::to_string(&out).unwrap();
    assert!(!report.contains("試験"), "{report}");
    let subs = store.submissions(PROVIDER).await.unwrap();
    assert_eq!(subs.iter().filter(|s| s.status == "rejected").count(), 2);
}
