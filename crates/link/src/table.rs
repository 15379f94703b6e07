//! Records held column by column: one string buffer and one offset array per column, so a
//! million records cost their bytes plus four bytes per value instead of one heap `String`
//! each (about 30 bytes of overhead per value).

/// One column of strings; the empty string means "missing".
#[derive(Debug, Clone, Default)]
pub struct StrColumn {
    data: String,
    ends: Vec<u32>,
}

impl StrColumn {
    pub fn push(&mut self, value: &str) {
        self.data.push_str(value);
        // Offsets are u32: a column holds at most 4 GiB of text, far beyond any CSV we link
        // in memory; saturate instead of wrapping so an oversize column cannot alias values.
        self.ends
            .push(u32::try_from(self.data.len()).unwrap_or(u32::MAX));
    }

    pub fn get(&self, i: usize) -> &str {
        let end = self.ends.get(i).map_or(0, |&e| e as usize);
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).map_or(0, |&e| e as usize)
        };
        self.data.get(start..end).unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// A set of records: their ids and their normalized fields (in the model's field order).
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub ids: StrColumn,
    pub fields: Vec<StrColumn>,
    /// Per field, the term frequency of each record's value (share of records in the whole
    /// linkage with that value); filled by [`crate::tf::fill_term_frequencies`] for the fields
    /// whose comparisons use term-frequency adjustment, empty otherwise.
    pub tf: Vec<Vec<f32>>,
}

impl Table {
    pub fn new(n_fields: usize) -> Self {
        Table {
            ids: StrColumn::default(),
            fields: vec![StrColumn::default(); n_fields],
            tf: vec![Vec::new(); n_fields],
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn value(&self, field: usize, record: usize) -> &str {
        self.fields.get(field).map_or("", |c| c.get(record))
    }

    pub fn id(&self, record: usize) -> &str {
        self.ids.get(record)
    }

    /// Appends one record; `values` are in field order (missing trailing fields are empty).
    pub fn push(&mut self, id: &str, values: &[&str]) {
        self.ids.push(id);
        for (f, col) in self.fields.iter_mut().enumerate() {
            col.push(values.get(f).copied().unwrap_or(""));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_round_trip_values_including_empty() {
        let mut t = Table::new(2);
        t.push("a", &["x", ""]);
        t.push("b", &["", "yy"]);
        t.push("c", &["zzz"]);
        assert_eq!(t.len(), 3);
        assert_eq!(t.id(1), "b");
        assert_eq!(t.value(0, 0), "x");
        assert_eq!(t.value(1, 0), "");
        assert_eq!(t.value(1, 1), "yy");
        assert_eq!(t.value(0, 2), "zzz");
        assert_eq!(t.value(1, 2), "");
        assert_eq!(t.value(5, 0), "");
    }
}
