//! DPC survey files → canonical tables (japan.md §3, §10.2):
//!
//! * EF integrated file: one `procedures`/`drugs`/`devices` row per EF row (one action detail
//!   on one day), so an ingested file reconciles with its own row count. The table is chosen
//!   by the first digit of レセプト電算コード (EF-9), the receipt master's code ranges: `6` →
//!   drugs, `7` → devices (特定器材), anything else → procedures. `category` = データ区分
//!   (EF-5), `quantity` = 使用量 (EF-12), `points` = 明細点数・金額 (EF-14), `count` = 行為回数
//!   (EF-22, default 1), `service_month` and the per-day count from 実施年月日 (EF-25).
//! * D file (包括評価): one row per D row, mapped like EF (行為点数 as points, 実施年月日 else
//!   算定開始日 as the day).
//! * 様式1: one `admissions` row per stay (データ識別番号 + 入院年月日 + 回数管理番号) with
//!   退院 date and 転帰 from A000030 (else the key's 退院年月日), `main_icd10` from A006010,
//!   `resource_icd10` from A006030 (else the main one); `dpc_code` is null (様式1 carries none).
//!   One `diagnoses` row per A0060xx row: `disease_code` `0000999` (未コード化傷病名 — 様式1
//!   has ICD-10 and the name, not the receipt code), `icd10`, the name, `start_date` = 入院年月日,
//!   `is_main` for A006010, `outcome` empty.
//!
//! Keys: these files are not claims. `claim_id` (and `admission_id`) is
//! `<file hash 16>-S<stay ordinal in the file, 6 digits>`, the ordinal numbering distinct
//! (データ識別番号, 入院年月日) pairs in order of first appearance, so it carries no identifier
//! in clear. Memory: one small entry per stay of the file (a hospital-month).
//!
//! Policy, with the row as the quarantine unit: a row the reader reports (bad date, wrong
//! column count) is quarantined and the rest ingested; a file with structural damage (bytes
//! that do not decode, truncated last line) or naming another facility (施設コード ≠ the
//! provider's prefecture + facility code) is rejected whole, as is one with more quarantined
//! rows than the threshold. Replacement key: `dpc/<file name>`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::BufReader;

use medinfra_formats::dfile::DReader;
use medinfra_formats::ef::EfReader;
use medinfra_formats::ff1::{Ff1Reader, Ff1Row};
use medinfra_formats::{Finding, Severity};
use medinfra_model::buffers::{AdmissionsBuf, DatedItem, DiagnosesBuf, ItemsBuf};

use crate::IngestError;
use crate::inputs::{InputKind, io_err};
use crate::report::FileOutcome;
use crate::uke_map::{FileRows, yyyymmdd};
use crate::unit::{FileParts, Unit, UnitCx, UnitMapper, UnitRead};

/// The 9-digit DPC 施設コード of a provider id: prefecture + facility code, without the
/// 点数表 digit (as `synth` writes it).
pub(crate) fn dpc_facility(provider_id: &str) -> String {
    format!(
        "{}{}",
        provider_id.get(..2).unwrap_or(""),
        provider_id.get(3..).unwrap_or("")
    )
}

/// One action row of an EF or D file, as the mapping needs it.
struct Action<'a> {
    patient: &'a str,
    admission: &'a str,
    category: &'a str,
    code: &'a str,
    quantity: Option<f64>,
    points: Option<i64>,
    count: i32,
    day: &'a str,
}

/// Stay ordinals of a file.
#[derive(Default)]
struct Stays(HashMap<(String, String), u32>);

impl Stays {
    fn key(&mut self, file_key: &str, patient: &str, admission: &str) -> (String, bool) {
        let next = self.0.len() as u32 + 1;
        let mut new = false;
        let n = *self
            .0
            .entry((patient.to_owned(), admission.to_owned()))
            .or_insert_with(|| {
                new = true;
                next
            });
        (format!("{file_key}-S{n:06}"), new)
    }
}

/// Appends an action row; `Err(field, reason)` when it cannot be mapped.
fn push_action(
    rows: &mut FileRows,
    stays: &mut Stays,
    file_key: &str,
    provider_id: &str,
    a: &Action,
) -> Result<(), (&'static str, &'static str)> {
    // yyyymmdd checks the shape and the calendar, so the slices below are in range.
    yyyymmdd(a.day).ok_or(("実施年月日", "missing or not a date"))?;
    let (y, m, d) = (&a.day[..4], &a.day[4..6], &a.day[6..8]);
    let days = time::Month::try_from(m.parse::<u8>().unwrap_or(0))
        .map(|mo| u32::from(mo.length(y.parse().unwrap_or(2000))))
        .unwrap_or(31);
    let (claim, _) = stays.key(file_key, a.patient, a.admission);
    let buf: &mut ItemsBuf = match a.code.as_bytes().first() {
        Some(b'6') => &mut rows.drugs,
        Some(b'7') => &mut rows.devices,
        _ => &mut rows.procedures,
    };
    buf.push_dated(&DatedItem {
        claim_id: &claim,
        provider_id,
        patient_id: a.patient,
        service_month: &format!("{y}{m}"),
        category: a.category,
        code: a.code,
        quantity: a.quantity,
        points: a.points,
        count: a.count,
        month_days: days,
        day: d.parse().unwrap_or(0),
        unit_no: None,
        source_record: "EF",
    });
    Ok(())
}

fn num(s: Option<&str>) -> Option<f64> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<f64>().ok())
}

/// Quarantined rows: distinct lines of the reader's receipt-quarantine findings.
fn quarantined_rows(findings: &[Finding]) -> u64 {
    findings
        .iter()
        .filter(|f| f.severity == Severity::ReceiptQuarantine)
        .map(|f| f.line)
        .collect::<BTreeSet<_>>()
        .len() as u64
}

/// Per-stay facts gathered over a 様式1 file.
#[derive(Default)]
pub(crate) struct StayFacts {
    patient: String,
    admission: Option<i32>,
    discharge: Option<i32>,
    outcome: Option<String>,
    main_icd10: Option<String>,
    resource_icd10: Option<String>,
}

fn nonempty(s: Option<&str>) -> Option<String> {
    s.filter(|v| !v.is_empty()).map(str::to_owned)
}

fn ff1_row(
    rows: &mut FileRows,
    stays: &mut Stays,
    facts: &mut BTreeMap<String, StayFacts>,
    file_key: &str,
    provider_id: &str,
    r: &Ff1Row,
) -> Result<(), (&'static str, &'static str)> {
    let admission = yyyymmdd(&r.admission_date).ok_or(("入院年月日", "not a date"))?;
    let stay_key = format!("{}\u{0}{}", r.admission_date, r.count_no);
    let (claim, _) = stays.key(file_key, &r.patient_id, &stay_key);
    let f = facts.entry(claim.clone()).or_default();
    if f.admission.is_none() {
        f.patient = r.patient_id.clone();
        f.admission = Some(admission);
        f.discharge = r.discharge_date.as_deref().and_then(yyyymmdd);
    }
    match r.code.as_str() {
        "A000030" => {
            if let Some(d) = r.payload(1).and_then(yyyymmdd) {
                f.discharge = Some(d);
            }
            f.outcome = nonempty(r.payload(3));
        }
        "A006010" => f.main_icd10 = nonempty(r.payload(2)),
        "A006030" => f.resource_icd10 = nonempty(r.payload(2)),
        _ => {}
    }
    if r.code.starts_with("A0060") {
        let d: &mut DiagnosesBuf = &mut rows.diagnoses;
        d.claim_id.append_value(&claim);
        d.provider_id.append_value(provider_id);
        d.patient_id.append_value(&r.patient_id);
        d.disease_code.append_value("0000999");
        d.icd10
            .append_option(r.payload(2).filter(|v| !v.is_empty()));
        d.modifiers.append_null();
        d.disease_name
            .append_option(r.payload(9).filter(|v| !v.is_empty()));
        d.start_date.append_value(admission);
        d.outcome.append_value("");
        d.is_main.append_value(r.code == "A006010");
        d.is_suspected.append_value(false);
        d.rows += 1;
    }
    Ok(())
}

fn emit_admissions(out: &mut AdmissionsBuf, provider_id: &str, facts: BTreeMap<String, StayFacts>) {
    for (id, f) in facts {
        let Some(adm) = f.admission else { continue };
        out.admission_id.append_value(&id);
        out.provider_id.append_value(provider_id);
        out.patient_id.append_value(&f.patient);
        out.admission_date.append_value(adm);
        out.discharge_date.append_option(f.discharge);
        out.dpc_code.append_null();
        out.main_icd10.append_option(f.main_icd10.as_deref());
        out.resource_icd10
            .append_option(f.resource_icd10.as_deref().or(f.main_icd10.as_deref()));
        out.discharge_outcome.append_option(f.outcome.as_deref());
        out.rows += 1;
    }
}

/// Ingest one DPC survey file (EF, D or 様式1).
pub(crate) struct DpcUnit<'a>(pub Unit<'a>);

impl UnitMapper for DpcUnit<'_> {
    const UNIT: &'static str = "row";
    type Pending = (FileRows, BTreeMap<String, StayFacts>);

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
        let kind = match input.kind {
            InputKind::DpcEf => "dpc-ef",
            InputKind::DpcD => "dpc-d",
            _ => "dpc-ff1",
        };
        let mut outcome = FileOutcome::new(&label, sha256, bytes, kind);
        outcome.billing_month = input
            .path
            .file_name()
            .map(|n| format!("dpc/{}", n.to_string_lossy()));
        let facility = dpc_facility(&opts.provider_id);
        let file = File::open(&input.path).map_err(|e| io_err(&input.path, e))?;
        let buffered = BufReader::with_capacity(1 << 20, file);
        let mut rows = FileRows::default();
        let mut stays = Stays::default();
        let mut facts: BTreeMap<String, StayFacts> = BTreeMap::new();
        let mut rejection: Option<String> = None;
        let mut problems = Vec::new();
        let other_facility = |f: &str, line: u64, rejection: &mut Option<String>| {
            if f != facility && rejection.is_none() {
                *rejection = Some(format!(
                    "line {line}: 施設コード names another provider (prefecture + facility code)"
                ));
            }
        };
        let mut on_row = |outcome: &mut FileOutcome,
                          res: Result<(), (&'static str, &'static str)>,
                          line: u64| match res {
            Ok(()) => outcome.receipts_accepted += 1,
            Err((field, reason)) => {
                outcome.receipts_quarantined += 1;
                problems.push(crate::report::Problem {
                    file: label.clone(),
                    line: Some(line),
                    record_type: Some(kind.to_owned()),
                    field: Some(field.to_owned()),
                    reason: reason.to_owned(),
                });
            }
        };
        let findings = match input.kind {
            InputKind::DpcEf => {
                let mut reader = EfReader::new(buffered, label.clone());
                while let Some(r) = reader.next() {
                    outcome.receipts += 1;
                    let Some(layout) = reader.layout() else {
                        continue;
                    };
                    let g = |n| r.ef(layout, n);
                    other_facility(g(1).unwrap_or(""), r.line, &mut rejection);
                    if rejection.is_some() {
                        continue;
                    }
                    let a = Action {
                        patient: g(2).unwrap_or(""),
                        admission: g(4).unwrap_or(""),
                        category: g(5).unwrap_or(""),
                        code: g(9).unwrap_or(""),
                        quantity: num(g(12)),
                        points: num(g(14)).map(|p| p.round() as i64),
                        count: num(g(22)).map(|c| c as i32).unwrap_or(1),
                        day: g(25).unwrap_or(""),
                    };
                    let res = push_action(&mut rows, &mut stays, key, &opts.provider_id, &a);
                    on_row(&mut outcome, res, r.line);
                    parts.flush_all(writer, key, &mut rows, false)?;
                }
                reader.finish()
            }
            InputKind::DpcD => {
                let mut reader = DReader::new(buffered, label.clone());
                for r in reader.by_ref() {
                    outcome.receipts += 1;
                    let g = |n: &str| r.get(n);
                    other_facility(g("施設コード").unwrap_or(""), r.line, &mut rejection);
                    if rejection.is_some() {
                        continue;
                    }
                    let day = g("実施年月日")
                        .filter(|d| !d.is_empty())
                        .or(g("算定開始日"))
                        .unwrap_or("");
                    let a = Action {
                        patient: g("データ識別番号").unwrap_or(""),
                        admission: g("入院年月日").unwrap_or(""),
                        category: g("データ区分").unwrap_or(""),
                        code: g("レセプト電算コード").unwrap_or(""),
                        quantity: None,
                        points: num(g("行為点数")).map(|p| p.round() as i64),
                        count: num(g("行為回数")).map(|c| c as i32).unwrap_or(1),
                        day,
                    };
                    let res = push_action(&mut rows, &mut stays, key, &opts.provider_id, &a);
                    on_row(&mut outcome, res, r.line);
                    parts.flush_all(writer, key, &mut rows, false)?;
                }
                reader.finish()
            }
            _ => {
                let mut reader = Ff1Reader::new(buffered, label.clone());
                for r in reader.by_ref() {
                    outcome.receipts += 1;
                    other_facility(&r.facility_code, r.line, &mut rejection);
                    if rejection.is_some() {
                        continue;
                    }
                    let res = ff1_row(
                        &mut rows,
                        &mut stays,
                        &mut facts,
                        key,
                        &opts.provider_id,
                        &r,
                    );
                    on_row(&mut outcome, res, r.line);
                    parts.flush_all(writer, key, &mut rows, false)?;
                }
                reader.finish()
            }
        };
        progress(bytes);
        outcome.problems = problems;
        let quarantined = quarantined_rows(&findings);
        outcome.receipts += quarantined;
        outcome.receipts_quarantined += quarantined;
        if rejection.is_none() && findings.iter().any(|f| f.severity == Severity::FileFatal) {
            rejection = Some("structural damage (see the file-level findings)".into());
        }
        outcome.findings = findings;
        Ok(UnitRead {
            outcome,
            pending: (rows, facts),
            rejection,
        })
    }

    fn write_pending(
        cx: &UnitCx<'_>,
        parts: &mut FileParts,
        pending: Self::Pending,
    ) -> Result<(), IngestError> {
        let (mut rows, facts) = pending;
        emit_admissions(&mut rows.admissions, &cx.opts.provider_id, facts);
        parts.flush_all(cx.writer, cx.key, &mut rows, true)
    }
}
