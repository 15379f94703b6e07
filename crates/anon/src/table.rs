//! Input tables: named string columns, stored dictionary-encoded.
//!
//! Each column keeps a dictionary of its distinct values and one `u32` code per record, so
//! a 10-million-row table costs 4 bytes per cell plus its distinct values. The core works
//! on this type only; adapters (CSV here, Arrow later) build it.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use crate::error::AnonError;

/// One dictionary-encoded column.
#[derive(Debug, Clone, Default)]
pub struct Column {
    dict: Vec<String>,
    codes: Vec<u32>,
    lookup: HashMap<String, u32>,
}

impl Column {
    fn push(&mut self, value: &str) {
        let code = match self.lookup.get(value) {
            Some(&c) => c,
            None => {
                let c = self.dict.len() as u32;
                self.dict.push(value.to_string());
                self.lookup.insert(value.to_string(), c);
                c
            }
        };
        self.codes.push(code);
    }

    /// Builds a column from a dictionary and codes (codes must index the dictionary).
    pub(crate) fn from_parts(dict: Vec<String>, codes: Vec<u32>) -> Self {
        let lookup = dict
            .iter()
            .enumerate()
            .map(|(i, v)| (v.clone(), i as u32))
            .collect();
        Self {
            dict,
            codes,
            lookup,
        }
    }

    /// Replaces the value behind each code by `new_values[code]` (`None` keeps it) and
    /// returns the number of records whose value changed. The dictionary is rebuilt so
    /// that replaced values no longer appear in it.
    pub(crate) fn replace_values(&mut self, new_values: &[Option<String>]) -> u64 {
        let mut dict: Vec<String> = Vec::new();
        let mut lookup: HashMap<String, u32> = HashMap::new();
        let mut remap = Vec::with_capacity(self.dict.len());
        let mut changed_code = Vec::with_capacity(self.dict.len());
        for (old, new) in self.dict.iter().zip(new_values) {
            let v = new.as_deref().unwrap_or(old);
            changed_code.push(v != old);
            let next = dict.len() as u32;
            let c = *lookup.entry(v.to_string()).or_insert(next);
            if c == next {
                dict.push(v.to_string());
            }
            remap.push(c);
        }
        let mut changed = 0u64;
        for c in &mut self.codes {
            changed += u64::from(changed_code[*c as usize]);
            *c = remap[*c as usize];
        }
        self.dict = dict;
        self.lookup = lookup;
        changed
    }

    /// Builds a column from a dictionary of distinct values and one code per record (the
    /// shape of an Arrow dictionary array). Fails if a code is out of range or a value is
    /// repeated in the dictionary.
    pub fn from_dictionary(dict: Vec<String>, codes: Vec<u32>) -> Result<Self, AnonError> {
        let col = Self::from_parts(dict, codes);
        if col.lookup.len() != col.dict.len() {
            return Err(AnonError::Config("dictionary has repeated values".into()));
        }
        if let Some(r) = col.codes.iter().position(|&c| c as usize >= col.dict.len()) {
            return Err(AnonError::Config(format!(
                "record {} has a code outside the dictionary",
                r + 1
            )));
        }
        Ok(col)
    }

    /// Distinct values, indexed by code.
    pub fn dictionary(&self) -> &[String] {
        &self.dict
    }

    /// One code per record.
    pub fn codes(&self) -> &[u32] {
        &self.codes
    }

    /// Value of record `row`.
    pub fn value(&self, row: usize) -> &str {
        &self.dict[self.codes[row] as usize]
    }
}

/// A table of string columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
    rows: usize,
    source_name: String,
}

impl Table {
    /// Builds a table from columns given directly (all must have the same length and the
    /// names must be unique).
    pub fn from_columns<N: AsRef<str>, V: AsRef<str>>(
        names: &[N],
        columns: &[Vec<V>],
        source_name: &str,
    ) -> Result<Self, AnonError> {
        if names.len() != columns.len() {
            return Err(table_err(
                source_name,
                0,
                "-",
                "number of names and columns differ",
            ));
        }
        let rows = columns.first().map_or(0, Vec::len);
        let mut t = Self::empty(names, source_name)?;
        for (i, col) in columns.iter().enumerate() {
            if col.len() != rows {
                return Err(table_err(
                    source_name,
                    0,
                    names[i].as_ref(),
                    &format!("column has {} values, expected {rows}", col.len()),
                ));
            }
            for v in col {
                t.columns[i].push(v.as_ref());
            }
        }
        t.rows = rows;
        Ok(t)
    }

    fn empty<S: AsRef<str>>(names: &[S], source_name: &str) -> Result<Self, AnonError> {
        let mut seen = std::collections::HashSet::new();
        for n in names {
            if !seen.insert(n.as_ref()) {
                return Err(table_err(
                    source_name,
                    1,
                    n.as_ref(),
                    "duplicate column name",
                ));
            }
        }
        Ok(Self {
            names: names.iter().map(|n| n.as_ref().to_string()).collect(),
            columns: vec![Column::default(); names.len()],
            rows: 0,
            source_name: source_name.to_string(),
        })
    }

    pub(crate) fn from_parts(names: Vec<String>, columns: Vec<Column>, source_name: &str) -> Self {
        let rows = columns.first().map_or(0, |c| c.codes.len());
        Self {
            names,
            columns,
            rows,
            source_name: source_name.to_string(),
        }
    }

    /// Builds a table from dictionary-encoded columns (all of the same length, unique names).
    pub fn from_encoded_columns(
        names: Vec<String>,
        columns: Vec<Column>,
        source_name: &str,
    ) -> Result<Self, AnonError> {
        let mut t = Self::empty(&names, source_name)?;
        if names.len() != columns.len() {
            return Err(table_err(
                source_name,
                0,
                "-",
                "number of names and columns differ",
            ));
        }
        let rows = columns.first().map_or(0, |c| c.codes.len());
        if let Some(i) = columns.iter().position(|c| c.codes.len() != rows) {
            return Err(table_err(
                source_name,
                0,
                &names[i],
                "column length differs",
            ));
        }
        t.columns = columns;
        t.rows = rows;
        Ok(t)
    }

    /// Writes the table as delimited text with a header (no quoting: ARX style; values
    /// containing the delimiter are quoted by the csv writer).
    pub fn write_csv<W: std::io::Write>(&self, writer: W, delimiter: u8) -> Result<(), AnonError> {
        let io = |e: csv::Error| AnonError::Io {
            path: self.source_name.clone(),
            source: std::io::Error::other(kind_name(&e)),
        };
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(writer);
        w.write_record(&self.names).map_err(io)?;
        let mut rec: Vec<&str> = Vec::with_capacity(self.columns.len());
        for row in 0..self.rows {
            rec.clear();
            rec.extend(self.columns.iter().map(|c| c.value(row)));
            w.write_record(&rec).map_err(io)?;
        }
        w.flush().map_err(|source| AnonError::Io {
            path: self.source_name.clone(),
            source,
        })
    }

    /// Reads a delimited file with a header row (ARX datasets: `;`, no quoting needed).
    pub fn from_csv_path(path: impl AsRef<Path>, delimiter: u8) -> Result<Self, AnonError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| AnonError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Self::from_csv_reader(std::io::BufReader::new(file), delimiter, &name)
    }

    /// Reads delimited text with a header row from any reader.
    pub fn from_csv_reader<R: Read>(
        reader: R,
        delimiter: u8,
        source_name: &str,
    ) -> Result<Self, AnonError> {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(true)
            .from_reader(reader);
        let header = rdr
            .byte_headers()
            .map_err(|e| csv_err(source_name, &e))?
            .clone();
        let names = header
            .iter()
            .enumerate()
            .map(|(i, f)| {
                std::str::from_utf8(f)
                    .map(|s| s.trim_end_matches('\r').to_string())
                    .map_err(|_| table_err(source_name, 1, &i.to_string(), "header is not UTF-8"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut t = Self::empty(&names, source_name)?;
        let mut record = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(csv_err(source_name, &e)),
            }
            let line = record.position().map_or(0, |p| p.line() as usize);
            if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) {
                continue; // blank line
            }
            if record.len() != names.len() {
                return Err(table_err(
                    source_name,
                    line,
                    "-",
                    &format!("{} fields, header has {}", record.len(), names.len()),
                ));
            }
            for (i, field) in record.iter().enumerate() {
                let s = std::str::from_utf8(field)
                    .map_err(|_| table_err(source_name, line, &names[i], "not UTF-8"))?;
                t.columns[i].push(s);
            }
            t.rows += 1;
        }
        Ok(t)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when the table has no records.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Position of a column.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.position(name).map(|i| &self.columns[i])
    }

    /// Column by position.
    pub fn column_at(&self, i: usize) -> &Column {
        &self.columns[i]
    }

    /// Mutable column by name (for the rules in `rules`).
    pub(crate) fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.position(name).map(|i| &mut self.columns[i])
    }

    /// Name used in error messages.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }
}

fn table_err(source: &str, line: usize, field: &str, reason: &str) -> AnonError {
    AnonError::Table {
        source_name: source.to_string(),
        line,
        field: field.to_string(),
        reason: reason.to_string(),
    }
}

fn csv_err(source: &str, e: &csv::Error) -> AnonError {
    let line = e.position().map_or(0, |p| p.line() as usize);
    table_err(
        source,
        line,
        "-",
        &format!("malformed CSV ({})", kind_name(e)),
    )
}

// Only the error kind is reported: the csv crate's messages can quote field contents.
fn kind_name(e: &csv::Error) -> &'static str {
    match e.kind() {
        csv::ErrorKind::Io(_) => "I/O error",
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8",
        csv::ErrorKind::UnequalLengths { .. } => "unequal record lengths",
        _ => "parse error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_and_reports_ragged_line() {
        let t = Table::from_csv_reader("a;b\n1;x\n2;y\n1;x\n".as_bytes(), b';', "t.csv").unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.column("a").unwrap().dictionary().len(), 2);
        assert_eq!(t.column("b").unwrap().value(1), "y");
        let e = Table::from_csv_reader("a;b\n1;x\n2\n".as_bytes(), b';', "t.csv").unwrap_err();
        let m = e.to_string();
        assert!(m.contains("t.csv") && m.contains("line 3"), "{m}");
    }

    #[test]
    fn from_columns_checks_lengths() {
        let t = Table::from_columns(&["a", "b"], &[vec!["1", "2"], vec!["x", "y"]], "mem");
        assert_eq!(t.unwrap().len(), 2);
        let e = Table::from_columns(&["a", "b"], &[vec!["1", "2"], vec!["x"]], "mem").unwrap_err();
        assert!(e.to_string().contains("field b"));
    }

    #[test]
    fn from_encoded_columns_checks_codes_and_lengths() {
        let a = Column::from_dictionary(vec!["x".into(), "y".into()], vec![1, 0, 1]).unwrap();
        let b = Column::from_dictionary(vec!["p".into()], vec![0, 0, 0]).unwrap();
        let t = Table::from_encoded_columns(vec!["a".into(), "b".into()], vec![a, b], "m").unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.column("a").unwrap().value(0), "y");
        assert!(Column::from_dictionary(vec!["x".into()], vec![0, 1]).is_err());
        assert!(Column::from_dictionary(vec!["x".into(), "x".into()], vec![0]).is_err());
        let short = Column::from_dictionary(vec!["x".into()], vec![0]).unwrap();
        let long = Column::from_dictionary(vec!["x".into()], vec![0, 0]).unwrap();
        let e = Table::from_encoded_columns(vec!["a".into(), "b".into()], vec![short, long], "m");
        assert!(e.is_err());
    }
}
