//! 特定健診 CDA documents → canonical `checkups`: one row per examinee document, the item
//! columns read through the shared code table `medinfra_model::checkup_items` (japan.md §6.3;
//! the first listed code that carries a usable value wins).
//!
//! Policy, as for receipt files, with the document as the quarantine unit: a document that
//! cannot be read or parsed, or carries a record-level finding (missing identifier, bad date,
//! bad item code, non-numeric PQ), or an ingest problem (another facility, sex not 1/2) is
//! quarantined and the rest of the archive is ingested; archive-level damage (no readable
//! index, members the index lists but the archive lacks, not a zip) rejects the archive whole;
//! so do more quarantined documents than the threshold.
//!
//! `checkup_id` is `<file hash 16>-<document number within the archive>` (documents carry no
//! id of their own: `id nullFlavor="NI"`). Values not performed, not measurable (`NI`) or out
//! of the input range (`L`/`H`) are null. An archive's replacement key is `checkup/<archive
//! name>`: a corrected archive sent under the same name replaces the earlier one; a lone
//! document is never replaced, only deduplicated.

use std::io::Read;

use medinfra_formats::Severity;
use medinfra_formats::checkup::{
    ArchiveMember, CheckupArchiveReader, CheckupDocument, CheckupValue, MAX_DOCUMENT_BYTES,
    read_document,
};
use medinfra_model::buffers::CheckupsBuf;
use medinfra_model::checkup_items::{CHECKUP_ITEMS, CheckupItem, ItemKind, urine_symbol};

use crate::IngestError;
use crate::inputs::{Input, InputKind, io_err};
use crate::report::{FileOutcome, Problem};
use crate::uke_map::yyyymmdd;
use crate::unit::{FileParts, Unit, UnitCx, UnitMapper, UnitRead};

/// The OID of item codes, also meant when `codeSystem` is omitted.
const ITEM_CODE_SYSTEM: &str = "1.2.392.200119.6.1005";

/// An item's value in a document, if one of its codes carries a usable one.
enum Item<'a> {
    Number(f64),
    Symbol(&'a str),
    Flag(bool),
}

fn item_value<'d>(doc: &'d CheckupDocument, item: &CheckupItem) -> Option<Item<'d>> {
    for code in item.codes {
        for o in doc.observations.iter().filter(|o| {
            o.code == *code
                && !o.not_performed
                && (o.code_system.is_empty() || o.code_system == ITEM_CODE_SYSTEM)
        }) {
            let v = match (item.kind, &o.value) {
                (ItemKind::Quantity(_), CheckupValue::Quantity { value, .. }) => {
                    value.parse::<f64>().ok().map(Item::Number)
                }
                (ItemKind::Qualitative, CheckupValue::Coded { code, .. }) => {
                    urine_symbol(code).map(Item::Symbol)
                }
                (ItemKind::YesNo, CheckupValue::Coded { code, .. }) => match code.as_str() {
                    "1" => Some(Item::Flag(true)),
                    "2" => Some(Item::Flag(false)),
                    _ => None,
                },
                _ => None,
            };
            if v.is_some() {
                return v;
            }
        }
    }
    None
}

/// Append one document's row, or return the problem that quarantines it (nothing appended).
fn map_document(
    b: &mut CheckupsBuf,
    doc: &CheckupDocument,
    checkup_id: &str,
    provider_id: &str,
    label: &str,
) -> Result<(), Problem> {
    let problem = |field: &str, reason: &str| Problem {
        file: label.to_string(),
        line: None,
        record_type: Some("ClinicalDocument".into()),
        field: Some(field.into()),
        reason: reason.into(),
    };
    if doc.facility_number != provider_id {
        return Err(problem(
            "author/assignedAuthor/representedOrganization/id/@extension",
            "the document names another facility than the submitting provider",
        ));
    }
    let sex: i32 = match doc.sex.as_str() {
        "1" => 1,
        "2" => 2,
        _ => {
            return Err(problem(
                "recordTarget/patientRole/patient/administrativeGenderCode/@code",
                "must be 1 (male) or 2 (female)",
            ));
        }
    };
    let birth = yyyymmdd(&doc.birth_date).ok_or_else(|| {
        problem(
            "recordTarget/patientRole/patient/birthTime/@value",
            "missing or impossible date",
        )
    })?;
    let date = yyyymmdd(&doc.checkup_date).ok_or_else(|| {
        problem(
            "documentationOf/serviceEvent/effectiveTime/@value",
            "missing or impossible date",
        )
    })?;
    if doc.insurer_number.is_empty() || doc.card_number.is_empty() {
        return Err(problem(
            "recordTarget/patientRole/id",
            "insurer number and card number are required",
        ));
    }
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    b.checkup_id.append_value(checkup_id);
    b.facility_id.append_value(&doc.facility_number);
    b.insurer_number.append_value(&doc.insurer_number);
    b.card_symbol.append_option(opt(&doc.card_symbol));
    b.card_number.append_value(&doc.card_number);
    b.card_branch.append_option(opt(&doc.card_branch));
    b.name_kana.append_option(opt(&doc.name));
    b.sex.append_value(sex);
    b.birth_date.append_value(birth);
    b.postcode.append_option(opt(&doc.postal_code));
    b.checkup_date.append_value(date);
    for item in CHECKUP_ITEMS {
        let v = item_value(doc, item);
        let number = match &v {
            Some(Item::Number(x)) => Some(*x),
            _ => None,
        };
        let symbol = match &v {
            Some(Item::Symbol(s)) => Some(*s),
            _ => None,
        };
        let flag = match &v {
            Some(Item::Flag(f)) => Some(*f),
            _ => None,
        };
        match item.column {
            "height_cm" => b.height_cm.append_option(number),
            "weight_kg" => b.weight_kg.append_option(number),
            "bmi" => b.bmi.append_option(number),
            "waist_cm" => b.waist_cm.append_option(number),
            "sbp" => b.sbp.append_option(number),
            "dbp" => b.dbp.append_option(number),
            "tg" => b.tg.append_option(number),
            "hdl" => b.hdl.append_option(number),
            "ldl" => b.ldl.append_option(number),
            "ast" => b.ast.append_option(number),
            "alt" => b.alt.append_option(number),
            "ggt" => b.ggt.append_option(number),
            "fpg" => b.fpg.append_option(number),
            "hba1c" => b.hba1c.append_option(number),
            "urine_glucose" => b.urine_glucose.append_option(symbol),
            "urine_protein" => b.urine_protein.append_option(symbol),
            "med_bp" => b.med_bp.append_option(flag),
            "med_glucose" => b.med_glucose.append_option(flag),
            "med_lipid" => b.med_lipid.append_option(flag),
            "smoking" => b.smoking.append_option(flag),
            // The item table is tested against the schema (model::checkup_items); a column
            // added there without a builder here would misalign the batch, which arrow refuses.
            _ => {}
        }
    }
    b.rows += 1;
    Ok(())
}

fn lone_document(input: &Input) -> Result<ArchiveMember, IngestError> {
    let label = input.path.display().to_string();
    let mut bytes = Vec::new();
    std::fs::File::open(&input.path)
        .and_then(|f| f.take(MAX_DOCUMENT_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| io_err(&input.path, e))?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Ok(ArchiveMember {
            name: label.clone(),
            document: None,
            findings: vec![medinfra_formats::Finding {
                file: label,
                line: None,
                record_type: None,
                field: None,
                value_masked: None,
                reason: format!("larger than {MAX_DOCUMENT_BYTES} bytes"),
                severity: Severity::FileFatal,
                kind: medinfra_formats::FindingKind::FileTooLarge,
            }],
        });
    }
    let (document, findings) = read_document(&bytes[..], &label);
    Ok(ArchiveMember {
        name: label,
        document,
        findings,
    })
}

/// Stream a checkup archive (folder or zip) or one document into `checkups` parts.
pub(crate) struct CheckupUnit<'a>(pub Unit<'a>);

impl UnitMapper for CheckupUnit<'_> {
    const UNIT: &'static str = "checkup document";
    type Pending = CheckupsBuf;

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
        let (kind, mut reader) = match input.kind {
            InputKind::CheckupArchiveDir => (
                "checkup-archive",
                Some(CheckupArchiveReader::open_dir(&input.path)),
            ),
            InputKind::CheckupZip => (
                "checkup-archive",
                Some(CheckupArchiveReader::open_zip(&input.path)),
            ),
            _ => ("checkup-document", None),
        };
        let mut outcome = FileOutcome::new(&label, sha256, bytes, kind);
        if reader.is_some() {
            let stem = input
                .path
                .file_name()
                .map(|n| n.to_string_lossy().trim_end_matches(".zip").to_string())
                .unwrap_or_default();
            outcome.billing_month = Some(format!("checkup/{stem}"));
        }
        let mut rows = CheckupsBuf::default();
        let mut lone = match reader {
            None => Some(lone_document(input)?),
            Some(_) => None,
        };
        loop {
            let member = match reader.as_mut() {
                Some(r) => r.next(),
                None => lone.take(),
            };
            let Some(member) = member else { break };
            outcome.receipts += 1;
            let member_label = format!("{label}/{}", member.name);
            let Some(doc) = member.document.as_ref() else {
                outcome.receipts_quarantined += 1;
                outcome.findings.extend(member.findings);
                continue;
            };
            if member
                .findings
                .iter()
                .any(|f| f.severity >= Severity::ReceiptQuarantine)
            {
                outcome.receipts_quarantined += 1;
                outcome.findings.extend(member.findings);
                continue;
            }
            let checkup_id = format!("{key}-{:06}", outcome.receipts);
            match map_document(
                &mut rows,
                doc,
                &checkup_id,
                &opts.provider_id,
                &member_label,
            ) {
                Ok(()) => {
                    outcome.receipts_accepted += 1;
                    outcome.findings.extend(member.findings);
                    parts.flush(writer, key, &mut rows, "checkups", false)?;
                }
                Err(p) => {
                    outcome.receipts_quarantined += 1;
                    outcome.problems.push(p);
                }
            }
        }
        progress(bytes);
        let mut rejection = None;
        if let Some(r) = reader {
            let archive_findings = r.finish();
            if archive_findings
                .iter()
                .any(|f| f.severity == Severity::FileFatal)
            {
                rejection = Some("archive damaged (see the archive-level findings)".to_string());
            }
            outcome.findings.extend(archive_findings);
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
        parts.flush(cx.writer, cx.key, &mut rows, "checkups", true)
    }
}
