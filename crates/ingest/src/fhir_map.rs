//! JP Core FHIR R4 (Bundle JSON and bulk-export NDJSON) → canonical tables:
//!
//! | resource | table | notes |
//! |---|---|---|
//! | Patient | `persons` | `patient_id` = the identifier in the JP Core facility patient-ID system (else the first identifier) |
//! | Coverage | `insurance_periods` | insurer/記号/番号/枝番 from the `JP_Insurance_memberID` identifier (`insurer:symbol:number[:branch]`, required); `period.start` required |
//! | Observation | `lab_results` | needs a JLAC10 coding and `effectiveDateTime` |
//! | Condition | `diagnoses` | `disease_code` = the MEDIS/receipt 傷病名 code when coded so, else `0000999` (未コード化傷病名, the receipt rule for uncoded names) with the text; `icd10` from an ICD-10 coding |
//! | MedicationRequest | `drugs` | `code` = the receipt (YJ/レセ電) code when present, else the HOT9 code |
//! | MedicationDispense | `drugs` | the same code rule, else the first code; `whenHandedOver` (else `whenPrepared`); `count` = `daysSupply` |
//! | MedicationAdministration | `drugs` | the same code rule; `effectiveDateTime` or `effectivePeriod.start`; `quantity` = `dosage.dose` |
//! | Immunization | `drugs` | `vaccineCode`'s first code; `occurrenceDateTime` |
//! | Procedure | `procedures` | the first code; `performedDateTime` or `performedPeriod.start` |
//! | Encounter | `admissions` | inpatient classes (IMP, ACUTE, NONAC) only, `period.start` required; others are accepted and map to nothing |
//! | AllergyIntolerance | `claim_notes` | code and text (scrubbed by pseudonymization) |
//! | DiagnosticReport | `claim_notes` | its `conclusion` (its results are Observations of their own) |
//!
//! Every item row carries the resource type as `source_record`.
//!
//! Non-claim sources have no receipt: `claim_id` of a diagnosis or drug row is a synthetic key
//! `<file hash 16>-F<first 12 hex of SHA-256("ResourceType/id")>` (the resource's logical id;
//! without an id, its entry index or NDJSON line), so it is stable across re-submissions of the
//! same resource and carries no identifier in clear. `service_month` of a drug is the month of
//! `authoredOn` (required); its per-day counts hold `count` (the supply duration in days when
//! given, else 1) on that day.
//!
//! References: `subject`/`beneficiary` resolve through `identifier.value` (a logical
//! reference) or `Patient/<id>` against the Patient resources of the same submission (every
//! FHIR unit of a run is scanned for Patients first; memory: one map entry per patient). An
//! unresolvable reference quarantines the resource.
//!
//! Policy, with the resource as the quarantine unit: a resource the reader cannot type or
//! check, or that the mapping cannot use, is quarantined with its JSON path
//! (`entry[3].resource.subject.reference`; NDJSON: line + path) and the rest ingested; a file
//! that is not JSON, too large, or whose Patient names another facility is rejected whole; so
//! is a file with more quarantined resources than the threshold. Other resource types are reported
//! and skipped (not counted). Replacement key: `fhir/<file name>`.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::BufReader;

use medinfra_formats::fhir::{
    Coding, HOT9_SYSTEM, INSURANCE_MEMBER_SYSTEM, JLAC10_SYSTEM, NdjsonReader,
    PATIENT_ID_SYSTEM_PREFIX, Reference, Resource, read_bundle_indexed,
};
use medinfra_formats::{Finding, Severity};
use medinfra_model::buffers::{DatedItem, DiagnosesBuf, ItemsBuf, LabsBuf, PersonsBuf};
use medinfra_store::VersionWriter;
use sha2::{Digest, Sha256};

use crate::IngestError;
use crate::inputs::{Input, InputKind, io_err};
use crate::report::{FileOutcome, Problem};
use crate::uke_map::{FileRows, insurer_type, yyyymmdd};
use crate::unit::{FileParts, Unit, UnitCx, UnitMapper, UnitRead};

/// ICD-10 code systems seen in JP Core exports.
const ICD10_SYSTEMS: [&str; 2] = [
    "http://jpfhir.jp/fhir/core/CodeSystem/JP_ICD10",
    "http://hl7.org/fhir/sid/icd-10",
];
/// MEDIS 標準病名 / receipt 傷病名 code system.
const DISEASE_SYSTEM: &str = "http://medis.or.jp/CodeSystem/master-B-disease";
/// Receipt (YJ / レセ電) drug code system.
const RECEIPT_DRUG_SYSTEM: &str = "urn:oid:1.2.392.100495.20.2.74";
/// 未コード化傷病名: the receipt code for a disease name without a code.
const UNCODED_DISEASE: &str = "0000999";

/// Patient logical id → chart number, over every FHIR unit of a run.
pub(crate) type PatientIndex = HashMap<String, String>;

/// The chart number of a Patient: its JP Core facility patient ID, else its first identifier.
fn chart_of(p: &medinfra_formats::fhir::Patient) -> Option<&str> {
    p.identifier
        .iter()
        .find(|i| {
            i.system
                .as_deref()
                .is_some_and(|s| s.starts_with(PATIENT_ID_SYSTEM_PREFIX))
        })
        .or(p.identifier.first())
        .map(|i| i.value.as_str())
        .filter(|v| !v.is_empty())
}

/// The facility (10 digits) a Patient's identifier system names, if it is the JP Core one.
fn facility_of(p: &medinfra_formats::fhir::Patient) -> Option<&str> {
    p.identifier.iter().find_map(|i| {
        i.system
            .as_deref()?
            .strip_prefix(PATIENT_ID_SYSTEM_PREFIX)
            .filter(|f| f.len() == 10)
    })
}

/// Streams every resource of a FHIR unit to `visit(location, resource)` (location: entry
/// index or NDJSON line) and returns the reader's findings. NDJSON is read line by line; a
/// Bundle is one JSON document, read whole by the format layer (capped there).
fn visit_unit(
    input: &Input,
    mut visit: impl FnMut(u64, Resource) -> Result<(), IngestError>,
) -> Result<Vec<Finding>, IngestError> {
    let label = input.path.display().to_string();
    let file = File::open(&input.path).map_err(|e| io_err(&input.path, e))?;
    if input.kind == InputKind::FhirBundle {
        let (rs, findings) = read_bundle_indexed(BufReader::new(file), &label);
        for (i, r) in rs {
            visit(i as u64, r)?;
        }
        return Ok(findings);
    }
    let mut reader = NdjsonReader::new(BufReader::with_capacity(1 << 20, file), label);
    while let Some(r) = reader.next() {
        visit(reader.line(), r)?;
    }
    Ok(reader.finish())
}

/// Patient id → chart number over the FHIR units among `inputs`.
pub(crate) fn patient_index(inputs: &[&Input]) -> Result<PatientIndex, IngestError> {
    let mut index = PatientIndex::new();
    for input in inputs {
        visit_unit(input, |_, r| {
            if let Resource::Patient(p) = r
                && let (Some(id), Some(chart)) = (p.id.as_deref(), chart_of(&p))
            {
                index.insert(id.to_owned(), chart.to_owned());
            }
            Ok(())
        })?;
    }
    Ok(index)
}

/// Where a resource is: the JSON path prefix and the line (NDJSON).
struct Loc {
    prefix: String,
    line: Option<u64>,
}

impl Loc {
    fn path(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_owned()
        } else {
            format!("{}.{rel}", self.prefix)
        }
    }
}

type MapResult = Result<(), (String, String)>;

fn resolve(r: &Reference, index: &PatientIndex, field: &str) -> Result<String, (String, String)> {
    if let Some(v) = r.identifier.as_ref().map(|i| i.value.as_str())
        && !v.is_empty()
    {
        return Ok(v.to_owned());
    }
    let bad = |why: &str| (format!("{field}.reference"), why.to_owned());
    let reference = r.reference.as_deref().ok_or_else(|| bad("no reference"))?;
    let id = reference
        .strip_prefix("Patient/")
        .ok_or_else(|| bad("not a Patient reference"))?;
    index
        .get(id)
        .cloned()
        .ok_or_else(|| bad("no Patient with this id in the submission (send Patients with it, or reference by identifier)"))
}

/// `YYYY-MM-DD…` → Date32.
fn fhir_date(s: &str) -> Option<i32> {
    let d = s.get(..10)?;
    if d.as_bytes().get(4) != Some(&b'-') || d.as_bytes().get(7) != Some(&b'-') {
        return None;
    }
    yyyymmdd(&d.replace('-', ""))
}

fn code_of<'a>(coding: &'a [Coding], systems: &[&str]) -> Option<&'a str> {
    coding
        .iter()
        .find(|c| c.system.as_deref().is_some_and(|s| systems.contains(&s)))
        .and_then(|c| c.code.as_deref())
        .filter(|c| !c.is_empty())
}

/// The synthetic claim key of a non-claim resource (module docs).
fn synthetic_claim(file_key: &str, rtype: &str, id: Option<&str>, loc: u64) -> String {
    let name = match id {
        Some(id) => format!("{rtype}/{id}"),
        None => format!("{rtype}#{loc}"),
    };
    let h = Sha256::digest(name.as_bytes());
    format!("{file_key}-F{}", &hex::encode(h)[..12])
}

struct Bufs<'a> {
    rows: &'a mut FileRows,
    labs: &'a mut LabsBuf,
}

#[allow(clippy::too_many_arguments)]
fn map_resource(
    b: &mut Bufs,
    r: &Resource,
    loc_no: u64,
    provider_id: &str,
    file_key: &str,
    index: &PatientIndex,
    seen_patients: &mut BTreeSet<String>,
) -> MapResult {
    let bad = |f: &str, why: &str| Err((f.to_owned(), why.to_owned()));
    match r {
        Resource::Patient(p) => {
            let Some(chart) = chart_of(p) else {
                return bad("identifier", "no patient identifier value");
            };
            let sex = match p.gender.as_deref() {
                Some("male") => 1,
                Some("female") => 2,
                _ => return bad("gender", "must be male or female for the canonical sex"),
            };
            let Some(birth) = p.birth_date.as_deref().and_then(fhir_date) else {
                return bad("birthDate", "missing or not a full date");
            };
            if !seen_patients.insert(chart.to_owned()) {
                return Ok(());
            }
            let name = |rep: &str| {
                p.name
                    .iter()
                    .find(|n| n.representation() == Some(rep))
                    .map(|n| {
                        n.text.clone().unwrap_or_else(|| {
                            let mut s = n.family.clone().unwrap_or_default();
                            for g in &n.given {
                                s.push('\u{3000}');
                                s.push_str(g);
                            }
                            s
                        })
                    })
            };
            let (kanji, kana) = (name("IDE"), name("SYL"));
            let ps: &mut PersonsBuf = &mut b.rows.persons;
            ps.provider_id.append_value(provider_id);
            ps.patient_id.append_value(chart);
            ps.name_kanji.append_option(kanji.as_deref());
            ps.name_kana.append_option(kana.as_deref());
            ps.sex.append_value(sex);
            ps.birth_date.append_value(birth);
            ps.postcode.append_null();
            ps.prefecture_code.append_value(&provider_id[..2]);
            ps.address.append_null();
            ps.phone.append_null();
            ps.rows += 1;
        }
        Resource::Coverage(c) => {
            let patient = resolve(&c.beneficiary, index, "beneficiary")?;
            let member = c
                .identifier
                .iter()
                .find(|i| i.system.as_deref() == Some(INSURANCE_MEMBER_SYSTEM))
                .map(|i| i.value.split(':').map(str::to_owned).collect::<Vec<_>>());
            let (insurer, symbol, number, branch) = match member.as_deref() {
                Some([i, s, n, rest @ ..]) => (
                    i.clone(),
                    s.clone(),
                    n.clone(),
                    rest.first().cloned().unwrap_or_default(),
                ),
                _ => {
                    return bad(
                        "identifier",
                        "no JP_Insurance_memberID identifier (insurer:symbol:number[:branch])",
                    );
                }
            };
            if insurer.is_empty() || number.is_empty() {
                return bad("identifier", "insurer number and card number are required");
            }
            let Some(from) = c
                .period
                .as_ref()
                .and_then(|p| p.start.as_deref())
                .and_then(fhir_date)
            else {
                return bad("period.start", "missing or not a full date");
            };
            let to = c
                .period
                .as_ref()
                .and_then(|p| p.end.as_deref())
                .and_then(fhir_date);
            let i = &mut b.rows.insurance;
            i.provider_id.append_value(provider_id);
            i.patient_id.append_value(&patient);
            i.insurer_number.append_value(&insurer);
            i.insurer_type.append_value(insurer_type(&insurer));
            i.card_symbol
                .append_option((!symbol.is_empty()).then_some(symbol.as_str()));
            i.card_number.append_value(&number);
            i.card_branch
                .append_option((!branch.is_empty()).then_some(branch.as_str()));
            i.valid_from.append_value(from);
            i.valid_to.append_option(to);
            i.rows += 1;
        }
        Resource::Observation(o) => {
            let patient = resolve(&o.subject, index, "subject")?;
            let Some(jlac10) = o.code.code_in(JLAC10_SYSTEM) else {
                return bad(
                    "code.coding",
                    "no JLAC10 coding (only JLAC10-coded lab results are mapped)",
                );
            };
            let Some(date) = o.effective_date_time.as_deref().and_then(fhir_date) else {
                return bad("effectiveDateTime", "missing or not a full date");
            };
            let analyte = o
                .code
                .text
                .clone()
                .or_else(|| o.code.coding.iter().find_map(|c| c.display.clone()))
                .unwrap_or_else(|| jlac10.to_owned());
            let q = o.value_quantity.as_ref();
            let l = &mut *b.labs;
            l.provider_id.append_value(provider_id);
            l.patient_id.append_value(&patient);
            l.jlac10.append_value(jlac10);
            l.analyte.append_value(&analyte);
            l.value.append_option(q.and_then(|q| q.value));
            l.unit.append_option(q.and_then(|q| q.unit.as_deref()));
            l.result_date.append_value(date);
            l.rows += 1;
        }
        Resource::Condition(c) => {
            let patient = resolve(&c.subject, index, "subject")?;
            let Some(start) = c
                .onset_date_time
                .as_deref()
                .or(c.recorded_date.as_deref())
                .and_then(fhir_date)
            else {
                return bad(
                    "onsetDateTime",
                    "no onsetDateTime or recordedDate with a full date",
                );
            };
            let icd10 = code_of(&c.code.coding, &ICD10_SYSTEMS);
            let disease = code_of(&c.code.coding, &[DISEASE_SYSTEM]);
            let name = c
                .code
                .text
                .clone()
                .or_else(|| c.code.coding.iter().find_map(|x| x.display.clone()));
            if disease.is_none() && icd10.is_none() && name.is_none() {
                return bad("code", "no disease code, ICD-10 code or text");
            }
            let status = c
                .clinical_status
                .as_ref()
                .and_then(|s| s.coding.first())
                .and_then(|x| x.code.as_deref());
            // UKE 転帰区分: 1 継続, 2 治ゆ, 4 中止.
            let outcome = match status {
                Some("resolved" | "remission") => "2",
                Some("inactive") => "4",
                _ => "1",
            };
            let verification = c
                .verification_status
                .as_ref()
                .and_then(|s| s.coding.first())
                .and_then(|x| x.code.as_deref());
            let d: &mut DiagnosesBuf = &mut b.rows.diagnoses;
            d.claim_id.append_value(synthetic_claim(
                file_key,
                "Condition",
                c.id.as_deref(),
                loc_no,
            ));
            d.provider_id.append_value(provider_id);
            d.patient_id.append_value(&patient);
            d.disease_code
                .append_value(disease.unwrap_or(UNCODED_DISEASE));
            d.icd10.append_option(icd10);
            d.modifiers.append_null();
            d.disease_name.append_option(name.as_deref());
            d.start_date.append_value(start);
            d.outcome.append_value(outcome);
            d.is_main.append_value(false);
            d.is_suspected.append_value(matches!(
                verification,
                Some("provisional" | "differential" | "unconfirmed")
            ));
            d.rows += 1;
        }
        Resource::MedicationRequest(m) => {
            let patient = resolve(&m.subject, index, "subject")?;
            let coding = &m.medication_codeable_concept.coding;
            let Some(code) =
                code_of(coding, &[RECEIPT_DRUG_SYSTEM]).or(code_of(coding, &[HOT9_SYSTEM]))
            else {
                return bad(
                    "medicationCodeableConcept.coding",
                    "no receipt (YJ) or HOT9 drug code",
                );
            };
            let Some(date) = m.authored_on.as_deref().and_then(fhir_date) else {
                return bad("authoredOn", "missing or not a full date");
            };
            medinfra_model::days::date_of(date)
                .ok_or_else(|| ("authoredOn".to_owned(), "date out of range".to_owned()))?;
            let dr = m.dispense_request.as_ref();
            let count = dr
                .and_then(|d| d.expected_supply_duration.as_ref())
                .and_then(|d| d.value)
                .map(|v| v.round() as i32)
                .filter(|v| *v > 0)
                .unwrap_or(1);
            let claim = synthetic_claim(file_key, "MedicationRequest", m.id.as_deref(), loc_no);
            let item = Coded {
                claim: &claim,
                provider_id,
                patient: &patient,
                code,
                quantity: dr.and_then(|d| d.quantity.as_ref()).and_then(|q| q.value),
                count,
                date,
                source: "MedicationRequest",
            };
            item.push(&mut b.rows.drugs)?;
        }
        Resource::MedicationDispense(m) => {
            let patient = resolve(&m.subject, index, "subject")?;
            let code = drug_code(&m.medication_codeable_concept.coding)
                .ok_or_else(|| no_code("medicationCodeableConcept.coding"))?;
            let date = m
                .when_handed_over
                .as_deref()
                .or(m.when_prepared.as_deref())
                .and_then(fhir_date)
                .ok_or_else(|| {
                    (
                        "whenHandedOver".to_owned(),
                        "missing or not a full date (whenHandedOver or whenPrepared)".to_owned(),
                    )
                })?;
            let count = m
                .days_supply
                .as_ref()
                .and_then(|q| q.value)
                .map(|v| v.round() as i32)
                .filter(|v| *v > 0)
                .unwrap_or(1);
            let claim = synthetic_claim(file_key, "MedicationDispense", m.id.as_deref(), loc_no);
            let item = Coded {
                claim: &claim,
                provider_id,
                patient: &patient,
                code,
                quantity: m.quantity.as_ref().and_then(|q| q.value),
                count,
                date,
                source: "MedicationDispense",
            };
            item.push(&mut b.rows.drugs)?;
        }
        Resource::MedicationAdministration(m) => {
            let patient = resolve(&m.subject, index, "subject")?;
            let code = drug_code(&m.medication_codeable_concept.coding)
                .ok_or_else(|| no_code("medicationCodeableConcept.coding"))?;
            let date = m
                .effective_date_time
                .as_deref()
                .or(m.effective_period.as_ref().and_then(|p| p.start.as_deref()))
                .and_then(fhir_date)
                .ok_or_else(|| {
                    (
                        "effectiveDateTime".to_owned(),
                        "missing or not a full date (effectiveDateTime or effectivePeriod.start)"
                            .to_owned(),
                    )
                })?;
            let claim = synthetic_claim(
                file_key,
                "MedicationAdministration",
                m.id.as_deref(),
                loc_no,
            );
            let item = Coded {
                claim: &claim,
                provider_id,
                patient: &patient,
                code,
                quantity: m
                    .dosage
                    .as_ref()
                    .and_then(|d| d.dose.as_ref())
                    .and_then(|q| q.value),
                count: 1,
                date,
                source: "MedicationAdministration",
            };
            item.push(&mut b.rows.drugs)?;
        }
        Resource::Immunization(m) => {
            let patient = resolve(&m.patient, index, "patient")?;
            let code =
                first_code(&m.vaccine_code.coding).ok_or_else(|| no_code("vaccineCode.coding"))?;
            let date = m
                .occurrence_date_time
                .as_deref()
                .and_then(fhir_date)
                .ok_or_else(|| {
                    (
                        "occurrenceDateTime".to_owned(),
                        "missing or not a full date".to_owned(),
                    )
                })?;
            let claim = synthetic_claim(file_key, "Immunization", m.id.as_deref(), loc_no);
            let item = Coded {
                claim: &claim,
                provider_id,
                patient: &patient,
                code,
                quantity: None,
                count: 1,
                date,
                source: "Immunization",
            };
            item.push(&mut b.rows.drugs)?;
        }
        Resource::Procedure(p) => {
            let patient = resolve(&p.subject, index, "subject")?;
            let code = first_code(&p.code.coding).ok_or_else(|| no_code("code.coding"))?;
            let date = p
                .performed_date_time
                .as_deref()
                .or(p.performed_period.as_ref().and_then(|x| x.start.as_deref()))
                .and_then(fhir_date)
                .ok_or_else(|| {
                    (
                        "performedDateTime".to_owned(),
                        "missing or not a full date (performedDateTime or performedPeriod.start)"
                            .to_owned(),
                    )
                })?;
            let claim = synthetic_claim(file_key, "Procedure", p.id.as_deref(), loc_no);
            let item = Coded {
                claim: &claim,
                provider_id,
                patient: &patient,
                code,
                quantity: None,
                count: 1,
                date,
                source: "Procedure",
            };
            item.push(&mut b.rows.procedures)?;
        }
        Resource::Encounter(e) => {
            // Inpatient encounters (v3 ActCode IMP, ACUTE, NONAC) are stays; ambulatory and
            // other encounters carry nothing the canonical model keeps.
            if !matches!(e.class.code.as_deref(), Some("IMP" | "ACUTE" | "NONAC")) {
                return Ok(());
            }
            let subject = e.subject.as_ref().ok_or_else(|| {
                (
                    "subject".to_owned(),
                    "an inpatient stay needs its patient".to_owned(),
                )
            })?;
            let patient = resolve(subject, index, "subject")?;
            let period = e.period.as_ref();
            let admitted = period
                .and_then(|p| p.start.as_deref())
                .and_then(fhir_date)
                .ok_or_else(|| {
                    (
                        "period.start".to_owned(),
                        "an inpatient stay needs its admission date".to_owned(),
                    )
                })?;
            let a = &mut b.rows.admissions;
            a.admission_id.append_value(synthetic_claim(
                file_key,
                "Encounter",
                e.id.as_deref(),
                loc_no,
            ));
            a.provider_id.append_value(provider_id);
            a.patient_id.append_value(&patient);
            a.admission_date.append_value(admitted);
            a.discharge_date
                .append_option(period.and_then(|p| p.end.as_deref()).and_then(fhir_date));
            a.dpc_code.append_null();
            a.main_icd10.append_null();
            a.resource_icd10.append_null();
            a.discharge_outcome.append_option(
                e.hospitalization
                    .as_ref()
                    .and_then(|h| h.discharge_disposition.as_ref())
                    .and_then(|d| first_code(&d.coding)),
            );
            a.rows += 1;
        }
        Resource::AllergyIntolerance(a) => {
            let patient = resolve(&a.patient, index, "patient")?;
            let code = a.code.as_ref();
            let text = code.and_then(|c| {
                c.text
                    .clone()
                    .or_else(|| c.coding.iter().find_map(|x| x.display.clone()))
            });
            let date = a
                .recorded_date
                .as_deref()
                .or(a.onset_date_time.as_deref())
                .and_then(fhir_date);
            let claim = synthetic_claim(file_key, "AllergyIntolerance", a.id.as_deref(), loc_no);
            push_note(
                &mut b.rows.notes,
                (&claim, provider_id, &patient),
                date,
                "AllergyIntolerance",
                code.and_then(|c| first_code(&c.coding)),
                text.as_deref(),
            );
        }
        Resource::DiagnosticReport(d) => {
            // Its results are Observations of their own; the report adds its conclusion.
            let patient = resolve(&d.subject, index, "subject")?;
            if d.conclusion.is_none() {
                return Ok(());
            }
            let date = d
                .effective_date_time
                .as_deref()
                .or(d.issued.as_deref())
                .and_then(fhir_date);
            let claim = synthetic_claim(file_key, "DiagnosticReport", d.id.as_deref(), loc_no);
            push_note(
                &mut b.rows.notes,
                (&claim, provider_id, &patient),
                date,
                "DiagnosticReport",
                first_code(&d.code.coding),
                d.conclusion.as_deref(),
            );
        }
    }
    Ok(())
}

fn no_code(field: &str) -> (String, String) {
    (field.to_owned(), "no code in any coding".to_owned())
}

/// The code of the first coding that has one.
fn first_code(coding: &[Coding]) -> Option<&str> {
    coding
        .iter()
        .find_map(|c| c.code.as_deref())
        .filter(|c| !c.is_empty())
}

/// A drug's code: the receipt (YJ / レセ電) code, else HOT9, else the first coded one.
fn drug_code(coding: &[Coding]) -> Option<&str> {
    code_of(coding, &[RECEIPT_DRUG_SYSTEM])
        .or(code_of(coding, &[HOT9_SYSTEM]))
        .or(first_code(coding))
}

/// A dated, coded item of a non-claim resource (drug given or dispensed, procedure done).
struct Coded<'a> {
    claim: &'a str,
    provider_id: &'a str,
    patient: &'a str,
    code: &'a str,
    quantity: Option<f64>,
    count: i32,
    date: i32,
    source: &'a str,
}

impl Coded<'_> {
    fn push(&self, it: &mut ItemsBuf) -> MapResult {
        let date = medinfra_model::days::date_of(self.date)
            .ok_or_else(|| ("date".to_owned(), "date out of range".to_owned()))?;
        let month = format!("{:04}{:02}", date.year(), u8::from(date.month()));
        it.push_dated(&DatedItem {
            claim_id: self.claim,
            provider_id: self.provider_id,
            patient_id: self.patient,
            service_month: &month,
            category: "",
            code: self.code,
            quantity: self.quantity,
            points: None,
            count: self.count,
            month_days: u32::from(date.month().length(date.year())),
            day: u32::from(date.day()),
            unit_no: None,
            source_record: self.source,
        });
        Ok(())
    }
}

/// A free-text or coded note of a non-claim resource into `claim_notes`.
fn push_note(
    n: &mut medinfra_model::buffers::NotesBuf,
    (claim, provider_id, patient): (&str, &str, &str),
    date: Option<i32>,
    source: &str,
    code: Option<&str>,
    text: Option<&str>,
) {
    let month = date
        .and_then(medinfra_model::days::date_of)
        .map(|d| format!("{:04}{:02}", d.year(), u8::from(d.month())))
        .unwrap_or_default();
    n.claim_id.append_value(claim);
    n.provider_id.append_value(provider_id);
    n.patient_id.append_value(patient);
    n.service_month.append_value(month);
    n.source_record.append_value(source);
    n.category.append_null();
    n.code.append_option(code);
    n.text.append_option(text);
    n.rows += 1;
}

fn kind_label(kind: InputKind) -> &'static str {
    if kind == InputKind::FhirBundle {
        "fhir-bundle"
    } else {
        "fhir-ndjson"
    }
}

/// Quarantine units among the reader's findings: distinct entries (Bundle) or lines (NDJSON).
fn quarantined_units(findings: &[Finding]) -> u64 {
    let mut units = BTreeSet::new();
    for f in findings
        .iter()
        .filter(|f| f.severity == Severity::ReceiptQuarantine)
    {
        let entry = f
            .field
            .as_deref()
            .and_then(|p| p.strip_prefix("entry["))
            .and_then(|p| p.split(']').next())
            .map(str::to_owned);
        units.insert((f.line, entry));
    }
    units.len() as u64
}

/// Ingest one FHIR unit (Bundle or NDJSON file).
pub(crate) struct FhirUnit<'a> {
    pub unit: Unit<'a>,
    pub patients: &'a PatientIndex,
}

impl UnitMapper for FhirUnit<'_> {
    const UNIT: &'static str = "resource";
    type Pending = (FileRows, LabsBuf);

    fn read(
        self,
        cx: &UnitCx<'_>,
        parts: &mut FileParts,
    ) -> Result<UnitRead<Self::Pending>, IngestError> {
        let Unit {
            input,
            sha256,
            bytes,
            progress,
        } = self.unit;
        let index = self.patients;
        let (writer, opts, key) = (cx.writer, cx.opts, cx.key);
        let label = input.path.display().to_string();
        let mut outcome = FileOutcome::new(&label, sha256, bytes, kind_label(input.kind));
        outcome.billing_month = input
            .path
            .file_name()
            .map(|n| format!("fhir/{}", n.to_string_lossy()));
        let mut rejection = None;
        let mut rows = FileRows::default();
        let mut labs = LabsBuf::default();
        let mut seen = BTreeSet::new();
        let bundle = input.kind == InputKind::FhirBundle;
        let findings = visit_unit(input, |n, r| {
            let (n, r) = (&n, &r);
            outcome.receipts += 1;
            if rejection.is_some() {
                return Ok(());
            }
            let loc = Loc {
                prefix: if bundle {
                    format!("entry[{n}].resource")
                } else {
                    String::new()
                },
                line: (!bundle).then_some(*n),
            };
            let rtype = r.type_name();
            if let Resource::Patient(p) = r
                && let Some(f) = facility_of(p)
                && f != opts.provider_id
            {
                rejection = Some(format!(
                    "a Patient identifier ({}) names another provider",
                    loc.path("identifier")
                ));
                return Ok(());
            }
            let mut b = Bufs {
                rows: &mut rows,
                labs: &mut labs,
            };
            match map_resource(&mut b, r, *n, &opts.provider_id, key, index, &mut seen) {
                Ok(()) => outcome.receipts_accepted += 1,
                Err((field, reason)) => {
                    outcome.receipts_quarantined += 1;
                    outcome.problems.push(Problem {
                        file: label.clone(),
                        line: loc.line,
                        record_type: Some(rtype.to_owned()),
                        field: Some(loc.path(&field)),
                        reason,
                    });
                }
            }
            flush_rows(parts, writer, key, &mut rows, &mut labs, false)
        })?;
        progress(bytes);
        if rejection.is_none() && findings.iter().any(|f| f.severity == Severity::FileFatal) {
            rejection =
                Some("not a readable FHIR Bundle / NDJSON file (see the findings)".to_owned());
        }
        let quarantined = quarantined_units(&findings);
        outcome.receipts += quarantined;
        outcome.receipts_quarantined += quarantined;
        outcome.findings = findings;
        Ok(UnitRead {
            outcome,
            pending: (rows, labs),
            rejection,
        })
    }

    fn write_pending(
        cx: &UnitCx<'_>,
        parts: &mut FileParts,
        pending: Self::Pending,
    ) -> Result<(), IngestError> {
        let (mut rows, mut labs) = pending;
        flush_rows(parts, cx.writer, cx.key, &mut rows, &mut labs, true)
    }
}

fn flush_rows(
    parts: &mut FileParts,
    writer: &VersionWriter,
    key: &str,
    rows: &mut FileRows,
    labs: &mut LabsBuf,
    force: bool,
) -> Result<(), IngestError> {
    parts.flush_all(writer, key, rows, force)?;
    parts.flush(writer, key, labs, "lab_results", force)
}
