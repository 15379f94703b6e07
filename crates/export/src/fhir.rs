//! Canonical tables → FHIR R4 resources (JP Core code systems), as Bulk Data NDJSON.
//!
//! | table | resource | notes |
//! |---|---|---|
//! | persons | Patient | one per person (the first row of each); `birthDate` year-month, the precision the pseudonymization policy keeps |
//! | insurance_periods | Coverage | insurer type and number as the payor; no card data (dropped upstream) |
//! | admissions | Encounter | class IMP, `period` admission–discharge |
//! | diagnoses | Condition | 支払基金 傷病名コード and ICD-10 (2013); 疑い → `verificationStatus` provisional |
//! | procedures | Procedure | 支払基金 診療行為コード; the first day with a count, else the month |
//! | drugs | MedicationRequest | receipt drug code (or HOT9 for SS-MIX2 orders); the first day with a count; 回数 as the supply duration of oral drugs |
//! | lab_results | Observation | JLAC10 with the value and unit |
//!
//! The subject of every resource is `Patient/<person>`: the dataset's `person_id` (the linked
//! research database) or, in a per-provider dataset, its `patient_id` pseudonym. Resource ids
//! are the resource type's initial and a running number, unique within the export.
//!
//! Code systems from JP Core's aliases (`jp-core-v1x input/fsh/aliases-jpcore.fsh`): masterB
//! disease, masterS medical procedure, ICD10-2013-full, JLAC10-17digits, HOT9. The receipt
//! drug-code system is the one ingest reads (`fhir_map.rs`).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, ListArray, StringArray,
};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use medinfra_extract::TableSource;
use medinfra_formats::fhir::{
    CodeableConcept, Coding, Condition, Coverage, DispenseRequest, Duration, Encounter,
    HOT9_SYSTEM, JLAC10_SYSTEM, MedicationRequest, Observation, Patient, Period, Procedure,
    Quantity, Reference, Resource,
};
use medinfra_model::{CanonicalTable, Tier};
use serde::Serialize;

const DISEASE_SYSTEM: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterB-disease";
const PROCEDURE_SYSTEM: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterS-medicalProcedure";
const ICD10_SYSTEM: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full";
const RECEIPT_DRUG_SYSTEM: &str = "urn:oid:1.2.392.100495.20.2.74";
const ACT_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const VERIFICATION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";

/// Why an export failed; nothing of it should be used.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the {0} tier is not exported: only pseudonymized or anonymized datasets are")]
    Tier(&'static str),
    #[error("reading table {table}: {reason}")]
    Read { table: &'static str, reason: String },
    #[error("{path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// One file of the export, as the Bulk Data manifest lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BulkOutput {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub url: String,
    pub count: u64,
}

/// The `$export` completion manifest (FHIR Bulk Data Access IG), written as `manifest.json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkManifest {
    pub transaction_time: String,
    pub request: String,
    pub requires_access_token: bool,
    pub output: Vec<BulkOutput>,
    pub error: Vec<BulkOutput>,
}

/// One NDJSON file being written.
struct Sink {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    count: u64,
}

impl Sink {
    fn new(dir: &Path, resource: &str) -> Sink {
        Sink {
            path: dir.join(format!("{resource}.ndjson")),
            out: None,
            count: 0,
        }
    }

    fn write(&mut self, r: &Resource) -> Result<(), ExportError> {
        let fail = |path: &Path, e: &dyn std::fmt::Display| ExportError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        if self.out.is_none() {
            let f = File::create(&self.path).map_err(|e| fail(&self.path, &e))?;
            self.out = Some(BufWriter::new(f));
        }
        if let Some(out) = self.out.as_mut() {
            serde_json::to_writer(&mut *out, r).map_err(|e| fail(&self.path, &e))?;
            out.write_all(b"\n").map_err(|e| fail(&self.path, &e))?;
        }
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<Option<BulkOutput>, ExportError> {
        let Some(mut out) = self.out else {
            return Ok(None);
        };
        out.flush().map_err(|e| ExportError::Write {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Some(BulkOutput {
            resource_type: name.trim_end_matches(".ndjson").to_string(),
            url: name,
            count: self.count,
        }))
    }
}

/// Typed access to one batch's columns by name (absent or mistyped columns read as null).
struct Cols<'a> {
    batch: &'a RecordBatch,
}

impl Cols<'_> {
    fn text(&self, name: &str) -> Option<StringArray> {
        let col: &ArrayRef = self.batch.column_by_name(name)?;
        let cast = cast(col, &DataType::Utf8).ok()?;
        cast.as_any().downcast_ref::<StringArray>().cloned()
    }
    fn get<T: 'static + Clone>(&self, name: &str) -> Option<T> {
        self.batch
            .column_by_name(name)?
            .as_any()
            .downcast_ref::<T>()
            .cloned()
    }
}

fn value(a: &Option<StringArray>, i: usize) -> Option<&str> {
    a.as_ref()
        .filter(|a| a.is_valid(i))
        .map(|a| a.value(i))
        .filter(|s| !s.is_empty())
}

fn date(a: &Option<Date32Array>, i: usize) -> Option<time::Date> {
    a.as_ref()
        .filter(|a| a.is_valid(i))
        .and_then(|a| medinfra_model::days::date_of(a.value(i)))
}

fn ymd(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn coding(system: Option<&str>, code: &str) -> Coding {
    Coding {
        system: system.map(str::to_owned),
        code: Some(code.to_owned()),
        display: None,
    }
}

fn subject(person: &str) -> Reference {
    Reference {
        reference: Some(format!("Patient/{person}")),
        ..Reference::default()
    }
}

/// The first day of the month with a count, as a date; else the month itself (`YYYY-MM`).
fn item_date(days: &Option<ListArray>, month: Option<&str>, i: usize) -> Option<String> {
    let month = month.filter(|m| m.len() == 6)?;
    let (y, m) = (&month[..4], &month[4..]);
    let first = days.as_ref().filter(|d| d.is_valid(i)).and_then(|d| {
        let v = d.value(i);
        let counts = v.as_any().downcast_ref::<Int32Array>()?;
        (0..counts.len()).find(|&k| counts.is_valid(k) && counts.value(k) > 0)
    });
    Some(match first {
        Some(k) => format!("{y}-{m}-{:02}", k + 1),
        None => format!("{y}-{m}"),
    })
}

/// Writes the FHIR Bulk Data export of `source` into `dir` (created if missing) and returns
/// its manifest (also written as `dir/manifest.json`).
pub fn export_fhir(
    source: &dyn TableSource,
    tier: Tier,
    dir: &Path,
    request: &str,
    transaction_time: &str,
) -> Result<BulkManifest, ExportError> {
    if tier == Tier::Identified {
        return Err(ExportError::Tier("identified"));
    }
    std::fs::create_dir_all(dir).map_err(|e| ExportError::Write {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut output = Vec::new();
    let mut persons = HashSet::new();
    // Open to the end: a person every other resource names gets a Patient even when the
    // dataset has no persons row for them (a lab result from a message without sex or birth
    // date), so every reference of the export resolves.
    let mut patients = Sink::new(dir, "Patient");
    let mut next_id = 0u64;
    for (table, resource) in [
        (CanonicalTable::Persons, "Patient"),
        (CanonicalTable::InsurancePeriods, "Coverage"),
        (CanonicalTable::Admissions, "Encounter"),
        (CanonicalTable::Diagnoses, "Condition"),
        (CanonicalTable::Procedures, "Procedure"),
        (CanonicalTable::Drugs, "MedicationRequest"),
        (CanonicalTable::LabResults, "Observation"),
    ] {
        let read_err = |reason: String| ExportError::Read {
            table: table.name(),
            reason,
        };
        let Some(batches) = source.scan(table).map_err(|e| read_err(e.to_string()))? else {
            continue;
        };
        let mut sink = Sink::new(dir, resource);
        for batch in batches {
            let batch = batch.map_err(|e| read_err(e.to_string()))?;
            let c = Cols { batch: &batch };
            let person = c
                .text("person_id")
                .or_else(|| c.text("patient_id"))
                .or_else(|| c.text("release_id"));
            for i in 0..batch.num_rows() {
                let Some(who) = value(&person, i) else {
                    continue;
                };
                if table == CanonicalTable::Persons {
                    if persons.insert(who.to_string())
                        && let Some(r) = patient(&c, i, who)
                    {
                        patients.write(&r)?;
                    }
                    continue;
                }
                if persons.insert(who.to_string()) {
                    patients.write(&Resource::Patient(Patient {
                        id: Some(who.to_string()),
                        ..Patient::default()
                    }))?;
                }
                next_id += 1;
                let id = format!("{}{next_id}", &resource[..1].to_lowercase());
                let r = match table {
                    CanonicalTable::InsurancePeriods => coverage(&c, i, who, id),
                    CanonicalTable::Admissions => encounter(&c, i, who, id),
                    CanonicalTable::Diagnoses => condition(&c, i, who, id),
                    CanonicalTable::Procedures => procedure(&c, i, who, id),
                    CanonicalTable::Drugs => medication(&c, i, who, id),
                    _ => observation(&c, i, who, id),
                };
                if let Some(r) = r {
                    sink.write(&r)?;
                }
            }
        }
        output.extend(sink.finish()?);
    }
    if let Some(p) = patients.finish()? {
        output.insert(0, p);
    }
    let manifest = BulkManifest {
        transaction_time: transaction_time.to_string(),
        request: request.to_string(),
        requires_access_token: false,
        output,
        error: Vec::new(),
    };
    let path = dir.join("manifest.json");
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| ExportError::Write {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    std::fs::write(&path, text).map_err(|e| ExportError::Write {
        path,
        reason: e.to_string(),
    })?;
    Ok(manifest)
}

fn patient(c: &Cols, i: usize, who: &str) -> Option<Resource> {
    let sex = c.get::<Int32Array>("sex");
    let birth = c.get::<Date32Array>("birth_date");
    let gender = sex
        .as_ref()
        .filter(|s| s.is_valid(i))
        .map(|s| match s.value(i) {
            1 => "male",
            2 => "female",
            _ => "unknown",
        });
    Some(Resource::Patient(Patient {
        id: Some(who.to_string()),
        gender: gender.map(str::to_owned),
        birth_date: date(&birth, i).map(|d| format!("{:04}-{:02}", d.year(), u8::from(d.month()))),
        ..Patient::default()
    }))
}

fn coverage(c: &Cols, i: usize, who: &str, id: String) -> Option<Resource> {
    let insurer = c.text("insurer_number");
    let kind = c.text("insurer_type");
    let from = c.get::<Date32Array>("valid_from");
    let to = c.get::<Date32Array>("valid_to");
    Some(Resource::Coverage(Coverage {
        id: Some(id),
        status: "active".into(),
        type_: value(&kind, i).map(|k| CodeableConcept {
            text: Some(k.to_string()),
            ..CodeableConcept::default()
        }),
        beneficiary: subject(who),
        period: Some(Period {
            start: date(&from, i).map(ymd),
            end: date(&to, i).map(ymd),
        }),
        payor: vec![Reference {
            display: Some(value(&insurer, i).unwrap_or("unknown").to_string()),
            ..Reference::default()
        }],
        ..Coverage::default()
    }))
}

fn encounter(c: &Cols, i: usize, who: &str, id: String) -> Option<Resource> {
    let admitted = c.get::<Date32Array>("admission_date");
    let discharged = c.get::<Date32Array>("discharge_date");
    let end = date(&discharged, i);
    Some(Resource::Encounter(Encounter {
        id: Some(id),
        status: if end.is_some() {
            "finished"
        } else {
            "in-progress"
        }
        .into(),
        class: coding(Some(ACT_CODE_SYSTEM), "IMP"),
        subject: Some(subject(who)),
        period: Some(Period {
            start: Some(ymd(date(&admitted, i)?)),
            end: end.map(ymd),
        }),
        ..Encounter::default()
    }))
}

fn condition(c: &Cols, i: usize, who: &str, id: String) -> Option<Resource> {
    let code = c.text("disease_code");
    let icd10 = c.text("icd10");
    let name = c.text("disease_name");
    let start = c.get::<Date32Array>("start_date");
    let suspected = c.get::<BooleanArray>("is_suspected");
    let mut codings = Vec::new();
    if let Some(code) = value(&code, i) {
        codings.push(coding(Some(DISEASE_SYSTEM), code));
    }
    if let Some(icd) = value(&icd10, i) {
        codings.push(coding(Some(ICD10_SYSTEM), icd));
    }
    let provisional = suspected
        .as_ref()
        .is_some_and(|s| s.is_valid(i) && s.value(i));
    Some(Resource::Condition(Condition {
        id: Some(id),
        verification_status: Some(CodeableConcept {
            coding: vec![coding(
                Some(VERIFICATION_SYSTEM),
                if provisional {
                    "provisional"
                } else {
                    "confirmed"
                },
            )],
            text: None,
        }),
        code: CodeableConcept {
            coding: codings,
            text: value(&name, i).map(str::to_owned),
        },
        subject: subject(who),
        onset_date_time: date(&start, i).map(ymd),
        ..Condition::default()
    }))
}

fn procedure(c: &Cols, i: usize, who: &str, id: String) -> Option<Resource> {
    let code = c.text("code");
    let month = c.text("service_month");
    let days = c.get::<ListArray>("day_counts");
    let when = item_date(&days, value(&month, i), i)?;
    Some(Resource::Procedure(Procedure {
        id: Some(id),
        status: "completed".into(),
        code: CodeableConcept {
            coding: vec![coding(Some(PROCEDURE_SYSTEM), value(&code, i)?)],
            text: None,
        },
        subject: subject(who),
        performed_date_time: Some(when),
        ..Procedure::default()
    }))
}

fn medication(c: &Cols, i: usize, who: &str, id: String) -> Option<Resource> {
    let code = c.text("code");
    let source = c.text("source_record");
    let category = c.text("category");
    let month = c.text("service_month");
    let days = c.get::<ListArray>("day_counts");
    let count = c.get::<Int32Array>("count");
    let quantity = c.get::<Float64Array>("quantity");
    let code = value(&code, i)?;
    // Receipt lines and DPC files carry receipt (レセ電) codes; SS-MIX2 orders HOT9; a FHIR
    // source's system was not kept, so it is left out rather than guessed.
    let system = match value(&source, i) {
        Some("IY" | "SI" | "TO" | "CD" | "SK" | "EF") | None => Some(RECEIPT_DRUG_SYSTEM),
        Some("RDE^O11" | "RAS^O17") => Some(HOT9_SYSTEM),
        Some(_) => None,
    };
    let supply = (value(&category, i) == Some("21"))
        .then(|| count.as_ref().filter(|c| c.is_valid(i)).map(|c| c.value(i)))
        .flatten()
        .filter(|n| *n > 0);
    Some(Resource::MedicationRequest(MedicationRequest {
        id: Some(id),
        status: "completed".into(),
        intent: "order".into(),
        medication_codeable_concept: CodeableConcept {
            coding: vec![coding(system, code)],
            text: None,
        },
        subject: subject(who),
        authored_on: item_date(&days, value(&month, i), i),
        dispense_request: Some(DispenseRequest {
            quantity: quantity
                .as_ref()
                .filter(|q| q.is_valid(i))
                .map(|q| Quantity {
                    value: Some(q.value(i)),
                    ..Quantity::default()
                }),
            expected_supply_duration: supply.map(|n| Duration {
                value: Some(f64::from(n)),
                unit: Some("d".into()),
            }),
        }),
        ..MedicationRequest::default()
    }))
}

fn observation(c: &Cols, i: usize, who: &str, id: String) -> Option<Resource> {
    let code = c.text("jlac10");
    let analyte = c.text("analyte");
    let unit = c.text("unit");
    let v = c.get::<Float64Array>("value");
    let when = c.get::<Date32Array>("result_date");
    Some(Resource::Observation(Observation {
        id: Some(id),
        status: "final".into(),
        code: CodeableConcept {
            coding: vec![coding(Some(JLAC10_SYSTEM), value(&code, i)?)],
            text: value(&analyte, i).map(str::to_owned),
        },
        subject: subject(who),
        effective_date_time: date(&when, i).map(ymd),
        value_quantity: v.as_ref().filter(|v| v.is_valid(i)).map(|v| Quantity {
            value: Some(v.value(i)),
            unit: value(&unit, i).map(str::to_owned),
            ..Quantity::default()
        }),
        ..Observation::default()
    }))
}
