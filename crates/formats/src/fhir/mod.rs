//! JP Core FHIR R4 (japan.md §5): Bundle JSON (of any type: collection, document, transaction,
//! searchset, …; entries without a resource, such as a transaction's deletes, are findings),
//! a file holding one resource, and bulk-export NDJSON, holding Patient, Coverage, Condition,
//! Observation, MedicationRequest, MedicationDispense, MedicationAdministration, Immunization,
//! Encounter, Procedure, AllergyIntolerance and DiagnosticReport as typed structs
//! ([`resources`]).
//!
//! Errors carry the JSON path of the bad element (`entry[2].resource.code.coding[0].code`) in
//! the finding's `field`, found with `serde_path_to_error` over a parsed `serde_json::Value`
//! (so the path survives the `resourceType` dispatch). serde's messages can quote input values,
//! so quoted text in them is masked before it reaches a finding.
//!
//! Memory: NDJSON streams one line at a time (each capped at [`MAX_JSON_LINE_BYTES`]); a Bundle
//! is one JSON document and is read whole, capped at [`MAX_BUNDLE_BYTES`] — providers with
//! bigger exports use bulk NDJSON. Other resource types (Composition, Organization, Claim, …) are
//! reported (Warning) and skipped, never silently dropped.

pub mod resources;

use std::io::{BufRead, Read};

use serde_json::Value;

pub use resources::*;

use crate::finding::{Finding, FindingKind, FindingLog, Severity, shown_value};

pub const MAX_BUNDLE_BYTES: u64 = 256 << 20;
pub const MAX_JSON_LINE_BYTES: u64 = 16 << 20;

/// A problem with one resource: (kind, severity, JSON path, shown value, reason).
type Problem = (FindingKind, Severity, String, Option<String>, String);

/// Masks every double-quoted part of a serde message (it may quote an identifier).
fn sanitize(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut quoted = false;
    for c in msg.chars() {
        if c == '"' {
            if !quoted {
                out.push_str("\"<masked>\"");
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

fn join(prefix: &str, path: &str) -> String {
    let path = if path == "." { "" } else { path };
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

fn typed<T: serde::de::DeserializeOwned>(value: Value, prefix: &str) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let reason = sanitize(&e.inner().to_string());
        let mut path = join(prefix, &e.path().to_string());
        // serde points at the object that lacks a field; name the field itself.
        if let Some(name) = reason
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            path = join(&path, name);
        }
        (
            FindingKind::BadJson,
            Severity::ReceiptQuarantine,
            path,
            None,
            reason,
        )
    })
}

/// Types one resource value; `prefix` is its JSON path (empty for an NDJSON line).
fn to_resource(value: Value, prefix: &str) -> Result<Resource, Problem> {
    let rt = value
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    Ok(match rt.as_str() {
        "Patient" => Resource::Patient(typed(value, prefix)?),
        "Coverage" => Resource::Coverage(typed(value, prefix)?),
        "Condition" => Resource::Condition(typed(value, prefix)?),
        "Observation" => Resource::Observation(typed(value, prefix)?),
        "MedicationRequest" => Resource::MedicationRequest(typed(value, prefix)?),
        "Encounter" => Resource::Encounter(typed(value, prefix)?),
        "Procedure" => Resource::Procedure(typed(value, prefix)?),
        "MedicationDispense" => Resource::MedicationDispense(typed(value, prefix)?),
        "MedicationAdministration" => Resource::MedicationAdministration(typed(value, prefix)?),
        "Immunization" => Resource::Immunization(typed(value, prefix)?),
        "AllergyIntolerance" => Resource::AllergyIntolerance(typed(value, prefix)?),
        "DiagnosticReport" => Resource::DiagnosticReport(typed(value, prefix)?),
        other => {
            return Err((
                FindingKind::UnknownRecordType,
                Severity::Warning,
                join(prefix, "resourceType"),
                Some(shown_value(other, false)),
                "resource type not read by medinfra (skipped)".to_owned(),
            ));
        }
    })
}

fn is_date(s: &str) -> bool {
    // FHIR `date`: YYYY, YYYY-MM or YYYY-MM-DD.
    let ok_shape = match s.len() {
        4 => s.bytes().all(|b| b.is_ascii_digit()),
        7 | 10 => s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        }),
        _ => false,
    };
    ok_shape && (s.len() < 10 || crate::tsv::check_gregorian(&s.replace('-', "")).is_ok())
}

/// Profile checks beyond the JSON shape.
pub fn check(resource: &Resource, prefix: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut bad = |kind, severity, path: &str, value: Option<String>, reason: &str| {
        out.push((kind, severity, join(prefix, path), value, reason.to_owned()));
    };
    match resource {
        Resource::Patient(p) => {
            if p.identifier.is_empty() {
                bad(
                    FindingKind::MissingElement,
                    Severity::ReceiptQuarantine,
                    "identifier",
                    None,
                    "JP_Patient requires an identifier",
                );
            }
            for (i, id) in p.identifier.iter().enumerate() {
                let sys = id.system.as_deref().unwrap_or("");
                let facility = sys.strip_prefix(PATIENT_ID_SYSTEM_PREFIX).unwrap_or("");
                if facility.len() != 10 || !facility.bytes().all(|b| b.is_ascii_digit()) {
                    bad(
                        FindingKind::BadCodeShape,
                        Severity::Warning,
                        &format!("identifier[{i}].system"),
                        Some(shown_value(sys, false)),
                        "not the JP Core facility patient-ID system",
                    );
                }
            }
            if let Some(d) = &p.birth_date
                && !is_date(d)
            {
                bad(
                    FindingKind::BadDate,
                    Severity::ReceiptQuarantine,
                    "birthDate",
                    Some(shown_value(d, true)),
                    "not a FHIR date",
                );
            }
            if let Some(g) = &p.gender
                && !["male", "female", "other", "unknown"].contains(&g.as_str())
            {
                bad(
                    FindingKind::BadCodeShape,
                    Severity::ReceiptQuarantine,
                    "gender",
                    Some(shown_value(g, false)),
                    "not an administrative-gender code",
                );
            }
        }
        Resource::Observation(o) => {
            for (i, c) in o.code.coding.iter().enumerate() {
                let code = c.code.as_deref().unwrap_or("");
                if c.system.as_deref() == Some(JLAC10_SYSTEM)
                    && (code.len() != 17 || !code.bytes().all(|b| b.is_ascii_alphanumeric()))
                {
                    bad(
                        FindingKind::BadCodeShape,
                        Severity::ReceiptQuarantine,
                        &format!("code.coding[{i}].code"),
                        Some(shown_value(code, false)),
                        "a JLAC10 code has 17 letters/digits",
                    );
                }
            }
        }
        Resource::MedicationRequest(m) => {
            for (i, c) in m.medication_codeable_concept.coding.iter().enumerate() {
                let code = c.code.as_deref().unwrap_or("");
                if c.system.as_deref() == Some(HOT9_SYSTEM)
                    && (code.len() != 9 || !code.bytes().all(|b| b.is_ascii_digit()))
                {
                    bad(
                        FindingKind::BadCodeShape,
                        Severity::ReceiptQuarantine,
                        &format!("medicationCodeableConcept.coding[{i}].code"),
                        Some(shown_value(code, false)),
                        "a HOT9 code has 9 digits",
                    );
                }
            }
        }
        _ => {}
    }
    out
}

fn resource_type_of(v: &Value) -> Option<String> {
    v.get("resourceType")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn finding(file: &str, line: Option<u64>, rt: Option<String>, p: Problem) -> Finding {
    let (kind, severity, field, value, reason) = p;
    Finding {
        file: file.to_owned(),
        line,
        record_type: rt,
        field: (!field.is_empty()).then_some(field),
        value_masked: value,
        reason,
        severity,
        kind,
    }
}

/// Types and checks one value; resources with a quarantine-or-worse problem are left out.
fn accept(
    value: Value,
    prefix: &str,
    file: &str,
    line: Option<u64>,
    log: &mut FindingLog,
) -> Option<Resource> {
    let rt = resource_type_of(&value);
    match to_resource(value, prefix) {
        Ok(r) => {
            let problems = check(&r, prefix);
            let keep = problems.iter().all(|p| p.1 == Severity::Warning);
            for p in problems {
                log.push(finding(file, line, rt.clone(), p));
            }
            keep.then_some(r)
        }
        Err(p) => {
            log.push(finding(file, line, rt, p));
            None
        }
    }
}

/// Reads a Bundle; returns its typed resources (in entry order) and the findings.
pub fn read_bundle<R: Read>(reader: R, file: &str) -> (Vec<Resource>, Vec<Finding>) {
    let (indexed, findings) = read_bundle_indexed(reader, file);
    (indexed.into_iter().map(|(_, r)| r).collect(), findings)
}

/// As [`read_bundle`], each resource with its entry index (its JSON path is
/// `entry[i].resource`), so callers can locate problems they find themselves.
pub fn read_bundle_indexed<R: Read>(
    reader: R,
    file: &str,
) -> (Vec<(usize, Resource)>, Vec<Finding>) {
    let mut log = FindingLog::default();
    let mut bytes = Vec::new();
    let fatal = |kind, line, reason: String| {
        vec![Finding {
            file: file.to_owned(),
            line,
            record_type: Some("Bundle".to_owned()),
            field: None,
            value_masked: None,
            reason,
            severity: Severity::FileFatal,
            kind,
        }]
    };
    if let Err(e) = reader.take(MAX_BUNDLE_BYTES + 1).read_to_end(&mut bytes) {
        return (
            Vec::new(),
            fatal(
                FindingKind::IoError,
                None,
                format!("read failed: {}", e.kind()),
            ),
        );
    }
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return (
            Vec::new(),
            fatal(
                FindingKind::FileTooLarge,
                None,
                format!("larger than {MAX_BUNDLE_BYTES} bytes; use bulk NDJSON"),
            ),
        );
    }
    let mut value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return (
                Vec::new(),
                fatal(
                    FindingKind::BadJson,
                    Some(e.line() as u64),
                    sanitize(&e.to_string()),
                ),
            );
        }
    };
    let resource_type = value.get("resourceType").and_then(Value::as_str);
    if resource_type.is_some_and(|t| t != "Bundle") {
        // A file holding one resource (what a FHIR server's read returns): the resource is
        // the file's only entry, located at the JSON root.
        let mut out = Vec::new();
        if let Some(r) = accept(value, "", file, None, &mut log) {
            out.push((0, r));
        }
        return (out, log.into_findings(file));
    }
    if resource_type.is_none() {
        return (
            Vec::new(),
            fatal(
                FindingKind::BadJson,
                None,
                "not a Bundle (resourceType)".to_owned(),
            ),
        );
    }
    let entries = match value.get_mut("entry").map(Value::take) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => {
            let mut f = fatal(
                FindingKind::BadJson,
                None,
                "entry is not an array".to_owned(),
            );
            f[0].field = Some("entry".to_owned());
            return (Vec::new(), f);
        }
    };
    let mut out = Vec::new();
    for (i, mut entry) in entries.into_iter().enumerate() {
        let prefix = format!("entry[{i}].resource");
        match entry.get_mut("resource").map(Value::take) {
            Some(resource @ Value::Object(_)) => {
                if let Some(r) = accept(resource, &prefix, file, None, &mut log) {
                    out.push((i, r));
                }
            }
            _ => log.push(finding(
                file,
                None,
                None,
                (
                    FindingKind::MissingElement,
                    Severity::ReceiptQuarantine,
                    prefix,
                    None,
                    "entry has no resource object".to_owned(),
                ),
            )),
        }
    }
    (out, log.into_findings(file))
}

/// Streaming NDJSON reader (bulk export): one resource per line.
pub struct NdjsonReader<R> {
    inner: R,
    file: String,
    line: u64,
    buf: Vec<u8>,
    log: FindingLog,
    done: bool,
}

impl<R: BufRead> NdjsonReader<R> {
    pub fn new(inner: R, file: impl Into<String>) -> Self {
        NdjsonReader {
            inner,
            file: file.into(),
            line: 0,
            buf: Vec::new(),
            log: FindingLog::default(),
            done: false,
        }
    }
    pub fn finish(self) -> Vec<Finding> {
        self.log.into_findings(&self.file)
    }
    /// 1-based line of the resource last returned (or of the last line read).
    pub fn line(&self) -> u64 {
        self.line
    }
    fn fatal(&mut self, kind: FindingKind, reason: String) {
        self.log.push(Finding {
            file: self.file.clone(),
            line: Some(self.line),
            record_type: None,
            field: None,
            value_masked: None,
            reason,
            severity: Severity::FileFatal,
            kind,
        });
    }
}

impl<R: BufRead> Iterator for NdjsonReader<R> {
    type Item = Resource;

    fn next(&mut self) -> Option<Resource> {
        while !self.done {
            self.buf.clear();
            let read = (&mut self.inner)
                .take(MAX_JSON_LINE_BYTES)
                .read_until(b'\n', &mut self.buf);
            let n = match read {
                Ok(n) => n,
                Err(e) => {
                    self.done = true;
                    self.fatal(FindingKind::IoError, format!("read failed: {}", e.kind()));
                    return None;
                }
            };
            if n == 0 {
                self.done = true;
                return None;
            }
            self.line += 1;
            if self.buf.last() != Some(&b'\n') && n as u64 >= MAX_JSON_LINE_BYTES {
                self.done = true;
                self.fatal(
                    FindingKind::LineTooLong,
                    format!("line longer than {MAX_JSON_LINE_BYTES} bytes"),
                );
                return None;
            }
            while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                self.buf.pop();
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let value: Value = match serde_json::from_slice(&self.buf) {
                Ok(v) => v,
                Err(e) => {
                    let reason = sanitize(&e.to_string());
                    let f = finding(
                        &self.file,
                        Some(self.line),
                        None,
                        (
                            FindingKind::BadJson,
                            Severity::ReceiptQuarantine,
                            String::new(),
                            None,
                            reason,
                        ),
                    );
                    self.log.push(f);
                    continue;
                }
            };
            if let Some(r) = accept(
                value,
                "",
                &self.file.clone(),
                Some(self.line),
                &mut self.log,
            ) {
                return Some(r);
            }
        }
        None
    }
}

/// Why resources could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FhirWriteError {
    #[error("resource {index}: {reason}")]
    Json { index: usize, reason: String },
}

fn to_json(index: usize, r: &Resource, pretty: bool) -> Result<Vec<u8>, FhirWriteError> {
    let res = if pretty {
        serde_json::to_vec_pretty(r)
    } else {
        serde_json::to_vec(r)
    };
    res.map_err(|e| FhirWriteError::Json {
        index,
        reason: sanitize(&e.to_string()),
    })
}

/// A `collection` Bundle, pretty-printed, ending with a newline.
pub fn write_bundle(resources: &[Resource]) -> Result<Vec<u8>, FhirWriteError> {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        resource: &'a Resource,
    }
    #[derive(serde::Serialize)]
    struct Bundle<'a> {
        #[serde(rename = "resourceType")]
        resource_type: &'static str,
        #[serde(rename = "type")]
        type_: &'static str,
        entry: Vec<Entry<'a>>,
    }
    let bundle = Bundle {
        resource_type: "Bundle",
        type_: "collection",
        entry: resources
            .iter()
            .map(|resource| Entry { resource })
            .collect(),
    };
    let mut out = serde_json::to_vec_pretty(&bundle).map_err(|e| FhirWriteError::Json {
        index: 0,
        reason: sanitize(&e.to_string()),
    })?;
    out.push(b'\n');
    Ok(out)
}

/// Bulk-export NDJSON: one compact resource per line, LF-terminated.
pub fn write_ndjson(resources: &[Resource]) -> Result<Vec<u8>, FhirWriteError> {
    let mut out = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        out.extend(to_json(i, r, false)?);
        out.push(b'\n');
    }
    Ok(out)
}
