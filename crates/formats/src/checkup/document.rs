//! One examinee's 特定健診 document (HL7 CDA R2; japan.md §6.2): header identifiers by OID,
//! observations with PQ / CD / ST values, `negationInd`, `nullFlavor="NI"`, and out-of-range
//! values sent as CD `L`/`H`.
//!
//! Streaming parse with quick-xml (events, one reused buffer, document size capped by
//! [`MAX_DOCUMENT_BYTES`]). Findings carry the XML path (`/ClinicalDocument/…/value[1]`) in
//! `field` and the 1-based line of the element in `line`.

use std::io::BufRead;

use quick_xml::XmlVersion;
use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};

use crate::finding::{Finding, FindingKind, Severity, shown_value};
use crate::tsv::check_gregorian;

/// Largest document read (one examinee: tens of kilobytes in practice).
pub const MAX_DOCUMENT_BYTES: u64 = 8 << 20;

/// OIDs of japan.md §6.2 (101/204/205/102/1001/1005/1104 verified; 211 and 1010 uncertain).
pub mod oid {
    pub const INSURER: &str = "1.2.392.200119.6.101";
    pub const CARD_SYMBOL: &str = "1.2.392.200119.6.204";
    pub const CARD_NUMBER: &str = "1.2.392.200119.6.205";
    /// 枝番 — one source only (unverified).
    pub const CARD_BRANCH: &str = "1.2.392.200119.6.211";
    pub const FACILITY: &str = "1.2.392.200119.6.102";
    pub const REPORT_KIND: &str = "1.2.392.200119.6.1001";
    pub const ITEM: &str = "1.2.392.200119.6.1005";
    pub const SEX: &str = "1.2.392.200119.6.1104";
    /// Section codes (partly unverified).
    pub const SECTION: &str = "1.2.392.200119.6.1010";
    /// HL7 ObservationInterpretation: `L`/`H` for values outside the input range.
    pub const INTERPRETATION: &str = "2.16.840.1.113883.5.83";
}

/// An observation's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckupValue {
    /// `xsi:type="PQ"`: number as written, unit.
    Quantity { value: String, unit: String },
    /// `xsi:type="CD"` (or `CO`) with a code.
    Coded {
        code: String,
        code_system: String,
        display_name: String,
    },
    /// `xsi:type="ST"`.
    Text(String),
    /// `nullFlavor="NI"`: measurement impossible.
    NoInformation,
    /// CD `L`/`H` in 2.16.840.1.113883.5.83: below / above the input range.
    OutOfRange { high: bool },
    /// No value element (e.g. `negationInd="true"`).
    Absent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckupObservation {
    /// Section code (1.2.392.200119.6.1010) of the enclosing section.
    pub section: String,
    /// 17-character item code (1.2.392.200119.6.1005).
    pub code: String,
    /// The code's `codeSystem` as written; empty when omitted (which means the item codes).
    pub code_system: String,
    pub display_name: String,
    /// `negationInd="true"`: not performed.
    pub not_performed: bool,
    pub value: CheckupValue,
    /// interpretationCode `L`/`N`/`H`, empty if absent.
    pub interpretation: String,
}

/// One examinee document. Identifier fields are masked in findings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckupDocument {
    /// 報告区分 (`10` = 特定健診).
    pub report_kind: String,
    /// File creation date `YYYYMMDD`.
    pub created: String,
    pub insurer_number: String,
    pub card_symbol: String,
    pub card_number: String,
    pub card_branch: String,
    pub postal_code: String,
    /// Name as written (kana in practice).
    pub name: String,
    /// `1` male, `2` female.
    pub sex: String,
    pub birth_date: String,
    pub facility_number: String,
    /// serviceEvent effectiveTime: the checkup date.
    pub checkup_date: String,
    pub observations: Vec<CheckupObservation>,
}

/// Element path with sibling positions, for finding locations.
#[derive(Default)]
struct XmlPath {
    stack: Vec<PathLevel>,
}

/// (name, 1-based position among same-name siblings, child name counts).
type PathLevel = (String, usize, Vec<(String, usize)>);

impl XmlPath {
    fn push(&mut self, name: &str) {
        let pos = match self.stack.last_mut() {
            Some((_, _, counts)) => match counts.iter_mut().find(|(n, _)| n == name) {
                Some((_, c)) => {
                    *c += 1;
                    *c
                }
                None => {
                    counts.push((name.to_owned(), 1));
                    1
                }
            },
            None => 1,
        };
        self.stack.push((name.to_owned(), pos, Vec::new()));
    }
    fn pop(&mut self) {
        self.stack.pop();
    }
    fn render(&self) -> String {
        let mut s = String::new();
        for (i, (name, pos, _)) in self.stack.iter().enumerate() {
            s.push('/');
            s.push_str(name);
            if i > 0 {
                s.push_str(&format!("[{pos}]"));
            }
        }
        s
    }
    /// The names only, e.g. `ClinicalDocument/recordTarget/patientRole/id`.
    fn names(&self) -> String {
        let v: Vec<&str> = self.stack.iter().map(|(n, _, _)| n.as_str()).collect();
        v.join("/")
    }
}

struct Parser<'a> {
    file: &'a str,
    path: XmlPath,
    line: u64,
    findings: Vec<Finding>,
}

impl Parser<'_> {
    fn report(
        &mut self,
        kind: FindingKind,
        severity: Severity,
        field: String,
        value: Option<(&str, bool)>,
        reason: impl Into<String>,
    ) {
        self.findings.push(Finding {
            file: self.file.to_owned(),
            line: Some(self.line),
            record_type: Some("ClinicalDocument".to_owned()),
            field: Some(field),
            value_masked: value.map(|(v, id)| shown_value(v, id)),
            reason: reason.into(),
            severity,
            kind,
        });
    }
}

fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, l)) => l.to_owned(),
        None => name.to_owned(),
    }
}

/// Attributes of an element by local name (namespace prefixes dropped; `xsi:type` → `type`).
fn attrs(e: &BytesStart) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| format!("bad attribute: {err}"))?;
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| format!("bad attribute value: {err}"))?;
        out.push((local(a.key.as_ref()), value.into_owned()));
    }
    Ok(out)
}

fn attr<'a>(a: &'a [(String, String)], name: &str) -> &'a str {
    a.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Which header text node is being collected.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextTarget {
    None,
    Name,
    Postal,
}

/// Observation being assembled.
#[derive(Default)]
struct ObsDraft {
    code: String,
    code_system: String,
    display_name: String,
    not_performed: bool,
    value: Option<CheckupValue>,
    value_path: String,
    value_line: u64,
    code_line: u64,
    interpretation: String,
    in_value_text: bool,
    text: String,
}

fn is_number(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    !t.is_empty()
        && t.bytes().filter(|b| *b == b'.').count() <= 1
        && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && t.bytes().any(|b| b.is_ascii_digit())
}

/// Reads one document. Returns `None` when the XML is unusable (a FileFatal finding says why).
pub fn read_document<R: BufRead>(reader: R, file: &str) -> (Option<CheckupDocument>, Vec<Finding>) {
    let mut p = Parser {
        file,
        path: XmlPath::default(),
        line: 1,
        findings: Vec::new(),
    };
    let limited = std::io::Read::take(reader, MAX_DOCUMENT_BYTES + 1);
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(limited));
    let mut buf = Vec::new();
    let mut doc = CheckupDocument::default();
    let mut section = String::new();
    let mut obs: Option<ObsDraft> = None;
    let mut text_target = TextTarget::None;
    let mut saw_root = false;
    loop {
        buf.clear();
        let event = match xml.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                let reason = if xml.buffer_position() > MAX_DOCUMENT_BYTES {
                    p.report(
                        FindingKind::FileTooLarge,
                        Severity::FileFatal,
                        p.path.render(),
                        None,
                        format!("document larger than {MAX_DOCUMENT_BYTES} bytes"),
                    );
                    return (None, p.findings);
                } else {
                    format!("not well-formed XML: {e}")
                };
                let field = p.path.render();
                p.report(
                    FindingKind::BadXml,
                    Severity::FileFatal,
                    field,
                    None,
                    reason,
                );
                return (None, p.findings);
            }
        };
        let newlines = bytecount(&event);
        if xml.buffer_position() > MAX_DOCUMENT_BYTES {
            p.report(
                FindingKind::FileTooLarge,
                Severity::FileFatal,
                String::new(),
                None,
                format!("document larger than {MAX_DOCUMENT_BYTES} bytes"),
            );
            return (None, p.findings);
        }
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = local(e.name().as_ref());
                if p.path.stack.is_empty() {
                    if saw_root || name != "ClinicalDocument" {
                        let field = format!("/{name}");
                        p.report(
                            FindingKind::BadXml,
                            Severity::FileFatal,
                            field,
                            None,
                            "root element is not ClinicalDocument",
                        );
                        return (None, p.findings);
                    }
                    saw_root = true;
                }
                p.path.push(&name);
                let a = match attrs(e) {
                    Ok(a) => a,
                    Err(reason) => {
                        let field = p.path.render();
                        p.report(
                            FindingKind::BadXml,
                            Severity::FileFatal,
                            field,
                            None,
                            reason,
                        );
                        return (None, p.findings);
                    }
                };
                let names = p.path.names();
                handle_start(&mut p, &names, &a, &mut doc, &mut section, &mut obs);
                text_target = match names.as_str() {
                    "ClinicalDocument/recordTarget/patientRole/patient/name" => TextTarget::Name,
                    "ClinicalDocument/recordTarget/patientRole/addr/postalCode" => {
                        TextTarget::Postal
                    }
                    _ => TextTarget::None,
                };
                if let Some(o) = obs.as_mut()
                    && names.ends_with("observation/value")
                    && attr(&a, "type") == "ST"
                {
                    o.in_value_text = true;
                    o.text.clear();
                }
                if empty {
                    finish_element(&mut p, &names, &section, &mut doc, &mut obs);
                    p.path.pop();
                    text_target = TextTarget::None;
                }
            }
            Event::Text(ref t) => {
                let text = match quick_xml::escape::unescape(&t.xml10_content()) {
                    Ok(s) => s.into_owned(),
                    Err(e) => {
                        let field = p.path.render();
                        p.report(
                            FindingKind::BadXml,
                            Severity::FileFatal,
                            field,
                            None,
                            format!("bad escape: {e}"),
                        );
                        return (None, p.findings);
                    }
                };
                match text_target {
                    TextTarget::Name => doc.name.push_str(&text),
                    TextTarget::Postal => doc.postal_code.push_str(&text),
                    TextTarget::None => {}
                }
                if let Some(o) = obs.as_mut().filter(|o| o.in_value_text) {
                    o.text.push_str(&text);
                }
            }
            Event::GeneralRef(ref r) => {
                // Entity and character references between text chunks (quick-xml ≥ 0.38).
                let resolved = r
                    .resolve_char_ref()
                    .ok()
                    .flatten()
                    .map(String::from)
                    .or_else(|| quick_xml::escape::resolve_predefined_entity(r).map(str::to_owned));
                let Some(text) = resolved else {
                    let field = p.path.render();
                    p.report(
                        FindingKind::BadXml,
                        Severity::FileFatal,
                        field,
                        None,
                        "unknown entity",
                    );
                    return (None, p.findings);
                };
                match text_target {
                    TextTarget::Name => doc.name.push_str(&text),
                    TextTarget::Postal => doc.postal_code.push_str(&text),
                    TextTarget::None => {}
                }
                if let Some(o) = obs.as_mut().filter(|o| o.in_value_text) {
                    o.text.push_str(&text);
                }
            }
            Event::CData(ref c) => {
                let text = c.to_string();
                match text_target {
                    TextTarget::Name => doc.name.push_str(&text),
                    TextTarget::Postal => doc.postal_code.push_str(&text),
                    TextTarget::None => {}
                }
                if let Some(o) = obs.as_mut().filter(|o| o.in_value_text) {
                    o.text.push_str(&text);
                }
            }
            Event::End(_) => {
                let names = p.path.names();
                finish_element(&mut p, &names, &section, &mut doc, &mut obs);
                if names == "ClinicalDocument/component/structuredBody/component/section" {
                    section.clear();
                }
                p.path.pop();
                text_target = TextTarget::None;
            }
            Event::Eof => break,
            _ => {}
        }
        p.line += newlines;
    }
    if !saw_root {
        p.report(
            FindingKind::BadXml,
            Severity::FileFatal,
            String::new(),
            None,
            "no ClinicalDocument element",
        );
        return (None, p.findings);
    }
    check_header(&mut p, &doc);
    let fatal = p.findings.iter().any(|f| f.severity == Severity::FileFatal);
    ((!fatal).then_some(doc), p.findings)
}

fn bytecount(event: &Event) -> u64 {
    let text: &str = match event {
        Event::Start(e) | Event::Empty(e) => e,
        Event::End(e) => e,
        Event::Text(e) => e,
        Event::CData(e) => e,
        Event::Comment(e) => e,
        Event::Decl(e) => e,
        Event::PI(e) => e,
        Event::DocType(e) => e,
        Event::GeneralRef(e) => e,
        Event::Eof => "",
    };
    text.bytes().filter(|b| *b == b'\n').count() as u64
}

fn handle_start(
    p: &mut Parser,
    names: &str,
    a: &[(String, String)],
    doc: &mut CheckupDocument,
    section: &mut String,
    obs: &mut Option<ObsDraft>,
) {
    match names {
        "ClinicalDocument/code" => doc.report_kind = attr(a, "code").to_owned(),
        "ClinicalDocument/effectiveTime" => doc.created = attr(a, "value").to_owned(),
        "ClinicalDocument/recordTarget/patientRole/id" => {
            let ext = attr(a, "extension").to_owned();
            match attr(a, "root") {
                oid::INSURER => doc.insurer_number = ext,
                oid::CARD_SYMBOL => doc.card_symbol = ext,
                oid::CARD_NUMBER => doc.card_number = ext,
                oid::CARD_BRANCH => doc.card_branch = ext,
                _ => {}
            }
        }
        "ClinicalDocument/recordTarget/patientRole/patient/administrativeGenderCode" => {
            doc.sex = attr(a, "code").to_owned()
        }
        "ClinicalDocument/recordTarget/patientRole/patient/birthTime" => {
            doc.birth_date = attr(a, "value").to_owned()
        }
        "ClinicalDocument/author/assignedAuthor/representedOrganization/id"
            if attr(a, "root") == oid::FACILITY =>
        {
            doc.facility_number = attr(a, "extension").to_owned()
        }
        "ClinicalDocument/documentationOf/serviceEvent/effectiveTime" => {
            doc.checkup_date = attr(a, "value").to_owned()
        }
        "ClinicalDocument/component/structuredBody/component/section/code" => {
            *section = attr(a, "code").to_owned()
        }
        _ => {}
    }
    if names.ends_with("section/entry/observation") {
        *obs = Some(ObsDraft {
            not_performed: attr(a, "negationInd") == "true",
            ..ObsDraft::default()
        });
        return;
    }
    let Some(o) = obs.as_mut() else { return };
    if names.ends_with("section/entry/observation/code") {
        o.code = attr(a, "code").to_owned();
        o.code_line = p.line;
        o.code_system = attr(a, "codeSystem").to_owned();
        o.display_name = attr(a, "displayName").to_owned();
    } else if names.ends_with("section/entry/observation/interpretationCode") {
        o.interpretation = attr(a, "code").to_owned();
    } else if names.ends_with("section/entry/observation/value") {
        o.value_path = p.path.render();
        o.value_line = p.line;
        let ty = attr(a, "type");
        o.value = Some(if attr(a, "nullFlavor") == "NI" {
            CheckupValue::NoInformation
        } else {
            match ty {
                "PQ" => CheckupValue::Quantity {
                    value: attr(a, "value").to_owned(),
                    unit: attr(a, "unit").to_owned(),
                },
                "CD" | "CO" if attr(a, "codeSystem") == oid::INTERPRETATION => {
                    CheckupValue::OutOfRange {
                        high: attr(a, "code") == "H",
                    }
                }
                "CD" | "CO" => CheckupValue::Coded {
                    code: attr(a, "code").to_owned(),
                    code_system: attr(a, "codeSystem").to_owned(),
                    display_name: attr(a, "displayName").to_owned(),
                },
                "ST" => CheckupValue::Text(String::new()),
                other => {
                    let field = p.path.render();
                    let other = other.to_owned();
                    p.report(
                        FindingKind::BadXml,
                        Severity::ReceiptQuarantine,
                        field,
                        Some((&other, false)),
                        "unsupported value type (expected PQ, CD, CO or ST)",
                    );
                    CheckupValue::Absent
                }
            }
        });
    }
}

fn finish_element(
    p: &mut Parser,
    names: &str,
    section: &str,
    doc: &mut CheckupDocument,
    obs: &mut Option<ObsDraft>,
) {
    if let Some(o) = obs.as_mut()
        && names.ends_with("observation/value")
        && o.in_value_text
    {
        o.in_value_text = false;
        o.value = Some(CheckupValue::Text(std::mem::take(&mut o.text)));
        return;
    }
    if !names.ends_with("section/entry/observation") {
        return;
    }
    let Some(o) = obs.take() else { return };
    let at = p.path.render();
    let mut ok = true;
    let item_code = o.code_system.is_empty() || o.code_system == oid::ITEM;
    if item_code && (o.code.len() != 17 || !o.code.bytes().all(|b| b.is_ascii_alphanumeric())) {
        ok = false;
        p.findings.push(Finding {
            file: p.file.to_owned(),
            line: Some(o.code_line),
            record_type: Some("ClinicalDocument".to_owned()),
            field: Some(format!("{at}/code[1]")),
            value_masked: Some(shown_value(&o.code, false)),
            reason: "an item code has 17 letters/digits".to_owned(),
            severity: Severity::ReceiptQuarantine,
            kind: FindingKind::BadCodeShape,
        });
    }
    if let Some(CheckupValue::Quantity { value, .. }) = &o.value
        && !is_number(value)
    {
        ok = false;
        let (path, line, value) = (o.value_path.clone(), o.value_line, value.clone());
        p.findings.push(Finding {
            file: p.file.to_owned(),
            line: Some(line),
            record_type: Some("ClinicalDocument".to_owned()),
            field: Some(path),
            value_masked: Some(shown_value(&value, false)),
            reason: "PQ value is not a number".to_owned(),
            severity: Severity::ReceiptQuarantine,
            kind: FindingKind::NotANumber,
        });
    }
    if ok {
        doc.observations.push(CheckupObservation {
            section: section.to_owned(),
            code: o.code,
            code_system: o.code_system,
            display_name: o.display_name,
            not_performed: o.not_performed,
            value: o.value.unwrap_or(CheckupValue::Absent),
            interpretation: o.interpretation,
        });
    }
}

fn check_header(p: &mut Parser, doc: &CheckupDocument) {
    let header = |p: &mut Parser, field: &str, value: &str, id: bool, kind, reason: &str| {
        p.findings.push(Finding {
            file: p.file.to_owned(),
            line: None,
            record_type: Some("ClinicalDocument".to_owned()),
            field: Some(field.to_owned()),
            value_masked: (!value.is_empty()).then(|| shown_value(value, id)),
            reason: reason.to_owned(),
            severity: Severity::ReceiptQuarantine,
            kind,
        });
    };
    let ids = [
        (
            "recordTarget/patientRole/id[@root=1.2.392.200119.6.101]",
            &doc.insurer_number,
            false,
        ),
        (
            "recordTarget/patientRole/id[@root=1.2.392.200119.6.205]",
            &doc.card_number,
            true,
        ),
    ];
    for (field, value, id) in ids {
        if value.is_empty() {
            header(
                p,
                field,
                value,
                id,
                FindingKind::MissingElement,
                "required identifier missing",
            );
        }
    }
    if !doc.sex.is_empty() && doc.sex != "1" && doc.sex != "2" {
        header(
            p,
            "recordTarget/patientRole/patient/administrativeGenderCode/@code",
            &doc.sex,
            false,
            FindingKind::BadCodeShape,
            "expected 1 or 2",
        );
    }
    for (field, value, id) in [
        (
            "recordTarget/patientRole/patient/birthTime/@value",
            &doc.birth_date,
            true,
        ),
        (
            "documentationOf/serviceEvent/effectiveTime/@value",
            &doc.checkup_date,
            false,
        ),
    ] {
        if let Err(reason) = check_gregorian(value) {
            header(p, field, value, id, FindingKind::BadDate, &reason);
        }
    }
    let fac = &doc.facility_number;
    if fac.len() != 10 || !fac.bytes().all(|b| b.is_ascii_digit()) {
        header(
            p,
            "author/assignedAuthor/representedOrganization/id/@extension",
            fac,
            false,
            FindingKind::BadCodeShape,
            "expected 10 digits",
        );
    }
}

/// The XML the writer produces: UTF-8, two-space indentation, LF line ends, sections in
/// first-appearance order of the observations' section codes.
/// Escapes markup characters and, so that attribute-value normalization and line-end
/// normalization give the same text back, tab, CR and LF as character references.
fn esc(s: &str) -> String {
    escape(s)
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

pub fn write_document(doc: &CheckupDocument) -> Vec<u8> {
    let e = esc;
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<ClinicalDocument xmlns=\"urn:hl7-org:v3\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"urn:hl7-org:v3 ../XSD/hc08_V08.xsd\">\n");
    x.push_str("  <typeId root=\"2.16.840.1.113883.1.3\" extension=\"POCD_HD000040\"/>\n");
    x.push_str("  <id nullFlavor=\"NI\"/>\n");
    x.push_str(&format!(
        "  <code code=\"{}\" codeSystem=\"{}\"/>\n",
        e(&doc.report_kind),
        oid::REPORT_KIND
    ));
    x.push_str(&format!(
        "  <effectiveTime value=\"{}\"/>\n",
        e(&doc.created)
    ));
    x.push_str("  <confidentialityCode code=\"N\" codeSystem=\"2.16.840.1.113883.5.25\"/>\n");
    x.push_str("  <recordTarget>\n    <patientRole>\n");
    for (root, value) in [
        (oid::INSURER, &doc.insurer_number),
        (oid::CARD_SYMBOL, &doc.card_symbol),
        (oid::CARD_NUMBER, &doc.card_number),
        (oid::CARD_BRANCH, &doc.card_branch),
    ] {
        if !value.is_empty() {
            x.push_str(&format!(
                "      <id root=\"{root}\" extension=\"{}\"/>\n",
                e(value)
            ));
        }
    }
    x.push_str(&format!(
        "      <addr>\n        <postalCode>{}</postalCode>\n      </addr>\n",
        e(&doc.postal_code)
    ));
    x.push_str("      <patient>\n");
    x.push_str(&format!("        <name>{}</name>\n", e(&doc.name)));
    x.push_str(&format!(
        "        <administrativeGenderCode code=\"{}\" codeSystem=\"{}\"/>\n",
        e(&doc.sex),
        oid::SEX
    ));
    x.push_str(&format!(
        "        <birthTime value=\"{}\"/>\n",
        e(&doc.birth_date)
    ));
    x.push_str("      </patient>\n    </patientRole>\n  </recordTarget>\n");
    x.push_str("  <author>\n    <time value=\"");
    x.push_str(&e(&doc.created));
    x.push_str("\"/>\n    <assignedAuthor>\n      <id nullFlavor=\"NI\"/>\n      <representedOrganization>\n");
    x.push_str(&format!(
        "        <id root=\"{}\" extension=\"{}\"/>\n",
        oid::FACILITY,
        e(&doc.facility_number)
    ));
    x.push_str("      </representedOrganization>\n    </assignedAuthor>\n  </author>\n");
    x.push_str("  <documentationOf>\n    <serviceEvent>\n");
    x.push_str(&format!(
        "      <effectiveTime value=\"{}\"/>\n",
        e(&doc.checkup_date)
    ));
    x.push_str("    </serviceEvent>\n  </documentationOf>\n");
    x.push_str("  <component>\n    <structuredBody>\n");
    let mut sections: Vec<&str> = Vec::new();
    for o in &doc.observations {
        if !sections.contains(&o.section.as_str()) {
            sections.push(&o.section);
        }
    }
    for s in sections {
        x.push_str("      <component>\n        <section>\n");
        x.push_str(&format!(
            "          <code code=\"{}\" codeSystem=\"{}\"/>\n",
            e(s),
            oid::SECTION
        ));
        for o in doc.observations.iter().filter(|o| o.section == s) {
            write_observation(&mut x, o);
        }
        x.push_str("        </section>\n      </component>\n");
    }
    x.push_str("    </structuredBody>\n  </component>\n</ClinicalDocument>\n");
    x.into_bytes()
}

fn write_observation(x: &mut String, o: &CheckupObservation) {
    let e = esc;
    x.push_str("          <entry>\n            <observation classCode=\"OBS\" moodCode=\"EVN\"");
    if o.not_performed {
        x.push_str(" negationInd=\"true\"");
    }
    x.push_str(">\n");
    x.push_str(&format!("              <code code=\"{}\"", e(&o.code)));
    if !o.code_system.is_empty() {
        x.push_str(&format!(" codeSystem=\"{}\"", e(&o.code_system)));
    }
    if !o.display_name.is_empty() {
        x.push_str(&format!(" displayName=\"{}\"", e(&o.display_name)));
    }
    x.push_str("/>\n");
    let v = match &o.value {
        CheckupValue::Quantity { value, unit } => Some(format!(
            "<value xsi:type=\"PQ\" value=\"{}\" unit=\"{}\"/>",
            e(value),
            e(unit)
        )),
        CheckupValue::Coded {
            code,
            code_system,
            display_name,
        } => {
            let mut s = format!(
                "<value xsi:type=\"CD\" code=\"{}\" codeSystem=\"{}\"",
                e(code),
                e(code_system)
            );
            if !display_name.is_empty() {
                s.push_str(&format!(" displayName=\"{}\"", e(display_name)));
            }
            s.push_str("/>");
            Some(s)
        }
        CheckupValue::Text(t) => Some(format!("<value xsi:type=\"ST\">{}</value>", e(t))),
        CheckupValue::NoInformation => {
            Some("<value xsi:type=\"PQ\" nullFlavor=\"NI\"/>".to_owned())
        }
        CheckupValue::OutOfRange { high } => Some(format!(
            "<value xsi:type=\"CD\" code=\"{}\" codeSystem=\"{}\"/>",
            if *high { "H" } else { "L" },
            oid::INTERPRETATION
        )),
        CheckupValue::Absent => None,
    };
    if let Some(v) = v {
        x.push_str(&format!("              {v}\n"));
    }
    if !o.interpretation.is_empty() {
        x.push_str(&format!(
            "              <interpretationCode code=\"{}\"/>\n",
            e(&o.interpretation)
        ));
    }
    x.push_str("            </observation>\n          </entry>\n");
}
