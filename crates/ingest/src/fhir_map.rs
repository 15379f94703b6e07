//! JP Core FHIR R4 (Bundle JSON and bulk-export NDJSON) → canonical tables:
//!
//! | resource | table | notes |
//! |---|---|---|
//! | Patient | `persons` | `patient_id` = the identifier in the JP Core facility patient-ID system (else the first identifier) |
//! | Coverage | `insurance_periods` | insurer/記号/番号/枝番 from the `JP_Insurance_memberID` identifier (`insurer:symbol:number[:branch]`, required); `period.start` required |
//! | Observation | `lab_results` | needs a JLAC10 coding and `effectiveDateTime` |
//! | Condition | `diagnoses` | `disease_code` = the MEDIS/receipt 傷病名 code when coded so, else `0000999` (未コード化傷病名, the receipt rule for uncoded names) with the text; `icd10` from an ICD-10 coding |
//! | MedicationRequest | `drugs` | `code` = the receipt (YJ/レセ電) code when present, else the HOT9 code |
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
//! is a file with more quarantined resources than the threshold. Resource types other than the
//! five are reported and skipped (not counted). Replacement key: `fhir/<file name>`.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::BufReader;

use medinfra_formats::fhir::{
    Coding, HOT9_SYSTEM, INSURANCE_MEMBER_SYSTEM, JLAC10_SYSTEM, NdjsonReader,
    PATIENT_ID_SYSTEM_PREFIX, Reference, Resource, read_bundle_indexed,
};
use medinfra_formats::{Finding, Severity};
use medinfra_model::buffers::{DiagnosesBuf, ItemsBuf, LabsBuf, PersonsBuf};
use medinfra_store::VersionWriter;
use sha2::{Digest, Sha256};

use crate::IngestError;
use crate::inputs::{Input, InputKind, io_err};
use crate::report::{FileOutcome, FileStatus, Problem};
use crate::run::{FileParts, IngestOptions, quarantine_rejection};
use crate::uke_map::{FileRows, insurer_type, yyyymmdd};

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
            let date = medinfra_model::days::date_of(date)
                .ok_or_else(|| ("authoredOn".to_owned(), "date out of range".to_owned()))?;
            let ym = format!("{:04}{:02}", date.year(), u8::from(date.month()));
            let days = u32::from(date.month().length(date.year()));
            let day = u32::from(date.day());
            let dr = m.dispense_request.as_ref();
            let count = dr
                .and_then(|d| d.expected_supply_duration.as_ref())
                .and_then(|d| d.value)
                .map(|v| v.round() as i32)
                .filter(|v| *v > 0)
                .unwrap_or(1);
            let it: &mut ItemsBuf = &mut b.rows.drugs;
            it.claim_id.append_value(synthetic_claim(
                file_key,
                "MedicationRequest",
                m.id.as_deref(),
                loc_no,
            ));
            it.provider_id.append_value(provider_id);
            it.patient_id.append_value(&patient);
            it.service_month.append_value(&ym);
            it.category.append_value("");
            it.code.append_value(code);
            it.quantity
                .append_option(dr.and_then(|d| d.quantity.as_ref()).and_then(|q| q.value));
            it.points.append_null();
            it.count.append_value(count);
            it.day_counts.0.append_single(days, day, count);
            it.payer_share.append_null();
            it.unit_no.append_null();
            it.source_record.append_value("MedicationRequest");
            it.rows += 1;
        }
    }
    Ok(())
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
pub(crate) fn ingest_fhir(
    writer: &VersionWriter,
    opts: &IngestOptions,
    input: &Input,
    sha256: &str,
    bytes: u64,
    index: &PatientIndex,
    progress: &dyn Fn(u64),
) -> Result<FileOutcome, IngestError> {
    let label = input.path.display().to_string();
    let key = &sha256[..16];
    let mut outcome = FileOutcome::new(&label, sha256, bytes, kind_label(input.kind));
    outcome.billing_month = input
        .path
        .file_name()
        .map(|n| format!("fhir/{}", n.to_string_lossy()));
    let mut rejection = None;
    let mut rows = FileRows::default();
    let mut labs = LabsBuf::default();
    let mut parts = FileParts::default();
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
        let rtype = match r {
            Resource::Patient(_) => "Patient",
            Resource::Coverage(_) => "Coverage",
            Resource::Condition(_) => "Condition",
            Resource::Observation(_) => "Observation",
            Resource::MedicationRequest(_) => "MedicationRequest",
        };
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
        flush_rows(&mut parts, writer, key, &mut rows, &mut labs, false)
    })?;
    progress(bytes);
    if rejection.is_none() && findings.iter().any(|f| f.severity == Severity::FileFatal) {
        rejection = Some("not a readable FHIR Bundle / NDJSON file (see the findings)".to_owned());
    }
    let quarantined = quarantined_units(&findings);
    outcome.receipts += quarantined;
    outcome.receipts_quarantined += quarantined;
    outcome.findings = findings;
    if rejection.is_none() {
        rejection = quarantine_rejection(&outcome, opts);
    }
    if rejection.is_none() && outcome.receipts_accepted == 0 {
        rejection = Some("no resource could be accepted".into());
    }
    match rejection {
        Some(reason) => {
            parts.abandon(writer)?;
            outcome.status = FileStatus::Rejected;
            outcome.rejection = Some(reason);
            outcome.receipts_accepted = 0;
        }
        None => {
            flush_rows(&mut parts, writer, key, &mut rows, &mut labs, true)?;
            outcome.rows = parts.finish(writer)?;
        }
    }
    Ok(outcome)
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
