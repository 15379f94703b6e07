//! The canonical tables, each with its Arrow schema defined here and nowhere else.
//!
//! Source codes are kept exactly as the providers sent them (7-digit disease codes, 9-digit
//! receipt codes, JLAC10, ICD-10 text). Every record carries `provider_id` + `patient_id`
//! (the provider's own chart number): that pair is the identified-zone key of a patient at a
//! provider. It is *not* a person: one person has a different key at every provider, and the
//! same person may even change name or insurance card over time (`formats/japan.md` §1.2).
//! Who is who is decided by linkage, never assumed.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// How a column relates to a person's identity; drives masking and default policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    /// Names, chart numbers, card symbol/number, phone, address: never leaves the identified zone.
    DirectIdentifier,
    /// Keys that identify a record or a patient at a provider (not a person by themselves).
    RecordKey,
    /// Values that narrow down who a person is when combined (birth date, sex, postcode, ...).
    QuasiIdentifier,
    /// Clinical or administrative content (codes, values, dates of care).
    Content,
}

/// One column of a canonical table.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    pub name: &'static str,
    pub data_type: ColumnType,
    pub nullable: bool,
    pub role: ColumnRole,
}

/// The few physical types the canonical model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Utf8,
    Int32,
    Int64,
    Float64,
    Boolean,
    Date32,
    /// Per-day counts of a month (index 0 = day 1), as in the receipt's 算定日情報.
    DayCounts,
}

impl ColumnType {
    pub fn arrow(self) -> DataType {
        match self {
            ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Date32 => DataType::Date32,
            ColumnType::DayCounts => {
                DataType::List(Arc::new(Field::new("item", DataType::Int32, false)))
            }
        }
    }
}

use ColumnRole::{Content as C, DirectIdentifier as D, QuasiIdentifier as Q, RecordKey as K};
use ColumnType::{Boolean, Date32, DayCounts, Float64, Int32, Int64, Utf8};

const fn col(
    name: &'static str,
    data_type: ColumnType,
    nullable: bool,
    role: ColumnRole,
) -> ColumnDef {
    ColumnDef {
        name,
        data_type,
        nullable,
        role,
    }
}

/// The canonical tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CanonicalTable {
    Persons,
    InsurancePeriods,
    Claims,
    Diagnoses,
    Procedures,
    Drugs,
    Devices,
    Admissions,
    LabResults,
    Checkups,
    Deaths,
    ClaimNotes,
    /// One row per person of the linked research database (the registry's `person_id`) with
    /// the person's oldest insurance card the registry has seen — the input of the ID5-style
    /// linkage key (`formats/japan.md` §1.1: ID5 hashes the oldest individual-unit insured
    /// number). Written by the monthly run, never by ingest.
    PersonKeys,
    /// Ground truth of the sample data: which record belongs to which true person.
    /// Lives in its own dataset and is never released.
    Truth,
    /// Ground truth of the sample data: every true person with the events that make their
    /// identity noisy. Lives beside `truth` and is never released.
    Population,
}

const PERSONS: &[ColumnDef] = &[
    col("provider_id", Utf8, false, K),
    col("patient_id", Utf8, false, D),
    col("name_kanji", Utf8, true, D),
    col("name_kana", Utf8, true, D),
    col("sex", Int32, false, Q),
    col("birth_date", Date32, false, Q),
    col("postcode", Utf8, true, Q),
    col("prefecture_code", Utf8, true, Q),
    col("address", Utf8, true, D),
    col("phone", Utf8, true, D),
];

const INSURANCE_PERIODS: &[ColumnDef] = &[
    col("provider_id", Utf8, false, K),
    col("patient_id", Utf8, false, D),
    col("insurer_number", Utf8, false, Q),
    col("insurer_type", Utf8, false, C),
    col("card_symbol", Utf8, true, D),
    col("card_number", Utf8, false, D),
    col("card_branch", Utf8, true, D),
    col("valid_from", Date32, false, C),
    col("valid_to", Date32, true, C),
];

const CLAIMS: &[ColumnDef] = &[
    col("claim_id", Utf8, false, K),
    col("provider_id", Utf8, false, K),
    col("patient_id", Utf8, false, D),
    col("service_month", Utf8, false, C),
    col("claim_kind", Utf8, false, C),
    col("receipt_type", Utf8, false, C),
    col("name_kanji", Utf8, true, D),
    col("name_kana", Utf8, true, D),
    col("sex", Int32, false, Q),
    col("birth_date", Date32, false, Q),
    col("insurer_number", Utf8, false, Q),
    col("card_symbol", Utf8, true, D),
    col("card_number", Utf8, false, D),
    col("card_branch", Utf8, true, D),
    col("admission_date", Date32, true, C),
    col("days", Int32, false, C),
    col("total_points", Int64, false, C),
];

const DIAGNOSES: &[ColumnDef] = &[
    col("claim_id", Utf8, false, K),
    col("provider_id", Utf8, false, K),
    col("patient_id", Utf8, false, D),
    col("disease_code", Utf8, false, C),
    col("icd10", Utf8, true, C),
    col("modifiers", Utf8, true, C),
    col("disease_name", Utf8, true, C),
    col("start_date", Date32, false, C),
    col("outcome", Utf8, false, C),
    col("is_main", Boolean, false, C),
    col("is_suspected", Boolean, false, C),
];

/// Procedures, drugs and devices share the shape of the receipt's SI/IY/TO records.
const ITEMS: &[ColumnDef] = &[
    col("claim_id", Utf8, false, K),
    col("provider_id", Utf8, false, K),
    col("patient_id", Utf8, false, D),
    col("service_month", Utf8, false, C),
    col("category", Utf8, false, C),
    col("code", Utf8, false, C),
    col("quantity", Float64, true, C),
    col("points", Int64, true, C),
    col("count", Int32, false, C),
    col("day_counts", DayCounts, false, C),
    // 負担区分 (別表21): which payers bear the line — medical insurance and/or the receipt's
    // public-expense payers (`formats::uke::PayerShare`). Null where the source has none.
    col("payer_share", Utf8, true, C),
    // The 算定単位 (剤 / 手技) the line belongs to, numbered from 1 within the claim: a unit's
    // 点数 is on its last line only, so the lines sharing a number share those points.
    col("unit_no", Int32, true, C),
    // The source record: SI/IY/TO (receipt detail lines), CD/SK (DPC coding data), EF,
    // RDE^O11/RAS^O17 (SS-MIX2 orders), or the FHIR resource type.
    col("source_record", Utf8, true, C),
];

/// Free text and coded comments of a claim: CO records, the comment pairs of SI/IY/TO lines,
/// SJ (症状詳記). The text is scrubbed by pseudonymization like free-text disease names.
const CLAIM_NOTES: &[ColumnDef] = &[
    col("claim_id", Utf8, false, K),
    col("provider_id", Utf8, false, K),
    col("patient_id", Utf8, false, D),
    col("service_month", Utf8, false, C),
    col("source_record", Utf8, false, C),
    col("category", Utf8, true, C),
    col("code", Utf8, true, C),
    col("text", Utf8, true, C),
];

const ADMISSIONS: &[ColumnDef] = &[
    col("admission_id", Utf8, false, K),
    col("provider_id", Utf8, false, K),
    col("patient_id", Utf8, false, D),
    col("admission_date", Date32, false, C),
    col("discharge_date", Date32, true, C),
    col("dpc_code", Utf8, true, C),
    col("main_icd10", Utf8, true, C),
    col("resource_icd10", Utf8, true, C),
    col("discharge_outcome", Utf8, true, C),
];

const LAB_RESULTS: &[ColumnDef] = &[
    col("provider_id", Utf8, false, K),
    col("patient_id", Utf8, false, D),
    col("jlac10", Utf8, false, C),
    col("analyte", Utf8, false, C),
    col("value", Float64, true, C),
    col("unit", Utf8, true, C),
    col("result_date", Date32, false, C),
];

/// One row per specific health checkup (特定健診), items per `formats/japan.md` §6.3.
const CHECKUPS: &[ColumnDef] = &[
    col("checkup_id", Utf8, false, K),
    col("facility_id", Utf8, false, K),
    col("insurer_number", Utf8, false, Q),
    col("card_symbol", Utf8, true, D),
    col("card_number", Utf8, false, D),
    col("card_branch", Utf8, true, D),
    col("name_kana", Utf8, true, D),
    col("sex", Int32, false, Q),
    col("birth_date", Date32, false, Q),
    col("postcode", Utf8, true, Q),
    col("checkup_date", Date32, false, C),
    col("height_cm", Float64, true, C),
    col("weight_kg", Float64, true, C),
    col("bmi", Float64, true, C),
    col("waist_cm", Float64, true, C),
    col("sbp", Float64, true, C),
    col("dbp", Float64, true, C),
    col("tg", Float64, true, C),
    col("hdl", Float64, true, C),
    col("ldl", Float64, true, C),
    col("ast", Float64, true, C),
    col("alt", Float64, true, C),
    col("ggt", Float64, true, C),
    col("fpg", Float64, true, C),
    col("hba1c", Float64, true, C),
    col("urine_glucose", Utf8, true, C),
    col("urine_protein", Utf8, true, C),
    col("med_bp", Boolean, true, C),
    col("med_glucose", Boolean, true, C),
    col("med_lipid", Boolean, true, C),
    col("smoking", Boolean, true, C),
];

const DEATHS: &[ColumnDef] = &[
    col("provider_id", Utf8, false, K),
    col("patient_id", Utf8, false, D),
    col("death_date", Date32, false, C),
    col("source", Utf8, false, C),
];

/// Empty card columns: the registry saw no card of the person (an SS-MIX2 or FHIR patient
/// only); sex or birth date empty where no record gave a readable one.
const PERSON_KEYS: &[ColumnDef] = &[
    col("person_id", Int64, false, K),
    col("sex", Int32, true, Q),
    col("birth_date", Date32, true, Q),
    col("insurer_number", Utf8, true, Q),
    col("card_symbol", Utf8, true, D),
    col("card_number", Utf8, true, D),
    col("card_branch", Utf8, true, D),
    col("first_month", Utf8, true, C),
];

const TRUTH: &[ColumnDef] = &[
    col("record_kind", Utf8, false, C),
    col("provider_id", Utf8, false, K),
    col("record_id", Utf8, false, D),
    col("person_id", Int64, false, K),
];

const POPULATION: &[ColumnDef] = &[
    col("person_id", Int64, false, K),
    col("sex", Int32, false, Q),
    col("birth_date", Date32, false, Q),
    col("prefecture_code", Utf8, false, Q),
    col("conditions_at_start", Utf8, false, C),
    col("card_changes", Int32, false, C),
    col("surname_changes", Int32, false, C),
    col("twin_of", Int64, true, K),
    col("same_name_as", Int64, true, K),
    col("death_date", Date32, true, C),
];

impl CanonicalTable {
    pub const ALL: [CanonicalTable; 15] = [
        CanonicalTable::Persons,
        CanonicalTable::InsurancePeriods,
        CanonicalTable::Claims,
        CanonicalTable::Diagnoses,
        CanonicalTable::Procedures,
        CanonicalTable::Drugs,
        CanonicalTable::Devices,
        CanonicalTable::Admissions,
        CanonicalTable::LabResults,
        CanonicalTable::Checkups,
        CanonicalTable::Deaths,
        CanonicalTable::ClaimNotes,
        CanonicalTable::PersonKeys,
        CanonicalTable::Truth,
        CanonicalTable::Population,
    ];

    /// The table's name in datasets, SQL and file names.
    pub fn name(self) -> &'static str {
        match self {
            CanonicalTable::Persons => "persons",
            CanonicalTable::InsurancePeriods => "insurance_periods",
            CanonicalTable::Claims => "claims",
            CanonicalTable::Diagnoses => "diagnoses",
            CanonicalTable::Procedures => "procedures",
            CanonicalTable::Drugs => "drugs",
            CanonicalTable::Devices => "devices",
            CanonicalTable::Admissions => "admissions",
            CanonicalTable::LabResults => "lab_results",
            CanonicalTable::Checkups => "checkups",
            CanonicalTable::Deaths => "deaths",
            CanonicalTable::ClaimNotes => "claim_notes",
            CanonicalTable::PersonKeys => "person_keys",
            CanonicalTable::Truth => "truth",
            CanonicalTable::Population => "population",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The column definitions, in schema order.
    pub fn columns(self) -> &'static [ColumnDef] {
        match self {
            CanonicalTable::Persons => PERSONS,
            CanonicalTable::InsurancePeriods => INSURANCE_PERIODS,
            CanonicalTable::Claims => CLAIMS,
            CanonicalTable::Diagnoses => DIAGNOSES,
            CanonicalTable::Procedures | CanonicalTable::Drugs | CanonicalTable::Devices => ITEMS,
            CanonicalTable::Admissions => ADMISSIONS,
            CanonicalTable::LabResults => LAB_RESULTS,
            CanonicalTable::Checkups => CHECKUPS,
            CanonicalTable::Deaths => DEATHS,
            CanonicalTable::ClaimNotes => CLAIM_NOTES,
            CanonicalTable::PersonKeys => PERSON_KEYS,
            CanonicalTable::Truth => TRUTH,
            CanonicalTable::Population => POPULATION,
        }
    }

    /// The Arrow schema.
    pub fn schema(self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns()
            .iter()
            .map(|c| Field::new(c.name, c.data_type.arrow(), c.nullable))
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// Index of a column by name.
    pub fn index_of(self, column: &str) -> Option<usize> {
        self.columns().iter().position(|c| c.name == column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_table_has_unique_columns_and_a_name_that_round_trips() {
        for t in CanonicalTable::ALL {
            let names: HashSet<_> = t.columns().iter().map(|c| c.name).collect();
            assert_eq!(names.len(), t.columns().len(), "{}", t.name());
            assert_eq!(CanonicalTable::from_name(t.name()), Some(t));
            assert_eq!(t.schema().fields().len(), t.columns().len());
        }
    }

    #[test]
    fn names_and_card_numbers_are_direct_identifiers() {
        for t in CanonicalTable::ALL {
            for c in t.columns() {
                if matches!(
                    c.name,
                    "name_kanji"
                        | "name_kana"
                        | "card_number"
                        | "card_symbol"
                        | "patient_id"
                        | "phone"
                        | "address"
                ) {
                    assert_eq!(
                        c.role,
                        ColumnRole::DirectIdentifier,
                        "{}.{}",
                        t.name(),
                        c.name
                    );
                }
            }
        }
    }
}
