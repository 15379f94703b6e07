//! Column buffers for each canonical table (shared by every producer of canonical rows:
//! the sample-data generator and ingest). Rows are appended field by field and flushed as
//! Arrow record batches once a buffer holds [`BATCH_ROWS`] rows, so memory stays bounded
//! whatever the population size.

use std::sync::Arc;

use crate::CanonicalTable;
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Array, Int32Builder,
    Int64Builder, ListArray, StringBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// What the generator needs of every table buffer.
pub trait TableBuf: Default {
    fn table(&self) -> CanonicalTable;
    fn rows(&self) -> usize;
    fn take(&mut self) -> Result<RecordBatch, ArrowError>;
}

/// Rows per flushed batch.
pub const BATCH_ROWS: usize = 64 * 1024;

/// Per-day counts of one month (index 0 = day 1), built without per-element builder calls.
#[derive(Default)]
pub struct DayCountsBuilder {
    values: Vec<i32>,
    offsets: Vec<i32>,
}

impl DayCountsBuilder {
    /// Append a month of `days` days with `count` on day `day` (1-based).
    pub fn append_single(&mut self, days: u32, day: u32, count: i32) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        let start = self.values.len();
        self.values.resize(start + days as usize, 0);
        if day >= 1 && day <= days {
            self.values[start + day as usize - 1] = count;
        }
        self.offsets.push(self.values.len() as i32);
    }

    /// Append an explicit per-day vector.
    pub fn append_days(&mut self, per_day: &[i32]) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.values.extend_from_slice(per_day);
        self.offsets.push(self.values.len() as i32);
    }

    fn finish(&mut self) -> ListArray {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        let values = Int32Array::from(std::mem::take(&mut self.values));
        let offsets = OffsetBuffer::new(std::mem::take(&mut self.offsets).into());
        self.offsets.push(0);
        ListArray::new(
            Arc::new(Field::new("item", DataType::Int32, false)),
            offsets,
            Arc::new(values),
            None,
        )
    }
}

macro_rules! table_buffer {
    ($name:ident, $table:expr, { $($field:ident : $builder:ty),* $(,)? }) => {
        /// Column buffers in schema order (checked by the `schemas_match` test).
        #[derive(Default)]
        pub struct $name {
            $(pub $field: $builder,)*
            pub rows: usize,
        }

        impl $name {
            pub const TABLE: CanonicalTable = $table;

            /// Turn the buffered rows into a batch and reset the buffers.
            pub fn take_batch(&mut self) -> Result<RecordBatch, ArrowError> {
                let columns: Vec<ArrayRef> = vec![$(Arc::new(self.$field.finish()) as ArrayRef,)*];
                self.rows = 0;
                RecordBatch::try_new(Self::TABLE.schema(), columns)
            }

            #[allow(dead_code)]
            pub fn column_names() -> Vec<&'static str> {
                vec![$(stringify!($field),)*]
            }
        }

        impl TableBuf for $name {
            fn table(&self) -> CanonicalTable {
                $table
            }
            fn rows(&self) -> usize {
                self.rows
            }
            fn take(&mut self) -> Result<RecordBatch, ArrowError> {
                self.take_batch()
            }
        }
    };
}

/// The day-count builder wrapped so the table macro can call `finish` on it like on arrow's.
#[derive(Default)]
pub struct Days(pub DayCountsBuilder);

impl Days {
    fn finish(&mut self) -> ListArray {
        self.0.finish()
    }
}

table_buffer!(PersonsBuf, CanonicalTable::Persons, {
    provider_id: StringBuilder,
    patient_id: StringBuilder,
    name_kanji: StringBuilder,
    name_kana: StringBuilder,
    sex: Int32Builder,
    birth_date: Date32Builder,
    postcode: StringBuilder,
    prefecture_code: StringBuilder,
    address: StringBuilder,
    phone: StringBuilder,
});

table_buffer!(InsuranceBuf, CanonicalTable::InsurancePeriods, {
    provider_id: StringBuilder,
    patient_id: StringBuilder,
    insurer_number: StringBuilder,
    insurer_type: StringBuilder,
    card_symbol: StringBuilder,
    card_number: StringBuilder,
    card_branch: StringBuilder,
    valid_from: Date32Builder,
    valid_to: Date32Builder,
});

table_buffer!(ClaimsBuf, CanonicalTable::Claims, {
    claim_id: StringBuilder,
    provider_id: StringBuilder,
    patient_id: StringBuilder,
    service_month: StringBuilder,
    claim_kind: StringBuilder,
    receipt_type: StringBuilder,
    name_kanji: StringBuilder,
    name_kana: StringBuilder,
    sex: Int32Builder,
    birth_date: Date32Builder,
    insurer_number: StringBuilder,
    card_symbol: StringBuilder,
    card_number: StringBuilder,
    card_branch: StringBuilder,
    admission_date: Date32Builder,
    days: Int32Builder,
    total_points: Int64Builder,
});

table_buffer!(DiagnosesBuf, CanonicalTable::Diagnoses, {
    claim_id: StringBuilder,
    provider_id: StringBuilder,
    patient_id: StringBuilder,
    disease_code: StringBuilder,
    icd10: StringBuilder,
    modifiers: StringBuilder,
    disease_name: StringBuilder,
    start_date: Date32Builder,
    outcome: StringBuilder,
    is_main: BooleanBuilder,
    is_suspected: BooleanBuilder,
});

table_buffer!(ItemsBuf, CanonicalTable::Procedures, {
    claim_id: StringBuilder,
    provider_id: StringBuilder,
    patient_id: StringBuilder,
    service_month: StringBuilder,
    category: StringBuilder,
    code: StringBuilder,
    quantity: Float64Builder,
    points: Int64Builder,
    count: Int32Builder,
    day_counts: Days,
    payer_share: StringBuilder,
    unit_no: Int32Builder,
    source_record: StringBuilder,
});

/// One item row that is a count on one day of its month, with no payer share: what every
/// source but the receipt's own SI/IY/TO lines writes (DPC coding data and survey files,
/// SS-MIX2 orders, FHIR resources).
pub struct DatedItem<'a> {
    pub claim_id: &'a str,
    pub provider_id: &'a str,
    pub patient_id: &'a str,
    pub service_month: &'a str,
    pub category: &'a str,
    pub code: &'a str,
    pub quantity: Option<f64>,
    pub points: Option<i64>,
    pub count: i32,
    /// Days in the month, and the day of the count (1-based; 0 when the day is not known).
    pub month_days: u32,
    pub day: u32,
    pub unit_no: Option<i32>,
    pub source_record: &'a str,
}

impl ItemsBuf {
    pub fn push_dated(&mut self, it: &DatedItem<'_>) {
        self.claim_id.append_value(it.claim_id);
        self.provider_id.append_value(it.provider_id);
        self.patient_id.append_value(it.patient_id);
        self.service_month.append_value(it.service_month);
        self.category.append_value(it.category);
        self.code.append_value(it.code);
        self.quantity.append_option(it.quantity);
        self.points.append_option(it.points);
        self.count.append_value(it.count);
        self.day_counts
            .0
            .append_single(it.month_days, it.day, it.count);
        self.payer_share.append_null();
        self.unit_no.append_option(it.unit_no);
        self.source_record.append_value(it.source_record);
        self.rows += 1;
    }
}

table_buffer!(NotesBuf, CanonicalTable::ClaimNotes, {
    claim_id: StringBuilder,
    provider_id: StringBuilder,
    patient_id: StringBuilder,
    service_month: StringBuilder,
    source_record: StringBuilder,
    category: StringBuilder,
    code: StringBuilder,
    text: StringBuilder,
});

table_buffer!(AdmissionsBuf, CanonicalTable::Admissions, {
    admission_id: StringBuilder,
    provider_id: StringBuilder,
    patient_id: StringBuilder,
    admission_date: Date32Builder,
    discharge_date: Date32Builder,
    dpc_code: StringBuilder,
    main_icd10: StringBuilder,
    resource_icd10: StringBuilder,
    discharge_outcome: StringBuilder,
});

table_buffer!(LabsBuf, CanonicalTable::LabResults, {
    provider_id: StringBuilder,
    patient_id: StringBuilder,
    jlac10: StringBuilder,
    analyte: StringBuilder,
    value: Float64Builder,
    unit: StringBuilder,
    result_date: Date32Builder,
});

table_buffer!(CheckupsBuf, CanonicalTable::Checkups, {
    checkup_id: StringBuilder,
    facility_id: StringBuilder,
    insurer_number: StringBuilder,
    card_symbol: StringBuilder,
    card_number: StringBuilder,
    card_branch: StringBuilder,
    name_kana: StringBuilder,
    sex: Int32Builder,
    birth_date: Date32Builder,
    postcode: StringBuilder,
    checkup_date: Date32Builder,
    height_cm: Float64Builder,
    weight_kg: Float64Builder,
    bmi: Float64Builder,
    waist_cm: Float64Builder,
    sbp: Float64Builder,
    dbp: Float64Builder,
    tg: Float64Builder,
    hdl: Float64Builder,
    ldl: Float64Builder,
    ast: Float64Builder,
    alt: Float64Builder,
    ggt: Float64Builder,
    fpg: Float64Builder,
    hba1c: Float64Builder,
    urine_glucose: StringBuilder,
    urine_protein: StringBuilder,
    med_bp: BooleanBuilder,
    med_glucose: BooleanBuilder,
    med_lipid: BooleanBuilder,
    smoking: BooleanBuilder,
});

table_buffer!(DeathsBuf, CanonicalTable::Deaths, {
    provider_id: StringBuilder,
    patient_id: StringBuilder,
    death_date: Date32Builder,
    source: StringBuilder,
});

table_buffer!(TruthBuf, CanonicalTable::Truth, {
    record_kind: StringBuilder,
    provider_id: StringBuilder,
    record_id: StringBuilder,
    person_id: Int64Builder,
});

table_buffer!(PopulationBuf, CanonicalTable::Population, {
    person_id: Int64Builder,
    sex: Int32Builder,
    birth_date: Date32Builder,
    prefecture_code: StringBuilder,
    conditions_at_start: StringBuilder,
    card_changes: Int32Builder,
    surname_changes: Int32Builder,
    twin_of: Int64Builder,
    same_name_as: Int64Builder,
    death_date: Date32Builder,
});

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: CanonicalTable) -> Vec<&'static str> {
        t.columns().iter().map(|c| c.name).collect()
    }

    #[test]
    fn schemas_match() {
        assert_eq!(PersonsBuf::column_names(), names(CanonicalTable::Persons));
        assert_eq!(
            InsuranceBuf::column_names(),
            names(CanonicalTable::InsurancePeriods)
        );
        assert_eq!(ClaimsBuf::column_names(), names(CanonicalTable::Claims));
        assert_eq!(
            DiagnosesBuf::column_names(),
            names(CanonicalTable::Diagnoses)
        );
        assert_eq!(ItemsBuf::column_names(), names(CanonicalTable::Procedures));
        assert_eq!(NotesBuf::column_names(), names(CanonicalTable::ClaimNotes));
        assert_eq!(
            AdmissionsBuf::column_names(),
            names(CanonicalTable::Admissions)
        );
        assert_eq!(LabsBuf::column_names(), names(CanonicalTable::LabResults));
        assert_eq!(CheckupsBuf::column_names(), names(CanonicalTable::Checkups));
        assert_eq!(DeathsBuf::column_names(), names(CanonicalTable::Deaths));
        assert_eq!(TruthBuf::column_names(), names(CanonicalTable::Truth));
        assert_eq!(
            PopulationBuf::column_names(),
            names(CanonicalTable::Population)
        );
        // Empty batches must also be valid against the canonical schema.
        assert!(ItemsBuf::default().take_batch().is_ok());
        assert!(CheckupsBuf::default().take_batch().is_ok());
    }

    #[test]
    fn day_counts_round_trip() {
        let mut b = ItemsBuf::default();
        for f in [
            &mut b.claim_id,
            &mut b.provider_id,
            &mut b.patient_id,
            &mut b.service_month,
            &mut b.category,
            &mut b.code,
        ] {
            f.append_value("x");
        }
        b.quantity.append_null();
        b.points.append_value(75);
        b.count.append_value(2);
        b.day_counts.0.append_single(30, 3, 2);
        b.payer_share.append_value("1");
        b.unit_no.append_value(1);
        b.source_record.append_value("SI");
        let batch = b.take_batch().unwrap();
        let list = batch
            .column(9)
            .as_any()
            .downcast_ref::<ListArray>()
            .unwrap();
        let v = list.value(0);
        let v = v.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(v.len(), 30);
        assert_eq!(v.value(2), 2);
        assert_eq!(v.iter().flatten().sum::<i32>(), 2);
    }
}
