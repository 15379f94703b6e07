//! SS-MIX2 lab results → canonical `lab_results`: one row per OBX with a JLAC10 (`JC10`) code
//! in an OUL^R22 message (data type OML-11).
//!
//! Policy, as for receipt files, with the message as the quarantine unit: a message file that
//! does not decode or parse, or that carries a record-level finding (bad JLAC10 shape, a
//! non-numeric NM value) or an ingest problem (an OBX not coded in JLAC10, no result date), is
//! quarantined whole and the rest of the tree is ingested; a tree whose folders cannot be read,
//! or in which a message names another sending facility (MSH-4, when it is a 10-digit provider
//! id), is rejected whole; so is a tree with more quarantined messages than the threshold.
//! Messages of other data types (ADT, PPR, OMP…) are valid SS-MIX2 but not mapped; they are
//! counted in one note of the report.
//!
//! Result date: OBX-14 (date part), else the storage path's care date. Analyte: OBX-3's text,
//! else the code. A storage root is cumulative by design (a hospital's standardized storage
//! keeps every message), so a later tree from the same provider replaces the earlier one (its
//! replacement key is `ssmix2`); a lone message file is never replaced, only deduplicated.

use std::io::Read;

use medinfra_formats::Severity;
use medinfra_formats::ssmix2::{MAX_MESSAGE_BYTES, ParsedMessage, Ssmix2File, Ssmix2Reader};
use medinfra_model::buffers::LabsBuf;
use medinfra_store::VersionWriter;

use crate::IngestError;
use crate::inputs::{Input, InputKind, io_err};
use crate::report::{FileOutcome, FileStatus, Problem};
use crate::run::{FileParts, IngestOptions, quarantine_rejection};
use crate::uke_map::yyyymmdd;

struct LabRow {
    patient_id: String,
    jlac10: String,
    analyte: String,
    value: Option<f64>,
    unit: Option<String>,
    result_date: i32,
}

/// The rows of one message, or the problem that quarantines it.
fn map_message(
    parsed: &ParsedMessage,
    care_date: Option<&str>,
    label: &str,
) -> Result<Vec<LabRow>, Problem> {
    let problem = |field: &str, reason: &str| Problem {
        file: label.to_string(),
        line: None,
        record_type: Some("OBX".into()),
        field: Some(field.into()),
        reason: reason.into(),
    };
    let mut rows = Vec::with_capacity(parsed.observations.len());
    for o in &parsed.observations {
        if o.coding_system != "JC10" {
            return Err(problem("OBX-3", "result is not coded in JLAC10 (JC10)"));
        }
        let date = o
            .observed_at
            .get(..8)
            .and_then(yyyymmdd)
            .or_else(|| care_date.and_then(yyyymmdd))
            .ok_or_else(|| problem("OBX-14", "no result date (OBX-14 or the care-date folder)"))?;
        let value = if o.value_type == "NM" && !o.value.is_empty() {
            Some(
                o.value
                    .parse::<f64>()
                    .map_err(|_| problem("OBX-5", "NM value is not a number"))?,
            )
        } else {
            None
        };
        rows.push(LabRow {
            patient_id: parsed.patient.id.clone(),
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
    Ok(rows)
}

fn is_lab_message(parsed: &ParsedMessage) -> bool {
    parsed.header.message_code == "OUL" && parsed.header.trigger_event == "R22"
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
pub(crate) fn ingest_ssmix2(
    writer: &VersionWriter,
    opts: &IngestOptions,
    input: &Input,
    sha256: &str,
    bytes: u64,
    progress: &dyn Fn(u64),
) -> Result<FileOutcome, IngestError> {
    let label = input.path.display().to_string();
    let key = &sha256[..16];
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
    let files: Box<dyn Iterator<Item = Result<Ssmix2File, medinfra_formats::Finding>>> = if tree {
        Box::new(Ssmix2Reader::new(&input.path))
    } else {
        Box::new(std::iter::once(Ok(lone_message(input)?)))
    };
    let mut labs = LabsBuf::default();
    let mut parts = FileParts::default();
    let mut rejection: Option<String> = None;
    let mut other_types = 0u64;
    for file in files {
        let f = match file {
            Ok(f) => f,
            Err(finding) => {
                if finding.severity == Severity::FileFatal {
                    rejection.get_or_insert_with(|| "a folder of the tree cannot be read".into());
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
        if !is_lab_message(parsed) {
            other_types += 1;
            outcome.findings.extend(f.findings);
            continue;
        }
        outcome.receipts += 1;
        let facility = &parsed.header.sending_facility;
        if facility.len() == 10
            && facility.bytes().all(|b| b.is_ascii_digit())
            && *facility != opts.provider_id
        {
            rejection
                .get_or_insert_with(|| "a message names another sending facility (MSH-4)".into());
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
            Ok(rows) => {
                outcome.receipts_accepted += 1;
                outcome.findings.extend(f.findings);
                for r in rows {
                    labs.provider_id.append_value(&opts.provider_id);
                    labs.patient_id.append_value(&r.patient_id);
                    labs.jlac10.append_value(&r.jlac10);
                    labs.analyte.append_value(&r.analyte);
                    labs.value.append_option(r.value);
                    labs.unit.append_option(r.unit.as_deref());
                    labs.result_date.append_value(r.result_date);
                    labs.rows += 1;
                }
                parts.flush(writer, key, &mut labs, "lab_results", false)?;
            }
            Err(problem) => {
                outcome.receipts_quarantined += 1;
                outcome.problems.push(problem);
            }
        }
    }
    progress(bytes);
    if other_types > 0 {
        outcome.problems.push(Problem {
            file: label.clone(),
            line: None,
            record_type: Some("MSH".into()),
            field: Some("MSH-9".into()),
            reason: format!(
                "{other_types} message(s) of other data types not mapped (only OML-11 lab results are)"
            ),
        });
    }
    if rejection.is_none() {
        rejection = quarantine_rejection(&outcome, opts);
    }
    if rejection.is_none() && outcome.receipts_accepted == 0 {
        rejection = Some("no lab-result message (OUL^R22) could be accepted".into());
    }
    match rejection {
        Some(reason) => {
            parts.abandon(writer)?;
            outcome.status = FileStatus::Rejected;
            outcome.rejection = Some(reason);
            outcome.receipts_accepted = 0;
        }
        None => {
            parts.flush(writer, key, &mut labs, "lab_results", true)?;
            outcome.rows = parts.finish(writer)?;
        }
    }
    if tree {
        outcome.billing_month = Some(match months {
            Some((a, b)) => format!("ssmix2:{a}-{b}"),
            None => "ssmix2:".into(),
        });
    }
    Ok(outcome)
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
