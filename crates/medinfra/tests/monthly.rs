//! End-to-end tests of the monthly run (`medinfra run`) and the person registry
//! (`medinfra persons`), on the binary as an operator runs it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Int64Type;

mod common;
use common::{json, medinfra, project_accounts, run_ok};

fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().expect("binary runs");
    assert!(!out.status.success(), "{cmd:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The directory of a dataset's latest version.
fn latest(data: &Path, dataset: &str) -> PathBuf {
    let mut dirs: Vec<(i64, PathBuf)> = std::fs::read_dir(data.join("datasets").join(dataset))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let v = name.strip_prefix('v')?.split('-').next()?.parse().ok()?;
            Some((v, p))
        })
        .collect();
    dirs.sort();
    dirs.pop().unwrap().1
}

fn versions(data: &Path, dataset: &str) -> usize {
    std::fs::read_dir(data.join("datasets").join(dataset))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Every record batch of `table` in a version directory, from the parts its manifest lists
/// (the layout inside a version is the store's business).
fn batches(version: &Path, table: &str) -> Vec<RecordBatch> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(version.join("manifest.json")).unwrap()).unwrap();
    let mut out = Vec::new();
    for t in manifest["tables"].as_array().unwrap() {
        if t["name"] != table {
            continue;
        }
        for f in t["files"].as_array().unwrap() {
            let file = std::fs::File::open(version.join(f["path"].as_str().unwrap())).unwrap();
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .unwrap()
                    .build()
                    .unwrap();
            out.extend(reader.map(|b| b.unwrap()));
        }
    }
    out
}

fn strings(b: &RecordBatch, cols: &[&str], i: usize) -> Vec<String> {
    cols.iter()
        .map(|c| {
            b.column_by_name(c)
                .unwrap()
                .as_string::<i32>()
                .value(i)
                .to_string()
        })
        .collect()
}

fn ints(b: &RecordBatch, col: &str) -> Vec<i64> {
    let c = b.column_by_name(col).unwrap().as_primitive::<Int64Type>();
    assert_eq!(c.null_count(), 0, "{col} has nulls");
    c.values().to_vec()
}

/// Every row of `table` in a version as the values of the named string columns, with its
/// `person_id`.
fn rows(version: &Path, table: &str, cols: &[&str]) -> Vec<(Vec<String>, i64)> {
    let mut out = Vec::new();
    for b in batches(version, table) {
        let person = ints(&b, "person_id");
        out.extend((0..b.num_rows()).map(|i| (strings(&b, cols, i), person[i])));
    }
    out
}

/// Every row of `table` as the values of the named string columns.
fn rows_without_person(version: &Path, table: &str, cols: &[&str]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for b in batches(version, table) {
        out.extend((0..b.num_rows()).map(|i| strings(&b, cols, i)));
    }
    out
}

/// A checkup as it can be recognised without its id: facility, checkup date, birth date, sex.
type CheckupKey = (String, i32, i32, i32);

fn checkup_keys(b: &RecordBatch) -> Vec<CheckupKey> {
    use arrow::datatypes::{Date32Type, Int32Type};
    let fac = b.column_by_name("facility_id").unwrap().as_string::<i32>();
    let date = |c: &str| {
        b.column_by_name(c)
            .unwrap()
            .as_primitive::<Date32Type>()
            .clone()
    };
    let (when, birth) = (date("checkup_date"), date("birth_date"));
    let sex = b.column_by_name("sex").unwrap().as_primitive::<Int32Type>();
    (0..b.num_rows())
        .map(|i| {
            (
                fac.value(i).to_string(),
                when.value(i),
                birth.value(i),
                sex.value(i),
            )
        })
        .collect()
}

/// Checkup rows of a version: their key and person_id.
fn checkup_rows(version: &Path) -> Vec<(CheckupKey, i64)> {
    let mut out = Vec::new();
    for b in batches(version, "checkups") {
        out.extend(checkup_keys(&b).into_iter().zip(ints(&b, "person_id")));
    }
    out
}

/// The sample's checkups by key → true person (the generator's checkup ids are not in the
/// documents, so ingest's cannot be matched by id). Keys two checkups share are left out.
fn checkup_truth(data: &Path) -> HashMap<CheckupKey, i64> {
    let by_id = truth_of_kind(data, "checkup");
    let mut out = HashMap::new();
    let mut seen: HashMap<CheckupKey, usize> = HashMap::new();
    for b in batches(&latest(data, "s"), "checkups") {
        for (i, key) in checkup_keys(&b).into_iter().enumerate() {
            *seen.entry(key.clone()).or_default() += 1;
            let id = strings(&b, &["facility_id", "checkup_id"], i);
            if let Some(p) = by_id.get(&(id[0].clone(), id[1].clone())) {
                out.insert(key, *p);
            }
        }
    }
    out.retain(|k, _| seen[k] == 1);
    out
}

/// (provider, chart) → true person, from the sample's truth.
fn truth(data: &Path) -> HashMap<(String, String), i64> {
    truth_of_kind(data, "patient")
}

/// (provider, record id) → true person for the truth rows of one record kind.
fn truth_of_kind(data: &Path, record_kind: &str) -> HashMap<(String, String), i64> {
    let mut out = HashMap::new();
    for b in batches(&latest(data, "s-truth"), "truth") {
        let person = ints(&b, "person_id");
        for (i, p) in person.into_iter().enumerate() {
            let k = strings(&b, &["record_kind", "provider_id", "record_id"], i);
            if k[0] == record_kind {
                out.insert((k[1].clone(), k[2].clone()), p);
            }
        }
    }
    out
}

fn export(data: &Path, out: &Path) -> HashMap<String, i64> {
    run_ok(medinfra(data).args(["persons", "export", "--out"]).arg(out));
    let mut r = csv::Reader::from_path(out).unwrap();
    r.records()
        .map(|x| {
            let x = x.unwrap();
            (x[0].to_string(), x[3].parse().unwrap())
        })
        .collect()
}

/// The operator registers the providers synth wrote files for (the run reads no one else's).
fn register_providers(data: &Path) {
    run_ok(
        medinfra(data).args([
            "providers",
            "import",
            data.join("provider-files/s.providers.csv")
                .to_str()
                .unwrap(),
        ]),
    );
}

fn books_balance(report: &serde_json::Value) {
    let r = &report["reconciliation"];
    assert_eq!(r["balanced"], true, "{report}");
    for (table, b) in r["tables"].as_object().unwrap() {
        let (src, rows, held) = (
            b["source_rows"].as_u64().unwrap(),
            b["rows"].as_u64().unwrap(),
            b["withheld"].as_u64().unwrap(),
        );
        assert_eq!(src, rows + held, "{table}: {b}");
    }
}

/// Two monthly deliveries through `medinfra run`: one person across providers is one
/// `person_id`, IDs stay put between months, the books balance, the same month twice changes
/// nothing, and an opt-out takes the person out of the next build.
#[test]
fn monthly_runs_resolve_persons_keep_ids_and_balance_the_books() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_ok(medinfra(&data).args([
        "synth",
        "--persons",
        "400",
        "--years",
        "2",
        "--output",
        "s",
        "--format",
        "provider",
        "--deliveries",
        "202012,202112",
    ]));
    register_providers(&data);
    let deliveries = data.join("provider-files/s-deliveries");

    // Month 1.
    let m1 = json(
        medinfra(&data)
            .arg("run")
            .arg(deliveries.join("202012"))
            .arg("--json"),
    );
    books_balance(&m1);
    assert_eq!(m1["research_version"], 1, "{m1}");
    assert_eq!(m1["registry_version"], 1, "{m1}");
    assert!(m1["reconciliation"]["files"]["accepted"].as_u64().unwrap() > 100);
    assert!(m1["registry"]["persons_new"].as_u64().unwrap() > 200);
    let eval = json(medinfra(&data).args(["persons", "evaluate", "--truth", "s-truth", "--json"]));
    assert!(eval["f1"].as_f64().unwrap() >= 0.97, "{eval}");
    let ids1 = export(&data, &dir.path().join("m1.csv"));
    // The model trained in month 1 is saved with the registry, for the next runs to reuse.
    assert_eq!(m1["registry"]["model_trained"], true, "{m1}");
    let registry = json(medinfra(&data).args(["datasets", "show", "person-registry", "--json"]));
    let trained = &registry["lineage"]["parameters"]["trained"];
    assert!(trained["variants"].as_u64().unwrap() > 200, "{registry}");
    assert!(
        trained["params"]["m"].as_array().unwrap().len() > 3,
        "{registry}"
    );
    // ... and read back from it (a registry that lost them would retrain every month).
    let stats = json(medinfra(&data).args(["persons", "stats", "--json"]));
    assert_eq!(
        stats["model_trained_on_variants"], trained["variants"],
        "{stats}"
    );

    // Month 2: new records join; records already registered keep their IDs.
    let m2 = json(
        medinfra(&data)
            .arg("run")
            .arg(deliveries.join("202112"))
            .arg("--json"),
    );
    books_balance(&m2);
    assert_eq!(m2["research_version"], 2, "{m2}");
    assert!(m2["registry"]["joined"].as_u64().unwrap() > 0, "{m2}");
    let carried: u64 = m2["reconciliation"]["tables"]
        .as_object()
        .unwrap()
        .values()
        .map(|b| b["parts_carried"].as_u64().unwrap())
        .sum();
    assert!(
        carried > 0,
        "month 2 carries month 1's unchanged parts: {m2}"
    );
    let ids2 = export(&data, &dir.path().join("m2.csv"));
    let kept = ids1.iter().filter(|(k, v)| ids2.get(*k) == Some(v)).count();
    assert!(
        kept as f64 >= 0.99 * ids1.len() as f64,
        "{kept} of {} records kept their person",
        ids1.len()
    );
    let eval = json(medinfra(&data).args(["persons", "evaluate", "--truth", "s-truth", "--json"]));
    assert!(eval["f1"].as_f64().unwrap() >= 0.97, "{eval}");

    // Every file of the new versions is the one the manifest names (a part written twice
    // under one name would show here).
    for ds in ["research", "person-registry", "research-pseudonymized"] {
        let out = run_ok(medinfra(&data).args(["datasets", "verify", ds]));
        assert!(out.contains("ok"), "{ds}: {out}");
    }
    assert_eq!(m2["pseudonymized"][0], "research-pseudonymized", "{m2}");
    assert!(
        m2["anonymized"]
            .as_str()
            .unwrap()
            .contains("-> research-anonymized v2"),
        "{m2}"
    );
    let anon = json(medinfra(&data).args(["datasets", "show", "research-anonymized", "--json"]));
    assert_eq!(anon["tier"], "anonymized", "{anon}");

    // The research database: every row has a person, and a true person seen at several
    // providers (clinic, hospital, pharmacy) is one person_id in every table.
    let research = latest(&data, "research");
    let truth = truth(&data);
    let claims = rows(&research, "claims", &["provider_id", "patient_id"]);
    let mut persons_of_true: BTreeMap<i64, HashSet<i64>> = BTreeMap::new();
    let mut providers_of_true: BTreeMap<i64, HashSet<String>> = BTreeMap::new();
    for (k, p) in &claims {
        let t = truth[&(k[0].clone(), k[1].clone())];
        persons_of_true.entry(t).or_default().insert(*p);
        providers_of_true.entry(t).or_default().insert(k[0].clone());
    }
    let (widest, provs) = providers_of_true
        .iter()
        .max_by_key(|(_, p)| p.len())
        .unwrap();
    assert!(provs.len() >= 3, "a person at 3+ providers: {provs:?}");
    assert!(
        provs.iter().any(|p| &p[2..3] == "4"),
        "the widest person also went to a pharmacy: {provs:?}"
    );
    assert_eq!(
        persons_of_true[widest].len(),
        1,
        "one person_id across {provs:?}"
    );
    let split = persons_of_true.values().filter(|s| s.len() > 1).count();
    assert!(
        split * 100 <= persons_of_true.len(),
        "{split} of {} true persons are split",
        persons_of_true.len()
    );
    // Lab results carry persons too; a person's checkups (which name no chart number, only the
    // card, kana name, sex and birth date) resolve to the person of their receipts.
    assert!(!rows(&research, "lab_results", &["provider_id"]).is_empty());
    let person_of_true: HashMap<i64, i64> = persons_of_true
        .iter()
        .filter(|(_, s)| s.len() == 1)
        .map(|(t, s)| (*t, *s.iter().next().unwrap()))
        .collect();
    let true_of_checkup = checkup_truth(&data);
    let (mut agree, mut disagree) = (0, 0);
    for (key, person) in checkup_rows(&research) {
        let Some(t) = true_of_checkup.get(&key) else {
            continue;
        };
        match person_of_true.get(t) {
            Some(p) if *p == person => agree += 1,
            Some(_) => disagree += 1,
            None => {}
        }
    }
    assert!(agree > 20, "checkups of persons with receipts: {agree}");
    assert!(
        disagree * 50 <= agree,
        "{disagree} checkups resolved to another person than their receipts ({agree} agree)"
    );

    // The pseudonymized copy maps persons one to one: as many person tokens as person IDs,
    // with the same numbers of rows behind them.
    let pseudo = latest(&data, "research-pseudonymized");
    let mut by_token: HashMap<String, usize> = HashMap::new();
    for k in rows_without_person(&pseudo, "claims", &["person_id"]) {
        *by_token.entry(k[0].clone()).or_default() += 1;
    }
    let mut by_person: HashMap<i64, usize> = HashMap::new();
    for (_, p) in &claims {
        *by_person.entry(*p).or_default() += 1;
    }
    let mut a: Vec<usize> = by_token.values().copied().collect();
    let mut b: Vec<usize> = by_person.values().copied().collect();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "claims per person token = claims per person_id");
    assert!(
        by_token
            .keys()
            .all(|t| t.len() >= 32 && t.parse::<i64>().is_err()),
        "person_id is a keyed token in the pseudonymized copy"
    );

    // FHIR Bulk Data export of the pseudonymized research database: one Patient per person
    // token, every reference resolving to one of them, no chart number in any file; the
    // identified research database is refused.
    let fhir_dir = data.join("fhir-export");
    let manifest = json(
        medinfra(&data)
            .args([
                "export",
                "fhir",
                "--input",
                "research-pseudonymized",
                "--json",
            ])
            .arg("--output")
            .arg(&fhir_dir),
    );
    let outputs = manifest["output"].as_array().unwrap();
    let count_of = |t: &str| {
        outputs
            .iter()
            .find(|o| o["type"] == t)
            .and_then(|o| o["count"].as_u64())
            .unwrap_or(0)
    };
    for t in [
        "Patient",
        "Condition",
        "Procedure",
        "MedicationRequest",
        "Coverage",
    ] {
        assert!(count_of(t) > 0, "{t}: {manifest}");
    }
    let mut patients = HashSet::new();
    for line in std::fs::read_to_string(fhir_dir.join("Patient.ndjson"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["resourceType"], "Patient");
        assert!(patients.insert(v["id"].as_str().unwrap().to_string()));
    }
    let persons_in_pseudo: HashSet<String> =
        rows_without_person(&pseudo, "persons", &["person_id"])
            .into_iter()
            .map(|k| k[0].clone())
            .collect();
    assert!(
        persons_in_pseudo.is_subset(&patients),
        "a Patient for every person token of the persons table"
    );
    let charts: Vec<String> =
        rows_without_person(&latest(&data, "research"), "claims", &["patient_id"])
            .into_iter()
            .map(|k| k[0].clone())
            .take(200)
            .collect();
    for o in outputs {
        let t = o["type"].as_str().unwrap();
        let text = std::fs::read_to_string(fhir_dir.join(o["url"].as_str().unwrap())).unwrap();
        assert_eq!(
            text.lines().count() as u64,
            o["count"].as_u64().unwrap(),
            "{t}"
        );
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["resourceType"], t);
            for field in ["subject", "beneficiary", "patient"] {
                if let Some(r) = v[field]["reference"].as_str() {
                    let id = r.strip_prefix("Patient/").unwrap();
                    assert!(patients.contains(id), "{t}.{field} -> {r}");
                }
            }
        }
        for chart in &charts {
            assert!(
                !text.contains(&format!("\"{chart}\"")),
                "a chart number in {t}"
            );
        }
    }
    let refused = fails(
        medinfra(&data)
            .args(["export", "fhir", "--input", "research", "--output"])
            .arg(data.join("fhir-identified")),
    );
    assert!(refused.contains("identified"), "{refused}");

    // Why does a record have its person? The registry says, with the evidence.
    let some_record = ids2.keys().find(|k| k.starts_with("patient:")).unwrap();
    let explained = json(medinfra(&data).args(["persons", "explain", some_record, "--json"]));
    assert_eq!(explained["person_id"].as_i64(), Some(ids2[some_record]));
    assert!(
        !explained["events"].as_array().unwrap().is_empty(),
        "{explained}"
    );

    // The same month again: every file is a duplicate, nothing new is written.
    let again = json(
        medinfra(&data)
            .arg("run")
            .arg(deliveries.join("202112"))
            .arg("--json"),
    );
    assert!(again["unchanged"].is_string(), "{again}");
    assert_eq!(again["reconciliation"]["files"]["accepted"], 0);
    assert!(
        again["reconciliation"]["files"]["duplicate"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(versions(&data, "research"), 2);
    assert_eq!(versions(&data, "person-registry"), 2);

    // Opt-out of the widest person, reported by one provider by chart number: the person is
    // withheld from the next build in every table, at every provider.
    let (chart_provider, chart) = truth
        .iter()
        .find(|(_, t)| *t == widest)
        .map(|(k, _)| k.clone())
        .unwrap();
    run_ok(medinfra(&data).args([
        "optout",
        "record",
        "--provider",
        &chart_provider,
        "--patient",
        &chart,
    ]));
    let m3 = json(
        medinfra(&data)
            .arg("run")
            .arg(deliveries.join("202112"))
            .arg("--json"),
    );
    books_balance(&m3);
    assert_eq!(m3["reconciliation"]["optouts"]["persons"], 1, "{m3}");
    let withheld: u64 = m3["reconciliation"]["tables"]
        .as_object()
        .unwrap()
        .values()
        .map(|b| b["withheld"].as_u64().unwrap())
        .sum();
    assert!(withheld > 0, "{m3}");
    let research = latest(&data, "research");
    let gone = persons_of_true[widest].iter().next().copied().unwrap();
    for table in ["claims", "persons", "diagnoses"] {
        assert!(
            rows(&research, table, &["provider_id"])
                .iter()
                .all(|(_, p)| *p != gone),
            "{table} still holds the opted-out person"
        );
    }
}

/// Bad deliveries get clear messages and commit nothing partial.
#[test]
fn bad_deliveries_are_refused_or_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = fails(medinfra(&data).arg("run").arg(&empty));
    assert!(err.contains("holds no files"), "{err}");
    let err = fails(medinfra(&data).arg("run").arg(dir.path().join("missing")));
    assert!(err.contains("not a directory"), "{err}");
    assert_eq!(versions(&data, "research"), 0);

    // A delivery with a damaged receipt file and a file nobody can place: the damaged file is
    // rejected and named, the stray file is reported, the rest goes through and balances.
    run_ok(medinfra(&data).args([
        "synth",
        "--persons",
        "150",
        "--years",
        "1",
        "--output",
        "s",
        "--format",
        "provider",
        "--receipts-only",
        "--deliveries",
        "202012",
    ]));
    register_providers(&data);
    let delivery = data.join("provider-files/s-deliveries/202012");
    let mut ukes: Vec<PathBuf> = Vec::new();
    for p in std::fs::read_dir(&delivery).unwrap() {
        for m in std::fs::read_dir(p.unwrap().path()).unwrap() {
            let f = m.unwrap().path().join("RECEIPTC.UKE");
            if f.exists() {
                ukes.push(f);
            }
        }
    }
    ukes.sort();
    let damaged = &ukes[0];
    // Replace the hard link with a damaged copy (the original stays intact).
    let mut bytes = std::fs::read(damaged).unwrap();
    std::fs::remove_file(damaged).unwrap();
    bytes.truncate(bytes.len() / 3);
    bytes.extend_from_slice(b"\x00\x00garbage\r\n");
    std::fs::write(damaged, &bytes).unwrap();
    std::fs::write(delivery.join("notes.txt"), "not a provider file").unwrap();
    // A file sent twice under two names (the second is the same content: a duplicate), and a
    // file gone missing from the delivery (its rows never arrive; nothing else changes).
    let twice = ukes[1].with_file_name("RECEIPTC_COPY.UKE");
    std::fs::copy(&ukes[1], &twice).unwrap();
    std::fs::remove_file(&ukes[2]).unwrap();
    let r = json(medinfra(&data).arg("run").arg(&delivery).arg("--json"));
    books_balance(&r);
    let files = &r["reconciliation"]["files"];
    assert!(files["rejected"].as_u64().unwrap() >= 1, "{r}");
    let damaged_rel = damaged
        .strip_prefix(&delivery)
        .unwrap()
        .display()
        .to_string();
    assert!(
        files["rejections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x[0].as_str().unwrap().ends_with(&damaged_rel)),
        "the damaged file is named: {files}"
    );
    assert_eq!(files["unplaced"].as_array().unwrap().len(), 1, "{files}");
    assert!(files["duplicate"].as_u64().unwrap() >= 1, "{files}");
    // What the research database holds is what the accepted files brought.
    let brought = &r["reconciliation"]["rows_in"];
    for (table, b) in r["reconciliation"]["tables"].as_object().unwrap() {
        assert_eq!(
            b["source_rows"].as_u64(),
            brought[table].as_u64().or(Some(0)),
            "{table}: {r}"
        );
    }
    assert_eq!(versions(&data, "research"), 1);

    // Providers the producer holds no notice from — one withdrawn since, one never registered
    // — send files: each file is rejected unread with why, and nothing of theirs is committed.
    let later = dir.path().join("later");
    let source = ukes[3].parent().unwrap().parent().unwrap();
    let withdrawn = source.file_name().unwrap().to_str().unwrap().to_string();
    copy_dir(source, &later.join(&withdrawn));
    copy_dir(source, &later.join("9999999999"));
    run_ok(medinfra(&data).args(["providers", "withdraw", "--id", &withdrawn]));
    let out = medinfra(&data)
        .arg("run")
        .arg(&later)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "nothing accepted: exit 2");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = &r["reconciliation"]["files"];
    assert_eq!(files["accepted"], 0, "{files}");
    let rejections = files["rejections"].as_array().unwrap();
    assert!(rejections.len() >= 2, "{files}");
    for x in rejections {
        let (path, why) = (x[0].as_str().unwrap(), x[1].as_str().unwrap());
        if path.starts_with("9999999999") {
            assert!(why.contains("not registered"), "{x}");
        } else {
            assert!(
                path.starts_with(&withdrawn) && why.contains("withdrew"),
                "{x}"
            );
        }
    }
    assert_eq!(versions(&data, "provider-9999999999"), 0);
    assert_eq!(versions(&data, "research"), 1);
    let listed = json(medinfra(&data).args(["providers", "list", "--json"]));
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == withdrawn.as_str() && !p["withdrawn_at"].is_null()),
        "{listed}"
    );
    // A bad register line names its file, line and field, and registers nothing.
    let register = dir.path().join("register.csv");
    std::fs::write(
        &register,
        "provider_id,name,notified_on\n1300000001,A clinic,2020-01-01\n13000002,B clinic,2020-01-01\n",
    )
    .unwrap();
    let err = fails(medinfra(&data).args(["providers", "import", register.to_str().unwrap()]));
    assert!(
        err.contains("line 3") && err.contains("provider_id"),
        "{err}"
    );
    let listed_after = json(medinfra(&data).args(["providers", "list", "--json"]));
    assert_eq!(listed_after, listed, "nothing registered from a bad file");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

/// The keyed NDB linkage IDs reach a project approved for NDB linkage, and only it: the run
/// writes `person_keys` (each person's oldest card), the pseudonymized copy turns it into the
/// ID5-style key and keeps ID1/ID2 keyed; a linkage project's workspace shows them re-keyed
/// for it, another project's workspace does not — and says so instead of dropping them
/// silently.
#[test]
fn ndb_linkage_ids_reach_only_linkage_projects() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let m = || {
        let mut c = medinfra(&data);
        c.env("MEDINFRA_PASSWORD", "long enough password");
        c
    };
    run_ok(m().args([
        "synth",
        "--persons",
        "250",
        "--years",
        "1",
        "--output",
        "s",
        "--format",
        "provider",
        "--deliveries",
        "202012",
    ]));
    register_providers(&data);
    let r = json(
        m().arg("run")
            .arg(data.join("provider-files/s-deliveries/202012"))
            .args(["--extracts", "sampling", "--json"]),
    );
    books_balance(&r);
    // The NDB-style extract of this run: anonymized, its lineage naming the pseudonymized
    // version it came from, its keys linking to nothing there.
    assert_eq!(r["extracts"][0][0], "research-ndb-sampling", "{r}");
    let shown = json(m().args(["datasets", "show", "research-ndb-sampling", "--json"]));
    assert_eq!(shown["tier"], "anonymized");
    let input = &shown["lineage"]["inputs"][0];
    assert_eq!(input["dataset"], "research-pseudonymized", "{shown}");
    assert_eq!(input["version"], r["pseudonymized"][1], "{shown}");
    let claim_ids = |dataset: &str| -> HashSet<String> {
        batches(&latest(&data, dataset), "claims")
            .iter()
            .flat_map(|b| {
                let c = b.column_by_name("claim_id").unwrap().as_string::<i32>();
                (0..b.num_rows())
                    .map(|i| c.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let released = claim_ids("research-ndb-sampling");
    assert!(!released.is_empty());
    assert!(released.is_disjoint(&claim_ids("research-pseudonymized")));
    let keys = &r["reconciliation"]["person_keys"];
    let stats = json(m().args(["persons", "stats", "--json"]));
    assert_eq!(keys["source_rows"], stats["persons"], "{keys} {stats}");
    assert_eq!(keys["rows"], stats["persons"], "nobody opted out: {keys}");

    // Identified: one row per person, every research person_id among them, the card of most.
    let research = latest(&data, "research");
    let key_batches = batches(&research, "person_keys");
    let mut persons = HashSet::new();
    let (mut rows, mut with_card) = (0, 0);
    for b in &key_batches {
        for p in ints(b, "person_id") {
            assert!(persons.insert(p), "person {p} twice in person_keys");
        }
        rows += b.num_rows();
        with_card += b.num_rows() - b.column_by_name("card_number").unwrap().null_count();
    }
    assert!(
        with_card * 10 >= rows * 9,
        "{with_card} of {rows} with a card"
    );
    for (_, p) in rows_of_claims(&research) {
        assert!(
            persons.contains(&p),
            "claims person {p} has no person_keys row"
        );
    }
    // Pseudonymized: the card is gone, the ID5-style key is there, one per person.
    let pseudo = latest(&data, "research-pseudonymized");
    let (mut id5, mut id5_rows) = (HashSet::new(), 0);
    for b in batches(&pseudo, "person_keys") {
        for gone in [
            "insurer_number",
            "card_symbol",
            "card_number",
            "card_branch",
        ] {
            assert!(b.column_by_name(gone).is_none(), "{gone} left the zone");
        }
        let c = b.column_by_name("id5_keyed").unwrap().as_string::<i32>();
        for i in (0..b.num_rows()).filter(|&i| c.is_valid(i)) {
            id5.insert(c.value(i).to_string());
            id5_rows += 1;
        }
    }
    assert_eq!(
        id5_rows, with_card,
        "an ID5-style key for every person with a card"
    );
    // Distinct per person, but for what collides in the NDB too: same-sex twins on one
    // household card issued before individual numbers (no 枝番).
    assert!(
        id5.len() * 100 >= id5_rows * 98,
        "{} of {id5_rows}",
        id5.len()
    );

    // Two projects on the same pseudonymized research database, one approved for linkage.
    project_accounts(&data);
    let submit = |title: &str, tier: &str, linkage: bool| {
        let mut c = m();
        c.args([
            "application",
            "submit",
            "--as",
            "alice",
            "--title",
            title,
            "--datasets",
            "research-pseudonymized",
            "--tier",
            tier,
            "--purpose",
            "cohort",
            "--protocol",
            "x",
        ]);
        if linkage {
            c.arg("--ndb-linkage");
        }
        c.output().unwrap()
    };
    assert!(submit("linked", "pseudonymized", true).status.success());
    assert!(submit("plain", "pseudonymized", false).status.success());
    let refused = submit("anon", "anonymized", true);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("ndb_linkage"));
    for id in ["1", "2"] {
        run_ok(m().args([
            "application",
            "review",
            id,
            "--as",
            "bob",
            "--decision",
            "approve",
        ]));
    }
    let q = |project: &str, sql: &str| {
        m().args(["query", "--project", project, "--as", "alice", "--sql", sql])
            .output()
            .unwrap()
    };
    let sql = "SELECT count(DISTINCT k.id5_keyed) AS persons_id5, count(c.id1_keyed) AS claims_id1 \
               FROM person_keys k JOIN claims c ON c.person_id = k.person_id";
    let linked = q("prj-1", sql);
    let out = String::from_utf8_lossy(&linked.stdout);
    assert!(
        linked.status.success(),
        "{}",
        String::from_utf8_lossy(&linked.stderr)
    );
    assert!(!String::from_utf8_lossy(&linked.stderr).contains("withheld"));
    // The project sees its own re-keyed values, never the stored ones.
    let shown = q(
        "prj-1",
        "SELECT id5_keyed FROM person_keys WHERE id5_keyed IS NOT NULL LIMIT 5",
    );
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    let stored_sample = id5.iter().next().unwrap();
    assert!(!shown.contains(stored_sample.as_str()), "{shown}");
    assert!(out.contains("persons_id5"), "{out}");
    let plain = q("prj-2", sql);
    assert!(
        !plain.status.success(),
        "a project not approved for linkage read the IDs"
    );
    let err = String::from_utf8_lossy(&plain.stderr);
    assert!(
        err.contains("withheld from this project's tables")
            && err.contains("claims.id1_keyed")
            && err.contains("person_keys.id5_keyed"),
        "{err}"
    );
    // The rest of its data is there.
    let ok = q("prj-2", "SELECT count(*) AS n FROM person_keys");
    assert!(ok.status.success());
}

fn rows_of_claims(version: &Path) -> Vec<((), i64)> {
    let mut out = Vec::new();
    for b in batches(version, "claims") {
        out.extend(ints(&b, "person_id").into_iter().map(|p| ((), p)));
    }
    out
}
