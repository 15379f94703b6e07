//! The bad-input corpus for the non-UKE formats: one file (or tree) per failure kind under
//! `tests/bad/`, named `<format>_<kind>`. Each test asserts the exact finding — kind, location
//! (line, HL7 segment, XML path or JSON path), field, severity, shown value — and that it is the
//! only one; readers never commit anything, so "nothing committed" means the bad row/document is
//! not among the records the reader yields.

use medinfra_formats::dfile::DReader;
use medinfra_formats::ff1::Ff1Reader;
use medinfra_formats::{Finding, FindingKind, Severity};

fn bad_path(name: &str) -> String {
    format!("{}/tests/bad/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(bad_path(name)).unwrap()
}

/// What one finding must look like.
struct Expect<'a> {
    kind: FindingKind,
    line: Option<u64>,
    record_type: Option<&'a str>,
    field: Option<&'a str>,
    severity: Severity,
    value: Option<&'a str>,
}

fn expect_only(name: &str, findings: &[Finding], e: Expect) {
    assert_eq!(findings.len(), 1, "{name}: {findings:#?}");
    let f = &findings[0];
    assert_eq!(f.kind, e.kind, "{name}");
    assert_eq!(f.line, e.line, "{name}");
    assert_eq!(f.record_type.as_deref(), e.record_type, "{name}");
    assert_eq!(f.field.as_deref(), e.field, "{name}");
    assert_eq!(f.severity, e.severity, "{name}");
    assert_eq!(f.value_masked.as_deref(), e.value, "{name}");
    assert_eq!(f.file, name);
    assert!(!f.reason.is_empty());
}

/// Reads a 様式1 file; returns the lines of the rows that came out, and the findings.
fn ff1(name: &str) -> (Vec<u64>, Vec<Finding>) {
    let data = bytes(name);
    let mut r = Ff1Reader::new(&data[..], name);
    let lines = r.by_ref().map(|row| row.line).collect();
    (lines, r.finish())
}

fn dfile(name: &str) -> (Vec<u64>, Vec<Finding>) {
    let data = bytes(name);
    let mut r = DReader::new(&data[..], name);
    let lines = r.by_ref().map(|row| row.line).collect();
    (lines, r.finish())
}

fn quarantine<'a>(
    kind: FindingKind,
    line: u64,
    rt: &'a str,
    field: Option<&'a str>,
    value: Option<&'a str>,
) -> Expect<'a> {
    Expect {
        kind,
        line: Some(line),
        record_type: Some(rt),
        field,
        severity: Severity::ReceiptQuarantine,
        value,
    }
}

#[test]
fn ff1_wrong_width() {
    let name = "ff1_wrong_width.txt";
    let (rows, findings) = ff1(name);
    assert_eq!(rows, [1, 3]);
    expect_only(
        name,
        &findings,
        quarantine(FindingKind::WrongFieldCount, 2, "FF1", None, None),
    );
}

#[test]
fn ff1_bad_sex() {
    let name = "ff1_bad_sex.txt";
    let (rows, findings) = ff1(name);
    assert_eq!(rows, [2]);
    let e = quarantine(
        FindingKind::BadCodeShape,
        1,
        "FF1",
        Some("A000010.性別"),
        Some("3"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn ff1_bad_birth_date_is_masked() {
    let name = "ff1_bad_birth_date.txt";
    let (rows, findings) = ff1(name);
    assert_eq!(rows, [1]);
    let e = quarantine(
        FindingKind::BadDate,
        2,
        "FF1",
        Some("A000010.生年月日"),
        Some("<masked:8 chars>"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn ff1_bad_item_code() {
    let name = "ff1_bad_item_code.txt";
    let (rows, findings) = ff1(name);
    assert_eq!(rows, [1]);
    let e = quarantine(
        FindingKind::BadCodeShape,
        2,
        "FF1",
        Some("コード"),
        Some("a00001"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn ff1_truncated_last_line() {
    let name = "ff1_truncated_last_line.txt";
    let (rows, findings) = ff1(name);
    assert_eq!(rows, [1, 2, 3]);
    let e = Expect {
        kind: FindingKind::TruncatedLastLine,
        line: Some(3),
        record_type: Some("FF1"),
        field: None,
        severity: Severity::FileFatal,
        value: None,
    };
    expect_only(name, &findings, e);
}

#[test]
fn ff1_undecodable_bytes() {
    let name = "ff1_undecodable_bytes.txt";
    let (rows, findings) = ff1(name);
    assert_eq!(rows, [1, 3]);
    let e = Expect {
        kind: FindingKind::UndecodableBytes,
        line: Some(2),
        record_type: Some("FF1"),
        field: None,
        severity: Severity::FileFatal,
        value: None,
    };
    expect_only(name, &findings, e);
}

#[test]
fn d_bad_dpc_code() {
    let name = "d_bad_dpc_code.txt";
    let (rows, findings) = dfile(name);
    assert_eq!(rows, [1]);
    let e = quarantine(
        FindingKind::BadCodeShape,
        2,
        "D",
        Some("分類番号"),
        Some("0500"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn d_bad_coefficient() {
    let name = "d_bad_coefficient.txt";
    let (rows, findings) = dfile(name);
    assert!(rows.is_empty());
    let e = quarantine(
        FindingKind::NotANumber,
        1,
        "D",
        Some("医療機関係数"),
        Some("1,2345"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn d_bad_admission_date() {
    let name = "d_bad_admission_date.txt";
    let (rows, findings) = dfile(name);
    assert_eq!(rows, [1, 2]);
    let e = quarantine(
        FindingKind::BadDate,
        3,
        "D",
        Some("入院年月日"),
        Some("20241301"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn d_wrong_field_count() {
    let name = "d_wrong_field_count.txt";
    let (rows, findings) = dfile(name);
    assert!(rows.is_empty());
    expect_only(
        name,
        &findings,
        quarantine(FindingKind::WrongFieldCount, 1, "D", None, None),
    );
}

#[test]
fn d_empty_file() {
    let name = "d_empty_file.txt";
    let (rows, findings) = dfile(name);
    assert!(rows.is_empty());
    let e = Expect {
        kind: FindingKind::EmptyFile,
        line: None,
        record_type: Some("D"),
        field: None,
        severity: Severity::FileFatal,
        value: None,
    };
    expect_only(name, &findings, e);
}

// --- SS-MIX2: findings are located by segment number (`line`) and segment ID ---

fn hl7(
    name: &str,
) -> (
    Option<medinfra_formats::ssmix2::ParsedMessage>,
    Vec<Finding>,
) {
    let (_, parsed, findings) = medinfra_formats::ssmix2::read_message(&bytes(name), name, None);
    (parsed, findings)
}

fn fatal<'a>(
    kind: FindingKind,
    line: Option<u64>,
    rt: Option<&'a str>,
    field: Option<&'a str>,
) -> Expect<'a> {
    Expect {
        kind,
        line,
        record_type: rt,
        field,
        severity: Severity::FileFatal,
        value: None,
    }
}

#[test]
fn ssmix2_missing_pid() {
    let name = "ssmix2_missing_pid.hl7";
    let (parsed, findings) = hl7(name);
    assert!(parsed.is_none());
    expect_only(
        name,
        &findings,
        fatal(FindingKind::MissingSegment, None, None, Some("PID")),
    );
}

#[test]
fn ssmix2_undecodable_bytes() {
    let name = "ssmix2_undecodable_bytes.hl7";
    let (parsed, findings) = hl7(name);
    assert!(parsed.is_none());
    expect_only(
        name,
        &findings,
        fatal(FindingKind::UndecodableBytes, None, None, None),
    );
}

#[test]
fn ssmix2_no_final_cr() {
    let name = "ssmix2_no_final_cr.hl7";
    let (parsed, findings) = hl7(name);
    assert!(parsed.is_none());
    expect_only(
        name,
        &findings,
        fatal(FindingKind::BadSegment, None, None, None),
    );
}

#[test]
fn ssmix2_bad_segment_id() {
    let name = "ssmix2_bad_segment_id.hl7";
    let (parsed, findings) = hl7(name);
    assert!(parsed.is_none());
    expect_only(
        name,
        &findings,
        fatal(FindingKind::BadSegment, Some(3), None, None),
    );
}

#[test]
fn ssmix2_second_msh() {
    let name = "ssmix2_second_msh.hl7";
    let (parsed, findings) = hl7(name);
    assert!(parsed.is_none());
    expect_only(
        name,
        &findings,
        fatal(FindingKind::BadSegment, Some(3), Some("MSH"), None),
    );
}

#[test]
fn ssmix2_bad_birth_date_is_masked() {
    let name = "ssmix2_bad_birth_date.hl7";
    let (parsed, findings) = hl7(name);
    assert!(
        parsed.is_some(),
        "a quarantine finding still yields the content, graded"
    );
    let e = quarantine(
        FindingKind::BadDate,
        2,
        "PID",
        Some("PID-7"),
        Some("<masked:8 chars>"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn ssmix2_bad_jlac10_code() {
    let name = "ssmix2_bad_jlac10_code.hl7";
    let (parsed, findings) = hl7(name);
    assert_eq!(
        parsed.unwrap().observations.len(),
        1,
        "the bad OBX is not among the results"
    );
    let e = quarantine(
        FindingKind::BadCodeShape,
        7,
        "OBX",
        Some("OBX-3"),
        Some("3A0100"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn ssmix2_nm_not_a_number() {
    let name = "ssmix2_nm_not_a_number.hl7";
    let (parsed, findings) = hl7(name);
    assert!(parsed.unwrap().observations.is_empty());
    let e = quarantine(
        FindingKind::NotANumber,
        6,
        "OBX",
        Some("OBX-5"),
        Some("7,2"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn ssmix2_bad_hot9_code() {
    let name = "ssmix2_bad_hot9_code.hl7";
    let (_, findings) = hl7(name);
    let e = quarantine(
        FindingKind::BadCodeShape,
        5,
        "RXE",
        Some("RXE-2"),
        Some("1006070"),
    );
    expect_only(name, &findings, e);
}

fn tree(name: &str) -> medinfra_formats::ssmix2::Ssmix2File {
    let mut files: Vec<_> = medinfra_formats::ssmix2::Ssmix2Reader::new(bad_path(name))
        .map(|f| f.unwrap())
        .collect();
    assert_eq!(files.len(), 1);
    files.remove(0)
}

#[test]
fn ssmix2_bad_path() {
    let file = tree("ssmix2_bad_path");
    assert!(file.path.is_none());
    assert!(file.parsed.is_some());
    let label = "123/456/1234567/-/ADT-00/1234567_-_ADT-00_1_20240402110000000_-_1";
    let e = Expect {
        kind: FindingKind::BadPath,
        line: None,
        record_type: None,
        field: None,
        severity: Severity::Warning,
        value: None,
    };
    expect_only(label, &file.findings, e);
    assert!(file.findings[0].reason.starts_with("order number"));
}

#[test]
fn ssmix2_path_mismatch() {
    let file = tree("ssmix2_path_mismatch");
    let label = "123/456/1234567/20240402/OML-11/1234567_20240402_OML-11_000000000000123_20240402110000000_01_1";
    let e = Expect {
        kind: FindingKind::PathMismatch,
        line: Some(2),
        record_type: Some("PID"),
        field: Some("PID-3"),
        severity: Severity::Warning,
        value: Some("<masked:7 chars>"),
    };
    expect_only(label, &file.findings, e);
}

// --- 特定健診 CDA: findings carry the XML path in `field` and the element's line ---

fn cda(
    name: &str,
) -> (
    Option<medinfra_formats::checkup::CheckupDocument>,
    Vec<Finding>,
) {
    medinfra_formats::checkup::read_document(&bytes(name)[..], name)
}

const SECTION: &str = "/ClinicalDocument/component[1]/structuredBody[1]/component[1]/section[1]";

fn cda_expect<'a>(
    kind: FindingKind,
    line: Option<u64>,
    field: &'a str,
    severity: Severity,
    value: Option<&'a str>,
) -> Expect<'a> {
    Expect {
        kind,
        line,
        record_type: Some("ClinicalDocument"),
        field: Some(field),
        severity,
        value,
    }
}

#[test]
fn checkup_not_well_formed() {
    let name = "checkup_not_well_formed.xml";
    let (doc, findings) = cda(name);
    assert!(doc.is_none());
    let field = "/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]";
    expect_only(
        name,
        &findings,
        cda_expect(
            FindingKind::BadXml,
            Some(15),
            field,
            Severity::FileFatal,
            None,
        ),
    );
}

#[test]
fn checkup_wrong_root() {
    let name = "checkup_wrong_root.xml";
    let (doc, findings) = cda(name);
    assert!(doc.is_none());
    expect_only(
        name,
        &findings,
        cda_expect(
            FindingKind::BadXml,
            Some(2),
            "/Document",
            Severity::FileFatal,
            None,
        ),
    );
}

#[test]
fn checkup_bad_item_code() {
    let name = "checkup_bad_item_code.xml";
    let (doc, findings) = cda(name);
    assert_eq!(
        doc.unwrap().observations.len(),
        1,
        "the bad observation is left out"
    );
    let field = format!("{SECTION}/entry[2]/observation[1]/code[1]");
    let e = cda_expect(
        FindingKind::BadCodeShape,
        Some(39),
        &field,
        Severity::ReceiptQuarantine,
        Some("9N006"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn checkup_pq_not_a_number() {
    let name = "checkup_pq_not_a_number.xml";
    let (doc, findings) = cda(name);
    assert_eq!(doc.unwrap().observations.len(), 1);
    let field = format!("{SECTION}/entry[2]/observation[1]/value[1]");
    let e = cda_expect(
        FindingKind::NotANumber,
        Some(40),
        &field,
        Severity::ReceiptQuarantine,
        Some("63,5"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn checkup_unsupported_value_type() {
    let name = "checkup_unsupported_value_type.xml";
    let (_, findings) = cda(name);
    let field = format!("{SECTION}/entry[2]/observation[1]/value[1]");
    let e = cda_expect(
        FindingKind::BadXml,
        Some(40),
        &field,
        Severity::ReceiptQuarantine,
        Some("IVL_PQ"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn checkup_missing_insurer() {
    let name = "checkup_missing_insurer.xml";
    let (_, findings) = cda(name);
    let field = "recordTarget/patientRole/id[@root=1.2.392.200119.6.101]";
    let e = cda_expect(
        FindingKind::MissingElement,
        None,
        field,
        Severity::ReceiptQuarantine,
        None,
    );
    expect_only(name, &findings, e);
}

#[test]
fn checkup_bad_sex() {
    let name = "checkup_bad_sex.xml";
    let (_, findings) = cda(name);
    let field = "recordTarget/patientRole/patient/administrativeGenderCode/@code";
    let e = cda_expect(
        FindingKind::BadCodeShape,
        None,
        field,
        Severity::ReceiptQuarantine,
        Some("3"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn checkup_bad_birth_date_is_masked() {
    let name = "checkup_bad_birth_date.xml";
    let (_, findings) = cda(name);
    let field = "recordTarget/patientRole/patient/birthTime/@value";
    let e = cda_expect(
        FindingKind::BadDate,
        None,
        field,
        Severity::ReceiptQuarantine,
        Some("<masked:8 chars>"),
    );
    expect_only(name, &findings, e);
}

fn archive(name: &str) -> (Vec<medinfra_formats::checkup::ArchiveMember>, Vec<Finding>) {
    let root = std::path::Path::new(&bad_path(name)).join("1399999991_06139999_202404101_1");
    let mut r = medinfra_formats::checkup::CheckupArchiveReader::open_dir(&root);
    let members = r.by_ref().collect();
    (members, r.finish())
}

#[test]
fn checkup_archive_missing_member() {
    let (members, findings) = archive("checkup_archive_missing_member");
    assert_eq!(members.len(), 1);
    let e = Expect {
        kind: FindingKind::IndexMismatch,
        line: None,
        record_type: None,
        field: Some("ix08_V08.xml"),
        severity: Severity::FileFatal,
        value: None,
    };
    expect_only("1399999991_06139999_202404101_1", &findings, e);
    assert!(
        findings[0]
            .reason
            .contains("h13999999912024041011000002.xml")
    );
}

#[test]
fn checkup_archive_bad_name() {
    let (members, findings) = archive("checkup_archive_bad_name");
    assert!(findings.is_empty());
    assert!(members[0].document.is_some());
    let e = Expect {
        kind: FindingKind::BadPath,
        line: None,
        record_type: None,
        field: None,
        severity: Severity::Warning,
        value: None,
    };
    expect_only(
        "1399999991_06139999_202404101_1/DATA/h1399.xml",
        &members[0].findings,
        e,
    );
}

// --- FHIR: findings carry the JSON path in `field` (and the NDJSON line) ---

fn ndjson(name: &str) -> (usize, Vec<Finding>) {
    let data = bytes(name);
    let mut r = medinfra_formats::fhir::NdjsonReader::new(&data[..], name);
    let n = r.by_ref().count();
    (n, r.finish())
}

fn json_expect<'a>(
    kind: FindingKind,
    line: Option<u64>,
    rt: Option<&'a str>,
    field: Option<&'a str>,
    severity: Severity,
    value: Option<&'a str>,
) -> Expect<'a> {
    Expect {
        kind,
        line,
        record_type: rt,
        field,
        severity,
        value,
    }
}

#[test]
fn fhir_bad_json_line() {
    let name = "fhir_bad_json_line.ndjson";
    let (n, findings) = ndjson(name);
    assert_eq!(n, 2);
    expect_only(
        name,
        &findings,
        json_expect(
            FindingKind::BadJson,
            Some(2),
            None,
            None,
            Severity::ReceiptQuarantine,
            None,
        ),
    );
}

#[test]
fn fhir_missing_status() {
    let name = "fhir_missing_status.ndjson";
    let (n, findings) = ndjson(name);
    assert_eq!(n, 2);
    let e = json_expect(
        FindingKind::BadJson,
        Some(3),
        Some("Observation"),
        Some("status"),
        Severity::ReceiptQuarantine,
        None,
    );
    expect_only(name, &findings, e);
    assert!(
        findings[0].reason.contains("missing field `status`"),
        "{}",
        findings[0].reason
    );
}

#[test]
fn fhir_bad_jlac10_code() {
    let name = "fhir_bad_jlac10_code.ndjson";
    let (n, findings) = ndjson(name);
    assert_eq!(n, 0);
    let e = json_expect(
        FindingKind::BadCodeShape,
        Some(1),
        Some("Observation"),
        Some("code.coding[0].code"),
        Severity::ReceiptQuarantine,
        Some("3C020"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn fhir_unknown_resource() {
    let name = "fhir_unknown_resource.ndjson";
    let (n, findings) = ndjson(name);
    assert_eq!(n, 1);
    let e = json_expect(
        FindingKind::UnknownRecordType,
        Some(2),
        Some("Composition"),
        Some("resourceType"),
        Severity::Warning,
        Some("Composition"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn fhir_bad_birth_date_is_masked() {
    let name = "fhir_bad_birth_date.ndjson";
    let (_, findings) = ndjson(name);
    let e = json_expect(
        FindingKind::BadDate,
        Some(1),
        Some("Patient"),
        Some("birthDate"),
        Severity::ReceiptQuarantine,
        Some("<masked:10 chars>"),
    );
    expect_only(name, &findings, e);
}

#[test]
fn fhir_wrong_value_type_in_bundle() {
    let name = "fhir_wrong_value_type.json";
    let (resources, findings) = medinfra_formats::fhir::read_bundle(&bytes(name)[..], name);
    assert_eq!(
        resources.len(),
        1,
        "the Patient is read, the bad Observation is not"
    );
    let e = json_expect(
        FindingKind::BadJson,
        None,
        Some("Observation"),
        Some("entry[1].resource.valueQuantity.value"),
        Severity::ReceiptQuarantine,
        None,
    );
    expect_only(name, &findings, e);
    assert!(
        !findings[0].reason.contains("5.1"),
        "serde's quoted value is masked"
    );
}

/// A file holding one resource (what a FHIR server's read returns) is not an error: the
/// resource is read as the file's only entry.
#[test]
fn fhir_single_resource_file() {
    let name = "fhir_not_a_bundle.json";
    let (resources, findings) = medinfra_formats::fhir::read_bundle(&bytes(name)[..], name);
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(matches!(
        resources.as_slice(),
        [medinfra_formats::fhir::Resource::Patient(_)]
    ));
}

#[test]
fn fhir_not_a_resource() {
    let name = "fhir_no_resource_type.json";
    let (resources, findings) = medinfra_formats::fhir::read_bundle(&bytes(name)[..], name);
    assert!(resources.is_empty());
    expect_only(
        name,
        &findings,
        json_expect(
            FindingKind::BadJson,
            None,
            Some("Bundle"),
            None,
            Severity::FileFatal,
            None,
        ),
    );
}

// --- Mapped CSV ---

fn mapped(name: &str) -> (Vec<u64>, Vec<Finding>) {
    let mapping = std::fs::read_to_string(bad_path("csv_mapping.toml")).unwrap();
    let mapping = medinfra_formats::csv_map::Mapping::from_toml(&mapping).unwrap();
    let data = bytes(name);
    let mut r = medinfra_formats::csv_map::CsvMappedReader::new(&data[..], name, mapping);
    let lines = r.by_ref().map(|row| row.line).collect();
    (lines, r.finish())
}

#[test]
fn csv_missing_column() {
    let name = "csv_missing_column.csv";
    let (rows, findings) = mapped(name);
    assert!(
        rows.is_empty(),
        "nothing is read from a file missing a mapped column"
    );
    let e = Expect {
        kind: FindingKind::MissingColumn,
        line: Some(1),
        record_type: Some("CSV"),
        field: Some("結果"),
        severity: Severity::FileFatal,
        value: None,
    };
    expect_only(name, &findings, e);
}

#[test]
fn csv_wrong_field_count() {
    let name = "csv_wrong_field_count.csv";
    let (rows, findings) = mapped(name);
    assert_eq!(rows, [2, 4]);
    expect_only(
        name,
        &findings,
        quarantine(FindingKind::WrongFieldCount, 3, "CSV", None, None),
    );
}

#[test]
fn csv_undecodable_bytes() {
    let name = "csv_undecodable_bytes.csv";
    let (rows, findings) = mapped(name);
    assert!(rows.is_empty());
    let e = Expect {
        kind: FindingKind::UndecodableBytes,
        line: Some(2),
        record_type: Some("CSV"),
        field: None,
        severity: Severity::FileFatal,
        value: None,
    };
    expect_only(name, &findings, e);
}

#[test]
fn csv_bad_mapping() {
    let text = std::fs::read_to_string(bad_path("csv_bad_mapping.toml")).unwrap();
    let err = medinfra_formats::csv_map::Mapping::from_toml(&text).unwrap_err();
    assert!(
        err.0.contains("患者ID") && err.0.contains("[a-z0-9_]+"),
        "{err}"
    );
}

/// Every non-UKE fixture in tests/bad is named by a test in this file, and each format has
/// its share of failure kinds.
#[test]
fn corpus_is_fully_covered() {
    let source = include_str!("bad_corpus_formats.rs");
    let names: Vec<String> = std::fs::read_dir(format!("{}/tests/bad", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".UKE"))
        .collect();
    for n in &names {
        assert!(source.contains(&format!("\"{n}")), "{n} has no test");
    }
    for prefix in ["ff1_", "d_", "ssmix2_", "checkup_", "fhir_", "csv_"] {
        let count = names.iter().filter(|n| n.starts_with(prefix)).count();
        assert!(count >= 4, "{prefix}: only {count} fixtures");
    }
}
