//! Electronic receipt (UKE) → canonical tables. One `claims` row per RE, one `diagnoses` row
//! per SY, one `procedures`/`drugs`/`devices` row per SI/IY/TO (with its 負担区分 and its
//! 算定単位 number) and per DPC coding record (CD, SK: what was done within the bundled
//! payment, without points), one `claim_notes` row per comment (CO, the comment pairs of
//! SI/IY/TO, SJ 症状詳記, SY 補足コメント, GT 文字データ), one `admissions` row per DPC stay (BU,
//! once per patient and admission date within a file), one `persons` row per patient (chart
//! number) per file, one `insurance_periods` row per patient and payer per file — the HO card
//! and every KO public-expense payer (`insurer_type` `public_expense`).
//!
//! The claim's payer columns hold the HO card; a 公費単独 receipt (type 12xx, e.g. 生活保護) has
//! no HO, and its first KO's 公費負担者番号 and 受給者番号 take their place (the receipt type says
//! which it is).
//! Pharmacy (調剤) receipts are first typed by `formats::uke::pharmacy` (the assumed field
//! order) and then mapped the same way, with `claim_kind` `pharmacy`; their drugs come from IY.

use std::collections::{BTreeMap, HashSet};

use medinfra_formats::uke::receipt::Receipt;
use medinfra_formats::uke::records::{Record, ServiceDetail};
use medinfra_formats::uke::value::{UkeDate, YearMonth};
use medinfra_model::buffers::*;
use medinfra_model::masters::{CodeMaster, MasterKind};

use crate::report::Problem;

fn date32(y: i32, m: u8, d: u8) -> Option<i32> {
    let month = time::Month::try_from(m).ok()?;
    let date = time::Date::from_calendar_date(y, month, d).ok()?;
    Some(medinfra_model::days::days_of(date))
}

/// Date32 of a `YYYYMMDD` string.
pub(crate) fn yyyymmdd(s: &str) -> Option<i32> {
    medinfra_model::days::from_yyyymmdd(s)
}

fn uke_date(d: &UkeDate) -> Option<i32> {
    date32(d.year as i32, d.month, d.day)
}

fn days_in(ym: &YearMonth) -> u8 {
    time::Month::try_from(ym.month)
        .map(|m| m.length(ym.year as i32))
        .unwrap_or(31)
}

/// (chart number, insurer number, card symbol, card number, branch number, insurer type).
type CardKey = (String, String, String, String, String, &'static str);

/// Rows of one file being built, plus per-file aggregates.
#[derive(Default)]
pub struct FileRows {
    pub claims: ClaimsBuf,
    pub diagnoses: DiagnosesBuf,
    pub procedures: ItemsBuf,
    pub drugs: ItemsBuf,
    pub devices: ItemsBuf,
    pub admissions: AdmissionsBuf,
    pub persons: PersonsBuf,
    pub insurance: InsuranceBuf,
    pub notes: NotesBuf,
    seen_patients: HashSet<String>,
    seen_admissions: HashSet<(String, i32)>,
    /// (chart, insurer, symbol, number, branch) → (first day, last day).
    cards: BTreeMap<CardKey, (i32, i32)>,
}

/// Which kind of receipt file a receipt came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    /// 医科: inpatient or outpatient, from the receipt type.
    Medical,
    Dpc,
    /// 調剤 (typed by `formats::uke::pharmacy`).
    Pharmacy,
}

/// Map one accepted receipt. Returns a problem (and writes nothing) when the receipt lacks
/// what every canonical claim needs; the caller quarantines it.
pub fn map_receipt(
    rows: &mut FileRows,
    receipt: &Receipt,
    file: &str,
    provider_id: &str,
    file_key: &str,
    claim_kind: ClaimKind,
    masters: &CodeMaster,
) -> Result<(), Problem> {
    let problem = |field: &str, reason: &str| Problem {
        file: file.to_string(),
        line: Some(receipt.line),
        record_type: Some("RE".into()),
        field: Some(field.into()),
        reason: reason.into(),
    };
    let re = receipt
        .re()
        .ok_or_else(|| problem("(record)", "RE record did not validate"))?;
    let month = re
        .care_month
        .ok_or_else(|| problem("診療年月", "missing care month"))?;
    let birth = re
        .birth_date
        .as_ref()
        .and_then(uke_date)
        .ok_or_else(|| problem("生年月日", "missing or impossible birth date"))?;
    let sex: i32 = match re.sex.as_str() {
        "1" => 1,
        "2" => 2,
        _ => return Err(problem("男女区分", "must be 1 (male) or 2 (female)")),
    };
    let receipt_no = re.receipt_no.map(|n| n.value()).unwrap_or(0);
    let ym = format!("{:04}{:02}", month.year, month.month);
    let month_start = date32(month.year as i32, month.month, 1)
        .ok_or_else(|| problem("診療年月", "impossible month"))?;
    let month_days = days_in(&month);
    let claim_id = format!("{file_key}-{receipt_no:06}");
    let mut ho = None;
    let mut kos = Vec::new();
    let mut branch = String::new();
    let mut bu = None;
    for rl in &receipt.records {
        match &rl.record {
            Record::Ho(h) if ho.is_none() => ho = Some(h),
            Record::Ko(k) => kos.push(k),
            Record::Sn(sn) if branch.is_empty() => branch = sn.branch_no.as_str().to_string(),
            Record::Bu(b) => bu = Some(b),
            _ => {}
        }
    }
    // The payer the claim is filed under: the HO card, else (公費単独) the first KO.
    let (insurer, symbol, number) = match (ho, kos.first()) {
        (Some(h), _) => (
            h.insurer_no.as_str(),
            h.card_symbol.as_str(),
            h.card_number.as_str(),
        ),
        (None, Some(k)) => (k.payer_no.as_str(), "", k.recipient_no.as_str()),
        (None, None) => {
            return Err(Problem {
                record_type: Some("HO".into()),
                field: None,
                reason: "receipt has neither an HO (insurer) nor a KO (public-expense) record"
                    .into(),
                ..problem("", "")
            });
        }
    };
    let actual_days = ho
        .and_then(|h| h.actual_days)
        .or_else(|| kos.first().and_then(|k| k.actual_days));
    // カルテ番号等 is the provider's patient key; a receipt without one still names its patient
    // by the payer's card, which then stands in as the key.
    let chart = if re.chart_no.is_empty() {
        format!("card:{insurer}:{symbol}:{number}")
    } else {
        re.chart_no.clone()
    };

    let kind = if claim_kind == ClaimKind::Dpc {
        "dpc"
    } else if claim_kind == ClaimKind::Pharmacy {
        "pharmacy"
    } else if re
        .receipt_type
        .chars()
        .nth(3)
        .and_then(|c| c.to_digit(10))
        .is_some_and(|d| d % 2 == 1)
    {
        "inpatient"
    } else {
        "outpatient"
    };
    let c = &mut rows.claims;
    c.claim_id.append_value(&claim_id);
    c.provider_id.append_value(provider_id);
    c.patient_id.append_value(&chart);
    c.service_month.append_value(&ym);
    c.claim_kind.append_value(kind);
    c.receipt_type.append_value(&re.receipt_type);
    c.name_kanji
        .append_option((!re.name.is_empty()).then_some(re.name.as_str()));
    c.name_kana
        .append_option((!re.kana_name.is_empty()).then_some(re.kana_name.as_str()));
    c.sex.append_value(sex);
    c.birth_date.append_value(birth);
    c.insurer_number.append_value(insurer);
    c.card_symbol
        .append_option((!symbol.is_empty()).then_some(symbol));
    c.card_number.append_value(number);
    c.card_branch
        .append_option((!branch.is_empty()).then_some(branch.as_str()));
    c.admission_date
        .append_option(re.admission_date.as_ref().and_then(uke_date));
    c.days
        .append_value(actual_days.map(|n| n.value() as i32).unwrap_or(0));
    c.total_points.append_value(receipt.claimed_points() as i64);
    c.rows += 1;

    let mut category = String::new();
    let mut unit = Unit::default();
    let note = |rows: &mut FileRows, record: &str, cat: &str, code: &str, text: &str| {
        let n = &mut rows.notes;
        n.claim_id.append_value(&claim_id);
        n.provider_id.append_value(provider_id);
        n.patient_id.append_value(&chart);
        n.service_month.append_value(&ym);
        n.source_record.append_value(record);
        n.category.append_option((!cat.is_empty()).then_some(cat));
        n.code.append_option((!code.is_empty()).then_some(code));
        n.text.append_option((!text.is_empty()).then_some(text));
        n.rows += 1;
    };
    for rl in &receipt.records {
        match &rl.record {
            Record::Sy(sy) => {
                let d = &mut rows.diagnoses;
                d.claim_id.append_value(&claim_id);
                d.provider_id.append_value(provider_id);
                d.patient_id.append_value(&chart);
                d.disease_code.append_value(&sy.disease_code);
                d.icd10.append_option(
                    masters
                        .get(MasterKind::Disease, &sy.disease_code)
                        .and_then(|e| e.icd10.as_deref()),
                );
                d.modifiers
                    .append_option((!sy.modifiers.is_empty()).then_some(sy.modifiers.as_str()));
                d.disease_name.append_option(
                    (!sy.disease_name.is_empty()).then_some(sy.disease_name.as_str()),
                );
                d.start_date.append_value(
                    sy.start_date
                        .as_ref()
                        .and_then(uke_date)
                        .unwrap_or(month_start),
                );
                d.outcome.append_value(&sy.outcome);
                d.is_main.append_value(sy.main_disease == "01");
                // 8002 is the SSK modifier 「の疑い」 (suspected); modifiers are 4 characters each.
                let suspected = sy.modifiers.as_bytes().chunks(4).any(|m| m == b"8002");
                d.is_suspected.append_value(suspected);
                d.rows += 1;
                if !sy.supplement.is_empty() {
                    note(rows, "SY", "", &sy.disease_code, &sy.supplement);
                }
            }
            Record::Si(detail) | Record::Iy(detail) => {
                if !detail.category.is_empty() {
                    category = detail.category.clone();
                }
                let is_si = matches!(rl.record, Record::Si(_));
                let buf = if is_si {
                    &mut rows.procedures
                } else {
                    &mut rows.drugs
                };
                let unit_no = unit.line(detail.points.is_some());
                push_item(
                    buf,
                    &claim_id,
                    provider_id,
                    &chart,
                    &ym,
                    &category,
                    detail,
                    month_days,
                    unit_no,
                    if is_si { "SI" } else { "IY" },
                );
                let record = if is_si { "SI" } else { "IY" };
                for (code, text) in [
                    (&detail.comment1_code, &detail.comment1_text),
                    (&detail.comment2_code, &detail.comment2_text),
                    (&detail.comment3_code, &detail.comment3_text),
                ] {
                    if !code.is_empty() || !text.is_empty() {
                        note(rows, record, &category, code, text);
                    }
                }
            }
            Record::To(to) => {
                if !to.category.is_empty() {
                    category = to.category.clone();
                }
                let unit_no = unit.line(to.points.is_some());
                let b = &mut rows.devices;
                b.claim_id.append_value(&claim_id);
                b.provider_id.append_value(provider_id);
                b.patient_id.append_value(&chart);
                b.service_month.append_value(&ym);
                b.category.append_value(&category);
                b.code.append_value(&to.code);
                b.quantity.append_option(to.amount.parse::<f64>().ok());
                b.points.append_option(to.points.map(|n| n.value() as i64));
                b.count
                    .append_value(to.count.map(|n| n.value() as i32).unwrap_or(0));
                let per_day: Vec<i32> = (1..=month_days as usize)
                    .map(|d| to.days.on(d).map(|n| n.value() as i32).unwrap_or(0))
                    .collect();
                b.day_counts.0.append_days(&per_day);
                b.payer_share
                    .append_option((!to.payer_share.is_empty()).then_some(to.payer_share.as_str()));
                b.unit_no.append_value(unit_no);
                b.source_record.append_value("TO");
                b.rows += 1;
                for (code, text) in [
                    (&to.comment1_code, &to.comment1_text),
                    (&to.comment2_code, &to.comment2_text),
                    (&to.comment3_code, &to.comment3_text),
                ] {
                    if !code.is_empty() || !text.is_empty() {
                        note(rows, "TO", &category, code, text);
                    }
                }
            }
            Record::Co(co) => {
                let cat = if co.category.is_empty() {
                    category.as_str()
                } else {
                    co.category.as_str()
                };
                note(rows, "CO", cat, &co.comment_code, &co.text);
            }
            Record::Sj(sj) => note(rows, "SJ", "", &sj.kind, &sj.text),
            Record::Gt(gt) if !gt.text.is_empty() => note(rows, "GT", &gt.category, "", &gt.text),
            Record::Cd(cd) => {
                // DPC coding data: what was done inside the bundled (包括) payment, by the
                // code's master (1 診療行為, 6 医薬品, 7 特定器材). No points of its own.
                let buf = match cd.code.as_bytes().first() {
                    Some(b'6') => &mut rows.drugs,
                    Some(b'7') => &mut rows.devices,
                    _ => &mut rows.procedures,
                };
                let day = cd.performed_on.as_ref().and_then(|d| {
                    (d.year == month.year && d.month == month.month).then_some(d.day)
                });
                let count = cd.count.map(|n| n.value() as i32).unwrap_or(1);
                buf.push_dated(&DatedItem {
                    claim_id: &claim_id,
                    provider_id,
                    patient_id: &chart,
                    service_month: &ym,
                    category: &cd.category,
                    code: &cd.code,
                    quantity: cd.amount.parse::<f64>().ok(),
                    points: None,
                    count,
                    month_days: u32::from(month_days),
                    day: day.map_or(0, u32::from),
                    unit_no: None,
                    source_record: "CD",
                });
            }
            Record::Sk(sk) => {
                let day = sk.performed_on.as_ref().and_then(|d| {
                    (d.year == month.year && d.month == month.month).then_some(d.day)
                });
                rows.procedures.push_dated(&DatedItem {
                    claim_id: &claim_id,
                    provider_id,
                    patient_id: &chart,
                    service_month: &ym,
                    category: &sk.category_code,
                    code: &sk.procedure_code,
                    quantity: None,
                    points: None,
                    count: 1,
                    month_days: u32::from(month_days),
                    day: day.map_or(0, u32::from),
                    unit_no: None,
                    source_record: "SK",
                });
            }
            _ => {}
        }
    }

    if let Some(b) = bu {
        let admission = b.admission_date.as_ref().and_then(uke_date);
        if let Some(adm) = admission
            && rows.seen_admissions.insert((chart.clone(), adm))
        {
            {
                let a = &mut rows.admissions;
                a.admission_id.append_value(format!("{claim_id}-A"));
                a.provider_id.append_value(provider_id);
                a.patient_id.append_value(&chart);
                a.admission_date.append_value(adm);
                a.discharge_date
                    .append_option(b.discharge_date.as_ref().and_then(uke_date));
                a.dpc_code.append_value(&b.dpc_code);
                let main = receipt.records.iter().find_map(|r| match &r.record {
                    Record::Sb(sb) if !sb.icd10.is_empty() => Some(sb.icd10.clone()),
                    _ => None,
                });
                a.main_icd10.append_option(main.as_deref());
                a.resource_icd10.append_option(main.as_deref());
                a.discharge_outcome
                    .append_option((!b.dpc_outcome.is_empty()).then_some(b.dpc_outcome.as_str()));
                a.rows += 1;
            }
        }
    }

    if rows.seen_patients.insert(chart.clone()) {
        let p = &mut rows.persons;
        p.provider_id.append_value(provider_id);
        p.patient_id.append_value(&chart);
        p.name_kanji
            .append_option((!re.name.is_empty()).then_some(re.name.as_str()));
        p.name_kana
            .append_option((!re.kana_name.is_empty()).then_some(re.kana_name.as_str()));
        p.sex.append_value(sex);
        p.birth_date.append_value(birth);
        p.postcode.append_null();
        p.prefecture_code.append_value(&provider_id[..2]);
        p.address.append_null();
        p.phone.append_null();
        p.rows += 1;
    }
    let last_day = month_start + month_days as i32 - 1;
    let mut spans = Vec::with_capacity(1 + kos.len());
    if let Some(h) = ho {
        spans.push((
            h.insurer_no.as_str().to_string(),
            h.card_symbol.as_str().to_string(),
            h.card_number.as_str().to_string(),
            branch,
            insurer_type(h.insurer_no.as_str()),
        ));
    }
    for k in &kos {
        spans.push((
            k.payer_no.clone(),
            String::new(),
            k.recipient_no.clone(),
            String::new(),
            "public_expense",
        ));
    }
    for (insurer, symbol, number, branch, kind) in spans {
        let key = (chart.clone(), insurer, symbol, number, branch, kind);
        let span = rows.cards.entry(key).or_insert((month_start, last_day));
        span.0 = span.0.min(month_start);
        span.1 = span.1.max(last_day);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn push_item(
    b: &mut ItemsBuf,
    claim_id: &str,
    provider_id: &str,
    chart: &str,
    ym: &str,
    category: &str,
    d: &ServiceDetail,
    month_days: u8,
    unit_no: i32,
    source_record: &str,
) {
    b.claim_id.append_value(claim_id);
    b.provider_id.append_value(provider_id);
    b.patient_id.append_value(chart);
    b.service_month.append_value(ym);
    b.category.append_value(category);
    b.code.append_value(&d.code);
    b.quantity.append_option(d.quantity.parse::<f64>().ok());
    // 点数 and 回数 are written only on the last record of a calculation unit: earlier
    // records keep a null `points` and a `count` of 0.
    b.points.append_option(d.points.map(|n| n.value() as i64));
    b.count
        .append_value(d.count.map(|n| n.value() as i32).unwrap_or(0));
    let per_day: Vec<i32> = (1..=month_days as usize)
        .map(|day| d.days.on(day).map(|n| n.value() as i32).unwrap_or(0))
        .collect();
    b.day_counts.0.append_days(&per_day);
    b.payer_share
        .append_option((!d.payer_share.is_empty()).then_some(d.payer_share.as_str()));
    b.unit_no.append_value(unit_no);
    b.source_record.append_value(source_record);
    b.rows += 1;
}

/// Numbers the 算定単位 of a claim: a unit runs from the first priced line after the previous
/// unit's last line up to the next line that carries 点数.
#[derive(Default)]
struct Unit {
    number: i32,
    open: bool,
}

impl Unit {
    /// The unit of the next line; `closes` when the line carries 点数.
    fn line(&mut self, closes: bool) -> i32 {
        if !self.open {
            self.number += 1;
            self.open = true;
        }
        if closes {
            self.open = false;
        }
        self.number
    }
}

impl FileRows {
    /// Emit the per-file card periods (called once, at the end of the file).
    pub fn finish_cards(&mut self, provider_id: &str) {
        let cards = std::mem::take(&mut self.cards);
        for ((chart, insurer, symbol, number, branch, kind), (from, to)) in cards {
            let i = &mut self.insurance;
            i.provider_id.append_value(provider_id);
            i.patient_id.append_value(&chart);
            i.insurer_number.append_value(&insurer);
            i.insurer_type.append_value(kind);
            i.card_symbol
                .append_option((!symbol.is_empty()).then_some(symbol.as_str()));
            i.card_number.append_value(&number);
            i.card_branch
                .append_option((!branch.is_empty()).then_some(branch.as_str()));
            i.valid_from.append_value(from);
            i.valid_to.append_value(to);
            i.rows += 1;
        }
    }
}

/// The insurer type from the insurer number's 法別番号 (first two digits of 8-digit numbers;
/// 6-digit numbers are municipal national health insurance).
pub fn insurer_type(insurer: &str) -> &'static str {
    if insurer.len() == 6 {
        return "kokuho";
    }
    match insurer.get(..2) {
        Some("01") => "kyokai",
        Some("06") => "kumiai",
        Some("31" | "32" | "33" | "34") => "kyosai",
        Some("39") => "kouki",
        Some("67") => "kokuho_retiree",
        _ => "other",
    }
}
