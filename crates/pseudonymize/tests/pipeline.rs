//! The pipeline on small identified datasets written straight into a store.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, AsArray, BooleanArray, Date32Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::Date32Type;
use medinfra_model::{CanonicalTable, Tier};
use medinfra_pseudo::keys::KeyStore;
use medinfra_pseudonymize::{Policy, PseudonymizeError, Request, pseudonymize, reverse_map};
use medinfra_store::{Lineage, Store, VersionInfo};

fn s(v: &[&str]) -> Arc<StringArray> {
    Arc::new(StringArray::from(v.to_vec()))
}

fn opt(v: &[Option<&str>]) -> Arc<StringArray> {
    Arc::new(StringArray::from(v.to_vec()))
}

/// 2020-02-29, 1950-07-15, 1985-12-31 as days since the epoch.
const BIRTHS: [i32; 3] = [18321, -7110, 5843];

fn persons() -> RecordBatch {
    RecordBatch::try_new(
        CanonicalTable::Persons.schema(),
        vec![
            s(&["1310000001", "1310000001", "2710000002"]),
            s(&["P-0001", "P-0002", "P-0001"]),
            opt(&[Some("山田 太郎"), Some("鈴木 花子"), Some("佐藤 一郎")]),
            opt(&[
                Some("ヤマダ タロウ"),
                Some("スズキ ハナコ"),
                Some("サトウ イチロウ"),
            ]),
            Arc::new(Int32Array::from(vec![1, 2, 1])),
            Arc::new(Date32Array::from(BIRTHS.to_vec())),
            opt(&[Some("100-0001"), Some("1500002"), None]),
            opt(&[Some("13"), Some("13"), Some("27")]),
            opt(&[Some("東京都千代田区1-1"), None, None]),
            opt(&[Some("03-1234-5678"), None, None]),
        ],
    )
    .unwrap()
}

fn claims() -> RecordBatch {
    RecordBatch::try_new(
        CanonicalTable::Claims.schema(),
        vec![
            s(&["C1", "C2", "C3"]),
            s(&["1310000001", "1310000001", "2710000002"]),
            s(&["P-0001", "P-0001", "P-0001"]),
            s(&["202001", "202002", "202001"]),
            s(&["medical", "medical", "medical"]),
            s(&["1112", "1112", "1112"]),
            opt(&[Some("山田 太郎"), Some("山田　太郎"), Some("佐藤 一郎")]),
            opt(&[
                Some("ヤマダ タロウ"),
                Some("ﾔﾏﾀﾞ ﾀﾛｳ"),
                Some("サトウ イチロウ"),
            ]),
            Arc::new(Int32Array::from(vec![1, 1, 1])),
            Arc::new(Date32Array::from(vec![BIRTHS[0], BIRTHS[0], BIRTHS[2]])),
            s(&["06130012", "06130012", "06270015"]),
            opt(&[Some("12"), Some("１２"), Some("3")]),
            s(&["3456", "３４５６", "777"]),
            opt(&[None, None, None]),
            Arc::new(Date32Array::from(vec![None, Some(18300), None])),
            Arc::new(Int32Array::from(vec![1, 2, 3])),
            Arc::new(Int64Array::from(vec![100, 200, 300])),
        ],
    )
    .unwrap()
}

fn diagnoses() -> RecordBatch {
    RecordBatch::try_new(
        CanonicalTable::Diagnoses.schema(),
        vec![
            s(&["C1", "C3"]),
            s(&["1310000001", "2710000002"]),
            s(&["P-0001", "P-0001"]),
            s(&["0000999", "8832452"]),
            opt(&[Some("E11.9"), Some("I10")]),
            opt(&[None, None]),
            opt(&[
                Some("ヤマダ様 転倒後疼痛 連絡先03-1234-5678"),
                Some("佐藤一郎さんの高血圧 〒150-0002"),
            ]),
            Arc::new(Date32Array::from(vec![18300, 18300])),
            s(&["1", "1"]),
            Arc::new(BooleanArray::from(vec![true, true])),
            Arc::new(BooleanArray::from(vec![false, false])),
        ],
    )
    .unwrap()
}

/// Comments and 症状詳記 as staff write them: the patient's name and phone number in free text.
fn claim_notes() -> RecordBatch {
    RecordBatch::try_new(
        CanonicalTable::ClaimNotes.schema(),
        vec![
            s(&["C1", "C1"]),
            s(&["1310000001", "1310000001"]),
            s(&["P-0001", "P-0001"]),
            s(&["202001", "202001"]),
            s(&["CO", "SJ"]),
            opt(&[Some("21"), None]),
            opt(&[Some("810000001"), Some("01")]),
            opt(&[
                Some("山田太郎様 １日３回毎食後 連絡先03-1234-5678"),
                Some("山田 太郎氏は入院後経過良好"),
            ]),
        ],
    )
    .unwrap()
}

async fn setup() -> (tempfile::TempDir, Store, KeyStore, VersionInfo) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).await.unwrap();
    let keys = KeyStore::open(dir.path().join("keys")).unwrap();
    keys.new_key("pseudonym").unwrap();
    let w = store
        .begin("hosp", Tier::Identified, Lineage::default())
        .unwrap();
    w.write_table("persons", CanonicalTable::Persons.schema(), [&persons()])
        .unwrap();
    w.write_table("claims", CanonicalTable::Claims.schema(), [&claims()])
        .unwrap();
    w.write_table(
        "diagnoses",
        CanonicalTable::Diagnoses.schema(),
        [&diagnoses()],
    )
    .unwrap();
    w.write_table(
        "claim_notes",
        CanonicalTable::ClaimNotes.schema(),
        [&claim_notes()],
    )
    .unwrap();
    let info = w.commit().await.unwrap();
    (dir, store, keys, info)
}

fn request(policy: Policy) -> Request {
    Request {
        input: "hosp".into(),
        input_version: None,
        output: "pseudo".into(),
        policy,
        policy_source: "test".into(),
        project: None,
        tables: None,
        keep_map: true,
        ndb: Default::default(),
    }
}

fn read(store: &Store, info: &VersionInfo, table: &str) -> RecordBatch {
    let mut batches = Vec::new();
    for path in store.table_files(info, table).unwrap() {
        let f = std::fs::File::open(path).unwrap();
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        batches.extend(r.map(|b| b.unwrap()));
    }
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn strings(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    let a = b.column_by_name(col).unwrap().as_string::<i32>();
    (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
        .collect()
}

fn all_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn the_builtin_policy_names_every_column_of_every_canonical_table() {
    let policy = Policy::builtin().unwrap();
    for table in CanonicalTable::ALL {
        let tp = policy
            .tables
            .get(table.name())
            .unwrap_or_else(|| panic!("{} missing", table.name()));
        if tp.omit {
            assert!(matches!(
                table,
                CanonicalTable::Truth | CanonicalTable::Population
            ));
            continue;
        }
        let plan = medinfra_pseudonymize::compile(table.name(), tp, &table.schema())
            .unwrap_or_else(|e| panic!("{e}"));
        // Direct identifiers never pass through untouched.
        for def in table.columns() {
            let action = &plan.summary.iter().find(|(c, _)| c == def.name).unwrap().1;
            if def.role == medinfra_model::tables::ColumnRole::DirectIdentifier {
                assert_ne!(action, "keep", "{}.{} is kept", table.name(), def.name);
            }
        }
    }
}

#[tokio::test]
async fn default_policy_drops_identifiers_tokenizes_consistently_and_scrubs_text() {
    let (dir, store, keys, input) = setup().await;
    let (out, report) = pseudonymize(
        &store,
        &keys,
        &request(Policy::builtin().unwrap()),
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(out.tier, Tier::Pseudonymized);
    assert_eq!(report.rows, 10);

    let p = read(&store, &out, "persons");
    for gone in ["name_kanji", "name_kana", "address", "phone"] {
        assert!(p.column_by_name(gone).is_none(), "{gone} kept");
    }
    let c = read(&store, &out, "claims");
    for gone in [
        "name_kanji",
        "name_kana",
        "card_symbol",
        "card_number",
        "card_branch",
    ] {
        assert!(c.column_by_name(gone).is_none(), "{gone} kept");
    }
    // One chart number at one provider is one pseudonym in every table; the same chart number
    // at another provider is another.
    let pp = strings(&p, "patient_id");
    let cp = strings(&c, "patient_id");
    assert_eq!(cp[0], pp[0]);
    assert_eq!(cp[1], pp[0]);
    assert_eq!(cp[2], pp[2]);
    assert_ne!(pp[0], pp[2]);
    assert_eq!(pp[0].as_ref().unwrap().len(), 64);
    // Birth dates cut to the month: 2020-02-29 -> 2020-02-01 (18293).
    let b = p
        .column_by_name("birth_date")
        .unwrap()
        .as_primitive::<Date32Type>();
    assert_eq!(b.value(0), 18293);
    assert_eq!(
        strings(&p, "postcode"),
        vec![Some("100".into()), Some("150".into()), None]
    );
    // Keyed ID1 survives full-width card digits and name spacing variants.
    let id1 = strings(&c, "id1_keyed");
    assert_eq!(id1[0], id1[1]);
    assert_ne!(id1[0], id1[2]);
    let id2 = strings(&c, "id2_keyed");
    assert_eq!(id2[0], id2[1]);

    let d = read(&store, &out, "diagnoses");
    let text = strings(&d, "disease_name");
    let t0 = text[0].as_deref().unwrap();
    assert!(
        t0.contains("<NAME>様") && t0.contains("<PHONE>") && t0.contains("転倒後疼痛"),
        "{t0}"
    );
    assert!(!t0.contains("ヤマダ") && !t0.contains("1234"), "{t0}");
    let t1 = text[1].as_deref().unwrap();
    assert!(
        !t1.contains("佐藤") && !t1.contains("150-0002") && t1.contains("高血圧"),
        "{t1}"
    );
    assert!(report.tables["diagnoses"].stats.scrubbed["<NAME>"] >= 2);

    // Comments and 症状詳記 (claim_notes) are scrubbed of the person's name and phone number
    // like disease names; the codes stay.
    let n = read(&store, &out, "claim_notes");
    for t in strings(&n, "text") {
        let t = t.unwrap();
        assert!(!t.contains("山田") && !t.contains("1234"), "{t}");
        assert!(t.contains("<NAME>"), "{t}");
    }
    assert_eq!(strings(&n, "code")[0].as_deref(), Some("810000001"));

    // Lineage: input, policy hash and key id.
    let manifest = store.read_manifest(&out).unwrap();
    assert_eq!(manifest.lineage.inputs[0].dataset, input.dataset);
    assert_eq!(
        manifest.lineage.parameters["policy_sha256"],
        report.policy_sha256
    );
    assert_eq!(
        medinfra_pseudonymize::key_id_of(&manifest.lineage)
            .unwrap()
            .as_str(),
        report.key_id
    );

    // The reverse map gives the chart number back, to the operator's key store only.
    let map = report.reverse_map.clone().unwrap();
    assert!(map.starts_with(keys.dir()));
    let token = pp[0].clone().unwrap();
    let found = reverse_map::lookup(&keys, &map, std::slice::from_ref(&token)).unwrap();
    assert_eq!(
        found[&token],
        vec!["1310000001".to_string(), "P-0001".to_string()]
    );
    // The map is the one the version's lineage names (named before the commit).
    let name = medinfra_pseudonymize::map_name_of(&out, &manifest.lineage);
    assert_eq!(
        map.file_name().unwrap().to_str().unwrap(),
        format!("{name}.map")
    );
    // Renaming the map to another version's name breaks authentication.
    let renamed = map.with_file_name("pseudo-other.map");
    std::fs::copy(&map, &renamed).unwrap();
    let mut bytes = std::fs::read(&renamed).unwrap();
    let key = b"\"name\":\"";
    let name_at = bytes.windows(key.len()).position(|w| w == key).unwrap() + key.len();
    bytes[name_at] = if bytes[name_at] == b'q' { b'r' } else { b'q' };
    std::fs::write(&renamed, bytes).unwrap();
    assert!(reverse_map::lookup(&keys, &renamed, &[token]).is_err());

    // No key byte anywhere in the data directory (outputs, manifests, catalog, reports).
    let mut files = Vec::new();
    all_files(&dir.path().join("data"), &mut files);
    let key_files: Vec<Vec<u8>> = std::fs::read_dir(keys.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "key"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(!key_files.is_empty());
    for f in files {
        let content = std::fs::read(&f).unwrap();
        for k in &key_files {
            assert!(
                !content.windows(k.len()).any(|w| w == k.as_slice()),
                "key bytes in {}",
                f.display()
            );
            let hexed = hex::encode(k);
            assert!(!String::from_utf8_lossy(&content).contains(&hexed));
        }
    }
}

/// The disk fills (here: the key directory's `maps` cannot be created) while the reverse map
/// is written: the version is not committed, so there is never a pseudonymized version whose
/// tokens the operator cannot resolve (the map used to be written after the commit).
#[tokio::test]
async fn a_version_is_never_committed_without_its_reverse_map() {
    let (_dir, store, keys, _input) = setup().await;
    std::fs::write(keys.dir().join("maps"), b"not a directory").unwrap();
    let err = pseudonymize(
        &store,
        &keys,
        &request(Policy::builtin().unwrap()),
        &|_, _| {},
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("maps"), "{err}");
    assert!(matches!(
        store.version("pseudo", None).await,
        Err(medinfra_store::StoreError::NoSuchDataset(_))
    ));
}

#[tokio::test]
async fn unknown_columns_and_tables_are_refused_and_nothing_is_committed() {
    let (_dir, store, keys, _) = setup().await;
    let mut policy = Policy::builtin().unwrap();
    policy
        .tables
        .get_mut("claims")
        .unwrap()
        .columns
        .remove("card_branch");
    let err = pseudonymize(&store, &keys, &request(policy), &|_, _| {})
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("table claims: column card_branch") && msg.contains("deny by default"),
        "{msg}"
    );
    assert!(store.version("pseudo", None).await.is_err());

    let mut policy = Policy::builtin().unwrap();
    policy.tables.remove("diagnoses");
    let err = pseudonymize(&store, &keys, &request(policy), &|_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, PseudonymizeError::Table { ref table, .. } if table == "diagnoses"));
    assert!(store.version("pseudo", None).await.is_err());

    let text = Policy::builtin().unwrap();
    let mut bad = text.clone();
    bad.tables.get_mut("claims").unwrap().columns.insert(
        "no_such_column".into(),
        medinfra_pseudonymize::policy::ColumnSpec::Short(
            medinfra_pseudonymize::policy::ShortAction::Keep,
        ),
    );
    let err = pseudonymize(&store, &keys, &request(bad), &|_, _| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no_such_column"), "{err}");
}

#[test]
fn policy_errors_name_the_line_and_field() {
    let text = "version = 1\n[tables.claims.columns]\nclaim_id = \"tokenize\"\n";
    let err = Policy::from_toml(text, "p.toml").unwrap_err().to_string();
    assert!(err.contains("p.toml") && err.contains("line 3"), "{err}");
    let err = Policy::from_toml("version = 2\n[tables]\n", "p.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("version 2"), "{err}");
}

const SHIFT_POLICY: &str = r#"
version = 1
[tables.claims]
person = ["provider_id", "patient_id"]
[tables.claims.columns]
claim_id = "keep"
provider_id = "keep"
patient_id = { action = "project_token", with = ["provider_id"], domain = "patient" }
service_month = "keep"
claim_kind = "keep"
receipt_type = "keep"
name_kanji = "drop"
name_kana = "drop"
sex = "keep"
birth_date = { action = "date_shift", days = 10 }
insurer_number = { action = "generalize", hierarchy = "postcode3" }
card_symbol = "drop"
card_number = "drop"
card_branch = "drop"
admission_date = { action = "truncate_date", to = "year" }
days = "keep"
total_points = "keep"
"#;

#[tokio::test]
async fn project_tokens_differ_per_project_and_date_shifts_are_per_person() {
    let (_dir, store, keys, _) = setup().await;
    let policy = Policy::from_toml(SHIFT_POLICY, "shift.toml").unwrap();
    let mut req = request(policy);
    req.tables = Some(vec!["claims".into()]);
    // Without a recipient project, project tokens cannot be made.
    let err = pseudonymize(&store, &keys, &req, &|_, _| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--project"), "{err}");

    req.project = Some("proj-a".into());
    let (a, report) = pseudonymize(&store, &keys, &req, &|_, _| {}).await.unwrap();
    assert_eq!(
        report.omitted_tables,
        vec!["claim_notes", "diagnoses", "persons"]
    );
    req.project = Some("proj-b".into());
    let (b, _) = pseudonymize(&store, &keys, &req, &|_, _| {}).await.unwrap();
    let ca = read(&store, &a, "claims");
    let cb = read(&store, &b, "claims");
    let (pa, pb) = (strings(&ca, "patient_id"), strings(&cb, "patient_id"));
    assert_eq!(pa[0], pa[1]);
    assert_ne!(pa[0], pb[0]);
    assert!(pa.iter().all(|t| !pb.contains(t)));

    // Same person: same shift; within ±10 days.
    let births = ca
        .column_by_name("birth_date")
        .unwrap()
        .as_primitive::<Date32Type>();
    let d0 = births.value(0) - BIRTHS[0];
    assert_eq!(births.value(1) - BIRTHS[0], d0);
    assert!((-10..=10).contains(&d0));
    assert!((-10..=10).contains(&(births.value(2) - BIRTHS[2])));
    // A value outside the hierarchy becomes null and is counted.
    assert_eq!(
        report.tables["claims"].stats.nulls["insurer_number"]["value not in the hierarchy"],
        3
    );
    let adm = ca
        .column_by_name("admission_date")
        .unwrap()
        .as_primitive::<Date32Type>();
    assert_eq!(adm.value(1), 18262); // 2020-01-01
}

#[tokio::test]
async fn rotation_re_tokenizes_into_a_new_version_under_the_new_key() {
    let (_dir, store, keys, _) = setup().await;
    let mut req = request(Policy::builtin().unwrap());
    req.tables = Some(vec!["persons".into()]);
    let (v1, r1) = pseudonymize(&store, &keys, &req, &|_, _| {}).await.unwrap();
    let rotation = keys.rotate("pseudonym").unwrap();
    let (v2, r2) = pseudonymize(&store, &keys, &req, &|_, _| {}).await.unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_ne!(r1.key_id, r2.key_id);
    assert_eq!(r2.key_id, rotation.new.id.as_str());
    let t1 = strings(&read(&store, &v1, "persons"), "patient_id");
    let t2 = strings(&read(&store, &v2, "persons"), "patient_id");
    assert!(t1.iter().zip(&t2).all(|(a, b)| a != b));
    // Both versions name their input and key.
    let m2 = store.read_manifest(&v2).unwrap();
    assert_eq!(m2.lineage.inputs[0].dataset, "hosp");
    let _ = HashMap::<(), ()>::new();
}

/// A later version brings a new note of a patient whose name is only in the earlier (carried)
/// persons and claims parts: the incremental run indexes only the new parts' persons, and
/// still finds that name in the carried parts, so the new note is scrubbed; the carried parts
/// are the previous output's files, not pseudonymized again.
#[tokio::test]
async fn an_incremental_run_scrubs_new_text_with_names_from_carried_parts() {
    let (_dir, store, keys, _) = setup().await;
    // Version 1 again, with a name no dictionary holds: only the person index can find it.
    let mut columns = persons().columns().to_vec();
    columns[2] = opt(&[Some("鬼頭 蔵之介"), Some("鈴木 花子"), Some("佐藤 一郎")]);
    columns[3] = opt(&[
        Some("キトウ クラノスケ"),
        Some("スズキ ハナコ"),
        Some("サトウ イチロウ"),
    ]);
    let named = RecordBatch::try_new(CanonicalTable::Persons.schema(), columns).unwrap();
    let w = store
        .begin("hosp", Tier::Identified, Lineage::default())
        .unwrap();
    w.write_table("persons", CanonicalTable::Persons.schema(), [&named])
        .unwrap();
    w.write_table(
        "claim_notes",
        CanonicalTable::ClaimNotes.schema(),
        [&claim_notes()],
    )
    .unwrap();
    let v1 = w.commit().await.unwrap();
    let (out1, _) = pseudonymize(
        &store,
        &keys,
        &request(Policy::builtin().unwrap()),
        &|_, _| {},
    )
    .await
    .unwrap();
    // Version 2 of the input: every v1 part carried, plus one new claim_notes part.
    let m1 = store.read_manifest(&v1).unwrap();
    let w = store
        .begin("hosp", Tier::Identified, Lineage::default())
        .unwrap();
    for t in &m1.tables {
        let schema = CanonicalTable::from_name(&t.name).unwrap().schema();
        for f in &t.files {
            w.carry_part(&t.name, schema.clone(), &v1.dir, f).unwrap();
        }
    }
    let note = RecordBatch::try_new(
        CanonicalTable::ClaimNotes.schema(),
        vec![
            s(&["C9"]),
            s(&["1310000001"]),
            s(&["P-0001"]),
            s(&["202002"]),
            s(&["SJ"]),
            opt(&[None]),
            opt(&[Some("01")]),
            opt(&[Some("電話 家族 鬼頭蔵之介 入院希望")]),
        ],
    )
    .unwrap();
    let mut pw = w
        .named_part_writer("claim_notes", "00001", CanonicalTable::ClaimNotes.schema())
        .unwrap();
    pw.write(&note).unwrap();
    w.finish_part(pw).unwrap();
    w.commit().await.unwrap();

    let (out2, report) = pseudonymize(
        &store,
        &keys,
        &request(Policy::builtin().unwrap()),
        &|_, _| {},
    )
    .await
    .unwrap();
    // Only the new note was pseudonymized now.
    assert_eq!(report.tables["claim_notes"].stats.rows, 1);
    assert_eq!(report.tables["persons"].stats.rows, 0);
    let notes = read(&store, &out2, "claim_notes");
    let texts: Vec<String> = strings(&notes, "text").into_iter().flatten().collect();
    assert_eq!(texts.len(), 3);
    let new = texts
        .iter()
        .find(|t| t.contains("電話"))
        .expect("the new note");
    assert!(!new.contains("鬼頭") && !new.contains("蔵之介"), "{new}");
    assert!(new.contains("<NAME>"), "{new}");
    // The carried parts are the previous output's files (same SHA-256).
    let before = store.read_manifest(&out1).unwrap();
    let after = store.read_manifest(&out2).unwrap();
    let old_persons = &before.table("persons").unwrap().files;
    let new_persons = &after.table("persons").unwrap().files;
    assert_eq!(old_persons[0].sha256, new_persons[0].sha256);
}
