//! Records held in flat buffers: one string buffer and one offset array, so a million records
//! cost their bytes plus four bytes per value instead of one heap `String` each (about 30
//! bytes of overhead per value). Field values are stored record after record (row layout), not
//! column after column: comparing a random pair touches every field of two records, and with
//! rows that is a few cache lines per record instead of two misses per field (columns made
//! memory latency the largest cost of comparing random pairs).

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
    n_fields: usize,
    /// Every field value of every record, record after record.
    data: String,
    /// End offset in `data` of value `record * n_fields + field` (its start is the previous
    /// end, or 0).
    ends: Vec<u32>,
    /// Per field, the term frequency of each record's value (share of records in the whole
    /// linkage with that value); filled by [`crate::tf::fill_term_frequencies`] for the fields
    /// whose comparisons use term-frequency adjustment, empty otherwise.
    pub tf: Vec<Vec<f32>>,
}

impl Table {
    pub fn new(n_fields: usize) -> Self {
        Table {
            ids: StrColumn::default(),
            n_fields,
            data: String::new(),
            ends: Vec::new(),
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
        if field >= self.n_fields {
            return "";
        }
        let k = record * self.n_fields + field;
        let end = self.ends.get(k).map_or(0, |&e| e as usize);
        let start = match k.checked_sub(1) {
            Some(p) => self.ends.get(p).map_or(0, |&e| e as usize),
            None => 0,
        };
        self.data.get(start..end).unwrap_or("")
    }

    pub fn id(&self, record: usize) -> &str {
        self.ids.get(record)
    }

    /// Appends all records of `other` (same fields), e.g. chunks normalized in parallel.
    pub fn append(&mut self, other: &Table) {
        for i in 0..other.len() {
            self.ids.push(other.id(i));
        }
        let base = self.data.len();
        self.data.push_str(&other.data);
        self.ends.extend(
            other
                .ends
                .iter()
                .map(|&e| u32::try_from(base + e as usize).unwrap_or(u32::MAX)),
        );
    }

    /// Appends one record; `values` are in field order (missing trailing fields are empty).
    pub fn push(&mut self, id: &str, values: &[&str]) {
        self.ids.push(id);
        for f in 0..self.n_fields {
            self.data.push_str(values.get(f).copied().unwrap_or(""));
            // Offsets are u32: a table holds at most 4 GiB of text, far beyond any CSV we link
            // in memory; saturate instead of wrapping so an oversize table cannot alias values.
            self.ends
                .push(u32::try_from(self.data.len()).unwrap_or(u32::MAX));
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
        let mut u = Table::new(2);
        u.push("d", &["q", "r"]);
        u.append(&t);
        assert_eq!(u.len(), 4);
        assert_eq!((u.id(0), u.value(1, 0)), ("d", "r"));
        assert_eq!((u.id(3), u.value(0, 3), u.value(1, 3)), ("c", "zzz", ""));
        assert_eq!(u.value(1, 2), "yy");
    }
}
