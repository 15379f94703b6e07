//! SS-MIX2 standardized storage → canonical tables, per message:
//!
//! * lab results: one `lab_results` row per OBX coded in JLAC10 (`JC10`, 17 characters or the
//!   15 without the result identification) in any message — OUL^R22 (OML-11) above all, but
//!   results other order types carry too;
//! * drugs: one `drugs` row per RXE of a prescription or injection order (RDE^O11, OMP-01/02)
//!   and per RXA of an administration record (RAS^O17, OMP-11/12), with the order's Rp number
//!   as `unit_no` and the message type as `source_record`;
//! * persons: one `persons` row per patient of the tree, from the first PID with sex and birth
//!   date (ADT-00 demographics above all);
//! * admissions: one `admissions` row per inpatient stay named by a PV1 (class `I`, PV1-44
//!   admission date; PV1-45 discharge when a later message knows it), e.g. ADT-22/52.
//!
//! Policy, as for receipt files, with the message as the quarantine unit: a message file that
//! does not decode or parse, or that carries a record-level finding (bad JLAC10 shape, a
//! non-numeric NM value) or an ingest problem (an OUL^R22 OBX not coded in JLAC10, no date), is
//! quarantined whole and the rest of the tree is ingested; a tree whose folders cannot be read,
//! or in which a message names another sending facility (MSH-4, when it is a 10-digit provider
//! id), is rejected whole; so is a tree with more quarantined messages than the threshold.
//!
//! Result date: OBX-14 (date part), else the storage path's care date. Analyte: OBX-3's text,
//! else the code. A storage root is cumulative by design (a hospital's standardized storage
//! keeps every message), so a later tree from the same provider replaces the earlier one (its
//! replacement key is `ssmix2`); a lone message file is never replaced, only deduplicated.

use std::io::Read;

use medinfra_formats::Severity;
use medinfra_formats::ssmix2::{MAX_MESSAGE_BYTES, ParsedMessage, Ssmix2File, Ssmix2Reader};
use std::collections::{BTreeMap, HashSet};

use medinfra_model::buffers::{AdmissionsBuf, DatedItem, ItemsBuf, LabsBuf, PersonsBuf};
use medinfra_store::VersionWriter;

use crate::IngestError;
use crate::inputs::{Input, InputKind, io_err};
use crate::report::{FileOutcome, Problem};
use crate::uke_map::yyyymmdd;
use crate::unit::{FileParts, Unit, UnitCx, UnitMapper, UnitRead};

struct LabRow {
    jlac10: String,
    analyte: String,
    value: Option<f64>,
    unit: Option<String>,
    result_date: i32,
}

struct DrugRow {
    code: String,
    quantity: Option<f64>,
    count: i32,
    date: i32,
    unit_no: Option<i32>,
}

/// What one message adds to the canonical tables.
#[derive(Default)]
struct MessageRows {
    labs: Vec<LabRow>,
    drugs: Vec<DrugRow>,
    /// (admission date, discharge date) of an inpatient stay the PV1 names.
    stay: Option<(i32, Option<i32>)>,
    /// (sex, birth date) when PID carries both.
    person: Option<(i32, i32)>,
}

fn date_of(text: &str) -> Option<i32> {
    text.get(..8).and_then(yyyymmdd)
}

/// The rows of one message, or the problem that quarantines it.
fn map_message(
    parsed: &ParsedMessage,
    care_date: Option<&str>,
    label: &str,
) -> Result<MessageRows, Problem> {
    let problem = |record: &str, field: &str, reason: &str| Problem {
        file: label.to_string(),
        line: None,
        record_type: Some(record.into()),
        field: Some(field.into()),
        reason: reason.into(),
    };
    let lab_message = is_lab_message(parsed);
    let mut out = MessageRows::default();
    for o in &parsed.observations {
        if o.coding_system != "JC10" {
            if lab_message {
                return Err(problem(
                    "OBX",
                    "OBX-3",
                    "result is not coded in JLAC10 (JC10)",
                ));
            }
            // Other messages' observations (height, weight…) are not lab results.
            continue;
        }
        // Other messages' observations (ADT-00's height, weight, blood type) are attributes
        // as of the message: MSH-7 dates them when nothing else does.
        let date = date_of(&o.observed_at)
            .or_else(|| care_date.and_then(yyyymmdd))
            .or_else(|| {
                (!lab_message)
                    .then(|| date_of(&parsed.header.created_at))
                    .flatten()
            })
            .ok_or_else(|| {
                problem(
                    "OBX",
                    "OBX-14",
                    "no result date (OBX-14 or the care-date folder)",
                )
            })?;
        let value = if o.value_type == "NM" && !o.value.is_empty() {
            Some(
                o.value
                    .parse::<f64>()
                    .map_err(|_| problem("OBX", "OBX-5", "NM value is not a number"))?,
            )
        } else {
            None
        };
        out.labs.push(LabRow {
            jlac10: o.code.clone(),
            analyte: if o.name.is_empty() {
                o.code.clone()
            } else {
                o.name.clone()
            },
            value,
            unit: (!o.unit.is_empty()).then(|| o.unit.clone()),
            result_date: date,
        });
    }
    let order_message = matches!(parsed.header.message_code.as_str(), "RDE" | "RAS");
    for p in parsed
        .prescriptions
        .iter()
        .filter(|p| order_message && !p.drug_code.is_empty())
    {
        let date = date_of(&p.given_at)
            .or_else(|| care_date.and_then(yyyymmdd))
            .or_else(|| date_of(&parsed.header.created_at))
            .ok_or_else(|| {
                problem(
                    "RXE",
                    "TQ1-7",
                    "no order date (RXA-3, the care-date folder or MSH-7)",
                )
            })?;
        out.drugs.push(DrugRow {
            code: p.drug_code.clone(),
            quantity: p.amount.parse().ok(),
            count: p.days.parse().ok().filter(|d| *d > 0).unwrap_or(1),
            date,
            unit_no: p.group_no.parse().ok(),
        });
    }
    if let Some(v) = &parsed.visit
        && v.patient_class == "I"
        && let Some(admitted) = date_of(&v.admitted_at)
    {
        out.stay = Some((admitted, date_of(&v.discharged_at)));
    }
    let sex = match parsed.patient.sex.as_str() {
        "M" => Some(1),
        "F" => Some(2),
        _ => None,
    };
    if let (Some(sex), Some(birth)) = (sex, date_of(&parsed.patient.birth_date)) {
        out.person = Some((sex, birth));
    }
    Ok(out)
}

fn is_lab_message(parsed: &ParsedMessage) -> bool {
    parsed.header.message_code == "OUL" && parsed.header.trigger_event == "R22"
}

/// Rows of one tree being built.
#[derive(Default)]
pub(crate) struct TreeRows {
    labs: LabsBuf,
    drugs: ItemsBuf,
    persons: PersonsBuf,
    seen_patients: HashSet<String>,
    /// (patient, admission date) → discharge date; emitted when the tree is done, because a
    /// discharge message comes after the admission's.
    stays: BTreeMap<(String, i32), Option<i32>>,
}

impl TreeRows {
    fn add(
        &mut self,
        provider_id: &str,
        file_key: &str,
        parsed: &ParsedMessage,
        rows: MessageRows,
    ) {
        let patient = parsed.patient.id.as_str();
        for r in rows.labs {
            let l = &mut self.labs;
            l.provider_id.append_value(provider_id);
            l.patient_id.append_value(patient);
            l.jlac10.append_value(&r.jlac10);
            l.analyte.append_value(&r.analyte);
            l.value.append_option(r.value);
            l.unit.append_option(r.unit.as_deref());
            l.result_date.append_value(r.result_date);
            l.rows += 1;
        }
        let source = format!(
            "{}^{}",
            parsed.header.message_code, parsed.header.trigger_event
        );
        for d in rows.drugs {
            let Some(date) = medinfra_model::days::date_of(d.date) else {
                continue;
            };
            let claim = format!(
                "{file_key}-{}",
                if parsed.header.control_id.is_empty() {
                    patient
                } else {
                    parsed.header.control_id.as_str()
                }
            );
            let month = format!("{:04}{:02}", date.year(), date.month() as u8);
            self.drugs.push_dated(&DatedItem {
                claim_id: &claim,
                provider_id,
                patient_id: patient,
                service_month: &month,
                category: "",
                code: &d.code,
                quantity: d.quantity,
                points: None,
                count: d.count,
                month_days: u32::from(date.month().length(date.year())),
                day: u32::from(date.day()),
                unit_no: d.unit_no,
                source_record: &source,
            });
        }
        if let Some((admitted, discharged)) = rows.stay {
            let slot = self
                .stays
                .entry((patient.to_string(), admitted))
                .or_insert(None);
            if discharged.is_some() {
                *slot = discharged;
            }
        }
        if let Some((sex, birth)) = rows.person
            && self.seen_patients.insert(patient.to_string())
        {
            let p = &mut self.persons;
            let kanji = parsed
                .patient
                .kanji_name()
                .map(|n| format!("{}　{}", n.family, n.given).trim().to_string());
            let kana = parsed
                .patient
                .kana_name()
                .map(|n| format!("{} {}", n.family, n.given).trim().to_string());
            p.provider_id.append_value(provider_id);
            p.patient_id.append_value(patient);
            p.name_kanji.append_option(kanji.filter(|s| !s.is_empty()));
            p.name_kana.append_option(kana.filter(|s| !s.is_empty()));
            p.sex.append_value(sex);
            p.birth_date.append_value(birth);
            let postcode = parsed.patient.postal_code.replace('-', "");
            p.postcode
                .append_option((!postcode.is_empty()).then_some(postcode.as_str()));
            p.prefecture_code.append_option(provider_id.get(..2));
            p.address.append_option(
                (!parsed.patient.address.is_empty()).then_some(parsed.patient.address.as_str()),
            );
            p.phone.append_null();
            p.rows += 1;
        }
    }

    fn flush(
        &mut self,
        writer: &VersionWriter,
        key: &str,
        parts: &mut FileParts,
        force: bool,
    ) -> Result<(), IngestError> {
        parts.flush(writer, key, &mut self.labs, "lab_results", force)?;
        parts.flush(writer, key, &mut self.drugs, "drugs", force)?;
        parts.flush(writer, key, &mut self.persons, "persons", force)
    }

    /// The stays, once every message has been read.
    fn finish_stays(&mut self, provider_id: &str, file_key: &str) -> AdmissionsBuf {
        let mut a = AdmissionsBuf::default();
        for ((patient, admitted), discharged) in std::mem::take(&mut self.stays) {
            a.admission_id
                .append_value(format!("{file_key}-{patient}-{admitted}"));
            a.provider_id.append_value(provider_id);
            a.patient_id.append_value(&patient);
            a.admission_date.append_value(admitted);
            a.discharge_date.append_option(discharged);
            a.dpc_code.append_null();
            a.main_icd10.append_null();
            a.resource_icd10.append_null();
            a.discharge_outcome.append_null();
            a.rows += 1;
        }
        a
    }
}

fn lone_message(input: &Input) -> Result<Ssmix2File, IngestError> {
    let label = input.path.display().to_string();
    let mut bytes = Vec::new();
    std::fs::File::open(&input.path)
        .and_then(|f| f.take(MAX_MESSAGE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| io_err(&input.path, e))?;
    let (message, parsed, findings) = if bytes.len() as u64 > MAX_MESSAGE_BYTES {
        let f = medinfra_formats::Finding {
            file: label.clone(),
            line: None,
            record_type: None,
            field: None,
            value_masked: None,
            reason: format!("larger than {MAX_MESSAGE_BYTES} bytes"),
            severity: Severity::FileFatal,
            kind: medinfra_formats::FindingKind::FileTooLarge,
        };
        (None, None, vec![f])
    } else {
        medinfra_formats::ssmix2::read_message(&bytes, &label, None)
    };
    Ok(Ssmix2File {
        relative: input.path.clone(),
        path: None,
        message,
        parsed,
        findings,
    })
}

/// Stream an SS-MIX2 tree (or one message file) into `lab_results` parts.
pub(crate) struct Ssmix2Unit<'a>(pub Unit<'a>);

impl UnitMapper for Ssmix2Unit<'_> {
    const UNIT: &'static str = "message";
    type Pending = TreeRows;

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
        } = self.0;
        let (writer, opts, key) = (cx.writer, cx.opts, cx.key);
        let label = input.path.display().to_string();
        let tree = input.kind == InputKind::Ssmix2Tree;
        let mut outcome = FileOutcome::new(
            &label,
            sha256,
            bytes,
            if tree { "ssmix2" } else { "hl7-message" },
        );
        // A tree replaces an earlier tree of the provider only when it covers all of the earlier
        // one's months (a cumulative re-send); a tree of later months is a new delivery beside it.
        // Its key is `ssmix2:FIRST-LAST` (months of the storage tree's care-date folders), set
        // once the tree has been read (see `ssmix2_covers`).
        let mut months: Option<(String, String)> = None;
        let files: Box<dyn Iterator<Item = Result<Ssmix2File, medinfra_formats::Finding>>> = if tree
        {
            Box::new(Ssmix2Reader::new(&input.path))
        } else {
            Box::new(std::iter::once(Ok(lone_message(input)?)))
        };
        let mut rows = TreeRows::default();
        let mut rejection: Option<String> = None;
        let mut patient_only = 0u64;
        for file in files {
            let f = match file {
                Ok(f) => f,
                Err(finding) => {
                    if finding.severity == Severity::FileFatal {
                        rejection
                            .get_or_insert_with(|| "a folder of the tree cannot be read".into());
                    }
                    outcome.findings.push(finding);
                    continue;
                }
            };
            let file_label = format!("{label}/{}", f.relative.display());
            let Some(parsed) = f.parsed.as_ref() else {
                // Undecodable or structurally broken message: the message is quarantined.
                outcome.receipts += 1;
                outcome.receipts_quarantined += 1;
                outcome.findings.extend(f.findings);
                continue;
            };
            outcome.receipts += 1;
            let facility = &parsed.header.sending_facility;
            if facility.len() == 10
                && facility.bytes().all(|b| b.is_ascii_digit())
                && *facility != opts.provider_id
            {
                rejection.get_or_insert_with(|| {
                    "a message names another sending facility (MSH-4)".into()
                });
            }
            if rejection.is_some() {
                continue;
            }
            if f.findings
                .iter()
                .any(|x| x.severity >= Severity::ReceiptQuarantine)
            {
                outcome.receipts_quarantined += 1;
                outcome.findings.extend(f.findings);
                continue;
            }
            let care_date = f.path.as_ref().and_then(|p| p.care_date.as_deref());
            if let Some(ym) = care_date.and_then(|d| d.get(..6)) {
                months = Some(match months.take() {
                    None => (ym.to_string(), ym.to_string()),
                    Some((a, b)) => (a.min(ym.to_string()), b.max(ym.to_string())),
                });
            }
            match map_message(parsed, care_date, &file_label) {
                Ok(mapped) => {
                    outcome.receipts_accepted += 1;
                    outcome.cost_warnings(&f.findings);
                    outcome.findings.extend(f.findings);
                    if mapped.labs.is_empty() && mapped.drugs.is_empty() && mapped.stay.is_none() {
                        patient_only += 1;
                    }
                    rows.add(&opts.provider_id, key, parsed, mapped);
                    rows.flush(writer, key, parts, false)?;
                }
                Err(problem) => {
                    outcome.receipts_quarantined += 1;
                    outcome.cost_quarantined([format!("mapping: {}", problem.reason)], 1);
                    outcome.problems.push(problem);
                }
            }
        }
        progress(bytes);
        if patient_only > 0 {
            outcome.problems.push(Problem {
            file: label.clone(),
            line: None,
            record_type: Some("MSH".into()),
            field: Some("MSH-9".into()),
            reason: format!(
                "note: {patient_only} message(s) carried nothing mapped beyond the patient (orders without results, other data types)"
            ),
        });
        }
        if tree {
            outcome.billing_month = Some(match months {
                Some((a, b)) => format!("ssmix2:{a}-{b}"),
                None => "ssmix2:".into(),
            });
        }
        Ok(UnitRead {
            outcome,
            pending: rows,
            rejection,
        })
    }

    fn write_pending(
        cx: &UnitCx<'_>,
        parts: &mut FileParts,
        pending: Self::Pending,
    ) -> Result<(), IngestError> {
        let mut rows = pending;
        rows.flush(cx.writer, cx.key, parts, true)?;
        let mut stays = rows.finish_stays(&cx.opts.provider_id, cx.key);
        parts.flush(cx.writer, cx.key, &mut stays, "admissions", true)
    }
}

/// Whether an SS-MIX2 tree keyed `new` (`ssmix2:FIRST-LAST`) replaces one keyed `old`: when it
/// covers every month of it. The keys of earlier versions (`ssmix2`, no range) are replaced by
/// any tree, as they were.
pub(crate) fn ssmix2_covers(new: &str, old: &str) -> bool {
    let range = |k: &str| -> Option<(String, String)> {
        let r = k.strip_prefix("ssmix2:")?;
        let (a, b) = r.split_once('-')?;
        Some((a.to_string(), b.to_string()))
    };
    if old == "ssmix2" {
        return new.starts_with("ssmix2");
    }
    match (range(new), range(old)) {
        (Some((na, nb)), Some((oa, ob))) => na <= oa && ob <= nb,
        _ => false,
    }
}

#[cfg(test)]
mod covers_tests {
    use super::ssmix2_covers;

    #[test]
    fn a_tree_replaces_only_what_it_covers() {
        assert!(ssmix2_covers(
            "ssmix2:202001-202112",
            "ssmix2:202001-202012"
        ));
        assert!(!ssmix2_covers(
            "ssmix2:202101-202112",
            "ssmix2:202001-202012"
        ));
        assert!(!ssmix2_covers(
            "ssmix2:202006-202112",
            "ssmix2:202001-202012"
        ));
        assert!(ssmix2_covers("ssmix2:202101-202112", "ssmix2"));
        assert!(!ssmix2_covers("202001", "ssmix2:202001-202001"));
    }
}
