//! The FHIR export on tables built in memory: the identified tier is refused before anything is
//! written; every resource names a Patient of the export; direct identifiers never appear.

use medinfra_export::{ExportError, export_fhir};
use medinfra_extract::MemoryTables;
use medinfra_model::buffers::{DiagnosesBuf, PersonsBuf, TableBuf};
use medinfra_model::{CanonicalTable, Tier};

fn tables() -> MemoryTables {
    let mut p = PersonsBuf::default();
    p.provider_id.append_value("1319999999");
    p.patient_id.append_value("tokA");
    p.name_kanji.append_value("試験　太郎");
    p.name_kana.append_null();
    p.sex.append_value(1);
    p.birth_date.append_value(3_000);
    p.postcode.append_null();
    p.prefecture_code.append_value("13");
    p.address.append_value("東京都千代田区1-1");
    p.phone.append_value("0312345678");
    p.rows += 1;
    let mut d = DiagnosesBuf::default();
    for (who, suspected) in [("tokA", false), ("tokB", true)] {
        d.claim_id.append_value("c1");
        d.provider_id.append_value("1319999999");
        d.patient_id.append_value(who);
        d.disease_code.append_value("8833421");
        d.icd10.append_value("E119");
        d.modifiers.append_null();
        d.disease_name.append_null();
        d.start_date.append_value(19_800);
        d.outcome.append_value("1");
        d.is_main.append_value(true);
        d.is_suspected.append_value(suspected);
        d.rows += 1;
    }
    let mut t = MemoryTables::new();
    t.insert(CanonicalTable::Persons, vec![p.take().unwrap()]);
    t.insert(CanonicalTable::Diagnoses, vec![d.take().unwrap()]);
    t
}

#[test]
fn exports_resolvable_resources_without_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let m = export_fhir(
        &tables(),
        Tier::Pseudonymized,
        dir.path(),
        "test",
        "2026-12-07T00:00:00Z",
    )
    .unwrap();
    let counts: Vec<(String, u64)> = m
        .output
        .iter()
        .map(|o| (o.resource_type.clone(), o.count))
        .collect();
    // tokB has a diagnosis but no persons row: it still gets a (minimal) Patient.
    assert_eq!(counts, [("Patient".into(), 2), ("Condition".into(), 2)]);
    let patients = std::fs::read_to_string(dir.path().join("Patient.ndjson")).unwrap();
    let conditions = std::fs::read_to_string(dir.path().join("Condition.ndjson")).unwrap();
    for text in [&patients, &conditions] {
        for secret in ["試験", "千代田", "0312345678"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
    let first: serde_json::Value = serde_json::from_str(patients.lines().next().unwrap()).unwrap();
    assert_eq!(first["gender"], "male");
    assert_eq!(
        first["birthDate"].as_str().unwrap().len(),
        7,
        "year-month only"
    );
    let second: serde_json::Value =
        serde_json::from_str(conditions.lines().nth(1).unwrap()).unwrap();
    assert_eq!(second["subject"]["reference"], "Patient/tokB");
    assert_eq!(
        second["verificationStatus"]["coding"][0]["code"],
        "provisional"
    );
    assert_eq!(second["code"]["coding"][1]["code"], "E119");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["output"][1]["url"], "Condition.ndjson");
    assert_eq!(manifest["requiresAccessToken"], false);
}

#[test]
fn identified_tier_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let err = export_fhir(&tables(), Tier::Identified, &out, "test", "now").unwrap_err();
    assert!(matches!(err, ExportError::Tier(_)));
    assert!(!out.exists());
}
