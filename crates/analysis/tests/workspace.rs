//! End-to-end tests of the workspace over a real store: refusals, isolation between projects,
//! per-project pseudonyms, limits, results, UDFs and the audit trail.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int32Array, Int32Builder,
    Int64Array, ListBuilder, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::DataType;
use medinfra_analysis::{
    AnalysisError, DatasetGrant, Limits, PROJECT_TOKEN_CHARS, Workspace, WorkspaceSpec,
};
use medinfra_govern::{Actor, AuditLog, Membership, Role};
use medinfra_model::{CanonicalTable, Tier};
use medinfra_pseudo::keys::{Key, KeyMaterial};
use medinfra_pseudo::token::{Encoding, project_token};
use medinfra_store::{Lineage, Store};

const TODAY: i32 = 20_000;

#[derive(Clone)]
enum V {
    S(String),
    I(i64),
    D(i32),
    B(bool),
}

/// A batch of `table` with `n` rows; `f(column, row)` gives values, defaults fill the rest.
fn batch(table: CanonicalTable, n: usize, f: impl Fn(&str, usize) -> Option<V>) -> RecordBatch {
    let schema = table.schema();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| {
            let vals: Vec<Option<V>> = (0..n).map(|i| f(field.name(), i)).collect();
            let arr: ArrayRef = match field.data_type() {
                DataType::Utf8 => Arc::new(StringArray::from_iter_values(vals.iter().map(
                    |v| match v {
                        Some(V::S(s)) => s.clone(),
                        _ => "x".to_string(),
                    },
                ))),
                DataType::Int32 => {
                    Arc::new(Int32Array::from_iter_values(vals.iter().map(|v| match v {
                        Some(V::I(x)) => *x as i32,
                        _ => 1,
                    })))
                }
                DataType::Int64 => {
                    Arc::new(Int64Array::from_iter_values(vals.iter().map(|v| match v {
                        Some(V::I(x)) => *x,
                        _ => 1,
                    })))
                }
                DataType::Float64 => Arc::new(Float64Array::from_iter_values(vals.iter().map(
                    |v| match v {
                        Some(V::I(x)) => *x as f64,
                        _ => 1.0,
                    },
                ))),
                DataType::Boolean => Arc::new(BooleanArray::from(
                    vals.iter()
                        .map(|v| matches!(v, Some(V::B(true))))
                        .collect::<Vec<_>>(),
                )),
                DataType::Date32 => {
                    Arc::new(Date32Array::from_iter_values(vals.iter().map(
                        |v| match v {
                            Some(V::D(d)) => *d,
                            _ => 18_000,
                        },
                    )))
                }
                DataType::List(_) => {
                    let mut b = ListBuilder::new(Int32Builder::new()).with_field(Arc::new(
                        datafusion::arrow::datatypes::Field::new("item", DataType::Int32, false),
                    ));
                    for _ in 0..n {
                        b.values().append_value(1);
                        b.append(true);
                    }
                    Arc::new(b.finish())
                }
                other => panic!("no test values for {other}"),
            };
            arr
        })
        .collect();
    RecordBatch::try_new(schema, cols).unwrap()
}

/// Three patients at one hospital: P1 born 1950 (diabetic, heart failure), P2 born 1980,
/// P3 born 2000. `tag` makes each dataset's values distinguishable.
async fn write_dataset(store: &Store, name: &str, tier: Tier, tag: &str) {
    let w = store
        .begin(
            name,
            tier,
            Lineage {
                step: "test".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let births = [-7300, 3653, 10957]; // 1950-01-02, 1980-01-02, 2000-01-01
    let persons = batch(CanonicalTable::Persons, 3, |c, i| match c {
        "provider_id" => Some(V::S("H1".into())),
        "patient_id" => Some(V::S(format!("{tag}P{}", i + 1))),
        "name_kanji" => Some(V::S(format!("{tag}氏名{i}"))),
        "birth_date" => Some(V::D(births[i])),
        "sex" => Some(V::I((i % 2 + 1) as i64)),
        "prefecture_code" => Some(V::S(format!("{:02}", 13 + i))),
        _ => None,
    });
    w.write_table("persons", CanonicalTable::Persons.schema(), [&persons])
        .unwrap();
    let claims = batch(CanonicalTable::Claims, 6, |c, i| match c {
        "claim_id" => Some(V::S(format!("{tag}C{i}"))),
        "provider_id" => Some(V::S("H1".into())),
        "patient_id" => Some(V::S(format!("{tag}P{}", i / 2 + 1))),
        "service_month" => Some(V::S(format!("20240{}", i % 2 + 3))),
        "total_points" => Some(V::I(100 * (i as i64 + 1))),
        "birth_date" => Some(V::D(births[i / 2])),
        "card_number" => Some(V::S("12345".into())),
        _ => None,
    });
    w.write_table("claims", CanonicalTable::Claims.schema(), [&claims])
        .unwrap();
    let codes = ["E11.2", "I50.0", "E11.9", "J06.9", "C34.1", "C78.0"];
    let diagnoses = batch(CanonicalTable::Diagnoses, 6, |c, i| match c {
        "claim_id" => Some(V::S(format!("{tag}C{i}"))),
        "provider_id" => Some(V::S("H1".into())),
        "patient_id" => Some(V::S(format!("{tag}P{}", i / 2 + 1))),
        "icd10" => Some(V::S(codes[i].into())),
        "disease_code" => Some(V::S("8840000".into())),
        "is_main" => Some(V::B(true)),
        _ => None,
    });
    w.write_table(
        "diagnoses",
        CanonicalTable::Diagnoses.schema(),
        [&diagnoses],
    )
    .unwrap();
    w.commit().await.unwrap();
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    master: Key,
}

impl Fixture {
    /// `sample` (sample tier), `data-a` and `data-b` (anonymized, for projects A and B).
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        write_dataset(&store, "sample", Tier::Sample, "s").await;
        write_dataset(&store, "data-a", Tier::Anonymized, "a").await;
        write_dataset(&store, "data-b", Tier::Anonymized, "b").await;
        Fixture {
            _dir: dir,
            store,
            master: Key::in_memory("master-test", "token", KeyMaterial::from_bytes([9; 32])),
        }
    }

    async fn open(
        &self,
        user: &str,
        project: &str,
        tier: Tier,
        datasets: &[&str],
        limits: Limits,
    ) -> Result<Workspace, AnalysisError> {
        Workspace::open(
            &self.store,
            researcher(user, &[project]),
            &self.master,
            spec(project, tier, datasets, limits),
        )
        .await
    }

    async fn project_a(&self) -> Workspace {
        self.open(
            "alice",
            "proj-a",
            Tier::Anonymized,
            &["data-a"],
            Limits::default(),
        )
        .await
        .unwrap()
    }

    async fn project_b(&self) -> Workspace {
        self.open(
            "bob",
            "proj-b",
            Tier::Anonymized,
            &["data-b"],
            Limits::default(),
        )
        .await
        .unwrap()
    }
}

fn researcher(user: &str, projects: &[&str]) -> Actor {
    Actor {
        user: user.into(),
        role: Role::Researcher,
        authorization: None,
        memberships: projects
            .iter()
            .map(|p| Membership {
                project: (*p).into(),
                tier: Tier::Anonymized,
                starts: 0,
                expires: TODAY + 100,
                active: true,
            })
            .collect(),
    }
}

fn spec(project: &str, tier: Tier, datasets: &[&str], limits: Limits) -> WorkspaceSpec {
    WorkspaceSpec {
        project: project.into(),
        tier,
        datasets: datasets
            .iter()
            .map(|d| DatasetGrant {
                dataset: (*d).into(),
                version: None,
            })
            .collect(),
        limits,
        masters_dir: Some(masters_dir()),
        today: TODAY,
        ndb_linkage: false,
    }
}

fn masters_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/masters")
}

/// All values of column `i` of a query's shown rows, as strings.
async fn column(ws: &Workspace, sql: &str, i: usize) -> Vec<String> {
    let out = ws.query(sql).await.unwrap();
    let mut v = Vec::new();
    for b in &out.batches {
        let col = datafusion::arrow::compute::cast(b.column(i), &DataType::Utf8).unwrap();
        for x in col.as_string::<i32>().iter() {
            v.push(x.unwrap_or("NULL").to_string());
        }
    }
    v
}

fn assert_refused(r: Result<medinfra_analysis::QueryOutput, AnalysisError>, sql: &str) {
    match r {
        Err(AnalysisError::Refused(_)) | Err(AnalysisError::Query(_)) => {}
        Err(other) => panic!("{sql}: unexpected error kind {other}"),
        Ok(out) => panic!("{sql}: ran and returned {} rows", out.total_rows),
    }
}

#[tokio::test]
async fn refuses_everything_but_queries_over_the_workspace_tables() {
    let fx = Fixture::new().await;
    let ws = fx.project_a().await;
    let outside = fx._dir.path().join("escaped.parquet");
    let data_b = fx.store.version("data-b", None).await.unwrap();
    let claims_file = fx.store.table_files(&data_b, "claims").unwrap().remove(0);
    let cf = claims_file.display().to_string();
    let out = outside.display().to_string();
    let cases: Vec<(String, bool)> = vec![
        // (sql, must be refused by the DDL/DML/statement or plan fence rather than merely fail)
        ("CREATE TABLE t AS SELECT * FROM claims".into(), true),
        ("CREATE VIEW v AS SELECT * FROM claims".into(), true),
        (format!("CREATE EXTERNAL TABLE ext STORED AS PARQUET LOCATION '{cf}'"), true),
        ("DROP TABLE claims".into(), true),
        ("INSERT INTO claims SELECT * FROM claims".into(), false),
        (format!("COPY claims TO '{out}' STORED AS PARQUET"), true),
        (format!("COPY (SELECT * FROM claims) TO '{out}'"), true),
        ("SET datafusion.execution.batch_size = 1".into(), true),
        ("BEGIN TRANSACTION".into(), false),
        ("EXPLAIN SELECT * FROM claims".into(), true),
        ("EXPLAIN ANALYZE SELECT * FROM claims".into(), true),
        ("SELECT * FROM generate_series(1, 3)".into(), false),
        ("SELECT * FROM range(3)".into(), false),
        (format!("SELECT * FROM read_parquet('{cf}')"), false),
        (format!("SELECT * FROM '{cf}'"), false),
        (format!("SELECT * FROM \"{cf}\""), false),
        ("SELECT * FROM 'claims/part-00000.parquet'".into(), false),
        ("SELECT * FROM information_schema.tables".into(), false),
        ("SELECT * FROM information_schema.columns".into(), false),
        ("SHOW TABLES".into(), false),
        ("SHOW COLUMNS FROM claims".into(), false),
        ("SELECT * FROM datafusion.public.claims".into(), false),
        ("SELECT * FROM other.project.claims".into(), false),
        ("SELECT * FROM stored_claims".into(), false),
        ("SELECT * FROM truth".into(), false),
        ("SELECT * FROM population".into(), false),
        ("SELECT * FROM \"CLAIMS\"".into(), false),
        ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r".into(), true),
        ("SELECT name_kanji FROM persons".into(), false),
        ("SELECT card_number FROM claims".into(), false),
        ("SELECT project_token(patient_id) FROM claims".into(), false),
    ];
    for (sql, fenced) in &cases {
        let r = ws.query(sql).await;
        if *fenced {
            assert!(matches!(r, Err(AnalysisError::Refused(_))), "{sql}: {r:?}");
        } else {
            assert_refused(r, sql);
        }
    }
    assert!(!outside.exists(), "COPY must not write a file");
    // The same tables are reachable by their qualified and quoted names.
    for sql in [
        "SELECT count(*) FROM claims",
        "SELECT count(*) FROM \"claims\"",
        "SELECT count(*) FROM project.claims",
        "SELECT count(*) FROM medinfra.project.claims",
    ] {
        assert_eq!(column(&ws, sql, 0).await, vec!["6"], "{sql}");
    }
    let names: Vec<String> = ws
        .tables()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(names, vec!["claims", "diagnoses", "persons"]);
    // Direct identifiers are not even columns.
    let persons = ws
        .tables()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.0 == "persons")
        .unwrap()
        .1;
    assert!(persons.field_with_name("name_kanji").is_err());
    assert!(persons.field_with_name("birth_date").is_ok());
}

#[tokio::test]
async fn two_projects_see_different_pseudonyms_for_the_same_person() {
    let fx = Fixture::new().await;
    // Both projects granted the same sample dataset.
    let a = fx
        .open(
            "alice",
            "proj-a",
            Tier::Sample,
            &["sample"],
            Limits::default(),
        )
        .await
        .unwrap();
    let b = fx
        .open(
            "bob",
            "proj-b",
            Tier::Sample,
            &["sample"],
            Limits::default(),
        )
        .await
        .unwrap();
    let sql = "SELECT patient_id, claim_id FROM claims ORDER BY total_points";
    let ta = column(&a, sql, 0).await;
    let tb = column(&b, sql, 0).await;
    assert_eq!(ta.len(), 6);
    let expect = |p: &str, v: &str| {
        project_token(&fx.master, p, v, Encoding::Hex)
            .unwrap()
            .value[..PROJECT_TOKEN_CHARS]
            .to_string()
    };
    assert_eq!(ta[0], expect("proj-a", "sP1"));
    assert_eq!(tb[0], expect("proj-b", "sP1"));
    for (x, y) in ta.iter().zip(&tb) {
        assert_ne!(x, y);
        assert!(!x.contains("sP"), "stored key leaked");
    }
    // Claim ids are re-keyed too, so row-level results cannot be joined on them.
    let ca = column(&a, sql, 1).await;
    let cb = column(&b, sql, 1).await;
    assert!(ca.iter().zip(&cb).all(|(x, y)| x != y));
    // Within a project the pseudonym is consistent across tables, so joins work.
    let joined = column(
        &a,
        "SELECT count(*) FROM claims c JOIN persons p ON c.patient_id = p.patient_id \
         JOIN diagnoses d ON d.claim_id = c.claim_id",
        0,
    )
    .await;
    assert_eq!(joined, vec!["6"]);
    // Functions of the pseudonym cannot recover the stored key.
    let pre = column(
        &a,
        "SELECT DISTINCT substr(patient_id, 1, 2) FROM persons",
        0,
    )
    .await;
    assert!(pre.iter().all(|p| p != "sP"));
}

#[tokio::test]
async fn project_a_cannot_reach_project_b_data_or_results() {
    let fx = Fixture::new().await;
    let mut b = fx.project_b().await;
    b.save_result("cohort", "SELECT patient_id, total_points FROM claims")
        .await
        .unwrap();
    let b_tokens = column(&b, "SELECT patient_id FROM cohort", 0).await;
    assert_eq!(b_tokens.len(), 6);
    let b_dir = fx.store.root().join("workspaces/proj-b/results");
    assert!(b_dir.join("cohort.parquet").exists());

    let mut a = fx.project_a().await;
    assert!(a.results().is_empty());
    let b_file = b_dir.join("cohort.parquet").display().to_string();
    let b_version = fx.store.version("data-b", None).await.unwrap();
    let evasions = [
        "SELECT * FROM cohort".to_string(),
        "SELECT * FROM \"cohort\"".to_string(),
        "SELECT * FROM project.cohort".to_string(),
        "SELECT * FROM \"proj-b\".cohort".to_string(),
        "SELECT * FROM medinfra.\"proj-b\".claims".to_string(),
        "SELECT * FROM \"data-b\".claims".to_string(),
        "SELECT * FROM data_b.claims".to_string(),
        format!("SELECT * FROM '{b_file}'"),
        format!("SELECT * FROM \"{b_file}\""),
        format!("SELECT * FROM '{}/claims'", b_version.dir.display()),
        "SELECT patient_id FROM claims UNION ALL SELECT patient_id FROM cohort".to_string(),
        "SELECT * FROM claims WHERE patient_id IN (SELECT patient_id FROM cohort)".to_string(),
        "SELECT * FROM claims WHERE EXISTS (SELECT 1 FROM information_schema.tables)".to_string(),
        "SELECT (SELECT count(*) FROM cohort) FROM claims".to_string(),
        "WITH x AS (SELECT * FROM cohort) SELECT * FROM x".to_string(),
    ];
    for sql in &evasions {
        assert_refused(a.query(sql).await, sql);
    }
    // A's own data holds none of B's stored keys or B's pseudonyms.
    let a_tokens = column(&a, "SELECT patient_id FROM claims", 0).await;
    assert!(a_tokens.iter().all(|t| !b_tokens.contains(t)));
    // A result named like B's is A's own and independent.
    a.save_result("cohort", "SELECT 1 AS one").await.unwrap();
    assert_eq!(column(&a, "SELECT * FROM cohort", 0).await, vec!["1"]);
    assert_eq!(
        column(&b, "SELECT count(*) FROM cohort", 0).await,
        vec!["6"]
    );

    // Alice is not a member of proj-b: opening it is denied and audited.
    let denied = fx
        .open(
            "alice",
            "proj-b",
            Tier::Anonymized,
            &["data-b"],
            Limits::default(),
        )
        .await;
    let alice_in_b = Workspace::open(
        &fx.store,
        researcher("alice", &["proj-a"]),
        &fx.master,
        spec("proj-b", Tier::Anonymized, &["data-b"], Limits::default()),
    )
    .await;
    assert!(
        denied.is_ok(),
        "helper grants membership of the named project"
    );
    assert!(
        matches!(alice_in_b, Err(AnalysisError::Denied { .. })),
        "{alice_in_b:?}"
    );
    // A project workspace cannot take a dataset of another tier.
    let wrong_tier = fx
        .open(
            "alice",
            "proj-a",
            Tier::Anonymized,
            &["sample"],
            Limits::default(),
        )
        .await;
    assert!(matches!(
        wrong_tier,
        Err(AnalysisError::TierMismatch { .. })
    ));
}

#[tokio::test]
async fn results_persist_per_project_and_build_on_each_other() {
    let fx = Fixture::new().await;
    let mut a = fx.project_a().await;
    let info = a
        .save_result(
            "per_patient",
            "SELECT patient_id, sum(total_points) AS pts FROM claims GROUP BY patient_id",
        )
        .await
        .unwrap();
    assert_eq!(info.rows, 3);
    assert_eq!(info.inputs.len(), 1);
    assert!(info.inputs[0].starts_with("data-a@v1#"));
    a.save_result("big", "SELECT * FROM per_patient WHERE pts > 500")
        .await
        .unwrap();
    assert_eq!(a.results()[0].inputs, vec!["result:per_patient"]);
    assert!(
        a.save_result("big", "SELECT 1").await.is_err(),
        "no silent overwrite"
    );
    assert!(a.save_result("claims", "SELECT 1").await.is_err());
    assert!(a.save_result("../x", "SELECT 1").await.is_err());
    assert!(a.save_result("bad", "DROP TABLE claims").await.is_err());
    drop(a);
    // A new session of the same project sees them.
    let mut a = fx.project_a().await;
    assert_eq!(
        column(&a, "SELECT pts FROM big ORDER BY pts", 0).await,
        vec!["700", "1100"]
    );
    a.drop_result("big").await.unwrap();
    assert!(a.query("SELECT * FROM big").await.is_err());
}

#[tokio::test]
async fn limits_on_rows_time_and_memory() {
    let fx = Fixture::new().await;
    let shown = Limits {
        max_rows_shown: 4,
        ..Limits::default()
    };
    let ws = fx
        .open("alice", "proj-a", Tier::Anonymized, &["data-a"], shown)
        .await
        .unwrap();
    let out = ws.query("SELECT * FROM claims").await.unwrap();
    assert_eq!(
        (out.shown_rows, out.total_rows, out.truncated),
        (4, 6, true)
    );
    assert_eq!(out.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 4);

    let heavy = "SELECT count(*) FROM claims a, claims b, claims c, claims d, claims e, claims f, \
                 claims g, claims h, claims i WHERE a.total_points + b.total_points + c.total_points \
                 + d.total_points + e.total_points + f.total_points + g.total_points + h.total_points \
                 + i.total_points > 0";
    let quick = Limits {
        timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let ws = fx
        .open("alice", "proj-a", Tier::Anonymized, &["data-a"], quick)
        .await
        .unwrap();
    assert!(matches!(
        ws.query(heavy).await,
        Err(AnalysisError::Timeout(_))
    ));

    let small = Limits {
        memory_bytes: 16 * 1024,
        ..Limits::default()
    };
    let ws = fx
        .open("alice", "proj-a", Tier::Anonymized, &["data-a"], small)
        .await
        .unwrap();
    let join = "SELECT count(*) FROM claims a JOIN claims b ON a.service_month = b.service_month \
                JOIN claims c ON b.service_month = c.service_month \
                JOIN claims d ON c.service_month = d.service_month";
    let r = ws.query(join).await;
    assert!(matches!(r, Err(AnalysisError::MemoryLimit { .. })), "{r:?}");
}

#[tokio::test]
async fn researcher_functions_in_sql() {
    let fx = Fixture::new().await;
    let ws = fx.project_a().await;
    let ages = column(
        &ws,
        "SELECT age_at(birth_date, DATE '2024-01-01') FROM persons ORDER BY birth_date",
        0,
    )
    .await;
    assert_eq!(ages, vec!["73", "43", "24"]);
    let fy = column(
        &ws,
        "SELECT jp_fiscal_year(DATE '2024-03-31'), jp_fiscal_year(DATE '2024-04-01')",
        0,
    )
    .await;
    assert_eq!(fy, vec!["2023"]);
    let dm = column(
        &ws,
        "SELECT count(*) FROM diagnoses WHERE icd10_match(icd10, 'E10-E14')",
        0,
    )
    .await;
    assert_eq!(dm, vec!["2"]);
    let cancer = column(
        &ws,
        "SELECT count(*) FROM diagnoses WHERE icd10_match(icd10, 'C34, C78')",
        0,
    )
    .await;
    assert_eq!(cancer, vec!["2"]);
    let cci = column(
        &ws,
        "SELECT p.birth_date, charlson_index(d.icd10) FROM diagnoses d \
         JOIN persons p ON p.patient_id = d.patient_id GROUP BY p.birth_date ORDER BY p.birth_date",
        1,
    )
    .await;
    // P1: E11.2 (2) + I50 (1) = 3; P2: E11.9 (1); P3: C34 + C78 → metastatic only = 6.
    assert_eq!(cci, vec!["3", "1", "6"]);
    let name = column(
        &ws,
        "SELECT master_name('700010000'), master_name('nope')",
        0,
    )
    .await;
    assert_eq!(name, vec!["半切"]);
    let none = column(&ws, "SELECT master_name('nope')", 0).await;
    assert_eq!(none, vec!["NULL"]);
}

/// Finding 3 of the attack on the served demo: each query's full SQL (up to 1 MB) went into
/// the permanent audit chain, anonymously. The chain keeps a digest, the length and a prefix.
#[tokio::test]
async fn a_megabyte_of_sql_does_not_go_into_the_audit_chain() {
    let fx = Fixture::new().await;
    let ws = fx.project_a().await;
    let padding = format!("/* {} */", "x".repeat(1 << 20));
    let sql = format!("SELECT count(*) AS n FROM claims {padding}");
    ws.query(&sql).await.unwrap();
    let entries = AuditLog::new(&fx.store).entries(None).await.unwrap();
    let last = entries
        .iter()
        .rev()
        .find(|e| e.action == "analysis.query")
        .unwrap();
    assert!(
        last.detail.len() < 2048,
        "{} bytes audited",
        last.detail.len()
    );
    let detail: serde_json::Value = serde_json::from_str(&last.detail).unwrap();
    assert_eq!(detail["sql_bytes"], sql.len());
    assert_eq!(
        detail["sql_sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(sql.as_bytes()))
    );
}

#[tokio::test]
async fn same_sql_on_sample_then_project_data_and_every_query_is_audited() {
    let fx = Fixture::new().await;
    let sql = "SELECT service_month, count(DISTINCT patient_id) AS n FROM claims GROUP BY service_month ORDER BY 1";
    let sample = fx
        .open(
            "alice",
            "proj-a",
            Tier::Sample,
            &["sample"],
            Limits::default(),
        )
        .await
        .unwrap();
    let project = fx.project_a().await;
    let s = sample.query(sql).await.unwrap();
    let p = project.query(sql).await.unwrap();
    assert_eq!(s.schema.fields().len(), p.schema.fields().len());
    assert_eq!(s.total_rows, 2);
    assert_eq!(p.total_rows, 2);
    assert!(project.query("DROP TABLE claims").await.is_err());

    let entries = AuditLog::new(&fx.store).entries(None).await.unwrap();
    let ours: Vec<_> = entries
        .iter()
        .filter(|e| e.action.starts_with("analysis."))
        .collect();
    assert_eq!(ours.len(), 3);
    let last_ok = ours[1];
    assert_eq!(last_ok.actor, "alice");
    assert_eq!(last_ok.resource, "project:proj-a");
    assert_eq!(last_ok.outcome, "allowed");
    let detail: serde_json::Value = serde_json::from_str(&last_ok.detail).unwrap();
    assert_eq!(detail["sql_prefix"], sql);
    assert_eq!(detail["sql_bytes"], sql.len());
    let v = fx.store.version("data-a", None).await.unwrap();
    assert_eq!(
        detail["read"][0],
        format!("data-a@v1#{}", v.manifest_sha256)
    );
    assert!(ours[2].outcome.starts_with("refused"));

    // A membership that lapses while the workspace is open stops the next query.
    let mut actor = researcher("carol", &["proj-a"]);
    actor.memberships[0].expires = TODAY;
    let mut spec_now = spec("proj-a", Tier::Anonymized, &["data-a"], Limits::default());
    let ws = Workspace::open(&fx.store, actor.clone(), &fx.master, spec_now.clone())
        .await
        .unwrap();
    assert!(ws.query("SELECT 1").await.is_ok());
    spec_now.today = TODAY + 1;
    let later = Workspace::open(&fx.store, actor, &fx.master, spec_now).await;
    assert!(matches!(later, Err(AnalysisError::Denied { .. })));
    let entries = AuditLog::new(&fx.store).entries(Some(1)).await.unwrap();
    assert!(entries[0].outcome.contains("denied"));
    assert!(AuditLog::new(&fx.store).verify().await.unwrap().1.is_none());
}

// ---- re-keyed copies ----

fn copy_dirs(fx: &Fixture, project: &str, dataset: &str) -> Vec<PathBuf> {
    let dir = fx
        .store
        .root()
        .join("workspaces")
        .join(project)
        .join("rekeyed")
        .join(dataset);
    let mut out: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(parquet_files(&p));
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
    out
}

/// Every (column name, value) of the string columns of a Parquet file.
fn string_cells(path: &Path) -> Vec<(String, String)> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
            let Ok(col) = datafusion::arrow::compute::cast(col, &DataType::Utf8) else {
                continue;
            };
            for v in col.as_string::<i32>().iter().flatten() {
                out.push((field.name().clone(), v.to_string()));
            }
        }
    }
    out
}

fn versions_of(
    fx: &Fixture,
    dataset: &str,
) -> impl Future<Output = Vec<medinfra_store::VersionInfo>> {
    let store = fx.store.clone();
    let dataset = dataset.to_string();
    async move { vec![store.version(&dataset, None).await.unwrap()] }
}

#[tokio::test]
async fn rekeyed_copy_is_built_once_holds_only_project_tokens_and_is_rebuilt_when_damaged() {
    let fx = Fixture::new().await;
    let versions = versions_of(&fx, "data-a").await;
    let first = medinfra_analysis::prepare_rekeyed_copies(
        &fx.store, &fx.master, "proj-a", false, &versions,
    )
    .await
    .unwrap();
    assert_eq!(first.len(), 1);
    assert!(first[0].built);
    assert_eq!(first[0].rows, 3 + 6 + 6);
    let again = medinfra_analysis::prepare_rekeyed_copies(
        &fx.store, &fx.master, "proj-a", false, &versions,
    )
    .await
    .unwrap();
    assert!(!again[0].built, "a valid copy is reused");

    let dirs = copy_dirs(&fx, "proj-a", "data-a");
    assert_eq!(dirs.len(), 1);
    let files = parquet_files(&dirs[0]);
    assert_eq!(files.len(), 3, "{files:?}");
    let tok = |v: &str| {
        project_token(&fx.master, "proj-a", v, Encoding::Hex)
            .unwrap()
            .value[..PROJECT_TOKEN_CHARS]
            .to_string()
    };
    let stored_keys: Vec<String> = (1..=3)
        .map(|i| format!("aP{i}"))
        .chain((0..6).map(|i| format!("aC{i}")))
        .collect();
    let mut key_cells = 0;
    for f in &files {
        for (col, v) in string_cells(f) {
            assert!(
                ![
                    "name_kanji",
                    "name_kana",
                    "card_number",
                    "card_symbol",
                    "address",
                    "phone"
                ]
                .contains(&col.as_str()),
                "direct identifier {col} in the copy"
            );
            assert!(!stored_keys.contains(&v), "stored key in column {col}");
            assert!(
                !v.contains("氏名") && v != "12345",
                "identifier value in {col}"
            );
            if col == "patient_id" || col == "claim_id" {
                assert_eq!(v.len(), PROJECT_TOKEN_CHARS);
                key_cells += 1;
            }
        }
    }
    assert_eq!(key_cells, 3 + 6 * 2 + 6 * 2);
    // The workspace reads the copy: the same tokens as project_token.
    let ws = fx.project_a().await;
    assert!(!ws.rekeyed_copies()[0].built);
    let ids = column(&ws, "SELECT patient_id FROM persons ORDER BY birth_date", 0).await;
    assert_eq!(ids, vec![tok("aP1"), tok("aP2"), tok("aP3")]);
    let claims = column(&ws, "SELECT claim_id FROM claims ORDER BY total_points", 0).await;
    assert_eq!(claims[0], tok("aC0"));
    drop(ws);

    // A damaged copy (a part missing) is rebuilt, not read.
    std::fs::remove_file(&files[0]).unwrap();
    let ws = fx.project_a().await;
    assert!(ws.rekeyed_copies()[0].built);
    assert_eq!(
        column(&ws, "SELECT count(*) FROM claims", 0).await,
        vec!["6"]
    );
    assert_eq!(copy_dirs(&fx, "proj-a", "data-a").len(), 1);
}

#[tokio::test]
async fn stored_keys_cannot_be_probed_through_functions_of_key_columns() {
    let fx = Fixture::new().await;
    let ws = fx
        .open(
            "alice",
            "proj-a",
            Tier::Sample,
            &["sample"],
            Limits::default(),
        )
        .await
        .unwrap();
    for sql in [
        "SELECT count(*) FROM persons WHERE substr(patient_id, 1, 2) = 'sP'",
        "SELECT count(*) FROM persons WHERE patient_id = 'sP1'",
        "SELECT count(*) FROM persons WHERE patient_id LIKE '%P%'",
        "SELECT count(*) FROM claims WHERE claim_id LIKE 'sC%'",
        "SELECT count(*) FROM persons WHERE length(patient_id) <> 32",
    ] {
        assert_eq!(column(&ws, sql, 0).await, vec!["0"], "{sql}");
    }
}

#[tokio::test]
async fn on_scan_and_materialized_show_the_same_tokens() {
    let fx = Fixture::new().await;
    let sql = "SELECT c.patient_id, c.claim_id, d.icd10 FROM claims c \
               JOIN diagnoses d ON d.claim_id = c.claim_id ORDER BY c.total_points";
    let copy = fx.project_a().await;
    let scan = Workspace::open_with(
        &fx.store,
        researcher("alice", &["proj-a"]),
        &fx.master,
        spec("proj-a", Tier::Anonymized, &["data-a"], Limits::default()),
        medinfra_analysis::RekeyMode::OnScan,
    )
    .await
    .unwrap();
    assert!(scan.rekeyed_copies().is_empty());
    for i in 0..3 {
        let a = column(&copy, sql, i).await;
        assert_eq!(a.len(), 6);
        assert_eq!(a, column(&scan, sql, i).await);
    }
}

#[tokio::test]
async fn a_copy_is_never_read_by_another_project() {
    let fx = Fixture::new().await;
    let a = fx
        .open(
            "alice",
            "proj-a",
            Tier::Sample,
            &["sample"],
            Limits::default(),
        )
        .await
        .unwrap();
    let a_dir = copy_dirs(&fx, "proj-a", "sample").pop().unwrap();
    let a_file = parquet_files(&a_dir).pop().unwrap();
    let a_tokens = column(&a, "SELECT patient_id FROM persons", 0).await;

    // B's workspace over the same dataset has its own copy; A's files are not tables to B.
    let b = fx
        .open(
            "bob",
            "proj-b",
            Tier::Sample,
            &["sample"],
            Limits::default(),
        )
        .await
        .unwrap();
    for sql in [
        format!("SELECT * FROM '{}'", a_file.display()),
        format!("SELECT * FROM '{}'", a_dir.join("persons").display()),
        format!("SELECT * FROM read_parquet('{}')", a_file.display()),
    ] {
        assert_refused(b.query(&sql).await, &sql);
    }
    let b_dir = copy_dirs(&fx, "proj-b", "sample").pop().unwrap();
    assert_ne!(
        a_dir.file_name(),
        b_dir.file_name(),
        "the key check names the key"
    );
    drop(b);

    // A's copy placed where B's belongs is recognized as not B's and rebuilt.
    std::fs::remove_dir_all(&b_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    for f in std::fs::read_dir(&a_dir).unwrap() {
        let p = f.unwrap().path();
        if p.is_dir() {
            let t = b_dir.join(p.file_name().unwrap());
            std::fs::create_dir_all(&t).unwrap();
            for g in std::fs::read_dir(&p).unwrap() {
                let g = g.unwrap().path();
                std::fs::copy(&g, t.join(g.file_name().unwrap())).unwrap();
            }
        } else {
            std::fs::copy(&p, b_dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    let b = fx
        .open(
            "bob",
            "proj-b",
            Tier::Sample,
            &["sample"],
            Limits::default(),
        )
        .await
        .unwrap();
    assert!(
        b.rekeyed_copies()[0].built,
        "A's copy must not be used by B"
    );
    let b_tokens = column(&b, "SELECT patient_id FROM persons ORDER BY birth_date", 0).await;
    let expect = |v: &str| {
        project_token(&fx.master, "proj-b", v, Encoding::Hex)
            .unwrap()
            .value[..PROJECT_TOKEN_CHARS]
            .to_string()
    };
    assert_eq!(b_tokens, vec![expect("sP1"), expect("sP2"), expect("sP3")]);
    assert!(b_tokens.iter().all(|t| !a_tokens.contains(t)));
}

#[tokio::test]
async fn superseded_versions_are_refused_and_their_copies_deleted() {
    let fx = Fixture::new().await;
    let v1 = fx.store.version("data-a", None).await.unwrap();
    let a = fx.project_a().await;
    assert_eq!(copy_dirs(&fx, "proj-a", "data-a").len(), 1);
    // Another project holding a copy of the same version (prepared ahead, e.g. at approval).
    medinfra_analysis::prepare_rekeyed_copies(
        &fx.store,
        &fx.master,
        "proj-c",
        false,
        std::slice::from_ref(&v1),
    )
    .await
    .unwrap();
    assert_eq!(copy_dirs(&fx, "proj-c", "data-a").len(), 1);

    // An opt-out writes v2 without a person and supersedes v1.
    write_dataset(&fx.store, "data-a", Tier::Anonymized, "a").await;
    assert_eq!(
        fx.store
            .supersede_older_versions("data-a", 2)
            .await
            .unwrap(),
        1
    );

    // The open workspace's next query is denied, and its copy is gone.
    let r = a.query("SELECT count(*) FROM claims").await;
    assert!(
        matches!(&r, Err(AnalysisError::Denied { rule, .. }) if *rule == medinfra_analysis::SUPERSEDED_RULE),
        "{r:?}"
    );
    assert!(copy_dirs(&fx, "proj-a", "data-a").is_empty());
    // The sweep deletes every other project's copies of it.
    assert_eq!(
        medinfra_analysis::purge_superseded_copies(&fx.store)
            .await
            .unwrap(),
        1
    );
    assert!(copy_dirs(&fx, "proj-c", "data-a").is_empty());

    // Pinned to v1: refused at open and at preparation, and nothing is written.
    let mut pinned = spec("proj-a", Tier::Anonymized, &["data-a"], Limits::default());
    pinned.datasets[0].version = Some(1);
    let r = Workspace::open(
        &fx.store,
        researcher("alice", &["proj-a"]),
        &fx.master,
        pinned,
    )
    .await;
    assert!(matches!(r, Err(AnalysisError::Denied { .. })), "{r:?}");
    let v1_now = fx.store.version("data-a", Some(1)).await.unwrap();
    assert!(
        medinfra_analysis::prepare_rekeyed_copies(
            &fx.store,
            &fx.master,
            "proj-c",
            false,
            &[v1_now]
        )
        .await
        .is_err()
    );
    assert!(copy_dirs(&fx, "proj-a", "data-a").is_empty());
    assert!(copy_dirs(&fx, "proj-c", "data-a").is_empty());
    // The successor opens normally and gets its own copy.
    let a2 = fx.project_a().await;
    assert_eq!(a2.rekeyed_copies()[0].version, 2);
    assert_eq!(
        column(&a2, "SELECT count(*) FROM claims", 0).await,
        vec!["6"]
    );
}

/// Finding 3 of the attack on the served demo: `repeat('x', 1900000000)` allocated outside
/// DataFusion's memory pool (5.9 GiB RSS). The size-choosing string functions refuse before
/// allocating; ordinary use still works.
#[tokio::test]
async fn string_functions_cannot_allocate_gigabytes() {
    let fx = Fixture::new().await;
    let ws = fx.project_a().await;
    for sql in [
        "SELECT repeat('x', 1900000000) AS s",
        "SELECT lpad('x', 1900000000) AS s",
        "SELECT rpad('x', 1900000000, 'y') AS s",
        // Small per value, huge per batch.
        "SELECT repeat(patient_id, 40000) AS s FROM claims",
    ] {
        let err = ws.query(sql).await.unwrap_err().to_string();
        assert!(err.contains("over the limit"), "{sql}: {err}");
    }
    let out = column(&ws, "SELECT repeat('ab', 3) AS s", 0).await;
    assert_eq!(out, vec!["ababab"]);
    let out = column(&ws, "SELECT lpad('7', 3, '0') AS s", 0).await;
    assert_eq!(out, vec!["007"]);
}

/// Finding 8 of the attack on the served demo: saved results in the sample area had no
/// quota. A workspace keeps at most `max_results` of them.
#[tokio::test]
async fn saved_results_have_a_quota() {
    let fx = Fixture::new().await;
    let two = Limits {
        max_results: 2,
        ..Limits::default()
    };
    let mut ws = fx
        .open("alice", "proj-a", Tier::Anonymized, &["data-a"], two)
        .await
        .unwrap();
    ws.save_result("r1", "SELECT 1 AS x").await.unwrap();
    ws.save_result("r2", "SELECT 2 AS x").await.unwrap();
    let err = ws.save_result("r3", "SELECT 3 AS x").await.unwrap_err();
    assert!(err.to_string().contains("at most 2"), "{err}");
    ws.drop_result("r1").await.unwrap();
    ws.save_result("r3", "SELECT 3 AS x").await.unwrap();
}
