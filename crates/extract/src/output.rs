//! Last pass: every released table is read once more, its rows filtered by their claim's fate,
//! codes replaced, and columns dropped or blanked (§8.3 rule 4), batch by batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringBuilder, new_null_array};
use arrow::compute::{filter_record_batch, nullif};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use medinfra_model::CanonicalTable;

use crate::codes::{CodeRules, row_link};
use crate::dates::{age_at_end_of_month, parse_service_month};
use crate::decide::{Decisions, Fate};
use crate::error::ExtractError;
use crate::io::{Cols, TableSink, TableSource, for_each_batch};
use crate::report::RowCounts;
use crate::rules::{
    AGE_BAND_COLUMN, CodedColumn, ColumnTreatment, RELEASED_TABLES, age_band, age_band_label,
    column_treatment,
};

/// Key columns that hold a different value in every release: each is replaced by
/// `HMAC-SHA-256(k, column ‖ value)` (32 hex digits) under a key `k` drawn for this release
/// from the OS and never stored. Joins inside the release still work (the same claim has the
/// same `claim_id` in claims and diagnoses), but no value links the release to the dataset it
/// came from or to another release — the NDB's rule for ID5 ("値は提供の都度、毎回変える",
/// `formats/japan.md` §1.1), which stored tokens (the same in every tier and project) broke.
pub const RELEASE_LOCAL_KEYS: &[&str] = &["patient_id", "claim_id", "admission_id"];

/// The release's throw-away key.
pub(crate) struct ReleaseKeys(medinfra_pseudo::token::Tokenizer);

impl ReleaseKeys {
    /// A fresh key from the OS's random source.
    pub(crate) fn fresh() -> Result<Self, ExtractError> {
        use rand::{RngCore, SeedableRng};
        let mut bytes = [0u8; 32];
        rand_chacha::ChaCha20Rng::from_os_rng().fill_bytes(&mut bytes);
        Self::from_bytes(bytes)
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Result<Self, ExtractError> {
        use medinfra_pseudo::keys::{Key, KeyMaterial};
        let key = Key::in_memory("release-local", "release", KeyMaterial::from_bytes(bytes));
        medinfra_pseudo::token::Tokenizer::new(&key)
            .map(ReleaseKeys)
            .map_err(|e| ExtractError::Config(format!("release key: {e}")))
    }

    fn token(&self, column: &str, value: &str) -> String {
        let mut hex = [0u8; 64];
        self.0
            .hex_into(column.as_bytes(), &[value.as_bytes()], &mut hex);
        String::from_utf8_lossy(&hex[..32]).into_owned()
    }

    /// `array` (strings) with every value replaced by its release-local token.
    fn rekey(&self, column: &str, array: &ArrayRef) -> Option<ArrayRef> {
        let strings = array.as_string_opt::<i32>()?;
        let mut b = StringBuilder::with_capacity(strings.len(), strings.len() * 32);
        let mut hex = [0u8; 64];
        for v in strings.iter() {
            match v {
                Some(v) => {
                    self.0
                        .hex_into(column.as_bytes(), &[v.as_bytes()], &mut hex);
                    b.append_value(std::str::from_utf8(&hex[..32]).unwrap_or_default());
                }
                None => b.append_null(),
            }
        }
        Some(Arc::new(b.finish()))
    }
}

/// The token `value` of key column `column` gets in a release made with `key` (for tests that
/// fix the key; a real release's key is never known).
pub fn release_local_token(key: [u8; 32], column: &str, value: &str) -> String {
    ReleaseKeys::from_bytes(key)
        .map(|k| k.token(column, value))
        .unwrap_or_default()
}

/// The Arrow schema of `table` in a release: canonical columns minus the dropped ones, blanked
/// columns nullable, and `claims` with an `age_band` column at the end.
pub fn release_schema(table: CanonicalTable, patient_id_kept: bool) -> SchemaRef {
    let mut fields: Vec<Field> = Vec::new();
    for c in table.columns() {
        match column_treatment(table, c.name, patient_id_kept) {
            ColumnTreatment::Keep => {
                fields.push(Field::new(c.name, c.data_type.arrow(), c.nullable))
            }
            ColumnTreatment::Blank => fields.push(Field::new(c.name, c.data_type.arrow(), true)),
            ColumnTreatment::Drop => {}
        }
    }
    if table == CanonicalTable::Claims {
        fields.push(Field::new(AGE_BAND_COLUMN, DataType::Utf8, true));
    }
    Arc::new(Schema::new(fields))
}

/// Where one row goes.
enum RowOutcome {
    Dropped(Fate),
    Orphan,
    TrialRemoved,
    Released,
}

fn tally(rc: &mut RowCounts, outcome: &RowOutcome) {
    rc.input += 1;
    match outcome {
        RowOutcome::Dropped(Fate::OutsideMonths) => rc.outside_months += 1,
        RowOutcome::Dropped(Fate::HighCost) => rc.high_cost += 1,
        RowOutcome::Dropped(_) => rc.not_sampled += 1,
        RowOutcome::Orphan => rc.orphan += 1,
        RowOutcome::TrialRemoved => rc.trial_rare_code += 1,
        RowOutcome::Released => rc.output += 1,
    }
}

/// Writes every released table to `sink`; returns where the rows of each went.
pub fn write_release(
    source: &dyn TableSource,
    decisions: &Decisions,
    rules: &mut CodeRules,
    patient_id_kept: bool,
    keys: &ReleaseKeys,
    sink: &mut dyn TableSink,
) -> Result<BTreeMap<String, RowCounts>, ExtractError> {
    let mut rows = BTreeMap::new();
    for table in RELEASED_TABLES {
        let schema = release_schema(table, patient_id_kept);
        let mut rc = RowCounts::default();
        for_each_batch(source, table, |batch_no, batch| {
            let c = Cols::new(table, batch_no, batch);
            let out = release_batch(&c, decisions, rules, &schema, keys, &mut rc)?;
            if out.num_rows() > 0 {
                sink.write(table, out)?;
            }
            Ok(())
        })?;
        rows.insert(table.name().to_string(), rc);
    }
    Ok(rows)
}

/// One input batch → its released rows.
fn release_batch(
    c: &Cols<'_>,
    decisions: &Decisions,
    rules: &mut CodeRules,
    schema: &SchemaRef,
    keys: &ReleaseKeys,
    rc: &mut RowCounts,
) -> Result<RecordBatch, ExtractError> {
    let table = c.table;
    let n = c.batch.num_rows();
    let coded = CodedColumn::of_table(table);
    let mut keep = Vec::with_capacity(n);
    // Replaced columns of a coded table: the released codes and which rows were replaced.
    let mut codes_out = coded.map(|_| StringBuilder::with_capacity(n, n * 9));
    let mut replaced = Vec::with_capacity(if coded.is_some() { n } else { 0 });
    let mut bands =
        (table == CanonicalTable::Claims).then(|| StringBuilder::with_capacity(n, n * 5));

    for row in 0..n {
        let outcome = match (table, coded) {
            (CanonicalTable::Claims, _) => {
                let ids = c.utf8("claim_id")?;
                let id = c.str_at(ids, row, "claim_id")?;
                let fate = decisions.claims.get(id).map(|cf| cf.fate);
                let outcome = outcome_of(fate);
                if let Some(b) = bands.as_mut() {
                    if matches!(outcome, RowOutcome::Released) {
                        b.append_value(claim_age_band(c, row)?);
                    } else {
                        b.append_null();
                    }
                }
                outcome
            }
            (CanonicalTable::Persons, _) => outcome_of(decisions.person_fate(c, row)?),
            (_, Some(col)) => {
                let link = row_link(decisions, col, c, row)?;
                let codes = c.utf8(col.column())?;
                let kind = link.map(|l| l.1);
                let (code, was_replaced) = match (kind, codes.is_valid(row)) {
                    (Some(kind), true) => {
                        let (code, r) = rules.released(col, kind, codes.value(row));
                        (Some(code), r)
                    }
                    // Rows of dropped or orphan claims are filtered out below; their code is
                    // carried unchanged only so the unfiltered batch is valid.
                    (None, true) => (Some(codes.value(row)), false),
                    (_, false) => (None, false),
                };
                if let Some(b) = codes_out.as_mut() {
                    b.append_option(code);
                }
                replaced.push(was_replaced);
                match (link, code, kind) {
                    (Some((Fate::Kept, _)), Some(code), Some(kind))
                        if rules.trial_removes(col, kind, code) =>
                    {
                        rules.count_trial_row(col, kind);
                        RowOutcome::TrialRemoved
                    }
                    (link, _, _) => outcome_of(link.map(|l| l.0)),
                }
            }
            _ => RowOutcome::Orphan,
        };
        keep.push(matches!(outcome, RowOutcome::Released));
        tally(rc, &outcome);
    }

    let build = |source| ExtractError::Build {
        table: table.name(),
        source,
    };
    let replaced_mask = BooleanArray::from(replaced);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let name = field.name().as_str();
        if name == AGE_BAND_COLUMN && table == CanonicalTable::Claims {
            let Some(b) = bands.as_mut() else { continue };
            columns.push(Arc::new(b.finish()));
            continue;
        }
        if column_treatment(table, name, true) == ColumnTreatment::Blank {
            columns.push(new_null_array(field.data_type(), n));
            continue;
        }
        let input = c
            .batch
            .column_by_name(name)
            .ok_or_else(|| ExtractError::Column {
                table: table.name(),
                batch: c.batch_no,
                column: canonical_name(table, name),
                reason: "missing".into(),
            })?;
        let col = match coded {
            Some(col) if name == col.column() => match codes_out.as_mut() {
                Some(b) => Arc::new(b.finish()) as ArrayRef,
                None => input.clone(),
            },
            Some(col) if col.blanked_when_replaced().contains(&name) => {
                nullif(input.as_ref(), &replaced_mask).map_err(build)?
            }
            _ if RELEASE_LOCAL_KEYS.contains(&name) => {
                keys.rekey(name, input)
                    .ok_or_else(|| ExtractError::Column {
                        table: table.name(),
                        batch: c.batch_no,
                        column: canonical_name(table, name),
                        reason: "a key column is not a string column".into(),
                    })?
            }
            _ => input.clone(),
        };
        columns.push(col);
    }
    let full = RecordBatch::try_new(schema.clone(), columns).map_err(build)?;
    filter_record_batch(&full, &BooleanArray::from(keep)).map_err(build)
}

fn outcome_of(fate: Option<Fate>) -> RowOutcome {
    match fate {
        None => RowOutcome::Orphan,
        Some(Fate::Kept) => RowOutcome::Released,
        Some(f) => RowOutcome::Dropped(f),
    }
}

/// The age band label of a released claim (sex-age stratum of rule 3, §10.6 row prefix).
fn claim_age_band(c: &Cols<'_>, row: usize) -> Result<String, ExtractError> {
    let months = c.utf8("service_month")?;
    let births = c.date32("birth_date")?;
    let (y, m) = parse_service_month(c.str_at(months, row, "service_month")?)
        .ok_or_else(|| c.bad(row, "service_month", "not a YYYYMM month"))?;
    if births.is_null(row) {
        return Err(c.bad(row, "birth_date", "null in a required field"));
    }
    let age = age_at_end_of_month(births.value(row), y, m)
        .ok_or_else(|| c.bad(row, "birth_date", "after the service month"))?;
    Ok(age_band_label(age_band(age)))
}

/// The `'static` canonical spelling of a column name (for error messages).
fn canonical_name(table: CanonicalTable, name: &str) -> &'static str {
    table
        .columns()
        .iter()
        .find(|c| c.name == name)
        .map_or("?", |c| c.name)
}
