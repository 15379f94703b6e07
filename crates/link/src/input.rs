//! Reading a CSV of records into a [`Table`] for a model: columns found by header name (any
//! model column may be absent or empty), values normalized as the model says, values that
//! cannot be normalized counted and treated as missing.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{LinkError, Result};
use crate::eval::csv_error;
use crate::spec::ModelSpec;
use crate::table::Table;

/// A loaded side and what was wrong with its values.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub table: Table,
    /// Per field, how many present values could not be normalized (treated as missing).
    pub invalid_values: BTreeMap<String, u64>,
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
    let sources: Vec<Vec<Option<usize>>> = spec
        .fields
        .iter()
        .map(|f| f.sources.iter().map(|s| position(s)).collect())
        .collect();
    let mut table = Table::new(spec.fields.len());
    let mut invalid: BTreeMap<String, u64> = BTreeMap::new();
    let mut values: Vec<String> = vec![String::new(); spec.fields.len()];
    let mut row = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, &e)),
        }
        let line = row.position().map_or(0, |p| p.line());
        let id = row.get(id_col).unwrap_or("").trim();
        if id.is_empty() {
            return Err(LinkError::Field {
                path: path.to_owned(),
                line,
                field: spec.id_column.to_owned(),
                reason: "record id is empty".into(),
            });
        }
        for (f, field) in spec.fields.iter().enumerate() {
            let slot = &mut values[f];
            slot.clear();
            for source in &sources[f] {
                let raw = source.and_then(|c| row.get(c)).unwrap_or("");
                match field.normalizer.apply(raw) {
                    Ok(v) => {
                        if !v.is_empty() {
                            if !slot.is_empty() {
                                slot.push('-');
                            }
                            slot.push_str(&v);
                        }
                    }
                    Err(_) => {
                        *invalid.entry(field.name.to_owned()).or_default() += 1;
                    }
                }
            }
        }
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        table.push(id, &refs);
    }
    Ok(Loaded {
        table,
        invalid_values: invalid,
    })
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
