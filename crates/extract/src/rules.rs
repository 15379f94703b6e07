//! Every number and every choice of the NDB release recipes, in one place.
//!
//! Source: `formats/japan.md` §8.3, row サンプリングデータセット (rules 1–4) and row
//! トライアルデータセット; §10.6 for the shape of an NDB-like release. Where japan.md is vague
//! the choice made here is marked **Choice** and documented on the item that implements it;
//! no other module hard-codes a threshold, share, fraction, dummy code or blanked column.

use medinfra_model::CanonicalTable;
use medinfra_model::tables::ColumnRole;
use serde::{Deserialize, Serialize};

/// A rational number `num / den`, so thresholds are compared exactly, without floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratio {
    pub num: u64,
    pub den: u64,
}

impl Ratio {
    pub const fn new(num: u64, den: u64) -> Self {
        Self { num, den }
    }

    /// The value as a float, for reports only (never for decisions).
    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// True when `part / whole <= self`, exactly.
    pub fn admits(self, part: u64, whole: u64) -> bool {
        u128::from(part) * u128::from(self.den) <= u128::from(whole) * u128::from(self.num)
    }
}

/// The receipt categories of §8.3 (医科入院, 医科入院外, DPC, 調剤), as the canonical
/// `claims.claim_kind` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimKind {
    /// 医科入院
    Inpatient,
    /// 医科入院外
    Outpatient,
    /// DPC
    Dpc,
    /// 調剤
    Pharmacy,
}

impl ClaimKind {
    pub const ALL: [ClaimKind; 4] = [
        ClaimKind::Inpatient,
        ClaimKind::Outpatient,
        ClaimKind::Dpc,
        ClaimKind::Pharmacy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClaimKind::Inpatient => "inpatient",
            ClaimKind::Outpatient => "outpatient",
            ClaimKind::Dpc => "dpc",
            ClaimKind::Pharmacy => "pharmacy",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// §8.3 rule 1: a claim whose `total_points` is at or above this is dropped
    /// (医科入院 ≥ 700,000 points; 入院外 and 調剤 ≥ 50,000 points).
    /// **Choice:** DPC claims are inpatient claims, so they take the inpatient threshold.
    pub fn high_cost_threshold(self) -> i64 {
        match self {
            ClaimKind::Inpatient | ClaimKind::Dpc => 700_000,
            ClaimKind::Outpatient | ClaimKind::Pharmacy => 50_000,
        }
    }

    /// §8.3 rule 2: rare codes are replaced, rarest first, while the replaced occurrences stay
    /// within this share of all occurrences: 0.1 % for DPC and 調剤, 0.01 % for 医科入院/入院外.
    pub fn rare_share(self) -> Ratio {
        match self {
            ClaimKind::Dpc | ClaimKind::Pharmacy => Ratio::new(1, 1_000),
            ClaimKind::Inpatient | ClaimKind::Outpatient => Ratio::new(1, 10_000),
        }
    }

    /// §8.3 rule 3: the stratified sample keeps 10 % of 医科入院 and DPC claims and 1 % of
    /// 医科入院外 and 調剤 claims.
    pub fn sample_fraction(self) -> Ratio {
        match self {
            ClaimKind::Inpatient | ClaimKind::Dpc => Ratio::new(10, 100),
            ClaimKind::Outpatient | ClaimKind::Pharmacy => Ratio::new(1, 100),
        }
    }
}

/// §8.3: one month per quarter. japan.md names January, April, July and October.
/// **Choice:** configurable per quarter (month `i` must lie in quarter `i`); every year present
/// in the input contributes its four months.
pub const DEFAULT_QUARTER_MONTHS: [u32; 4] = [1, 4, 7, 10];

/// §8.3 トライアルデータセット: records holding a code with frequency below this are deleted.
/// **Choice:** frequency = rows of that code in the released (sampled, replaced) rows of the
/// same table and claim kind (the NDB delivers one file per receipt category); a record is the
/// row holding the code (the claim and its other rows stay).
pub const TRIAL_MIN_FREQUENCY: u64 = 10;

/// **Choice** (§8.3 rule 3 says "keeping sex-age ratios" without naming bands): 5-year bands,
/// the last one open (100+), age in completed years on the last day of the service month.
pub const AGE_BAND_YEARS: u32 = 5;
/// Lower bound of the open top band.
pub const AGE_BAND_TOP: u32 = 100;

/// Lower bound of the age band of `age`.
pub fn age_band(age: u32) -> u32 {
    (age / AGE_BAND_YEARS * AGE_BAND_YEARS).min(AGE_BAND_TOP)
}

/// `"40-44"`, ..., `"100+"`.
pub fn age_band_label(lower: u32) -> String {
    if lower >= AGE_BAND_TOP {
        format!("{AGE_BAND_TOP}+")
    } else {
        format!("{lower}-{}", lower + AGE_BAND_YEARS - 1)
    }
}

/// A coded column the code rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodedColumn {
    /// `diagnoses.disease_code` (7-digit 傷病名コード).
    Disease,
    /// `procedures.code` (9-digit 診療行為コード).
    Procedure,
    /// `drugs.code` (9-digit 医薬品コード).
    Drug,
    /// `devices.code` (9-digit 特定器材コード).
    Device,
    /// `admissions.dpc_code` (14-character DPC group).
    DpcGroup,
}

impl CodedColumn {
    pub const ALL: [CodedColumn; 5] = [
        CodedColumn::Disease,
        CodedColumn::Procedure,
        CodedColumn::Drug,
        CodedColumn::Device,
        CodedColumn::DpcGroup,
    ];

    pub fn table(self) -> CanonicalTable {
        match self {
            CodedColumn::Disease => CanonicalTable::Diagnoses,
            CodedColumn::Procedure => CanonicalTable::Procedures,
            CodedColumn::Drug => CanonicalTable::Drugs,
            CodedColumn::Device => CanonicalTable::Devices,
            CodedColumn::DpcGroup => CanonicalTable::Admissions,
        }
    }

    pub fn of_table(table: CanonicalTable) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.table() == table)
    }

    pub fn column(self) -> &'static str {
        match self {
            CodedColumn::Disease => "disease_code",
            CodedColumn::Procedure | CodedColumn::Drug | CodedColumn::Device => "code",
            CodedColumn::DpcGroup => "dpc_code",
        }
    }

    /// §8.3 rule 2 names disease, drug and procedure codes and DPC groups.
    /// **Choice:** device (特定器材) codes are not named there, so they are not replaced; the
    /// trial rule (any code) still applies to them.
    pub fn replaced_when_rare(self) -> bool {
        !matches!(self, CodedColumn::Device)
    }

    /// The dummy code of §8.3 rule 2 (japan.md gives `9999999`), in each code system's length.
    pub fn dummy_code(self) -> &'static str {
        match self {
            CodedColumn::Disease => "9999999",
            CodedColumn::Procedure | CodedColumn::Drug | CodedColumn::Device => "999999999",
            CodedColumn::DpcGroup => "99999999999999",
        }
    }

    /// Columns nulled on a row whose code was replaced: its points (§8.3 rule 2 "points
    /// blanked"), and **(choice)** the ICD-10 of a replaced disease, which would name it again.
    pub fn blanked_when_replaced(self) -> &'static [&'static str] {
        match self {
            CodedColumn::Disease => &["icd10"],
            CodedColumn::Procedure | CodedColumn::Drug | CodedColumn::Device => &["points"],
            CodedColumn::DpcGroup => &[],
        }
    }

    /// **Choice:** the claim kinds whose rows are counted together. Diagnoses and items take
    /// their claim's kind (one count per receipt category, as the NDB delivers one file per
    /// category); a DPC group only exists on DPC stays, so admissions count as DPC.
    pub fn kind_of_row(self, claim_kind: ClaimKind) -> ClaimKind {
        match self {
            CodedColumn::DpcGroup => ClaimKind::Dpc,
            _ => claim_kind,
        }
    }
}

/// The tables a release contains. The others (insurance periods, labs, checkups, deaths and the
/// sample data's ground truth) are not claims tables of §8.3 and are never written.
pub const RELEASED_TABLES: [CanonicalTable; 7] = [
    CanonicalTable::Claims,
    CanonicalTable::Diagnoses,
    CanonicalTable::Procedures,
    CanonicalTable::Drugs,
    CanonicalTable::Devices,
    CanonicalTable::Admissions,
    CanonicalTable::Persons,
];

/// What happens to a column in a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnTreatment {
    Keep,
    /// Kept as a column of nulls, so the release's layout stays recognisable.
    Blank,
    /// Removed from the release.
    Drop,
}

/// Columns blanked in every release (§8.3 rule 4 and §10.6), with why.
pub const BLANKED_COLUMNS: &[(&str, &str)] = &[
    ("address", "§8.3 rule 4: patient address"),
    (
        "postcode",
        "§8.3 rule 4: patient address (a postcode is part of it)",
    ),
    ("prefecture_code", "§8.3 rule 4: prefecture"),
    ("insurer_number", "§8.3 rule 4: insurer"),
    (
        "provider_id",
        "choice: a 医療機関コード starts with the prefecture code (§8.3 rule 4 blanks prefecture)",
    ),
    (
        "birth_date",
        "choice: §10.6 releases age band and sex, not the birth date (claims gain age_band)",
    ),
    ("disease_name", "§10.6: no free text"),
];

/// How `column` of `table` is treated. Direct identifiers (names, card symbol/number/branch,
/// phone, chart number) are dropped; §8.3 rule 4's fields are blanked; the rest is kept.
/// `patient_id` is the provider's chart number in an identified dataset and is dropped there;
/// in a pseudonymized dataset it already holds a keyed pseudonym (the NDB's ID1/ID2 role,
/// §10.6) and is kept so a person's claims of the month stay linkable.
pub fn column_treatment(
    table: CanonicalTable,
    column: &str,
    patient_id_is_pseudonym: bool,
) -> ColumnTreatment {
    if column == "patient_id" && patient_id_is_pseudonym {
        return ColumnTreatment::Keep;
    }
    if BLANKED_COLUMNS.iter().any(|(c, _)| *c == column) {
        return ColumnTreatment::Blank;
    }
    let role = table
        .columns()
        .iter()
        .find(|c| c.name == column)
        .map(|c| c.role);
    match role {
        Some(ColumnRole::DirectIdentifier) => ColumnTreatment::Drop,
        _ => ColumnTreatment::Keep,
    }
}

/// The column `claims` gains in a release (§10.6: rows carry an age band).
pub const AGE_BAND_COLUMN: &str = "age_band";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_compare_exactly() {
        let r = Ratio::new(1, 1_000);
        assert!(r.admits(1, 1_000));
        assert!(!r.admits(2, 1_999));
        assert!(r.admits(0, 0));
    }

    #[test]
    fn age_bands() {
        assert_eq!(age_band(0), 0);
        assert_eq!(age_band(44), 40);
        assert_eq!(age_band(45), 45);
        assert_eq!(age_band(107), 100);
        assert_eq!(age_band_label(40), "40-44");
        assert_eq!(age_band_label(100), "100+");
    }

    #[test]
    fn identity_columns_are_dropped_or_blanked() {
        use ColumnTreatment::*;
        let t = CanonicalTable::Claims;
        assert_eq!(column_treatment(t, "name_kanji", false), Drop);
        assert_eq!(column_treatment(t, "card_number", true), Drop);
        assert_eq!(column_treatment(t, "patient_id", false), Drop);
        assert_eq!(column_treatment(t, "patient_id", true), Keep);
        assert_eq!(column_treatment(t, "insurer_number", true), Blank);
        assert_eq!(column_treatment(t, "total_points", true), Keep);
        let p = CanonicalTable::Persons;
        assert_eq!(column_treatment(p, "address", true), Blank);
        assert_eq!(column_treatment(p, "phone", true), Drop);
        assert_eq!(column_treatment(p, "prefecture_code", true), Blank);
    }
}
