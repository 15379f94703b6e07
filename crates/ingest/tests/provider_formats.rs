//! SS-MIX2 lab results and 特定健診 archives through ingest: hand-built inputs written with the
//! format crate's writers, ingested into a real store, read back from the committed parts.

use std::path::Path;

use arrow::array::{Array, BooleanArray, Date32Array, Float64Array, StringArray};
use arrow::record_batch::RecordBatch;
use medinfra_formats::checkup::{
    CheckupDocument, CheckupObservation, CheckupValue, DataFileName, write_archive_zip,
};
use medinfra_formats::ssmix2::{
    Header, Observation, ParsedMessage, Patient, PersonName, StoragePath, write_message,
};
use medinfra_ingest::{FileStatus, IngestOptions, ingest};
use medinfra_store::Store;

const PROVIDER: &str = "1319999999";

fn date32(s: &str) -> i32 {
    let d = time::Date::from_calendar_date(
        s[..4].parse().unwrap(),
        time::Month::try_from(s[4..6].parse::<u8>().unwrap()).unwrap(),
        s[6..].parse().unwrap(),
    )
    .unwrap();
    d.to_julian_day() - 2_440_588
}

fn obx(set: usize, code: &str, name: &str, value: &str, unit: &str, system: &str) -> Observation {
    Observation {
        order_no: "000000000000123".into(),
        specimen: "023".into(),
        set_id: set.to_string(),
        value_type: "NM".into(),
        code: code.into(),
        name: name.into(),
        coding_system: system.into(),
        value: value.into(),
        unit: unit.into(),
        status: "F".into(),
        observed_at: "202404021100".into(),
        ..Observation::default()
    }
}

fn message(pid: &str, facility: &str, observations: Vec<Observation>) -> ParsedMessage {
    ParsedMessage {
        header: Header {
            sending_facility: facility.into(),
            created_at: "20240402110000".into(),
            message_code: "OUL".into(),
            trigger_event: "R22".into(),
            structure: "OUL_R22".into(),
            control_id: "1".into(),
            ..Header::default()
        },
        patient: Patient {
            id: pid.into(),
            names: vec![PersonName {
                family: "試験".into(),
                given: "太郎".into(),
                representation: "I".into(),
            }],
            birth_date: "19800115".into(),
            sex: "M".into(),
            ..Patient::default()
        },
        visit: None,
        observations,
        prescriptions: vec![],
    }
}

fn store_path(pid: &str, order: &str) -> StoragePath {
    StoragePath {
        patient_id: pid.into(),
        care_date: Some("20240402".into()),
        data_type: "OML-11".into(),
        order_no: order.into(),
        stored_at: "20240402110000000".into(),
        department: Some("01".into()),
        condition_flag: '1',
    }
}

fn batches(store: &Store, info: &medinfra_store::VersionInfo, table: &str) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for f in store.table_files(info, table).unwrap() {
        let file = std::fs::File::open(f).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 1024).unwrap();
        out.extend(reader.map(|b| b.unwrap()));
    }
    out
}

fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> &'a T {
    b.column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<T>()
        .unwrap()
}

#[tokio::test]
async fn ssmix2_tree_round_trips_into_lab_results() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let root = input.path().join("storage");
    let good = message(
        "1234567890",
        PROVIDER,
        vec![
            obx(1, "3D046000001906202", "HbA1c (NGSP)", "6.8", "%", "JC10"),
            obx(2, "3B090000002327101", "γ-GT", "41", "U/L", "JC10"),
        ],
    );
    write_message(&root, &store_path("1234567890", "000000000000123"), &good).unwrap();
    // A local (non-JLAC10) code: the message is quarantined, the rest ingested.
    let local = message(
        "1234567891",
        PROVIDER,
        vec![obx(1, "L0001", "local", "1", "", "99XYZ")],
    );
    write_message(&root, &store_path("1234567891", "000000000000124"), &local).unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let opts = IngestOptions::new(PROVIDER);
    let out = ingest(&store, &opts, &[input.path().to_path_buf()], &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out.files.len(), 1, "one unit: the tree");
    let f = &out.files[0];
    assert_eq!(f.kind, "ssmix2");
    assert_eq!(f.status, FileStatus::Accepted, "{}", out.to_text());
    assert_eq!(
        (f.receipts, f.receipts_accepted, f.receipts_quarantined),
        (2, 1, 1)
    );
    assert_eq!(f.problems[0].field.as_deref(), Some("OBX-3"));
    assert_eq!(out.version_rows["lab_results"], 2);
    let info = store.version("provider-1319999999", None).await.unwrap();
    let b = &batches(&store, &info, "lab_results")[0];
    assert_eq!(col::<StringArray>(b, "patient_id").value(0), "1234567890");
    assert_eq!(
        col::<StringArray>(b, "jlac10").value(0),
        "3D046000001906202"
    );
    assert_eq!(col::<StringArray>(b, "analyte").value(1), "γ-GT");
    assert_eq!(col::<Float64Array>(b, "value").value(0), 6.8);
    assert_eq!(col::<Float64Array>(b, "value").value(1), 41.0);
    assert_eq!(col::<StringArray>(b, "unit").value(0), "%");
    assert_eq!(
        col::<Date32Array>(b, "result_date").value(0),
        date32("20240402")
    );
    // The same tree again is a duplicate; a tree naming another facility is rejected whole.
    let again = ingest(&store, &opts, &[input.path().to_path_buf()], &|_, _| {})
        .await
        .unwrap();
    assert_eq!(again.files[0].status, FileStatus::Duplicate);
    let other = tempfile::tempdir().unwrap();
    let foreign = message(
        "1234567892",
        "2719999999",
        vec![obx(1, "3D046000001906202", "HbA1c", "5.1", "%", "JC10")],
    );
    write_message(
        &other.path().join("s"),
        &store_path("1234567892", "000000000000125"),
        &foreign,
    )
    .unwrap();
    let out = ingest(&store, &opts, &[other.path().to_path_buf()], &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out.files[0].status, FileStatus::Rejected);
    assert_eq!(out.version, None);
}

fn pq(code: &str, value: &str, unit: &str) -> CheckupObservation {
    CheckupObservation {
        section: "01010".into(),
        code: code.into(),
        code_system: String::new(),
        display_name: String::new(),
        not_performed: false,
        value: CheckupValue::Quantity {
            value: value.into(),
            unit: unit.into(),
        },
        interpretation: String::new(),
    }
}

fn cd(code: &str, value: &str) -> CheckupObservation {
    CheckupObservation {
        value: CheckupValue::Coded {
            code: value.into(),
            code_system: "1.2.392.200119.6.2201".into(),
            display_name: String::new(),
        },
        ..pq(code, "", "")
    }
}

fn document(facility: &str, sex: &str) -> CheckupDocument {
    CheckupDocument {
        report_kind: "10".into(),
        created: "20240601".into(),
        insurer_number: "06139999".into(),
        card_symbol: "123".into(),
        card_number: "4567".into(),
        card_branch: "01".into(),
        postal_code: "100-0001".into(),
        name: "シケン タロウ".into(),
        sex: sex.into(),
        birth_date: "19700301".into(),
        facility_number: facility.into(),
        checkup_date: "20240601".into(),
        observations: vec![
            pq("9N001000000000001", "170.2", "cm"),
            pq("9N006000000000001", "65", "kg"),
            // The second method code of HbA1c: read through the shared item table.
            pq("3D046000001920402", "5.9", "%"),
            // Out of the input range: null.
            CheckupObservation {
                value: CheckupValue::OutOfRange { high: true },
                ..pq("3D010000001926101", "", "")
            },
            cd("1A020000000190111", "3"),
            cd("9N736000000000011", "1"),
            cd("9N701000000000011", "2"),
        ],
    }
}

fn name(serial: &str) -> DataFileName {
    DataFileName {
        prefix: 'h',
        facility: PROVIDER.into(),
        date: "20240601".into(),
        seq: '1',
        kind: '1',
        serial: serial.into(),
    }
}

fn zip(dir: &Path, folder: &str, docs: &[(DataFileName, CheckupDocument)]) {
    let f = std::fs::File::create(dir.join(format!("{folder}.zip"))).unwrap();
    write_archive_zip(f, folder, docs).unwrap();
}

#[tokio::test]
async fn checkup_archive_round_trips_into_checkups() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    zip(
        input.path(),
        "1319999999_00000000_202503311_1",
        &[
            (name("000001"), document(PROVIDER, "1")),
            // Sex 3 is a record-level finding: quarantined.
            (name("000002"), document(PROVIDER, "3")),
            (name("000003"), document(PROVIDER, "2")),
        ],
    );
    let store = Store::open(data.path()).await.unwrap();
    let opts = IngestOptions::new(PROVIDER);
    let out = ingest(&store, &opts, &[input.path().to_path_buf()], &|_, _| {})
        .await
        .unwrap();
    let f = &out.files[0];
    assert_eq!(f.kind, "checkup-archive");
    assert_eq!(f.status, FileStatus::Accepted, "{}", out.to_text());
    assert_eq!(
        (f.receipts, f.receipts_accepted, f.receipts_quarantined),
        (3, 2, 1)
    );
    assert_eq!(out.version_rows["checkups"], 2);
    let info = store.version("provider-1319999999", None).await.unwrap();
    let b = &batches(&store, &info, "checkups")[0];
    assert_eq!(col::<StringArray>(b, "facility_id").value(0), PROVIDER);
    assert_eq!(col::<StringArray>(b, "card_number").value(0), "4567");
    assert_eq!(col::<StringArray>(b, "card_branch").value(0), "01");
    assert_eq!(
        col::<Date32Array>(b, "checkup_date").value(0),
        date32("20240601")
    );
    assert_eq!(
        col::<Date32Array>(b, "birth_date").value(1),
        date32("19700301")
    );
    assert_eq!(col::<Float64Array>(b, "height_cm").value(0), 170.2);
    assert_eq!(col::<Float64Array>(b, "weight_kg").value(0), 65.0);
    assert_eq!(col::<Float64Array>(b, "hba1c").value(0), 5.9);
    assert!(
        col::<Float64Array>(b, "fpg").is_null(0),
        "out of range is null"
    );
    assert!(col::<Float64Array>(b, "bmi").is_null(0), "absent is null");
    assert_eq!(col::<StringArray>(b, "urine_glucose").value(0), "+");
    assert!(col::<StringArray>(b, "urine_protein").is_null(0));
    assert!(col::<BooleanArray>(b, "smoking").value(0));
    assert!(!col::<BooleanArray>(b, "med_bp").value(0));
    assert_eq!(col::<arrow::array::Int32Array>(b, "sex").value(1), 2);
    // A lone document naming another facility: quarantined, so nothing accepted.
    let lone = tempfile::tempdir().unwrap();
    std::fs::write(
        lone.path().join("doc.xml"),
        medinfra_formats::checkup::write_document(&document("2719999999", "1")),
    )
    .unwrap();
    let out = ingest(&store, &opts, &[lone.path().to_path_buf()], &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out.files[0].kind, "checkup-document");
    assert_eq!(out.files[0].status, FileStatus::Rejected);
    assert!(out.files[0].problems[0].reason.contains("another facility"));
}

#[tokio::test]
async fn one_directory_with_receipts_a_tree_and_an_archive() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let dir = input.path();
    let uke = "IR,1,13,1,9999999,,テスト総合病院,202404,00,0399999999\r\n\
        RE,1,1112,202404,試験　太郎,1,19800115,,,,,,,P0000001,,,,,,,,,,,,,,,,,,,,,,,シケン　タロウ,\r\n\
        HO,06139999,123,4567,1,75,,,,,,,,,\r\n\
        SI,12,1,112007410,,75,1,,,,,,,,,1,,,,,,,,,,,,,,,,,,,,,,,,,,,,\r\n\
        GO,1,75,99\r\n";
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(uke);
    std::fs::create_dir_all(dir.join("202404")).unwrap();
    std::fs::write(dir.join("202404/RECEIPTC.UKE"), &bytes).unwrap();
    let msg = message(
        "1234567890",
        PROVIDER,
        vec![obx(1, "3D046000001906202", "HbA1c", "6.1", "%", "JC10")],
    );
    write_message(
        &dir.join("ssmix2"),
        &store_path("1234567890", "000000000000001"),
        &msg,
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("checkup")).unwrap();
    zip(
        &dir.join("checkup"),
        "1319999999_00000000_202503311_1",
        &[(name("000001"), document(PROVIDER, "1"))],
    );
    let store = Store::open(data.path()).await.unwrap();
    let out = ingest(
        &store,
        &IngestOptions::new(PROVIDER),
        &[dir.to_path_buf()],
        &|_, _| {},
    )
    .await
    .unwrap();
    let kinds: Vec<&str> = out.files.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds, ["uke-medical", "checkup-archive", "ssmix2"]);
    assert!(
        out.files.iter().all(|f| f.status == FileStatus::Accepted),
        "{}",
        out.to_text()
    );
    assert_eq!(out.version_rows["claims"], 1);
    assert_eq!(out.version_rows["lab_results"], 1);
    assert_eq!(out.version_rows["checkups"], 1);
    let subs = store.submissions(PROVIDER).await.unwrap();
    assert_eq!(subs.len(), 3);
}

/// The third-party SS-MIX2 sample (SSMIX2DataTestingTool, Apache-2.0, `shared/data/samples`):
/// every message type it holds reaches the canonical tables — ADT-00's demographics and
/// attributes, OMP-01's prescription (RDE^O11), OMP-11's administrations (RAS^O17), OML-11's
/// lab results — not only the lab results.
#[tokio::test]
async fn third_party_tree_maps_every_message_type() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/samples/ssmix2");
    let tree = tempfile::tempdir().unwrap();
    // The tree without the licence file beside it (not a message).
    let root = tree.path().join("ssmix2");
    std::fs::create_dir_all(&root).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(sample.join("999"))
        .arg(&root)
        .status()
        .unwrap();
    assert!(status.success());
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let out = ingest(&store, &IngestOptions::new(PROVIDER), &[root], &|_, _| {})
        .await
        .unwrap();
    let f = &out.files[0];
    assert_eq!(f.status, FileStatus::Accepted, "{}", out.to_text());
    assert_eq!(
        (f.receipts, f.receipts_quarantined),
        (4, 0),
        "{}",
        out.to_text()
    );
    let info = store.version("provider-1319999999", None).await.unwrap();

    let persons = batches(&store, &info, "persons");
    let sexes: Vec<i32> = persons
        .iter()
        .flat_map(|b| col::<arrow::array::Int32Array>(b, "sex").values().to_vec())
        .collect();
    assert!(
        !sexes.is_empty() && sexes.iter().all(|s| *s == 1),
        "{sexes:?}"
    );
    let births: Vec<i32> = persons
        .iter()
        .flat_map(|b| col::<Date32Array>(b, "birth_date").values().to_vec())
        .collect();
    assert!(births.contains(&date32("19480405")));

    let drugs = batches(&store, &info, "drugs");
    let sources: std::collections::BTreeSet<String> = drugs
        .iter()
        .flat_map(|b| {
            let c = col::<StringArray>(b, "source_record");
            (0..c.len())
                .map(|i| c.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        sources.into_iter().collect::<Vec<_>>(),
        ["RAS^O17", "RDE^O11"]
    );

    let labs = batches(&store, &info, "lab_results");
    let codes: Vec<String> = labs
        .iter()
        .flat_map(|b| {
            let c = col::<StringArray>(b, "jlac10");
            (0..c.len())
                .map(|i| c.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    // ADT-00's height (9N001…) beside OML-11's results.
    assert!(codes.iter().any(|c| c.starts_with("9N001")), "{codes:?}");
    assert!(codes.len() > 3, "{codes:?}");
}
