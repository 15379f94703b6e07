//! UKE record layouts — one field table per record type, each citing japan.md.
//!
//! Indexes are 0-based CSV positions (index 0 is the record identifier), exactly as in
//! japan.md §2.2 / §2.4. Field names are japan.md's. `sensitive` marks direct identifiers and
//! free text; their values are masked in findings.
//!
//! Unverified or weakly sourced (named here as japan.md asks):
//! * DPC records BU/SB/KK/SK/GA/HH/GT/CD follow meddatum's *older* spec (japan.md §2.4); field
//!   order may have shifted in the current DPC 記録条件仕様. GA's 外泊等 is taken as one column
//!   holding 31 day flags. GT.調整点数 is kept as text because it may be negative.
//! * GO has 4 fields "observed" (japan.md §2.2), not taken from the spec text.
//! * Pharmacy (調剤) field order is not known (japan.md §2.5): in a pharmacy file every record
//!   except GO is kept as a [`RawRecord`] (the RE boundary still groups receipts).
//! * JD, MF, KH, NI, TI/TR/TS, UK and the pharmacy records have no layout in japan.md: kept raw.

use super::layout::uke_record;
use super::value::{CardText, DayCounts, InsurerNo, Num, UkeDate, YearMonth};

uke_record! {
    /// IR 医療機関情報レコード — facility header (japan.md §2.2, 10 fields).
    Ir, count = 10 {
        1 => payer_org: String, "審査支払機関";
        2 => prefecture: String, "都道府県";
        3 => fee_schedule: String, "点数表";
        4 => facility_code: String, "医療機関コード";
        5 => reserved5: String, "予備";
        6 => facility_name: String, "医療機関名称";
        7 => billing_month: Option<YearMonth>, "請求年月";
        8 => multi_volume: String, "マルチボリューム識別情報";
        9 => phone: String, "電話番号";
    }
}

uke_record! {
    /// RE レセプト共通レコード — receipt header / patient (japan.md §2.2, 38 fields).
    Re, count = 38 {
        1 => receipt_no: Option<Num>, "レセプト番号";
        2 => receipt_type: String, "レセプト種別";
        3 => care_month: Option<YearMonth>, "診療年月";
        4 => name: String, "氏名", sensitive;
        5 => sex: String, "男女区分";
        6 => birth_date: Option<UkeDate>, "生年月日";
        7 => benefit_ratio: String, "給付割合";
        8 => admission_date: Option<UkeDate>, "入院年月日";
        9 => ward_class: String, "病棟区分";
        10 => copay_class: String, "一部負担金・食事療養費・生活療養費標準負担額区分";
        11 => special_notes: String, "レセプト特記事項";
        12 => beds: String, "病床数";
        13 => chart_no: String, "カルテ番号等", sensitive;
        14 => discount_unit_price: String, "割引点数単価";
        15 => reserved15: String, "予備";
        16 => reserved16: String, "予備";
        17 => reserved17: String, "予備";
        18 => search_no: String, "検索番号";
        19 => spec_version: String, "記録条件仕様年月情報";
        20 => claim_info: String, "請求情報";
        21 => dept1_name: String, "診療科1 診療科名";
        22 => dept1_body_part: String, "診療科1 人体の部位等";
        23 => dept1_sex: String, "診療科1 性別等";
        24 => dept1_treatment: String, "診療科1 医学的処置";
        25 => dept1_disease: String, "診療科1 特定疾病";
        26 => dept2_name: String, "診療科2 診療科名";
        27 => dept2_body_part: String, "診療科2 人体の部位等";
        28 => dept2_sex: String, "診療科2 性別等";
        29 => dept2_treatment: String, "診療科2 医学的処置";
        30 => dept2_disease: String, "診療科2 特定疾病";
        31 => dept3_name: String, "診療科3 診療科名";
        32 => dept3_body_part: String, "診療科3 人体の部位等";
        33 => dept3_sex: String, "診療科3 性別等";
        34 => dept3_treatment: String, "診療科3 医学的処置";
        35 => dept3_disease: String, "診療科3 特定疾病";
        36 => kana_name: String, "カタカナ(氏名)", sensitive;
        37 => patient_state: String, "患者の状態";
    }
}

uke_record! {
    /// HO 保険者レコード — health-insurance payer (japan.md §2.2, 15 fields).
    Ho, count = 15 {
        1 => insurer_no: InsurerNo, "保険者番号", sensitive;
        2 => card_symbol: CardText, "被保険者証等の記号", sensitive;
        3 => card_number: CardText, "被保険者証等の番号", sensitive;
        4 => actual_days: Option<Num>, "診療実日数";
        5 => total_points: Option<Num>, "合計点数";
        6 => reserved6: String, "予備";
        7 => meal_count: Option<Num>, "食事療養・生活療養 回数";
        8 => meal_amount: Option<Num>, "食事療養・生活療養 合計金額";
        9 => occupational: String, "職務上の事由";
        10 => certifier_no: String, "証明者番号";
        11 => copay_amount: Option<Num>, "負担金額 医療保険";
        12 => copay_reduction_class: String, "負担金額 減免区分";
        13 => copay_reduction_ratio: String, "負担金額 減額割合";
        14 => copay_reduction_amount: Option<Num>, "負担金額 減額金額";
    }
}

uke_record! {
    /// KO 公費レコード — public-expense payer (japan.md §2.2, 12 fields).
    Ko, count = 12 {
        1 => payer_no: String, "公費負担者番号", sensitive;
        2 => recipient_no: String, "公費受給者番号", sensitive;
        3 => optional_benefit: String, "任意給付区分";
        4 => actual_days: Option<Num>, "診療実日数";
        5 => total_points: Option<Num>, "合計点数";
        6 => public_copay: Option<Num>, "負担金額(公費)";
        7 => outpatient_copay: Option<Num>, "公費給付対象外来一部負担金";
        8 => inpatient_copay: Option<Num>, "公費給付対象入院一部負担金";
        9 => reserved9: String, "予備";
        10 => meal_count: Option<Num>, "食事療養・生活療養 回数";
        11 => meal_amount: Option<Num>, "食事療養・生活療養 合計金額";
    }
}

uke_record! {
    /// SN 資格確認レコード — eligibility confirmation (japan.md §2.2, 9 fields).
    Sn, count = 9 {
        1 => payer_kind: String, "負担者種別";
        2 => confirmation_kind: String, "確認区分";
        3 => insurer_no: String, "保険者番号等(資格確認)", sensitive;
        4 => card_symbol: CardText, "記号", sensitive;
        5 => card_number: CardText, "番号", sensitive;
        6 => branch_no: CardText, "枝番", sensitive;
        7 => recipient_no: String, "受給者番号", sensitive;
        8 => reserved8: String, "予備";
    }
}

uke_record! {
    /// SY 傷病名レコード — diagnosis (japan.md §2.2, 8 fields).
    Sy, count = 8 {
        1 => disease_code: String, "傷病名コード";
        2 => start_date: Option<UkeDate>, "診療開始日";
        3 => outcome: String, "転帰区分";
        4 => modifiers: String, "修飾語コード";
        5 => disease_name: String, "傷病名称", sensitive;
        6 => main_disease: String, "主傷病";
        7 => supplement: String, "補足コメント", sensitive;
    }
}

uke_record! {
    /// SI 診療行為レコード / IY 医薬品レコード — identical shape (japan.md §2.2, 44 fields).
    /// 点数 and 回数 are written only on the last record of a 算定単位.
    ServiceDetail, count = 44 {
        1 => category: String, "診療識別";
        2 => payer_share: String, "負担区分";
        3 => code: String, "レセ電コード";
        4 => quantity: String, "数量データ / 使用量";
        5 => points: Option<Num>, "点数";
        6 => count: Option<Num>, "回数";
        7 => comment1_code: String, "コメント1 コード";
        8 => comment1_text: String, "コメント1 文字データ", sensitive;
        9 => comment2_code: String, "コメント2 コード";
        10 => comment2_text: String, "コメント2 文字データ", sensitive;
        11 => comment3_code: String, "コメント3 コード";
        12 => comment3_text: String, "コメント3 文字データ", sensitive;
        13 => days: DayCounts, "算定日情報";
    }
}

uke_record! {
    /// TO 特定器材レコード — special device (japan.md §2.2, 48 fields).
    To, count = 48 {
        1 => category: String, "診療識別";
        2 => payer_share: String, "負担区分";
        3 => code: String, "特定器材コード";
        4 => amount: String, "使用量";
        5 => points: Option<Num>, "点数";
        6 => count: Option<Num>, "回数";
        7 => unit_code: String, "単位コード";
        8 => unit_price: String, "単価";
        9 => reserved9: String, "予備";
        10 => product_name: String, "商品名及び規格又はサイズ";
        11 => comment1_code: String, "コメント1 コード";
        12 => comment1_text: String, "コメント1 文字データ", sensitive;
        13 => comment2_code: String, "コメント2 コード";
        14 => comment2_text: String, "コメント2 文字データ", sensitive;
        15 => comment3_code: String, "コメント3 コード";
        16 => comment3_text: String, "コメント3 文字データ", sensitive;
        17 => days: DayCounts, "算定日情報";
    }
}

uke_record! {
    /// CO コメントレコード (japan.md §2.2, 5 fields).
    Co, count = 5 {
        1 => category: String, "診療識別";
        2 => payer_share: String, "負担区分";
        3 => comment_code: String, "コメントコード";
        4 => text: String, "文字データ", sensitive;
    }
}

uke_record! {
    /// SJ 症状詳記レコード (japan.md §2.2, 3 fields).
    Sj, count = 3 {
        1 => kind: String, "症状詳記区分";
        2 => text: String, "症状詳記データ", sensitive;
    }
}

uke_record! {
    /// GO 診療報酬請求書レコード — trailer with totals (japan.md §2.2, 4 fields, observed).
    Go, count = 4 {
        1 => receipt_count: Option<Num>, "総件数";
        2 => total_points: Option<Num>, "総合計点数";
        3 => multi_volume: String, "マルチボリューム識別情報";
    }
}

uke_record! {
    /// BU 診断群分類レコード (japan.md §2.4, older spec).
    Bu, count = 6 {
        1 => dpc_code: String, "診断群分類番号";
        2 => admission_date: Option<UkeDate>, "今回入院年月日";
        3 => discharge_date: Option<UkeDate>, "今回退院年月日";
        4 => dpc_outcome: String, "DPC転帰区分";
        5 => death_cause: String, "死因";
    }
}

uke_record! {
    /// SB 傷病レコード (japan.md §2.4, older spec).
    Sb, count = 8 {
        1 => disease_code: String, "傷病名コード";
        2 => modifiers: String, "修飾語コード";
        3 => disease_name: String, "傷病名称", sensitive;
        4 => icd10: String, "ICD-10";
        5 => disease_class: String, "傷病名区分";
        6 => death_cause: String, "死因";
        7 => supplement: String, "補足コメント", sensitive;
    }
}

uke_record! {
    /// KK 患者基礎レコード (japan.md §2.4, older spec).
    Kk, count = 14 {
        1 => reserved1: String, "予備";
        2 => admission_class: String, "入院区分(一般)";
        3 => planned_or_emergency: String, "予定・緊急入院区分";
        4 => previous_discharge: Option<UkeDate>, "前回退院年月日";
        5 => previous_same_disease: String, "前回同一疾病入院";
        6 => age: String, "年齢";
        7 => weight: String, "体重";
        8 => jcs: String, "JCS";
        9 => reserved9: String, "予備";
        10 => burn_index: String, "Burn Index";
        11 => severity: String, "重症度等";
        12 => reserved12: String, "予備";
        13 => age_months: String, "月齢";
    }
}

uke_record! {
    /// SK 診療関連レコード (japan.md §2.4, older spec).
    Sk, count = 7 {
        1 => procedure_code: String, "診療行為コード";
        2 => section_no: String, "区分番号";
        3 => performed_on: Option<UkeDate>, "実施年月日";
        4 => reserved4: String, "予備";
        5 => category_code: String, "診療区分コード";
        6 => name: String, "名称";
    }
}

uke_record! {
    /// GA 外泊レコード (japan.md §2.4, older spec).
    Ga, count = 7 {
        1 => care_month: Option<YearMonth>, "診療年月";
        2 => adjustment: String, "請求調整区分";
        3 => stays_out: String, "外泊等";
        4 => dpc_code: String, "DPCコード";
        5 => coefficient: String, "医療機関別係数";
        6 => readmission: String, "再入院見込み";
    }
}

uke_record! {
    /// HH 包括評価レコード (japan.md §2.4, older spec).
    Hh, count = 9 {
        1 => care_month: Option<YearMonth>, "診療年月";
        2 => adjustment: String, "請求調整区分";
        3 => insurance_class: String, "保険区分";
        4 => payer_share: String, "負担区分";
        5 => stay_period_class: String, "入院期間区分";
        6 => points: Option<Num>, "点数";
        7 => days: Option<Num>, "日数";
        8 => bundled_points: Option<Num>, "包括点数";
    }
}

uke_record! {
    /// GT 合計調整レコード (japan.md §2.4, older spec).
    Gt, count = 12 {
        1 => care_month: Option<YearMonth>, "診療年月";
        2 => adjustment: String, "請求調整区分";
        3 => insurance_class: String, "保険区分";
        4 => payer_share: String, "負担区分";
        5 => bundled_points: Option<Num>, "包括点数";
        6 => bundled_eval_points: Option<Num>, "包括評価点数";
        7 => adjustment_points: String, "調整点数";
        8 => bundled_total: Option<Num>, "包括合計点数";
        9 => category: String, "診療識別";
        10 => changed_on: Option<UkeDate>, "変更年月日";
        11 => text: String, "文字データ", sensitive;
    }
}

uke_record! {
    /// CD コーディングデータレコード (japan.md §2.4, older spec).
    Cd, count = 11 {
        1 => performed_on: Option<UkeDate>, "実施年月日";
        2 => category: String, "診療識別";
        3 => sequence: Option<Num>, "順序番号";
        4 => detail_no: Option<Num>, "行為明細番号";
        5 => code: String, "レセ電コード";
        6 => amount: String, "使用量";
        7 => quantity: String, "数量データ";
        8 => unit_code: String, "単位コード";
        9 => count: Option<Num>, "回数";
        10 => device_name: String, "特定器材名称";
    }
}

/// A record kept as its fields: a known type without a layout in japan.md, an unknown type,
/// or a typed record whose fields failed validation (so nothing is dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// All fields, including the identifier at index 0.
    pub fields: Vec<String>,
    pub why: RawWhy,
}

/// Why a record is raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawWhy {
    /// A record type japan.md lists but gives no layout for (or pharmacy, see module docs).
    Untyped,
    /// Not a record type of any UKE kind (reported as a finding).
    Unknown,
    /// A typed record whose field count or field values were invalid (see its findings).
    Invalid,
}

impl RawRecord {
    pub fn code(&self) -> &str {
        self.fields.first().map(String::as_str).unwrap_or("")
    }
}

/// One UKE record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Ir(Ir),
    Re(Re),
    Ho(Ho),
    Ko(Ko),
    Sn(Sn),
    Sy(Sy),
    Si(ServiceDetail),
    Iy(ServiceDetail),
    To(To),
    Co(Co),
    Sj(Sj),
    Go(Go),
    Bu(Bu),
    Sb(Sb),
    Kk(Kk),
    Sk(Sk),
    Ga(Ga),
    Hh(Hh),
    Gt(Gt),
    Cd(Cd),
    Raw(RawRecord),
}

/// Record types listed in japan.md §2.1/§2.4/§2.5 that have no typed layout here.
pub const UNTYPED_KNOWN: &[&str] = &[
    "KH", "JD", "MF", "NI", "TI", "TR", "TS", "UK", "YK", "SH", "CZ", "KI", "TK", "ST", "HI", "HR",
    "RC", "HG", "JY", "EX", "MD", "RT", "JR", "MK", "MN",
];

/// DPC-only record types (japan.md §2.4); their presence makes a file a DPC claim file.
pub const DPC_ONLY: &[&str] = &["BU", "SB", "KK", "SK", "GA", "HH", "GT", "CD"];

/// Pharmacy-only record types (japan.md §2.5).
pub const PHARMACY_ONLY: &[&str] = &["YK", "SH", "CZ", "KI", "TK", "ST"];

/// Field count and table of a typed record type, if it has one.
pub fn layout_of(code: &str) -> Option<(usize, &'static [super::layout::FieldSpec])> {
    Some(match code {
        "IR" => (Ir::FIELD_COUNT, Ir::FIELDS),
        "RE" => (Re::FIELD_COUNT, Re::FIELDS),
        "HO" => (Ho::FIELD_COUNT, Ho::FIELDS),
        "KO" => (Ko::FIELD_COUNT, Ko::FIELDS),
        "SN" => (Sn::FIELD_COUNT, Sn::FIELDS),
        "SY" => (Sy::FIELD_COUNT, Sy::FIELDS),
        "SI" | "IY" => (ServiceDetail::FIELD_COUNT, ServiceDetail::FIELDS),
        "TO" => (To::FIELD_COUNT, To::FIELDS),
        "CO" => (Co::FIELD_COUNT, Co::FIELDS),
        "SJ" => (Sj::FIELD_COUNT, Sj::FIELDS),
        "GO" => (Go::FIELD_COUNT, Go::FIELDS),
        "BU" => (Bu::FIELD_COUNT, Bu::FIELDS),
        "SB" => (Sb::FIELD_COUNT, Sb::FIELDS),
        "KK" => (Kk::FIELD_COUNT, Kk::FIELDS),
        "SK" => (Sk::FIELD_COUNT, Sk::FIELDS),
        "GA" => (Ga::FIELD_COUNT, Ga::FIELDS),
        "HH" => (Hh::FIELD_COUNT, Hh::FIELDS),
        "GT" => (Gt::FIELD_COUNT, Gt::FIELDS),
        "CD" => (Cd::FIELD_COUNT, Cd::FIELDS),
        _ => return None,
    })
}

/// Decodes a record whose field count already matches its layout.
pub(crate) fn decode_typed(
    code: &str,
    fields: &[&str],
) -> Option<Result<Record, Vec<super::layout::FieldError>>> {
    Some(match code {
        "IR" => Ir::decode(fields).map(Record::Ir),
        "RE" => Re::decode(fields).map(Record::Re),
        "HO" => Ho::decode(fields).map(Record::Ho),
        "KO" => Ko::decode(fields).map(Record::Ko),
        "SN" => Sn::decode(fields).map(Record::Sn),
        "SY" => Sy::decode(fields).map(Record::Sy),
        "SI" => ServiceDetail::decode(fields).map(Record::Si),
        "IY" => ServiceDetail::decode(fields).map(Record::Iy),
        "TO" => To::decode(fields).map(Record::To),
        "CO" => Co::decode(fields).map(Record::Co),
        "SJ" => Sj::decode(fields).map(Record::Sj),
        "GO" => Go::decode(fields).map(Record::Go),
        "BU" => Bu::decode(fields).map(Record::Bu),
        "SB" => Sb::decode(fields).map(Record::Sb),
        "KK" => Kk::decode(fields).map(Record::Kk),
        "SK" => Sk::decode(fields).map(Record::Sk),
        "GA" => Ga::decode(fields).map(Record::Ga),
        "HH" => Hh::decode(fields).map(Record::Hh),
        "GT" => Gt::decode(fields).map(Record::Gt),
        "CD" => Cd::decode(fields).map(Record::Cd),
        _ => return None,
    })
}

impl Record {
    /// The two-letter record identifier.
    pub fn code(&self) -> &str {
        match self {
            Record::Ir(_) => "IR",
            Record::Re(_) => "RE",
            Record::Ho(_) => "HO",
            Record::Ko(_) => "KO",
            Record::Sn(_) => "SN",
            Record::Sy(_) => "SY",
            Record::Si(_) => "SI",
            Record::Iy(_) => "IY",
            Record::To(_) => "TO",
            Record::Co(_) => "CO",
            Record::Sj(_) => "SJ",
            Record::Go(_) => "GO",
            Record::Bu(_) => "BU",
            Record::Sb(_) => "SB",
            Record::Kk(_) => "KK",
            Record::Sk(_) => "SK",
            Record::Ga(_) => "GA",
            Record::Hh(_) => "HH",
            Record::Gt(_) => "GT",
            Record::Cd(_) => "CD",
            Record::Raw(r) => r.code(),
        }
    }

    /// All CSV fields, identifier first.
    pub fn to_fields(&self) -> Vec<String> {
        let mut out = vec![self.code().to_owned()];
        match self {
            Record::Ir(r) => r.encode(&mut out),
            Record::Re(r) => r.encode(&mut out),
            Record::Ho(r) => r.encode(&mut out),
            Record::Ko(r) => r.encode(&mut out),
            Record::Sn(r) => r.encode(&mut out),
            Record::Sy(r) => r.encode(&mut out),
            Record::Si(r) | Record::Iy(r) => r.encode(&mut out),
            Record::To(r) => r.encode(&mut out),
            Record::Co(r) => r.encode(&mut out),
            Record::Sj(r) => r.encode(&mut out),
            Record::Go(r) => r.encode(&mut out),
            Record::Bu(r) => r.encode(&mut out),
            Record::Sb(r) => r.encode(&mut out),
            Record::Kk(r) => r.encode(&mut out),
            Record::Sk(r) => r.encode(&mut out),
            Record::Ga(r) => r.encode(&mut out),
            Record::Hh(r) => r.encode(&mut out),
            Record::Gt(r) => r.encode(&mut out),
            Record::Cd(r) => r.encode(&mut out),
            Record::Raw(r) => out = r.fields.clone(),
        }
        out
    }

    /// 負担区分 of a detail line (SI, IY, TO, CO).
    pub fn payer_share(&self) -> Option<&str> {
        match self {
            Record::Si(d) | Record::Iy(d) => Some(&d.payer_share),
            Record::To(t) => Some(&t.payer_share),
            Record::Co(c) => Some(&c.payer_share),
            _ => None,
        }
    }

    /// 点数, 回数 and day counts of a priced detail line (SI, IY, TO).
    pub fn priced(&self) -> Option<(Option<Num>, Option<Num>, &DayCounts)> {
        match self {
            Record::Si(d) | Record::Iy(d) => Some((d.points, d.count, &d.days)),
            Record::To(t) => Some((t.points, t.count, &t.days)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each table must cover columns 1..count exactly once, in order — the encoder relies on it.
    #[test]
    fn layouts_are_contiguous_and_match_their_counts() {
        for code in [
            "IR", "RE", "HO", "KO", "SN", "SY", "SI", "IY", "TO", "CO", "SJ", "GO", "BU", "SB",
            "KK", "SK", "GA", "HH", "GT", "CD",
        ] {
            let (count, fields) = layout_of(code).unwrap();
            let mut next = 1;
            for f in fields {
                assert_eq!(f.index, next, "{code} field {}", f.name);
                next += f.width;
            }
            assert_eq!(next, count, "{code}");
        }
    }

    #[test]
    fn section_10_1_field_counts() {
        let counts: Vec<usize> = ["IR", "RE", "HO", "SY", "SI", "IY", "CO", "GO"]
            .iter()
            .map(|c| layout_of(c).unwrap().0)
            .collect();
        assert_eq!(counts, [10, 38, 15, 8, 44, 44, 5, 4]);
        assert_eq!(layout_of("TO").unwrap().0, 48);
        assert_eq!(layout_of("KO").unwrap().0, 12);
        assert_eq!(layout_of("SN").unwrap().0, 9);
        assert_eq!(layout_of("SJ").unwrap().0, 3);
    }
}
