//! Applies a [`TablePlan`] to record batches: one output array per step.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Date32Builder, RecordBatch, StringArray, StringBuilder,
};
use arrow::datatypes::{Date32Type, Int32Type, Int64Type};
use medinfra_pseudo::keys::Key;
use medinfra_pseudo::ndb::{self, Id1Input, Id2Input, Id5Input, NdbHashConfig};
use medinfra_pseudo::normalize::{normalize_card, normalize_name};
use medinfra_pseudo::scrub::{PersonIdentifiers, scrub};
use medinfra_pseudo::token::Tokenizer;
use serde::Serialize;

use crate::error::PseudonymizeError;
use crate::plan::{Step, TablePlan};
use crate::policy::{DatePart, DerivedKind, NamedHierarchy, Normalization};

/// The keys a run uses.
pub struct RunKeys<'a> {
    pub key: &'a Key,
    pub main: Tokenizer,
    pub project: Option<Tokenizer>,
    pub ndb: NdbHashConfig,
}

/// Identified-zone identifiers per person key (for scrubbing free text).
pub type PersonIndex = HashMap<Vec<u8>, PersonIdentifiers>;

/// Counts per table for the report. Reasons, never values.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableStats {
    pub rows: u64,
    /// Output column → reason → rows left null.
    pub nulls: BTreeMap<String, BTreeMap<String, u64>>,
    /// Identifiers removed from free text, by kind.
    pub scrubbed: BTreeMap<String, u64>,
}

impl TableStats {
    pub fn merge(&mut self, other: TableStats) {
        self.rows += other.rows;
        for (col, reasons) in other.nulls {
            let entry = self.nulls.entry(col).or_default();
            for (r, n) in reasons {
                *entry.entry(r).or_default() += n;
            }
        }
        for (k, n) in other.scrubbed {
            *self.scrubbed.entry(k).or_default() += n;
        }
    }

    fn null(&mut self, column: &str, reason: &str) {
        *self
            .nulls
            .entry(column.to_string())
            .or_default()
            .entry(reason.to_string())
            .or_default() += 1;
    }
}

/// Applies one plan to the batches of one part file.
pub struct Applier<'a> {
    plan: &'a TablePlan,
    keys: &'a RunKeys<'a>,
    persons: Option<&'a PersonIndex>,
    /// Raw ID inputs → computed ID (rows of one patient repeat every month).
    id_cache: HashMap<(usize, Vec<u8>), Result<String, String>>,
    icd_cache: HashMap<String, Option<String>>,
    regions: HashMap<String, String>,
    /// token → original (normalized parts joined by 0x1F), for `keep_map` columns.
    pub reverse_map: HashMap<String, String>,
    pub stats: TableStats,
}

const ID_CACHE_LIMIT: usize = 1 << 18;

impl<'a> Applier<'a> {
    pub fn new(
        plan: &'a TablePlan,
        keys: &'a RunKeys<'a>,
        persons: Option<&'a PersonIndex>,
    ) -> Result<Self, PseudonymizeError> {
        let mut regions = HashMap::new();
        if plan.steps.iter().any(|s| {
            matches!(
                s,
                Step::Generalize {
                    hierarchy: NamedHierarchy::PrefectureRegion,
                    ..
                }
            )
        }) {
            let h =
                medinfra_anon::Hierarchy::prefectures().map_err(|e| PseudonymizeError::Table {
                    table: plan.table.clone(),
                    reason: e.to_string(),
                })?;
            for row in h.to_rows() {
                if let [code, region, ..] = row.as_slice() {
                    regions.insert(code.clone(), region.clone());
                }
            }
        }
        Ok(Self {
            plan,
            keys,
            persons,
            id_cache: HashMap::new(),
            icd_cache: HashMap::new(),
            regions,
            reverse_map: HashMap::new(),
            stats: TableStats::default(),
        })
    }

    pub fn apply(&mut self, batch: &RecordBatch) -> Result<RecordBatch, PseudonymizeError> {
        let rows = batch.num_rows();
        self.stats.rows += rows as u64;
        let texts = TextColumns::new(batch);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.plan.steps.len());
        let plan = self.plan;
        for (i, step) in plan.steps.iter().enumerate() {
            let out_name = plan.output_schema.field(i).name().clone();
            let array: ArrayRef = match step {
                Step::Keep { input } => batch.column(*input).clone(),
                Step::Token {
                    input,
                    with,
                    domain,
                    normalize,
                    project,
                    keep_map,
                } => {
                    let tokenizer = if *project {
                        self.keys.project.as_ref().ok_or_else(|| {
                            PseudonymizeError::column(
                                &plan.table,
                                &out_name,
                                "project_token needs a recipient project (--project)",
                            )
                        })?
                    } else {
                        &self.keys.main
                    };
                    let mut b = StringBuilder::with_capacity(rows, rows * 64);
                    let mut buf = [0u8; 64];
                    let mut parts: Vec<std::borrow::Cow<'_, [u8]>> =
                        Vec::with_capacity(with.len() + 1);
                    for r in 0..rows {
                        if batch.column(*input).is_null(r) {
                            b.append_null();
                            continue;
                        }
                        parts.clear();
                        let mut bad = false;
                        for &c in with.iter().chain(std::iter::once(input)) {
                            match texts.get(batch, c, r, *normalize) {
                                Ok(p) => parts.push(p),
                                Err(reason) => {
                                    self.stats.null(&out_name, reason);
                                    bad = true;
                                    break;
                                }
                            }
                        }
                        if bad {
                            b.append_null();
                            continue;
                        }
                        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_ref()).collect();
                        tokenizer.hex_into(domain, &refs, &mut buf);
                        let token = std::str::from_utf8(&buf).unwrap_or_default();
                        if *keep_map && !self.reverse_map.contains_key(token) {
                            let original = refs
                                .iter()
                                .map(|p| String::from_utf8_lossy(p))
                                .collect::<Vec<_>>()
                                .join("\u{1f}");
                            self.reverse_map.insert(token.to_string(), original);
                        }
                        b.append_value(token);
                    }
                    Arc::new(b.finish())
                }
                Step::DateShift { input, days } => {
                    let dates = batch.column(*input).as_primitive::<Date32Type>();
                    let span = 2 * u64::from(*days) + 1;
                    let mut b = Date32Builder::with_capacity(rows);
                    for r in 0..rows {
                        if dates.is_null(r) {
                            b.append_null();
                            continue;
                        }
                        let key = person_key(batch, &plan.person, r);
                        let digest = self.keys.main.digest(b"date-shift", &[&key]);
                        let mut first = [0u8; 8];
                        first.copy_from_slice(&digest[..8]);
                        let shift = (u64::from_le_bytes(first) % span) as i64 - i64::from(*days);
                        b.append_value(dates.value(r) + shift as i32);
                    }
                    Arc::new(b.finish())
                }
                Step::TruncateDate { input, to } => {
                    let dates = batch.column(*input).as_primitive::<Date32Type>();
                    let out: Date32Array = dates.unary_opt(|d| truncate(d, *to));
                    Arc::new(out)
                }
                Step::Generalize {
                    input,
                    hierarchy,
                    level,
                } => {
                    let values = batch.column(*input).as_string::<i32>();
                    let mut b = StringBuilder::with_capacity(rows, rows * 8);
                    for r in 0..rows {
                        if values.is_null(r) {
                            b.append_null();
                            continue;
                        }
                        match self.generalize(values.value(r), *hierarchy, *level) {
                            Some(v) => b.append_value(v),
                            None => {
                                self.stats.null(&out_name, "value not in the hierarchy");
                                b.append_null();
                            }
                        }
                    }
                    Arc::new(b.finish())
                }
                Step::Scrub { input } => {
                    let values = batch.column(*input).as_string::<i32>();
                    let empty = PersonIdentifiers::default();
                    let mut b = StringBuilder::with_capacity(rows, values.value_data().len());
                    for r in 0..rows {
                        if values.is_null(r) {
                            b.append_null();
                            continue;
                        }
                        let person = match self.persons {
                            Some(index) if !plan.person.is_empty() => {
                                let key = person_key(batch, &plan.person, r);
                                index.get(&key).unwrap_or(&empty)
                            }
                            _ => &empty,
                        };
                        let out = scrub(values.value(r), person);
                        for f in &out.findings {
                            *self
                                .stats
                                .scrubbed
                                .entry(f.kind.tag().to_string())
                                .or_default() += 1;
                        }
                        b.append_value(out.text);
                    }
                    Arc::new(b.finish())
                }
                Step::Derived {
                    kind,
                    fields,
                    birth_date,
                    sex,
                } => {
                    let births = batch.column(*birth_date).as_primitive::<Date32Type>();
                    let sexes = batch.column(*sex).as_primitive::<Int32Type>();
                    let strings: Vec<&StringArray> = fields
                        .iter()
                        .map(|&f| batch.column(f).as_string())
                        .collect();
                    let mut b = StringBuilder::with_capacity(rows, rows * 64);
                    for r in 0..rows {
                        let field_values: Vec<&str> = strings
                            .iter()
                            .map(|a| if a.is_null(r) { "" } else { a.value(r) })
                            .collect();
                        let birth = if births.is_null(r) {
                            String::new()
                        } else {
                            yyyymmdd(births.value(r))
                        };
                        let sex = if sexes.is_null(r) {
                            String::new()
                        } else {
                            sexes.value(r).to_string()
                        };
                        let mut cache_key = Vec::with_capacity(64);
                        for v in field_values.iter().chain([&birth.as_str(), &sex.as_str()]) {
                            cache_key.extend_from_slice(v.as_bytes());
                            cache_key.push(0x1f);
                        }
                        let key = (i, cache_key);
                        let value = match self.id_cache.get(&key) {
                            Some(v) => v.clone(),
                            None => {
                                let v = self.linkage_id(*kind, &field_values, &birth, &sex);
                                if self.id_cache.len() >= ID_CACHE_LIMIT {
                                    self.id_cache.clear();
                                }
                                self.id_cache.insert(key, v.clone());
                                v
                            }
                        };
                        match value {
                            Ok(v) => b.append_value(v),
                            Err(reason) => {
                                self.stats.null(&out_name, &reason);
                                b.append_null();
                            }
                        }
                    }
                    Arc::new(b.finish())
                }
            };
            columns.push(array);
        }
        Ok(RecordBatch::try_new(plan.output_schema.clone(), columns)?)
    }

    fn linkage_id(
        &self,
        kind: DerivedKind,
        fields: &[&str],
        birth: &str,
        sex: &str,
    ) -> Result<String, String> {
        let cfg = &self.keys.ndb;
        let key = self.keys.key;
        let id = match kind {
            DerivedKind::Id1 | DerivedKind::Id1Keyed => {
                let input = Id1Input {
                    insurer_number: fields.first().copied().unwrap_or(""),
                    card_symbol: fields.get(1).copied().unwrap_or(""),
                    card_number: fields.get(2).copied().unwrap_or(""),
                    birth_date: birth,
                    sex,
                };
                if kind == DerivedKind::Id1 {
                    ndb::id1(&input, cfg)
                } else {
                    ndb::id1_keyed(&input, cfg, key)
                }
            }
            DerivedKind::Id5Keyed => {
                let input = Id5Input {
                    card: Id1Input {
                        insurer_number: fields.first().copied().unwrap_or(""),
                        card_symbol: fields.get(1).copied().unwrap_or(""),
                        card_number: fields.get(2).copied().unwrap_or(""),
                        birth_date: birth,
                        sex,
                    },
                    card_branch: fields.get(3).copied().unwrap_or(""),
                };
                ndb::id5_keyed(&input, cfg, key)
            }
            DerivedKind::Id2 | DerivedKind::Id2Keyed => {
                let input = Id2Input {
                    name: fields.first().copied().unwrap_or(""),
                    birth_date: birth,
                    sex,
                };
                if kind == DerivedKind::Id2 {
                    ndb::id2(&input, cfg)
                } else {
                    ndb::id2_keyed(&input, cfg, key)
                }
            }
        };
        id.map(|id| id.as_str().to_string())
            .map_err(|e| e.to_string())
    }

    fn generalize(
        &mut self,
        value: &str,
        hierarchy: NamedHierarchy,
        level: usize,
    ) -> Option<String> {
        match hierarchy {
            NamedHierarchy::Postcode3 => {
                let digits: String = value.chars().filter(|c| c.is_ascii_digit()).collect();
                (digits.len() == 7).then(|| digits[..3].to_string())
            }
            NamedHierarchy::PrefectureRegion => self.regions.get(value).cloned(),
            NamedHierarchy::Icd10 => {
                if let Some(v) = self.icd_cache.get(value) {
                    return v.clone();
                }
                let v = medinfra_anon::Hierarchy::icd10(&[value])
                    .ok()
                    .and_then(|h| {
                        let code = h.code(value)?;
                        Some(h.label(level, h.generalize(code, level)).to_string())
                    });
                self.icd_cache.insert(value.to_string(), v.clone());
                v
            }
        }
    }
}

/// The person key of row `r`: the person columns' text joined by 0x1F.
pub(crate) fn person_key(batch: &RecordBatch, person: &[usize], r: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(32);
    person_key_into(batch, person, r, &mut key);
    key
}

/// [`person_key`] written into `key` (cleared first), allocating nothing per row: the
/// person index's filter runs it on every row of the history's identity tables.
pub(crate) fn person_key_into(batch: &RecordBatch, person: &[usize], r: usize, key: &mut Vec<u8>) {
    use std::io::Write;
    key.clear();
    for (n, &c) in person.iter().enumerate() {
        if n > 0 {
            key.push(0x1f);
        }
        let col = batch.column(c);
        if col.is_null(r) {
            continue;
        }
        // The same text as `TextColumns::get` without normalization (writing to a Vec
        // cannot fail).
        let _ = match col.data_type() {
            arrow::datatypes::DataType::Utf8 => {
                key.extend_from_slice(col.as_string::<i32>().value(r).as_bytes());
                Ok(())
            }
            arrow::datatypes::DataType::Int32 => {
                write!(key, "{}", col.as_primitive::<Int32Type>().value(r))
            }
            arrow::datatypes::DataType::Int64 => {
                write!(key, "{}", col.as_primitive::<Int64Type>().value(r))
            }
            arrow::datatypes::DataType::Date32 => {
                key.extend_from_slice(
                    yyyymmdd(col.as_primitive::<Date32Type>().value(r)).as_bytes(),
                );
                Ok(())
            }
            _ => Ok(()),
        };
    }
}

/// Text views of a batch's columns for hashing.
pub(crate) struct TextColumns;

impl TextColumns {
    pub(crate) fn new(_batch: &RecordBatch) -> Self {
        TextColumns
    }

    /// The bytes of column `c` at row `r` as a token input (empty when null).
    pub(crate) fn get<'b>(
        &self,
        batch: &'b RecordBatch,
        c: usize,
        r: usize,
        normalize: Normalization,
    ) -> Result<std::borrow::Cow<'b, [u8]>, &'static str> {
        use std::borrow::Cow;
        let col = batch.column(c);
        if col.is_null(r) {
            return Ok(Cow::Borrowed(&[]));
        }
        let raw: Cow<'b, str> = match col.data_type() {
            arrow::datatypes::DataType::Utf8 => Cow::Borrowed(col.as_string::<i32>().value(r)),
            arrow::datatypes::DataType::Int32 => {
                Cow::Owned(col.as_primitive::<Int32Type>().value(r).to_string())
            }
            arrow::datatypes::DataType::Int64 => {
                Cow::Owned(col.as_primitive::<Int64Type>().value(r).to_string())
            }
            arrow::datatypes::DataType::Date32 => {
                Cow::Owned(yyyymmdd(col.as_primitive::<Date32Type>().value(r)))
            }
            _ => return Err("column type cannot be tokenized"),
        };
        match normalize {
            Normalization::None => Ok(match raw {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            }),
            Normalization::Card => normalize_card(&raw)
                .map(|s| Cow::Owned(s.into_bytes()))
                .map_err(|_| "value is not a card/insurer number"),
            Normalization::Name => Ok(Cow::Owned(normalize_name(&raw).into_bytes())),
        }
    }
}

/// Days since 1970-01-01 → `YYYYMMDD`.
pub(crate) fn yyyymmdd(days: i32) -> String {
    match medinfra_model::days::date_of(days) {
        Some(d) => format!("{:04}{:02}{:02}", d.year(), d.month() as u8, d.day()),
        None => String::new(),
    }
}

fn truncate(days: i32, to: DatePart) -> Option<i32> {
    let d = medinfra_model::days::date_of(days)?;
    let cut = match to {
        DatePart::Month => d.replace_day(1).ok()?,
        DatePart::Year => d
            .replace_day(1)
            .ok()?
            .replace_month(time::Month::January)
            .ok()?,
    };
    Some(medinfra_model::days::days_of(cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_cuts_to_the_first_of_month_and_year() {
        // 2020-02-29 = 18321
        assert_eq!(yyyymmdd(18321), "20200229");
        assert_eq!(
            yyyymmdd(truncate(18321, DatePart::Month).unwrap()),
            "20200201"
        );
        assert_eq!(
            yyyymmdd(truncate(18321, DatePart::Year).unwrap()),
            "20200101"
        );
        assert_eq!(yyyymmdd(truncate(-1, DatePart::Month).unwrap()), "19691201");
    }
}
