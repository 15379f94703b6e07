//! FHIR JP Core, mapped CSV/Parquet, DPC survey files and pharmacy receipts through ingest:
//! hand-built inputs, ingested into a real store; bad inputs name their exact location and
//! leave nothing committed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Date32Array, Float64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use medinfra_formats::fhir::{
    CodeableConcept, Coding, Condition, Coverage, DispenseRequest, Duration, HOT9_SYSTEM,
    INSURANCE_MEMBER_SYSTEM, Identifier, JLAC10_SYSTEM, MedicationRequest, Observation,
    PATIENT_ID_SYSTEM_PREFIX, Patient, Period, Quantity, Reference, Resource, write_bundle,
    write_ndjson,
};
use medinfra_ingest::{FileStatus, IngestError, IngestOptions, TableMapping, ingest};
use medinfra_store::Store;

const PROVIDER: &str = "1319999999";
/// The DPC 施設コード of PROVIDER (prefecture + facility code).
const FACILITY9: &str = "139999999";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn nothing_committed(data: &Path) {
    assert_eq!(
        std::fs::read_dir(data.join("staging"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

fn patient(id: &str, chart: &str, facility: &str) -> Resource {
    Resource::Patient(Patient {
        id: Some(id.into()),
        identifier: vec![Identifier {
            system: Some(format!("{PATIENT_ID_SYSTEM_PREFIX}{facility}")),
            value: chart.into(),
        }],
        gender: Some("female".into()),
        birth_date: Some("1970-03-04".into()),
        ..Patient::default()
    })
}

fn subject(id: &str) -> Reference {
    Reference {
        reference: Some(format!("Patient/{id}")),
        ..Reference::default()
    }
}

fn coding(system: &str, code: &str) -> CodeableConcept {
    CodeableConcept {
        coding: vec![Coding {
            system: Some(system.into()),
            code: Some(code.into()),
            display: None,
        }],
        text: Some("name".into()),
    }
}

fn observation(id: &str, subj: &str, date: Option<&str>) -> Resource {
    Resource::Observation(Observation {
        id: Some(id.into()),
        status: "final".into(),
        code: coding(JLAC10_SYSTEM, "3D010000001926101"),
        subject: subject(subj),
        effective_date_time: date.map(str::to_owned),
        value_quantity: Some(Quantity {
            value: Some(5.6),
            unit: Some("%".into()),
            ..Quantity::default()
        }),
        ..Observation::default()
    })
}

fn full_bundle() -> Vec<Resource> {
    vec![
        patient("p1", "CHART01", PROVIDER),
        Resource::Coverage(Coverage {
            id: Some("c1".into()),
            identifier: vec![Identifier {
                system: Some(INSURANCE_MEMBER_SYSTEM.into()),
                value: "06139999:記号:123:01".into(),
            }],
            status: "active".into(),
            beneficiary: subject("p1"),
            period: Some(Period {
                start: Some("2024-04-01".into()),
                end: None,
            }),
            payor: vec![Reference::default()],
            ..Coverage::default()
        }),
        observation("o1", "p1", Some("2024-04-02T10:00:00+09:00")),
        Resource::Condition(Condition {
            id: Some("d1".into()),
            code: coding("http://jpfhir.jp/fhir/core/CodeSystem/JP_ICD10", "E119"),
            subject: subject("p1"),
            onset_date_time: Some("2024-04-01".into()),
            ..Condition::default()
        }),
        Resource::MedicationRequest(MedicationRequest {
            id: Some("m1".into()),
            status: "active".into(),
            intent: "order".into(),
            medication_codeable_concept: coding(HOT9_SYSTEM, "100795402"),
            subject: subject("p1"),
            authored_on: Some("2024-04-02".into()),
            dispense_request: Some(DispenseRequest {
                quantity: None,
                expected_supply_duration: Some(Duration {
                    value: Some(14.0),
                    unit: Some("d".into()),
                }),
            }),
            ..MedicationRequest::default()
        }),
        // Refers to a Patient the submission does not hold: quarantined with its JSON path.
        observation("o2", "nobody", Some("2024-04-03")),
    ]
}

#[tokio::test]
async fn fhir_bundle_and_ndjson_map_into_canonical_tables() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let opts = IngestOptions::new(PROVIDER);
    // Named .txt: recognised by content, not by name.
    let bundle = write(
        input.path(),
        "export.txt",
        &write_bundle(&full_bundle()).unwrap(),
    );
    let out = ingest(&store, &opts, &[bundle], &|_, _| {}).await.unwrap();
    let f = &out.files[0];
    assert_eq!(f.kind, "fhir-bundle");
    assert_eq!(f.status, FileStatus::Accepted, "{}", out.to_text());
    assert_eq!(
        (f.receipts, f.receipts_accepted, f.receipts_quarantined),
        (6, 5, 1)
    );
    for t in [
        "persons",
        "insurance_periods",
        "lab_results",
        "diagnoses",
        "drugs",
    ] {
        assert_eq!(f.rows.get(t), Some(&1), "{t}: {:?}", f.rows);
    }
    let p = &f.problems[0];
    assert_eq!(
        p.field.as_deref(),
        Some("entry[5].resource.subject.reference")
    );
    assert_eq!(p.record_type.as_deref(), Some("Observation"));
    let report = out.to_text() + &serde_json::to_string(&out).unwrap();
    assert!(
        !report.contains("CHART01") && !report.contains("nobody"),
        "{report}"
    );

    // NDJSON: Patients in one file, results in another; the bad line is named.
    let pats = write(
        input.path(),
        "Patient.ndjson",
        &write_ndjson(&[patient("p9", "CHART09", PROVIDER)]).unwrap(),
    );
    let obs = write(
        input.path(),
        "Observation.ndjson",
        &write_ndjson(&[
            observation("o9", "p9", Some("2024-05-01")),
            observation("o10", "p9", None),
            observation("o11", "p9", Some("2024-05-02")),
        ])
        .unwrap(),
    );
    let out = ingest(&store, &opts, &[obs, pats], &|_, _| {})
        .await
        .unwrap();
    let o = out
        .files
        .iter()
        .find(|f| f.file.ends_with("Observation.ndjson"))
        .unwrap();
    assert_eq!(o.kind, "fhir-ndjson");
    assert_eq!(
        (o.receipts_accepted, o.receipts_quarantined),
        (2, 1),
        "{}",
        out.to_text()
    );
    assert_eq!(
        (o.problems[0].line, o.problems[0].field.as_deref()),
        (Some(2), Some("effectiveDateTime"))
    );
    assert_eq!(out.version_rows["lab_results"], 3);

    // A Patient of another facility rejects the file whole; nothing is committed.
    let other = write(
        input.path(),
        "other.json",
        &write_bundle(&[patient("x", "C", "2719999999")]).unwrap(),
    );
    let out = ingest(&store, &opts, &[other], &|_, _| {}).await.unwrap();
    assert_eq!(out.files[0].status, FileStatus::Rejected);
    assert!(
        out.files[0]
            .rejection
            .as_deref()
            .unwrap()
            .contains("entry[0].resource.identifier")
    );
    assert_eq!(out.version, None);
    nothing_committed(data.path());

    // Broken JSON: rejected whole, the line named by the reader.
    let broken = write(
        input.path(),
        "broken.json",
        b"{\n  \"resourceType\": \"Bundle\",\n  \"entry\": [\n",
    );
    let out = ingest(&store, &opts, &[broken], &|_, _| {}).await.unwrap();
    assert_eq!(out.files[0].status, FileStatus::Rejected);
    assert!(
        out.files[0].findings.iter().any(|f| f.line == Some(4)),
        "{}",
        out.to_text()
    );
    nothing_committed(data.path());
}

const LAB_MAPPING: &str = r#"
table = "lab_results"
identifiers = ["patient_id"]
[columns]
"患者ID" = "patient_id"
"項目コード" = "jlac10"
"項目名" = "analyte"
"値" = "value"
"単位" = "unit"
"検査日" = "result_date"
"#;

#[tokio::test]
async fn csv_and_parquet_with_a_mapping_file() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let mut opts = IngestOptions::new(PROVIDER);
    opts.mapping = Some(TableMapping::from_toml(LAB_MAPPING).unwrap());

    let csv = "患者ID,項目コード,項目名,値,単位,検査日\n\
               P1,3D010000001926101,HbA1c,5.6,%,2024-04-02\n\
               P1,3D010000001926101,HbA1c,5.9,%,2024-02-30\n\
               P2,3D010000001926101,HbA1c,,%,20240403\n";
    let csv = write(input.path(), "labs.csv", csv.as_bytes());
    let out = ingest(&store, &opts, &[csv], &|_, _| {}).await.unwrap();
    let f = &out.files[0];
    assert_eq!(
        (f.kind.as_str(), f.status),
        ("csv-mapped", FileStatus::Accepted),
        "{}",
        out.to_text()
    );
    assert_eq!((f.receipts_accepted, f.receipts_quarantined), (2, 1));
    let p = &f.problems[0];
    assert_eq!((p.line, p.field.as_deref()), (Some(3), Some("result_date")));
    assert_eq!(f.rows["lab_results"], 2);

    // The same table from Parquet.
    let schema = Arc::new(Schema::new(vec![
        Field::new("患者ID", DataType::Utf8, false),
        Field::new("項目コード", DataType::Utf8, false),
        Field::new("項目名", DataType::Utf8, false),
        Field::new("値", DataType::Float64, true),
        Field::new("単位", DataType::Utf8, true),
        Field::new("検査日", DataType::Date32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["P3", "P4"])),
            Arc::new(StringArray::from(vec!["3D010000001926101"; 2])),
            Arc::new(StringArray::from(vec!["HbA1c"; 2])),
            Arc::new(Float64Array::from(vec![Some(6.1), None])),
            Arc::new(StringArray::from(vec![Some("%"), None])),
            Arc::new(Date32Array::from(vec![19815, 19816])),
        ],
    )
    .unwrap();
    let path = input.path().join("labs.bin");
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let out = ingest(&store, &opts, &[path], &|_, _| {}).await.unwrap();
    assert_eq!(out.files[0].kind, "parquet-mapped", "{}", out.to_text());
    assert_eq!(out.files[0].rows["lab_results"], 2);
    assert_eq!(out.version_rows["lab_results"], 4);

    // A header that lacks a mapped column: rejected whole, nothing committed.
    let bad = write(
        input.path(),
        "bad.csv",
        "患者ID,項目コード,値\nP1,X,1\n".as_bytes(),
    );
    let out = ingest(&store, &opts, &[bad], &|_, _| {}).await.unwrap();
    assert_eq!(
        out.files[0].status,
        FileStatus::Rejected,
        "{}",
        out.to_text()
    );
    assert!(out.files[0].findings.iter().any(|f| f.line == Some(1)));
    assert_eq!(out.version, None);
    nothing_committed(data.path());

    // Mapping files that cannot fill the table are refused before anything is read.
    let unknown = LAB_MAPPING.replace("\"unit\"", "\"units\"");
    assert!(
        matches!(TableMapping::from_toml(&unknown), Err(IngestError::Mapping(m)) if m.contains("units"))
    );
    let missing = LAB_MAPPING.replace("\"検査日\" = \"result_date\"\n", "");
    assert!(
        matches!(TableMapping::from_toml(&missing), Err(IngestError::Mapping(m)) if m.contains("result_date"))
    );
    assert!(TableMapping::from_toml(&LAB_MAPPING.replace("lab_results", "truth")).is_err());
}

fn ef_row(facility: &str, code: &str, day: &str, points: &str) -> String {
    let mut c = vec![""; 32];
    c[0] = facility;
    c[1] = "0000000001";
    c[2] = "00000000";
    c[3] = "20240401";
    c[4] = "90";
    c[5] = "0001";
    c[6] = "001";
    c[8] = code;
    c[11] = "1";
    c[13] = points;
    c[21] = "1";
    c[24] = day;
    c.join("\t") + "\r\n"
}

fn ff1_row(code: &str, payload2: &str) -> String {
    let mut c = vec![
        FACILITY9,
        "0000000001",
        "20240410",
        "20240401",
        "1",
        "0",
        code,
        "1",
        "1",
    ];
    let mut payloads = vec![""; 9];
    payloads[1] = payload2;
    if code == "A000030" {
        payloads[0] = "20240410";
        payloads[2] = "1";
    }
    c.extend(payloads);
    c.join("\t") + "\r\n"
}

#[tokio::test]
async fn dpc_survey_files_map_rows_and_stays() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let opts = IngestOptions::new(PROVIDER);
    let ef = [
        ef_row(FACILITY9, "190077410", "20240401", "1000"),
        ef_row(FACILITY9, "620000001", "20240401", "10"),
        ef_row(FACILITY9, "700010000", "20240431", "12"),
        ef_row(FACILITY9, "190077410", "20240402", "1000"),
    ]
    .concat();
    let ff1 = [
        ff1_row("A000030", ""),
        ff1_row("A006010", "I639"),
        ff1_row("A006040", "E119"),
    ]
    .concat();
    let ef = write(input.path(), "a.txt", ef.as_bytes());
    let ff1 = write(input.path(), "b.txt", ff1.as_bytes());
    let out = ingest(&store, &opts, &[ef, ff1], &|_, _| {}).await.unwrap();
    let (e, s) = (&out.files[0], &out.files[1]);
    assert_eq!((e.kind.as_str(), s.kind.as_str()), ("dpc-ef", "dpc-ff1"));
    assert_eq!(e.status, FileStatus::Accepted, "{}", out.to_text());
    assert_eq!((e.receipts_accepted, e.receipts_quarantined), (3, 1));
    let bad = e
        .findings
        .iter()
        .find(|f| f.line == Some(3))
        .expect("line 3 reported");
    assert_eq!(bad.field.as_deref(), Some("実施年月日"));
    assert_eq!(
        (e.rows.get("procedures"), e.rows.get("drugs")),
        (Some(&2), Some(&1))
    );
    assert_eq!(e.rows.get("devices"), None);
    assert_eq!((s.rows["admissions"], s.rows["diagnoses"]), (1, 2));

    // A D file (包括評価): one item row per D row; a bad 入院年月日 is quarantined at its line.
    let d_row = |admission: &str| {
        let mut c = vec![""; 29];
        c[0] = FACILITY9;
        c[1] = "0000000001";
        c[2] = "00000000";
        c[3] = admission;
        c[4] = "93";
        c[7] = "190077410";
        c[10] = "2500";
        c[13] = "1";
        c[16] = "20240405";
        c[27] = "050050xx9910xx";
        c[28] = "1.2345";
        c.join("\t") + "\r\n"
    };
    let d = write(
        input.path(),
        "d.txt",
        (d_row("20240401") + &d_row("20241301") + &d_row("20240401")).as_bytes(),
    );
    let out = ingest(&store, &opts, &[d], &|_, _| {}).await.unwrap();
    let f = &out.files[0];
    assert_eq!(
        (f.kind.as_str(), f.status),
        ("dpc-d", FileStatus::Accepted),
        "{}",
        out.to_text()
    );
    assert_eq!((f.receipts_accepted, f.receipts_quarantined), (2, 1));
    let bad = f
        .findings
        .iter()
        .find(|x| x.line == Some(2))
        .expect("line 2 reported");
    assert_eq!(bad.field.as_deref(), Some("入院年月日"));
    assert_eq!(f.rows["procedures"], 2);

    // Another facility's EF file is rejected whole; nothing committed.
    let other = write(
        input.path(),
        "c.txt",
        ef_row("279999999", "190077410", "20240401", "1").as_bytes(),
    );
    let out = ingest(&store, &opts, &[other], &|_, _| {}).await.unwrap();
    assert_eq!(out.files[0].status, FileStatus::Rejected);
    assert!(
        out.files[0]
            .rejection
            .as_deref()
            .unwrap()
            .starts_with("line 1:")
    );
    assert_eq!(out.version, None);
    nothing_committed(data.path());
}

fn pharmacy_file(cz_day: &str) -> String {
    let mut re = vec!["RE", "1", "4112", "202404", "試験　花子", "2", "19700304"];
    re.extend(std::iter::repeat_n("", 6));
    re.push("P001");
    re.extend(std::iter::repeat_n("", 22));
    re.push("シケン　ハナコ");
    re.push("");
    let mut iy = vec!["IY", "21", "1", "620000001", "3", "10", "1"];
    iy.extend(std::iter::repeat_n("", 6));
    let mut days = vec![""; 31];
    days[0] = "1";
    iy.extend(days);
    let re = re.join(",");
    let iy = iy.join(",");
    let ho = "HO,06139999,,12345,1,10,,,,,,,,,";
    format!(
        "YK,1,13,4,9999999,,薬局,202405,00,\r\n\
         {re}\r\n{ho}\r\nSH,1,,\r\nCZ,01,01,1\r\n{iy}\r\n\
         {}\r\n{ho}\r\nSH,1,,\r\nCZ,{cz_day},01,1\r\n{iy}\r\n\
         GO,2,20,99\r\n",
        re.replacen("RE,1,", "RE,2,", 1)
    )
}

#[tokio::test]
async fn pharmacy_receipts_map_to_claims_and_drugs() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let opts = IngestOptions::new("1349999999");
    let text = pharmacy_file("32");
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    let path = write(input.path(), "RECEIPTY.UKE", &bytes);
    let out = ingest(&store, &opts, &[path], &|_, _| {}).await.unwrap();
    let f = &out.files[0];
    assert_eq!(
        (f.kind.as_str(), f.status),
        ("uke-pharmacy", FileStatus::Accepted),
        "{}",
        out.to_text()
    );
    assert_eq!(f.billing_month.as_deref(), Some("202405"));
    assert_eq!((f.receipts_accepted, f.receipts_quarantined), (1, 1));
    let bad = f
        .findings
        .iter()
        .find(|x| x.record_type.as_deref() == Some("CZ"))
        .unwrap();
    assert_eq!(
        (bad.line, bad.field.as_deref()),
        (Some(10), Some("調剤月日"))
    );
    assert_eq!((f.rows["claims"], f.rows["drugs"]), (1, 1));

    // The same file sent as another provider's is refused; nothing committed.
    let out = ingest(
        &store,
        &IngestOptions::new("1349999998"),
        &[input.path().join("RECEIPTY.UKE")],
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(out.files[0].status, FileStatus::Rejected);
    assert_eq!(out.version, None);
    nothing_committed(data.path());
}

/// FHIR as servers and other tools write it: a `transaction` Bundle (entries with `request`,
/// `fullUrl`) holding every resource type medinfra reads beside one it does not
/// (Composition), a `searchset` Bundle (entries with `search`), and a file holding one
/// resource, pretty-printed — JSON text, not medinfra's writer.
#[tokio::test]
async fn fhir_resource_types_bundle_types_and_single_resource_files() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).await.unwrap();
    let opts = IngestOptions::new(PROVIDER);
    let patient_system = format!("{PATIENT_ID_SYSTEM_PREFIX}{PROVIDER}");
    let transaction = format!(
        r#"{{
  "resourceType": "Bundle", "type": "transaction",
  "entry": [
    {{"fullUrl": "urn:uuid:p1", "request": {{"method": "PUT", "url": "Patient/p1"}},
      "resource": {{"resourceType": "Patient", "id": "p1",
        "identifier": [{{"system": "{patient_system}", "value": "CHART77"}}],
        "gender": "male", "birthDate": "1950-01-02"}}}},
    {{"request": {{"method": "POST", "url": "Encounter"}},
      "resource": {{"resourceType": "Encounter", "id": "e1", "status": "finished",
        "class": {{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}},
        "subject": {{"reference": "Patient/p1"}},
        "period": {{"start": "2024-04-03T10:00:00+09:00", "end": "2024-04-12"}}}}}},
    {{"request": {{"method": "POST", "url": "Encounter"}},
      "resource": {{"resourceType": "Encounter", "id": "e2", "status": "finished",
        "class": {{"code": "AMB"}}, "subject": {{"reference": "Patient/p1"}}}}}},
    {{"request": {{"method": "POST", "url": "Procedure"}},
      "resource": {{"resourceType": "Procedure", "id": "pr1", "status": "completed",
        "code": {{"coding": [{{"system": "urn:oid:1.2.392.200119.4.403.2", "code": "150253010"}}]}},
        "subject": {{"reference": "Patient/p1"}}, "performedDateTime": "2024-04-04"}}}},
    {{"request": {{"method": "POST", "url": "MedicationDispense"}},
      "resource": {{"resourceType": "MedicationDispense", "id": "md1", "status": "completed",
        "medicationCodeableConcept": {{"coding": [{{"system": "{HOT9_SYSTEM}", "code": "103835401"}}]}},
        "subject": {{"reference": "Patient/p1"}}, "quantity": {{"value": 21}},
        "daysSupply": {{"value": 7}}, "whenHandedOver": "2024-04-12"}}}},
    {{"request": {{"method": "POST", "url": "MedicationAdministration"}},
      "resource": {{"resourceType": "MedicationAdministration", "id": "ma1", "status": "completed",
        "medicationCodeableConcept": {{"coding": [{{"system": "{HOT9_SYSTEM}", "code": "107825601"}}]}},
        "subject": {{"reference": "Patient/p1"}}, "effectivePeriod": {{"start": "2024-04-05T09:00:00+09:00"}},
        "dosage": {{"dose": {{"value": 500, "unit": "mL"}}}}}}}},
    {{"request": {{"method": "POST", "url": "Immunization"}},
      "resource": {{"resourceType": "Immunization", "id": "im1", "status": "completed",
        "vaccineCode": {{"coding": [{{"code": "631340QA1024"}}]}},
        "patient": {{"reference": "Patient/p1"}}, "occurrenceDateTime": "2024-04-06"}}}},
    {{"request": {{"method": "POST", "url": "AllergyIntolerance"}},
      "resource": {{"resourceType": "AllergyIntolerance", "id": "al1",
        "code": {{"text": "ペニシリン"}}, "patient": {{"reference": "Patient/p1"}},
        "recordedDate": "2024-04-03"}}}},
    {{"request": {{"method": "POST", "url": "DiagnosticReport"}},
      "resource": {{"resourceType": "DiagnosticReport", "id": "dr1", "status": "final",
        "code": {{"coding": [{{"code": "18748-4"}}]}}, "subject": {{"reference": "Patient/p1"}},
        "effectiveDateTime": "2024-04-04", "conclusion": "肺野に異常陰影なし"}}}},
    {{"request": {{"method": "POST", "url": "Composition"}},
      "resource": {{"resourceType": "Composition", "id": "c1", "status": "final"}}}},
    {{"request": {{"method": "DELETE", "url": "Observation/old"}}}}
  ]
}}"#
    );
    let tx = write(input.path(), "transaction.json", transaction.as_bytes());
    let out = ingest(&store, &opts, &[tx], &|_, _| {}).await.unwrap();
    let f = &out.files[0];
    assert_eq!(f.status, FileStatus::Accepted, "{}", out.to_text());
    for (table, n) in [
        ("persons", 1),
        ("admissions", 1),
        ("procedures", 1),
        ("drugs", 3),
        ("claim_notes", 2),
    ] {
        assert_eq!(f.rows.get(table), Some(&n), "{table}: {}", out.to_text());
    }
    // Composition is reported and skipped; the DELETE entry has no resource.
    let skipped = f
        .findings
        .iter()
        .find(|x| x.value_masked.as_deref() == Some("Composition"))
        .expect("skipped type reported");
    assert_eq!(skipped.severity, medinfra_formats::Severity::Warning);
    assert!(
        f.findings
            .iter()
            .any(|x| x.field.as_deref() == Some("entry[10].resource"))
    );

    // A searchset (what a FHIR search returns) and a single pretty-printed resource.
    let searchset = format!(
        r#"{{"resourceType": "Bundle", "type": "searchset", "total": 1,
  "entry": [{{"fullUrl": "https://fhir.example/Observation/o1", "search": {{"mode": "match"}},
    "resource": {{"resourceType": "Observation", "id": "o1", "status": "final",
      "code": {{"coding": [{{"system": "{JLAC10_SYSTEM}", "code": "3D010000001926101"}}]}},
      "subject": {{"identifier": {{"value": "CHART77"}}}}, "effectiveDateTime": "2024-04-04",
      "valueQuantity": {{"value": 98, "unit": "mg/dL"}}}}}}]}}"#
    );
    let single = r#"{
  "resourceType": "Procedure",
  "id": "pr2",
  "status": "completed",
  "code": {"coding": [{"code": "160000310"}]},
  "subject": {"identifier": {"value": "CHART77"}},
  "performedDateTime": "2024-04-08"
}
"#;
    let ss = write(input.path(), "search.json", searchset.as_bytes());
    let one = write(input.path(), "Procedure-pr2.json", single.as_bytes());
    let out = ingest(&store, &opts, &[ss, one], &|_, _| {}).await.unwrap();
    for f in &out.files {
        assert_eq!(f.status, FileStatus::Accepted, "{}", out.to_text());
        assert_eq!(f.receipts_quarantined, 0, "{}", out.to_text());
    }
    let rows: u64 = out
        .files
        .iter()
        .flat_map(|f| f.rows.values())
        .copied()
        .sum();
    assert_eq!(rows, 2, "{}", out.to_text());
}
