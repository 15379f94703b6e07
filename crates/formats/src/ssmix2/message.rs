//! Typed SS-MIX2 content: header, patient (kanji and kana names), visit, lab results (OBX with
//! JLAC10 `JC10` codes, grouped by ORC/OBR order and SPM specimen), and prescriptions
//! (ORC/RXE/TQ1/RXR of RDE^O11, data type OMP-01). Segments not listed here are kept only in
//! the raw [`Message`].
//!
//! [`build_message`] writes the canonical segment order (MSH, PID, PV1, then per order group
//! SPM/ORC/OBR/OBX, then ORC/RXE/TQ1/RXR per drug); [`parse_message`] accepts any order and
//! tracks the current order/specimen as it goes, so the public samples (OBR before ORC) read.

use crate::finding::{Finding, FindingKind, Severity, shown_value};
use crate::ssmix2::hl7::{Hl7WriteError, Message, Segment, component, components, escape};
use crate::ssmix2::path::{StoragePath, message_types_of};
use crate::tsv::check_gregorian;

/// MSH-18/20/21 values SS-MIX2 requires (japan.md §4.3).
pub const CHARSET: &str = "~ISO IR87";
pub const CHARSET_HANDLING: &str = "ISO 2022-1994";
pub const PROFILE: &str = "SS-MIX2_1.20^SS-MIX2^1.2.392.200250.2.1.100.1.2.120^ISO";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub sending_application: String,
    pub sending_facility: String,
    pub receiving_application: String,
    pub receiving_facility: String,
    /// MSH-7, as written (may carry fractional seconds).
    pub created_at: String,
    /// MSH-9 components: e.g. `OUL`, `R22`, `OUL_R22`.
    pub message_code: String,
    pub trigger_event: String,
    pub structure: String,
    pub control_id: String,
}

/// One PID-5 repetition; `representation` is `I` (kanji) or `P` (kana).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonName {
    pub family: String,
    pub given: String,
    pub representation: String,
}

/// PID: every value here is personal data; findings mask it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Patient {
    pub id: String,
    pub names: Vec<PersonName>,
    /// PID-7 `YYYYMMDD`.
    pub birth_date: String,
    /// PID-8 (HL7 table 0001: M, F, O, U, A, N).
    pub sex: String,
    /// PID-11 component 5.
    pub postal_code: String,
    /// PID-11 component 8 (the address line as SS-MIX2 writers put it).
    pub address: String,
}

impl Patient {
    fn name_with(&self, rep: &str) -> Option<&PersonName> {
        self.names.iter().find(|n| n.representation == rep)
    }
    pub fn kanji_name(&self) -> Option<&PersonName> {
        self.name_with("I")
    }
    pub fn kana_name(&self) -> Option<&PersonName> {
        self.name_with("P")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Visit {
    /// PV1-2: `I` inpatient, `O` outpatient.
    pub patient_class: String,
    /// PV1-3 components 1 and 2.
    pub point_of_care: String,
    pub room: String,
    /// PV1-10.
    pub hospital_service: String,
    /// PV1-44 / PV1-45 (date-times; the admission and discharge of an inpatient stay).
    pub admitted_at: String,
    pub discharged_at: String,
}

/// One OBX with the order and specimen it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observation {
    /// ORC-2 / OBR-2 of the enclosing order group (empty in ADT messages).
    pub order_no: String,
    /// SPM-4 component 1 (JLAC10 specimen code) of the enclosing specimen group.
    pub specimen: String,
    pub set_id: String,
    /// OBX-2: NM, ST, CWE, …
    pub value_type: String,
    pub code: String,
    pub name: String,
    /// OBX-3 component 3: `JC10` for JLAC10.
    pub coding_system: String,
    /// OBX-5 component 1 (component 2 for coded values goes to `value_text`).
    pub value: String,
    pub value_text: String,
    pub unit: String,
    pub reference_range: String,
    pub abnormal_flags: String,
    pub status: String,
    pub observed_at: String,
}

/// One RXE (with its TQ1 and RXR) of a prescription order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prescription {
    /// ORC-2.
    pub order_no: String,
    /// ORC-4 (Rp number).
    pub group_no: String,
    pub drug_code: String,
    pub drug_name: String,
    /// RXE-2 component 3: `HOT9` etc.
    pub coding_system: String,
    /// RXE-3 and RXE-5 component 1 (MERIT-9 unit).
    pub amount: String,
    pub unit: String,
    /// RXE-10 / RXE-11 component 1.
    pub dispense_amount: String,
    pub dispense_unit: String,
    /// TQ1-3 subcomponents 1 and 2 (JAMI usage code and text).
    pub usage_code: String,
    pub usage_text: String,
    /// TQ1-6 component 1 (days).
    pub days: String,
    /// RXR-1 component 1.
    pub route: String,
    /// RXA-3 (administrations, RAS^O17): when the drug was given; empty for orders.
    pub given_at: String,
}

/// Everything typed that one message carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedMessage {
    pub header: Header,
    pub patient: Patient,
    pub visit: Option<Visit>,
    pub observations: Vec<Observation>,
    pub prescriptions: Vec<Prescription>,
}

/// Findings of one message, with the segment as location.
struct Reporter<'a> {
    file: &'a str,
    findings: Vec<Finding>,
}

impl Reporter<'_> {
    #[allow(clippy::too_many_arguments)]
    fn report(
        &mut self,
        segment: Option<(usize, &str)>,
        field: &str,
        value: Option<(&str, bool)>,
        kind: FindingKind,
        severity: Severity,
        reason: impl Into<String>,
    ) {
        self.findings.push(Finding {
            file: self.file.to_owned(),
            line: segment.map(|(i, _)| i as u64 + 1),
            record_type: segment.map(|(_, id)| id.to_owned()),
            field: Some(field.to_owned()),
            value_masked: value.map(|(v, id)| shown_value(v, id)),
            reason: reason.into(),
            severity,
            kind,
        });
    }
}

fn rep_components(rep: &str, c: usize) -> String {
    component(rep, c)
}

/// Subcomponent `s` of component `c` of the first repetition.
fn subcomponent(raw: &str, c: usize, s: usize) -> String {
    let first = raw.split('~').next().unwrap_or("");
    let comp = first.split('^').nth(c - 1).unwrap_or("");
    crate::ssmix2::hl7::unescape(comp.split('&').nth(s - 1).unwrap_or(""))
}

fn is_number(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    !t.is_empty()
        && t.bytes().filter(|b| *b == b'.').count() <= 1
        && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && t.bytes().any(|b| b.is_ascii_digit())
}

/// Extracts the typed content and checks it; `path` (when the file came from a tree) is checked
/// against PID-3 and MSH-9. Findings are located by segment number and HL7 field.
pub fn parse_message(
    msg: &Message,
    file: &str,
    path: Option<&StoragePath>,
) -> (Option<ParsedMessage>, Vec<Finding>) {
    let mut r = Reporter {
        file,
        findings: Vec::new(),
    };
    let mut out = ParsedMessage::default();
    let mut have_pid = false;
    let mut order_no = String::new();
    let mut group_no = String::new();
    let mut specimen = String::new();
    for (i, seg) in msg.segments.iter().enumerate() {
        let at = Some((i, seg.id()));
        match seg.id() {
            "MSH" => {
                out.header = Header {
                    sending_application: component(seg.field(3), 1),
                    sending_facility: component(seg.field(4), 1),
                    receiving_application: component(seg.field(5), 1),
                    receiving_facility: component(seg.field(6), 1),
                    created_at: component(seg.field(7), 1),
                    message_code: component(seg.field(9), 1),
                    trigger_event: component(seg.field(9), 2),
                    structure: component(seg.field(9), 3),
                    control_id: component(seg.field(10), 1),
                };
                let charset = seg.field(18).replace(' ', "");
                if !charset.contains("ISOIR87") {
                    r.report(
                        at,
                        "MSH-18",
                        Some((seg.field(18), false)),
                        FindingKind::BadSegment,
                        Severity::Warning,
                        "character set is not ISO IR87 (JIS X 0208)",
                    );
                }
            }
            "PID" if !have_pid => {
                have_pid = true;
                let p = &mut out.patient;
                p.id = component(seg.field(3), 1);
                p.names = seg
                    .field(5)
                    .split('~')
                    .filter(|rep| !rep.is_empty())
                    .map(|rep| PersonName {
                        family: rep_components(rep, 1),
                        given: rep_components(rep, 2),
                        representation: rep_components(rep, 8),
                    })
                    .collect();
                p.birth_date = component(seg.field(7), 1);
                p.sex = component(seg.field(8), 1);
                p.postal_code = component(seg.field(11), 5);
                p.address = component(seg.field(11), 8);
                if p.id.is_empty() {
                    r.report(
                        at,
                        "PID-3",
                        None,
                        FindingKind::MissingElement,
                        Severity::FileFatal,
                        "patient ID is empty",
                    );
                }
                if !p.birth_date.is_empty()
                    && let Err(reason) = check_gregorian(&p.birth_date)
                {
                    r.report(
                        at,
                        "PID-7",
                        Some((&p.birth_date, true)),
                        FindingKind::BadDate,
                        Severity::ReceiptQuarantine,
                        reason,
                    );
                }
                if !["M", "F", "O", "U", "A", "N", ""].contains(&p.sex.as_str()) {
                    r.report(
                        at,
                        "PID-8",
                        Some((&p.sex, false)),
                        FindingKind::BadCodeShape,
                        Severity::Warning,
                        "not an HL7 table 0001 sex code",
                    );
                }
            }
            "PV1" if out.visit.is_none() => {
                out.visit = Some(Visit {
                    patient_class: component(seg.field(2), 1),
                    point_of_care: component(seg.field(3), 1),
                    room: component(seg.field(3), 2),
                    hospital_service: component(seg.field(10), 1),
                    admitted_at: component(seg.field(44), 1),
                    discharged_at: component(seg.field(45), 1),
                });
            }
            "ORC" => {
                order_no = component(seg.field(2), 1);
                group_no = component(seg.field(4), 1);
            }
            "OBR" => order_no = component(seg.field(2), 1),
            "SPM" => specimen = component(seg.field(4), 1),
            "OBX" => {
                let o = Observation {
                    order_no: order_no.clone(),
                    specimen: specimen.clone(),
                    set_id: component(seg.field(1), 1),
                    value_type: component(seg.field(2), 1),
                    code: component(seg.field(3), 1),
                    name: component(seg.field(3), 2),
                    coding_system: component(seg.field(3), 3),
                    value: component(seg.field(5), 1),
                    value_text: component(seg.field(5), 2),
                    unit: component(seg.field(6), 1),
                    reference_range: component(seg.field(7), 1),
                    abnormal_flags: component(seg.field(8), 1),
                    status: component(seg.field(11), 1),
                    observed_at: component(seg.field(14), 1),
                };
                let mut ok = true;
                // JLAC10 is 17 characters; systems that do not code the result identification
                // (the last 2) write the first 15 (analyte, identification, specimen, method).
                if o.coding_system == "JC10"
                    && (!matches!(o.code.len(), 15 | 17)
                        || !o.code.bytes().all(|b| b.is_ascii_alphanumeric()))
                {
                    ok = false;
                    r.report(
                        at,
                        "OBX-3",
                        Some((&o.code, false)),
                        FindingKind::BadCodeShape,
                        Severity::ReceiptQuarantine,
                        "a JLAC10 code has 17 letters/digits (15 without the result identification)",
                    );
                }
                if o.value_type == "NM" && !o.value.is_empty() && !is_number(&o.value) {
                    ok = false;
                    r.report(
                        at,
                        "OBX-5",
                        Some((&o.value, false)),
                        FindingKind::NotANumber,
                        Severity::ReceiptQuarantine,
                        "NM value is not a number",
                    );
                }
                if ok {
                    out.observations.push(o);
                }
            }
            "RXE" => {
                let p = Prescription {
                    order_no: order_no.clone(),
                    group_no: group_no.clone(),
                    drug_code: component(seg.field(2), 1),
                    drug_name: component(seg.field(2), 2),
                    coding_system: component(seg.field(2), 3),
                    amount: component(seg.field(3), 1),
                    unit: component(seg.field(5), 1),
                    dispense_amount: component(seg.field(10), 1),
                    dispense_unit: component(seg.field(11), 1),
                    ..Prescription::default()
                };
                if p.coding_system == "HOT9"
                    && (p.drug_code.len() != 9 || !p.drug_code.bytes().all(|b| b.is_ascii_digit()))
                {
                    r.report(
                        at,
                        "RXE-2",
                        Some((&p.drug_code, false)),
                        FindingKind::BadCodeShape,
                        Severity::ReceiptQuarantine,
                        "a HOT9 code has 9 digits",
                    );
                }
                out.prescriptions.push(p);
            }
            // RAS^O17 (injection / administration records, OMP-12): one RXA per drug given.
            "RXA" => {
                out.prescriptions.push(Prescription {
                    order_no: order_no.clone(),
                    group_no: group_no.clone(),
                    drug_code: component(seg.field(5), 1),
                    drug_name: component(seg.field(5), 2),
                    coding_system: component(seg.field(5), 3),
                    amount: component(seg.field(6), 1),
                    unit: component(seg.field(7), 1),
                    given_at: component(seg.field(3), 1),
                    ..Prescription::default()
                });
            }
            "TQ1" => {
                if let Some(p) = out.prescriptions.last_mut() {
                    p.usage_code = subcomponent(seg.field(3), 1, 1);
                    p.usage_text = subcomponent(seg.field(3), 1, 2);
                    p.days = component(seg.field(6), 1);
                }
            }
            "RXR" => {
                if let Some(p) = out.prescriptions.last_mut() {
                    p.route = component(seg.field(1), 1);
                }
            }
            _ => {}
        }
    }
    if !have_pid {
        r.report(
            None,
            "PID",
            None,
            FindingKind::MissingSegment,
            Severity::FileFatal,
            "message has no PID segment",
        );
        return (None, r.findings);
    }
    if let Some(path) = path {
        let pid_at = msg.segment("PID").map(|(i, s)| (i, s.id()));
        if path.patient_id != out.patient.id {
            r.report(
                pid_at,
                "PID-3",
                Some((&out.patient.id, true)),
                FindingKind::PathMismatch,
                Severity::Warning,
                "patient ID differs from the storage folder",
            );
        }
        let h = &out.header;
        let msg_type = format!("{}^{}", h.message_code, h.trigger_event);
        if let Some(allowed) = message_types_of(&path.data_type)
            && !allowed.contains(&msg_type.as_str())
        {
            r.report(
                Some((0, "MSH")),
                "MSH-9",
                Some((&msg_type, false)),
                FindingKind::PathMismatch,
                Severity::Warning,
                format!(
                    "data type {} does not carry this message type",
                    path.data_type
                ),
            );
        }
    }
    let fatal = r.findings.iter().any(|f| f.severity == Severity::FileFatal);
    ((!fatal).then_some(out), r.findings)
}

fn seg(fields: Vec<String>) -> Segment {
    let mut fields = fields;
    while fields.len() > 1 && fields.last().is_some_and(String::is_empty) {
        fields.pop();
    }
    Segment { fields }
}

/// `n` empty fields then the given ones: builds `ID|…` with values at HL7 positions.
fn fields(id: &str, values: &[(usize, String)]) -> Vec<String> {
    let max = values.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let mut f = vec![String::new(); max + 1];
    f[0] = id.to_owned();
    for (n, v) in values {
        f[*n] = v.clone();
    }
    f
}

/// Builds the canonical message for typed content (see module docs for the segment order).
pub fn build_message(m: &ParsedMessage) -> Result<Message, Hl7WriteError> {
    let h = &m.header;
    let mut msh = fields(
        "MSH",
        &[
            (2, escape(&h.sending_application)),
            (3, escape(&h.sending_facility)),
            (4, escape(&h.receiving_application)),
            (5, escape(&h.receiving_facility)),
            (6, escape(&h.created_at)),
            (
                8,
                components(&[&h.message_code, &h.trigger_event, &h.structure]),
            ),
            (9, escape(&h.control_id)),
            (10, "P".to_owned()),
            (11, "2.5".to_owned()),
            (17, CHARSET.to_owned()),
            (19, CHARSET_HANDLING.to_owned()),
            (20, PROFILE.to_owned()),
        ],
    );
    msh[1] = "^~\\&".to_owned();
    let mut segments = vec![seg(msh)];
    let p = &m.patient;
    let names: Vec<String> = p
        .names
        .iter()
        .map(|n| components(&[&n.family, &n.given, "", "", "", "", "L", &n.representation]))
        .collect();
    segments.push(seg(fields(
        "PID",
        &[
            (1, "0001".to_owned()),
            (3, components(&[&p.id, "", "", "", "PI"])),
            (5, names.join("~")),
            (7, escape(&p.birth_date)),
            (8, escape(&p.sex)),
            (
                11,
                components(&["", "", "", "", &p.postal_code, "JPN", "H", &p.address]),
            ),
        ],
    )));
    if let Some(v) = &m.visit {
        segments.push(seg(fields(
            "PV1",
            &[
                (1, "0001".to_owned()),
                (2, escape(&v.patient_class)),
                (3, components(&[&v.point_of_care, &v.room])),
                (10, escape(&v.hospital_service)),
                (44, escape(&v.admitted_at)),
                (45, escape(&v.discharged_at)),
            ],
        )));
    }
    let (mut order, mut specimen) = (String::new(), String::new());
    for o in &m.observations {
        if o.specimen != specimen {
            specimen.clone_from(&o.specimen);
            segments.push(seg(fields(
                "SPM",
                &[
                    (1, "1".to_owned()),
                    (4, components(&[&o.specimen, "", "JC10"])),
                ],
            )));
        }
        if o.order_no != order {
            order.clone_from(&o.order_no);
            segments.push(seg(fields(
                "ORC",
                &[(1, "SC".to_owned()), (2, escape(&o.order_no))],
            )));
        }
        segments.push(seg(fields(
            "OBX",
            &[
                (1, escape(&o.set_id)),
                (2, escape(&o.value_type)),
                (3, components(&[&o.code, &o.name, &o.coding_system])),
                (5, components(&[&o.value, &o.value_text])),
                (6, components(&[&o.unit])),
                (7, escape(&o.reference_range)),
                (8, escape(&o.abnormal_flags)),
                (11, escape(&o.status)),
                (14, escape(&o.observed_at)),
            ],
        )));
    }
    for rx in &m.prescriptions {
        segments.push(seg(fields(
            "ORC",
            &[
                (1, "NW".to_owned()),
                (2, escape(&rx.order_no)),
                (4, escape(&rx.group_no)),
            ],
        )));
        let usage = [escape(&rx.usage_code), escape(&rx.usage_text)].join("&");
        let usage = usage.trim_end_matches('&').to_owned();
        if !rx.given_at.is_empty() {
            // An administration record (RAS^O17): RXA, with the TQ1 and RXR the reader would
            // attach to it when their content is not empty (real RAS messages carry RXR).
            segments.push(seg(fields(
                "RXA",
                &[
                    (1, "0".to_owned()),
                    (2, "1".to_owned()),
                    (3, escape(&rx.given_at)),
                    (
                        5,
                        components(&[&rx.drug_code, &rx.drug_name, &rx.coding_system]),
                    ),
                    (6, escape(&rx.amount)),
                    (7, components(&[&rx.unit])),
                ],
            )));
            if !usage.is_empty() || !rx.days.is_empty() {
                segments.push(seg(fields(
                    "TQ1",
                    &[
                        (1, "1".to_owned()),
                        (3, usage),
                        (6, components(&[&rx.days, "d"])),
                    ],
                )));
            }
            if !rx.route.is_empty() {
                segments.push(seg(fields("RXR", &[(1, components(&[&rx.route]))])));
            }
            continue;
        }
        segments.push(seg(fields(
            "RXE",
            &[
                (
                    2,
                    components(&[&rx.drug_code, &rx.drug_name, &rx.coding_system]),
                ),
                (3, escape(&rx.amount)),
                (5, components(&[&rx.unit])),
                (10, escape(&rx.dispense_amount)),
                (11, components(&[&rx.dispense_unit])),
            ],
        )));
        segments.push(seg(fields(
            "TQ1",
            &[
                (1, "1".to_owned()),
                (3, usage),
                (6, components(&[&rx.days, "d"])),
            ],
        )));
        segments.push(seg(fields("RXR", &[(1, components(&[&rx.route]))])));
    }
    Ok(Message {
        segments,
        block_end: false,
    })
}
