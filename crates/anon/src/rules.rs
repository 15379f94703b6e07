//! Rare-value rules the Japanese guidance expects before release (`formats/japan.md` §7.2
//! item 4 "peculiar descriptions" and §10.7): rare codes suppressed or generalized, ages
//! 90 and over collapsed, extreme values top/bottom coded.
//!
//! Each rule is a method on [`Table`] that changes one column in place and returns a
//! [`RuleReport`] with the number of values (cells) it changed, for the release report.
//! The report carries thresholds and cut points (aggregates), never the replaced values.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::AnonError;
use crate::hierarchy::Hierarchy;
use crate::table::{Column, Table};

/// What one rule did to one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleReport {
    /// Rule name (`suppress_rare_codes`, `generalize_rare_codes`, `collapse_ages`,
    /// `top_bottom_code`).
    pub rule: String,
    /// Column changed.
    pub column: String,
    /// Records whose value in the column changed.
    pub values_changed: u64,
    /// Distinct original values that were replaced.
    pub distinct_values_replaced: u64,
    /// Parameters and derived cut points, as text.
    pub parameters: BTreeMap<String, String>,
}

impl RuleReport {
    fn new(rule: &str, column: &str) -> Self {
        Self {
            rule: rule.into(),
            column: column.into(),
            values_changed: 0,
            distinct_values_replaced: 0,
            parameters: BTreeMap::new(),
        }
    }
}

impl Table {
    /// Replaces codes held by fewer than `min_persons` distinct persons by `placeholder`.
    ///
    /// `person` names the column identifying the person when the table has several rows per
    /// person (claims in long form); with `None` every row is its own person. Empty values
    /// are never treated as codes.
    pub fn suppress_rare_codes(
        &mut self,
        column: &str,
        person: Option<&str>,
        min_persons: usize,
        placeholder: &str,
    ) -> Result<RuleReport, AnonError> {
        let rare = self.rare_codes(column, person, min_persons)?;
        let col = self.column_mut_or_err(column)?;
        let new: Vec<Option<String>> = rare
            .iter()
            .map(|&r| r.then(|| placeholder.to_string()))
            .collect();
        let mut rep = RuleReport::new("suppress_rare_codes", column);
        rep.distinct_values_replaced = count_replaced(col, &new);
        rep.values_changed = col.replace_values(&new);
        rep.parameters
            .insert("min_persons".into(), min_persons.to_string());
        rep.parameters
            .insert("placeholder".into(), placeholder.to_string());
        Ok(rep)
    }

    /// Replaces codes held by fewer than `min_persons` distinct persons by their label one
    /// level up `hierarchy` (e.g. an ICD-10 code by its 3-character category). One level
    /// only: a generalized code may still be rare, so callers that need a guarantee follow
    /// with [`Table::suppress_rare_codes`]. A rare code missing from the hierarchy is an error.
    pub fn generalize_rare_codes(
        &mut self,
        column: &str,
        person: Option<&str>,
        min_persons: usize,
        hierarchy: &Hierarchy,
    ) -> Result<RuleReport, AnonError> {
        if hierarchy.height() == 0 {
            return Err(AnonError::Config(format!(
                "generalizing rare codes of {column} needs a hierarchy of height >= 1"
            )));
        }
        let rare = self.rare_codes(column, person, min_persons)?;
        let col = self.column_mut_or_err(column)?;
        let mut new = Vec::with_capacity(rare.len());
        for (code, &r) in rare.iter().enumerate() {
            if !r {
                new.push(None);
                continue;
            }
            let v = &col.dictionary()[code];
            let c0 = hierarchy
                .code(v)
                .ok_or_else(|| AnonError::ValueNotInHierarchy {
                    attribute: column.to_string(),
                    line: first_line(col, code),
                    value_len: v.chars().count(),
                })?;
            new.push(Some(
                hierarchy.label(1, hierarchy.generalize(c0, 1)).to_string(),
            ));
        }
        let mut rep = RuleReport::new("generalize_rare_codes", column);
        rep.distinct_values_replaced = count_replaced(col, &new);
        rep.values_changed = col.replace_values(&new);
        rep.parameters
            .insert("min_persons".into(), min_persons.to_string());
        Ok(rep)
    }

    /// Collapses ages of `threshold` years and over into the label `"{threshold}+"` (the
    /// guidance's "ages ≥ 90 deleted"; use `threshold = 90`). Values must be whole years;
    /// empty values and values already equal to the label are left alone, anything else is
    /// an error naming the line.
    pub fn collapse_ages(&mut self, column: &str, threshold: u32) -> Result<RuleReport, AnonError> {
        let label = format!("{threshold}+");
        let source = self.source_name().to_string();
        let col = self.column_mut_or_err(column)?;
        let mut new = Vec::with_capacity(col.dictionary().len());
        for (code, v) in col.dictionary().iter().enumerate() {
            let t = v.trim();
            if t.is_empty() || t == label {
                new.push(None);
                continue;
            }
            let age: u32 = t.parse().map_err(|_| AnonError::Table {
                source_name: source.clone(),
                line: first_line(col, code),
                field: column.to_string(),
                reason: format!("value (length {}) is not an age in whole years", t.len()),
            })?;
            new.push((age >= threshold).then(|| label.clone()));
        }
        let mut rep = RuleReport::new("collapse_ages", column);
        rep.distinct_values_replaced = count_replaced(col, &new);
        rep.values_changed = col.replace_values(&new);
        rep.parameters
            .insert("threshold".into(), threshold.to_string());
        rep.parameters.insert("label".into(), label);
        Ok(rep)
    }

    /// Top and bottom coding of a numeric column at quantiles: values below the `lower`
    /// quantile are replaced by that quantile, values above the `upper` quantile by that one.
    ///
    /// Quantile definition (nearest rank, so a cut is always a value present in the data and
    /// keeps its original spelling): with the `m` non-empty values sorted ascending,
    /// the `q`-quantile is the value of rank `max(1, ceil(q * m))`. Empty values are missing
    /// and left alone; any other non-numeric value is an error naming the line.
    pub fn top_bottom_code(
        &mut self,
        column: &str,
        lower: Option<f64>,
        upper: Option<f64>,
    ) -> Result<RuleReport, AnonError> {
        let ok = |q: Option<f64>| q.is_none_or(|q| (0.0..=1.0).contains(&q));
        if !ok(lower) || !ok(upper) || matches!((lower, upper), (Some(l), Some(u)) if l > u) {
            return Err(AnonError::Config(
                "quantiles must be in [0, 1] with lower <= upper".into(),
            ));
        }
        let source = self.source_name().to_string();
        let col = self.column_mut_or_err(column)?;
        let mut counts = vec![0u64; col.dictionary().len()];
        for &c in col.codes() {
            counts[c as usize] += 1;
        }
        // (value, code, records), one entry per distinct present value.
        let mut values: Vec<(f64, usize, u64)> = Vec::new();
        let mut parsed: Vec<Option<f64>> = Vec::with_capacity(counts.len());
        for (code, v) in col.dictionary().iter().enumerate() {
            let t = v.trim();
            if t.is_empty() || counts[code] == 0 {
                parsed.push(None);
                continue;
            }
            let x: f64 = t
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite())
                .ok_or_else(|| AnonError::Table {
                    source_name: source.clone(),
                    line: first_line(col, code),
                    field: column.to_string(),
                    reason: format!("value (length {}) is not a finite number", t.len()),
                })?;
            parsed.push(Some(x));
            values.push((x, code, counts[code]));
        }
        values.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let m: u64 = values.iter().map(|v| v.2).sum();
        let quantile = |q: f64| -> Option<(f64, usize)> {
            let rank = ((q * m as f64).ceil() as u64).max(1);
            let mut cum = 0;
            for &(x, code, n) in &values {
                cum += n;
                if cum >= rank {
                    return Some((x, code));
                }
            }
            None
        };
        let lo = lower.and_then(quantile);
        let hi = upper.and_then(quantile);
        let mut new = vec![None; counts.len()];
        for (code, x) in parsed.iter().enumerate() {
            let Some(x) = *x else { continue };
            if let Some((cut, cut_code)) = lo
                && x < cut
            {
                new[code] = Some(col.dictionary()[cut_code].clone());
            }
            if let Some((cut, cut_code)) = hi
                && x > cut
            {
                new[code] = Some(col.dictionary()[cut_code].clone());
            }
        }
        let mut rep = RuleReport::new("top_bottom_code", column);
        rep.distinct_values_replaced = count_replaced(col, &new);
        rep.values_changed = col.replace_values(&new);
        for (name, q, cut) in [("lower", lower, lo), ("upper", upper, hi)] {
            if let (Some(q), Some((c, _))) = (q, cut) {
                rep.parameters
                    .insert(format!("{name}_quantile"), q.to_string());
                rep.parameters.insert(format!("{name}_cut"), c.to_string());
            }
        }
        Ok(rep)
    }

    /// Per dictionary code of `column`: held by fewer than `min_persons` distinct persons.
    fn rare_codes(
        &self,
        column: &str,
        person: Option<&str>,
        min_persons: usize,
    ) -> Result<Vec<bool>, AnonError> {
        let col = self
            .column(column)
            .ok_or_else(|| AnonError::Config(format!("{column} is not a column")))?;
        let mut persons = vec![0u64; col.dictionary().len()];
        match person {
            None => {
                for &c in col.codes() {
                    persons[c as usize] += 1;
                }
            }
            Some(p) => {
                let pc = self
                    .column(p)
                    .ok_or_else(|| AnonError::Config(format!("{p} is not a column")))?;
                // Distinct (code, person) pairs by sort + dedup: no hash set of 10^7 pairs.
                let mut pairs: Vec<u64> = col
                    .codes()
                    .iter()
                    .zip(pc.codes())
                    .map(|(&c, &q)| (u64::from(c) << 32) | u64::from(q))
                    .collect();
                pairs.sort_unstable();
                pairs.dedup();
                for pair in pairs {
                    persons[(pair >> 32) as usize] += 1;
                }
            }
        }
        Ok(col
            .dictionary()
            .iter()
            .zip(&persons)
            .map(|(v, &n)| n > 0 && !v.trim().is_empty() && n < min_persons as u64)
            .collect())
    }

    fn column_mut_or_err(&mut self, column: &str) -> Result<&mut Column, AnonError> {
        self.column_mut(column)
            .ok_or_else(|| AnonError::Config(format!("{column} is not a column")))
    }
}

fn count_replaced(col: &Column, new: &[Option<String>]) -> u64 {
    new.iter()
        .zip(col.dictionary())
        .filter(|(n, old)| n.as_ref().is_some_and(|n| n != *old))
        .count() as u64
}

/// 1-based file line of the first record holding `code` (header = line 1).
fn first_line(col: &Column, code: usize) -> usize {
    col.codes()
        .iter()
        .position(|&c| c as usize == code)
        .map_or(0, |r| r + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: &Table, c: &str) -> Vec<String> {
        let col = t.column(c).unwrap();
        (0..t.len()).map(|r| col.value(r).to_string()).collect()
    }

    fn claims() -> Table {
        // person;dx — E11.9 held by 3 persons (4 rows), I10 by 2, G71.0 by 1 (2 rows).
        let text = "person;dx\np1;E11.9\np1;E11.9\np2;E11.9\np3;E11.9\np1;I10\np2;I10\n\
                    p4;G71.0\np4;G71.0\np5;\n";
        Table::from_csv_reader(text.as_bytes(), b';', "claims.csv").unwrap()
    }

    #[test]
    fn rare_codes_counted_by_distinct_persons() {
        let mut t = claims();
        let r = t
            .suppress_rare_codes("dx", Some("person"), 3, "RARE")
            .unwrap();
        // I10 (2 persons) and G71.0 (1 person) replaced: 4 cells; the empty value is no code.
        assert_eq!(r.values_changed, 4);
        assert_eq!(r.distinct_values_replaced, 2);
        assert_eq!(
            values(&t, "dx"),
            [
                "E11.9", "E11.9", "E11.9", "E11.9", "RARE", "RARE", "RARE", "RARE", ""
            ]
        );
        // Without a person column rows count: E11.9 has 4 rows, G71.0 2, I10 2.
        let mut t = claims();
        let r = t.suppress_rare_codes("dx", None, 3, "RARE").unwrap();
        assert_eq!(r.values_changed, 4);
        let mut t = claims();
        let r = t.suppress_rare_codes("dx", None, 2, "RARE").unwrap();
        assert_eq!(r.values_changed, 0);
    }

    #[test]
    fn rare_codes_generalized_one_level() {
        let mut t = claims();
        let h = Hierarchy::icd10(&["E11.9", "I10", "G71.0"]).unwrap();
        let r = t
            .generalize_rare_codes("dx", Some("person"), 2, &h)
            .unwrap();
        assert_eq!(r.values_changed, 2);
        assert_eq!(values(&t, "dx")[6], "G71");
        assert_eq!(values(&t, "dx")[4], "I10");
        // A rare code outside the hierarchy is an error naming its line, not its value.
        let mut t = claims();
        let h = Hierarchy::icd10(&["E11.9", "I10"]).unwrap();
        let e = t
            .generalize_rare_codes("dx", Some("person"), 2, &h)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dx") && e.contains("line 8"), "{e}");
        assert!(!e.contains("G71"), "{e}");
    }

    #[test]
    fn ages_collapsed_at_ninety() {
        let mut t = Table::from_columns(&["age"], &[vec!["89", "90", "104", "", "90+", "45"]], "m")
            .unwrap();
        let r = t.collapse_ages("age", 90).unwrap();
        assert_eq!(r.values_changed, 2);
        assert_eq!(values(&t, "age"), ["89", "90+", "90+", "", "90+", "45"]);
        let mut t = Table::from_columns(&["age"], &[vec!["89", "ninety"]], "m").unwrap();
        let e = t.collapse_ages("age", 90).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("field age"), "{e}");
        assert!(!e.contains("ninety"), "{e}");
    }

    #[test]
    fn top_and_bottom_coding_at_nearest_rank_quantiles() {
        // 10 values 1..10 (as text, one spelled 7.0) plus a missing one.
        let vals = ["3", "1", "10", "2", "9", "5", "4", "8", "6", "7.0", ""];
        let mut t = Table::from_columns(&["hba1c"], &[vals.to_vec()], "m").unwrap();
        // lower 0.2 -> rank 2 -> 2; upper 0.7 -> rank 7 -> "7.0"
        let r = t.top_bottom_code("hba1c", Some(0.2), Some(0.7)).unwrap();
        assert_eq!(
            values(&t, "hba1c"),
            ["3", "2", "7.0", "2", "7.0", "5", "4", "7.0", "6", "7.0", ""]
        );
        assert_eq!(r.values_changed, 4);
        assert_eq!(r.parameters["lower_cut"], "2");
        assert_eq!(r.parameters["upper_cut"], "7");
        // Only top coding at the maximum changes nothing.
        let r = t.top_bottom_code("hba1c", None, Some(1.0)).unwrap();
        assert_eq!(r.values_changed, 0);
        assert!(t.top_bottom_code("hba1c", Some(0.9), Some(0.1)).is_err());
        let mut t = Table::from_columns(&["x"], &[vec!["1", "abc"]], "m").unwrap();
        let e = t
            .top_bottom_code("x", None, Some(0.9))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && !e.contains("abc"), "{e}");
    }
}
