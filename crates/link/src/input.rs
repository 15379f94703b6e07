//! Reading a CSV of records into a [`Table`] for a model: columns found by header name (any
//! model column may be absent or empty), values normalized as the model says, values that
//! cannot be normalized counted and treated as missing.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;

use crate::error::{LinkError, Result};
use crate::eval::csv_error;
use crate::spec::{ModelSpec, Normalizer};
use crate::table::Table;

/// A loaded side and what was wrong with its values.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub table: Table,
    /// Per field, how many present values could not be normalized (treated as missing).
    pub invalid_values: BTreeMap<String, u64>,
}

/// Distinct raw values remembered per field by each parallel task: the normalizers (NFKC, kana folding,
/// variant kanji) cost more than a hash lookup, and many values repeat (prefectures, sexes,
/// insurers, dates, common names). Bounded so a column of unique values cannot grow it much.
const MEMO_PER_FIELD: usize = 1 << 15;

/// Records read before their values are normalized in parallel, and records per parallel
/// task: normalization is most of the reading time and is independent per record.
const BATCH: usize = 1 << 15;
const CHUNK: usize = 1 << 12;

/// Normalizes each distinct raw value once (up to [`MEMO_PER_FIELD`]); `None` marks a raw
/// value its normalizer cannot use.
#[derive(Default)]
struct Memo {
    seen: HashMap<Box<str>, Option<Box<str>>>,
}

impl Memo {
    fn apply(&mut self, normalizer: Normalizer, raw: &str) -> Option<Cow<'_, str>> {
        if !self.seen.contains_key(raw) {
            let v = normalizer.apply(raw).ok();
            if self.seen.len() >= MEMO_PER_FIELD {
                return v.map(Cow::Owned);
            }
            self.seen.insert(raw.into(), v.map(String::into_boxed_str));
        }
        self.seen
            .get(raw)
            .and_then(|v| v.as_deref().map(Cow::Borrowed))
    }
}

/// Where each model field's source values are in a row.
struct Layout {
    id_col: usize,
    sources: Vec<Vec<Option<usize>>>,
}

pub fn read_csv(path: &Path, spec: &ModelSpec) -> Result<Loaded> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| csv_error(path, &e))?;
    let headers = reader.headers().map_err(|e| csv_error(path, &e))?.clone();
    let position = |name: &str| headers.iter().position(|h| h.trim() == name);
    let id_col = position(spec.id_column).ok_or_else(|| LinkError::MissingColumn {
        path: path.to_owned(),
        column: spec.id_column.to_owned(),
    })?;
    let layout = Layout {
        id_col,
        sources: spec
            .fields
            .iter()
            .map(|f| f.sources.iter().map(|s| position(s)).collect())
            .collect(),
    };
    let mut table = Table::new(spec.fields.len());
    let mut invalid = vec![0u64; spec.fields.len()];
    let mut rows = vec![csv::StringRecord::new(); BATCH];
    loop {
        let mut n = 0;
        while n < BATCH {
            let row = &mut rows[n];
            match reader.read_record(row) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(csv_error(path, &e)),
            }
            if row.get(id_col).unwrap_or("").trim().is_empty() {
                return Err(LinkError::Field {
                    path: path.to_owned(),
                    line: row.position().map_or(0, |p| p.line()),
                    field: spec.id_column.to_owned(),
                    reason: "record id is empty".into(),
                });
            }
            n += 1;
        }
        let parts: Vec<(Table, Vec<u64>)> = rows[..n]
            .par_chunks(CHUNK)
            .map_init(
                || -> Vec<Memo> { spec.fields.iter().map(|_| Memo::default()).collect() },
                |memos, chunk| normalize_rows(chunk, spec, &layout, memos),
            )
            .collect();
        for (part, bad) in parts {
            table.append(&part);
            invalid.iter_mut().zip(bad).for_each(|(a, b)| *a += b);
        }
        if n < BATCH {
            break;
        }
    }
    let invalid_values = spec
        .fields
        .iter()
        .zip(invalid)
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| (f.name.to_owned(), n))
        .collect();
    Ok(Loaded {
        table,
        invalid_values,
    })
}

/// One chunk of rows as a table, and per field the values that could not be normalized.
fn normalize_rows(
    rows: &[csv::StringRecord],
    spec: &ModelSpec,
    layout: &Layout,
    memos: &mut [Memo],
) -> (Table, Vec<u64>) {
    let mut table = Table::new(spec.fields.len());
    let mut invalid = vec![0u64; spec.fields.len()];
    let mut values: Vec<String> = vec![String::new(); spec.fields.len()];
    for row in rows {
        let id = row.get(layout.id_col).unwrap_or("").trim();
        normalize_into(spec, memos, &mut invalid, &mut values, |f, s| {
            layout.sources[f][s].and_then(|c| row.get(c)).unwrap_or("")
        });
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        table.push(id, &refs);
    }
    (table, invalid)
}

/// Normalizes one record's fields into `values` (one slot per model field; several sources of
/// a field joined with `-`); `raw(field, source)` gives the raw value of a field's source.
fn normalize_into<'r>(
    spec: &ModelSpec,
    memos: &mut [Memo],
    invalid: &mut [u64],
    values: &mut [String],
    raw: impl Fn(usize, usize) -> &'r str,
) {
    for (f, field) in spec.fields.iter().enumerate() {
        let slot = &mut values[f];
        slot.clear();
        for s in 0..field.sources.len() {
            match memos[f].apply(field.normalizer, raw(f, s)) {
                Some(v) => {
                    if !v.is_empty() {
                        if !slot.is_empty() {
                            slot.push('-');
                        }
                        slot.push_str(&v);
                    }
                }
                None => invalid[f] += 1,
            }
        }
    }
}

/// Builds a [`Table`] from records held in memory (not a CSV file), normalized exactly as
/// [`read_csv`] normalizes: for callers such as the person registry, whose records come from
/// dataset tables.
pub struct TableBuilder<'s> {
    spec: &'s ModelSpec,
    table: Table,
    memos: Vec<Memo>,
    invalid: Vec<u64>,
    values: Vec<String>,
}

impl<'s> TableBuilder<'s> {
    pub fn new(spec: &'s ModelSpec) -> Self {
        TableBuilder {
            spec,
            table: Table::new(spec.fields.len()),
            memos: spec.fields.iter().map(|_| Memo::default()).collect(),
            invalid: vec![0; spec.fields.len()],
            values: vec![String::new(); spec.fields.len()],
        }
    }

    /// Adds one record; `raw(column)` gives the raw value of a source column by name (the
    /// empty string when the record has none).
    pub fn push<'r>(&mut self, id: &str, raw: impl Fn(&str) -> &'r str) {
        let spec = self.spec;
        normalize_into(
            spec,
            &mut self.memos,
            &mut self.invalid,
            &mut self.values,
            |f, s| raw(spec.fields[f].sources[s]),
        );
        let refs: Vec<&str> = self.values.iter().map(String::as_str).collect();
        self.table.push(id, &refs);
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn finish(self) -> Loaded {
        let invalid_values = self
            .spec
            .fields
            .iter()
            .zip(self.invalid)
            .filter(|(_, n)| *n > 0)
            .map(|(f, n)| (f.name.to_owned(), n))
            .collect();
        Loaded {
            table: self.table,
            invalid_values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::japan_person;

    #[test]
    fn reads_normalizes_and_counts_invalid_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        std::fs::write(
            &p,
            "rec_id,name_kanji,name_kana,sex,birth_date,postcode\n\
             r1,山田　太郎,ﾔﾏﾀﾞ ﾀﾛｳ,男,19800115,100-0001\n\
             r2,,,2,19801340,\n",
        )
        .unwrap();
        let spec = japan_person();
        let loaded = read_csv(&p, &spec).unwrap();
        let t = &loaded.table;
        assert_eq!(t.len(), 2);
        let f = |n: &str| spec.field_index(n).unwrap();
        assert_eq!(t.value(f("name_kanji"), 0), "山田太郎");
        assert_eq!(t.value(f("name_kana"), 0), "ヤマダタロウ");
        assert_eq!(t.value(f("sex"), 0), "1");
        assert_eq!(t.value(f("postcode"), 0), "1000001");
        assert_eq!(t.value(f("birth_date"), 1), "");
        assert_eq!(loaded.invalid_values.get("birth_date"), Some(&1));
    }

    #[test]
    fn missing_id_column_and_empty_id_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        std::fs::write(&p, "name_kana\nヤマダ\n").unwrap();
        let e = read_csv(&p, &japan_person()).unwrap_err().to_string();
        assert!(e.contains("rec_id"), "{e}");
        std::fs::write(&p, "rec_id,name_kana\nx,ヤマダ\n,ヤマダ\n").unwrap();
        let e = read_csv(&p, &japan_person()).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("rec_id"), "{e}");
        assert!(!e.contains("ヤマダ"));
    }
}
