//! Providers' own exports — CSV (through `formats::csv_map`) or Parquet — with a TOML mapping
//! (source column → canonical field) into any one canonical table.
//!
//! The mapping file is the `formats::csv_map` one plus a top-level `table = "<canonical table>"`.
//! Rules, checked when the mapping is loaded: every canonical field named must be a column of
//! that table; every non-nullable column must be mapped, except `provider_id` (always the
//! submitting provider) and `day_counts` (an empty month when unmapped). For Parquet the
//! mapping's source columns are Parquet column names (encoding and delimiter are ignored).
//!
//! Values: text as is; integers and decimals parsed; booleans `1/0/true/false/yes/no`; dates
//! `YYYYMMDD`, `YYYY-MM-DD` or `YYYY/MM/DD`; day counts as `;`-separated integers (day 1
//! first). An empty value is null where the column is nullable and a problem where not.
//!
//! Policy, with the row as the quarantine unit: a row with a value that does not parse, a
//! missing required value or another provider's `provider_id` is quarantined (line, field,
//! masked value for identifiers, reason); a file whose header lacks a mapped column, or that
//! cannot be read, is rejected whole, as is one with more quarantined rows than the threshold.
//! Replacement key: `table/<file name>`.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Array, Int32Builder,
    Int64Builder, ListArray, StringBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use medinfra_formats::csv_map::{CsvMappedReader, Mapping};
use medinfra_formats::{Severity, finding::shown_value};
use medinfra_model::CanonicalTable;
use medinfra_model::buffers::TableBuf;
use medinfra_model::tables::ColumnType;

use crate::IngestError;
use crate::inputs::{InputKind, io_err};
use crate::report::{FileOutcome, Problem};
use crate::uke_map::yyyymmdd;
use crate::unit::{FileParts, Unit, UnitCx, UnitMapper, UnitRead};

/// A mapping file: the column mapping and the canonical table it fills.
#[derive(Debug, Clone)]
pub struct TableMapping {
    pub table: CanonicalTable,
    pub mapping: Mapping,
}

impl TableMapping {
    /// Parses and checks a mapping file's text (see module docs).
    pub fn from_toml(text: &str) -> Result<Self, IngestError> {
        let bad = |m: String| IngestError::Mapping(m);
        let (mapping, table) =
            Mapping::from_toml_with_table(text).map_err(|e| bad(e.to_string()))?;
        let name = table
            .ok_or_else(|| bad("mapping: no `table = \"…\"` naming the canonical table".into()))?;
        let table = CanonicalTable::from_name(&name)
            .filter(|t| !matches!(t, CanonicalTable::Truth | CanonicalTable::Population))
            .ok_or_else(|| {
                bad(format!(
                    "mapping: {name:?} is not a canonical table ingest fills"
                ))
            })?;
        for canon in mapping.columns.values() {
            if table.index_of(canon).is_none() {
                return Err(bad(format!("mapping: {canon:?} is not a column of {name}")));
            }
        }
        for c in table.columns() {
            let mapped = mapping.columns.values().any(|v| v == c.name);
            if !c.nullable && !mapped && !matches!(c.name, "provider_id" | "day_counts") {
                return Err(bad(format!(
                    "mapping: required column {name}.{} is not mapped",
                    c.name
                )));
            }
        }
        Ok(TableMapping { table, mapping })
    }

    /// Reads a mapping file.
    pub fn load(path: &Path) -> Result<Self, IngestError> {
        let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
        Self::from_toml(&text)
    }
}

/// One column's builder.
enum Col {
    Utf8(StringBuilder),
    I32(Int32Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Days(Vec<i32>, Vec<i32>),
}

/// Column buffers of any canonical table, filled from text values.
pub(crate) struct DynBuf {
    table: CanonicalTable,
    cols: Vec<Col>,
    rows: usize,
}

impl Default for DynBuf {
    fn default() -> Self {
        DynBuf::new(CanonicalTable::Persons)
    }
}

/// A parsed cell.
enum Cell {
    Null,
    Text(String),
    I32(i32),
    I64(i64),
    F64(f64),
    Bool(bool),
    Date(i32),
    Days(Vec<i32>),
}

fn date(s: &str) -> Option<i32> {
    let digits: String = s.chars().filter(|c| *c != '-' && *c != '/').collect();
    yyyymmdd(&digits)
}

fn parse(ty: ColumnType, v: &str) -> Result<Cell, &'static str> {
    Ok(match ty {
        ColumnType::Utf8 => Cell::Text(v.to_owned()),
        ColumnType::Int32 => Cell::I32(v.parse().map_err(|_| "not a whole number")?),
        ColumnType::Int64 => Cell::I64(v.parse().map_err(|_| "not a whole number")?),
        ColumnType::Float64 => Cell::F64(v.parse().map_err(|_| "not a number")?),
        ColumnType::Boolean => Cell::Bool(match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => true,
            "0" | "false" | "no" => false,
            _ => return Err("not a boolean (1/0/true/false/yes/no)"),
        }),
        ColumnType::Date32 => Cell::Date(date(v).ok_or("not a date (YYYYMMDD or YYYY-MM-DD)")?),
        ColumnType::DayCounts => Cell::Days(
            v.split(';')
                .map(|d| d.trim().parse::<i32>())
                .collect::<Result<_, _>>()
                .map_err(|_| "not ;-separated day counts")?,
        ),
    })
}

impl DynBuf {
    pub(crate) fn new(table: CanonicalTable) -> Self {
        let cols = table
            .columns()
            .iter()
            .map(|c| match c.data_type {
                ColumnType::Utf8 => Col::Utf8(StringBuilder::new()),
                ColumnType::Int32 => Col::I32(Int32Builder::new()),
                ColumnType::Int64 => Col::I64(Int64Builder::new()),
                ColumnType::Float64 => Col::F64(Float64Builder::new()),
                ColumnType::Boolean => Col::Bool(BooleanBuilder::new()),
                ColumnType::Date32 => Col::Date(Date32Builder::new()),
                ColumnType::DayCounts => Col::Days(Vec::new(), vec![0]),
            })
            .collect();
        DynBuf {
            table,
            cols,
            rows: 0,
        }
    }

    /// Parses one row (`get(column)` gives the raw value of a mapped column); appends it, or
    /// returns (field, reason, bad value) and appends nothing.
    fn push_row<'a>(
        &mut self,
        provider_id: &str,
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<(), (&'static str, &'static str, String)> {
        let mut cells = Vec::with_capacity(self.cols.len());
        for c in self.table.columns() {
            let raw = get(c.name).map(str::trim).unwrap_or("");
            let cell = if c.name == "provider_id" {
                if !raw.is_empty() && raw != provider_id {
                    return Err((c.name, "names another provider", raw.to_owned()));
                }
                Cell::Text(provider_id.to_owned())
            } else if raw.is_empty() {
                match (c.nullable, c.data_type) {
                    (true, _) => Cell::Null,
                    (false, ColumnType::DayCounts) => Cell::Days(Vec::new()),
                    (false, _) => return Err((c.name, "required value missing", String::new())),
                }
            } else {
                parse(c.data_type, raw).map_err(|why| (c.name, why, raw.to_owned()))?
            };
            cells.push(cell);
        }
        for (col, cell) in self.cols.iter_mut().zip(cells) {
            match (col, cell) {
                (Col::Utf8(b), Cell::Text(s)) => b.append_value(s),
                (Col::Utf8(b), _) => b.append_null(),
                (Col::I32(b), Cell::I32(v)) => b.append_value(v),
                (Col::I32(b), _) => b.append_null(),
                (Col::I64(b), Cell::I64(v)) => b.append_value(v),
                (Col::I64(b), _) => b.append_null(),
                (Col::F64(b), Cell::F64(v)) => b.append_value(v),
                (Col::F64(b), _) => b.append_null(),
                (Col::Bool(b), Cell::Bool(v)) => b.append_value(v),
                (Col::Bool(b), _) => b.append_null(),
                (Col::Date(b), Cell::Date(v)) => b.append_value(v),
                (Col::Date(b), _) => b.append_null(),
                (Col::Days(values, offsets), cell) => {
                    if let Cell::Days(d) = cell {
                        values.extend(d);
                    }
                    offsets.push(values.len() as i32);
                }
            }
        }
        self.rows += 1;
        Ok(())
    }
}

impl TableBuf for DynBuf {
    fn table(&self) -> CanonicalTable {
        self.table
    }
    fn rows(&self) -> usize {
        self.rows
    }
    fn take(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Utf8(b) => Arc::new(b.finish()),
                    Col::I32(b) => Arc::new(b.finish()),
                    Col::I64(b) => Arc::new(b.finish()),
                    Col::F64(b) => Arc::new(b.finish()),
                    Col::Bool(b) => Arc::new(b.finish()),
                    Col::Date(b) => Arc::new(b.finish()),
                    Col::Days(values, offsets) => {
                        let v = Int32Array::from(std::mem::take(values));
                        let o = OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into());
                        Arc::new(ListArray::new(
                            Arc::new(Field::new("item", DataType::Int32, false)),
                            o,
                            Arc::new(v),
                            None,
                        ))
                    }
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(self.table.schema(), columns)
    }
}

/// Ingest one CSV or Parquet export through the run's mapping.
pub(crate) struct TableUnit<'a>(pub Unit<'a>);

impl UnitMapper for TableUnit<'_> {
    const UNIT: &'static str = "row";
    type Pending = Option<(DynBuf, &'static str)>;

    fn read(
        self,
        cx: &UnitCx<'_>,
        parts: &mut FileParts,
    ) -> Result<UnitRead<Self::Pending>, IngestError> {
        let Unit {
            input,
            sha256,
            bytes,
            progress,
        } = self.0;
        let (writer, opts, key) = (cx.writer, cx.opts, cx.key);
        let label = input.path.display().to_string();
        let parquet = input.kind == InputKind::MappedParquet;
        let mut outcome = FileOutcome::new(
            &label,
            sha256,
            bytes,
            if parquet {
                "parquet-mapped"
            } else {
                "csv-mapped"
            },
        );
        outcome.billing_month = input
            .path
            .file_name()
            .map(|n| format!("table/{}", n.to_string_lossy()));
        let Some(tm) = &opts.mapping else {
            progress(bytes);
            return Ok(UnitRead {
                outcome,
                pending: None,
                rejection: Some("a Parquet file needs a mapping file (--mapping)".into()),
            });
        };
        let name = tm.table.name();
        let mut buf = DynBuf::new(tm.table);
        let mut rejection: Option<String> = None;
        let identifier = |field: &str| tm.mapping.identifiers.iter().any(|i| i == field);
        let row_result = |outcome: &mut FileOutcome,
                          res: Result<(), (&'static str, &'static str, String)>,
                          line: u64| match res {
            Ok(()) => outcome.receipts_accepted += 1,
            Err((field, reason, value)) => {
                outcome.receipts_quarantined += 1;
                let shown = if value.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (value {})",
                        shown_value(&value, identifier(field) || field == "patient_id")
                    )
                };
                outcome.problems.push(Problem {
                    file: label.clone(),
                    line: Some(line),
                    record_type: Some(name.to_owned()),
                    field: Some(field.to_owned()),
                    reason: format!("{reason}{shown}"),
                });
            }
        };
        let file = File::open(&input.path).map_err(|e| io_err(&input.path, e))?;
        if parquet {
            use arrow::util::display::{ArrayFormatter, FormatOptions};
            use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.with_batch_size(8192).build());
            match reader {
                Err(e) => rejection = Some(format!("not a readable Parquet file: {e}")),
                Ok(reader) => {
                    let mut line = 0u64;
                    for batch in reader {
                        let batch = match batch {
                            Ok(b) => b,
                            Err(e) => {
                                rejection =
                                    Some(format!("Parquet read failed after row {line}: {e}"));
                                break;
                            }
                        };
                        // Source column of each canonical field, formatted to text.
                        let mut fmts = Vec::new();
                        for (src, canon) in &tm.mapping.columns {
                            let Some(col) = batch.column_by_name(src) else {
                                rejection =
                                    Some(format!("mapped column {src:?} is not in the file"));
                                break;
                            };
                            let f = ArrayFormatter::try_new(
                                col.as_ref(),
                                &FormatOptions::default().with_null(""),
                            )
                            .map_err(|source| IngestError::Arrow {
                                table: name,
                                source,
                            })?;
                            fmts.push((canon.as_str(), f));
                        }
                        if rejection.is_some() {
                            break;
                        }
                        for i in 0..batch.num_rows() {
                            line += 1;
                            outcome.receipts += 1;
                            let values: Vec<(&str, String)> = fmts
                                .iter()
                                .map(|(c, f)| (*c, f.value(i).to_string()))
                                .collect();
                            let res = buf.push_row(&opts.provider_id, |field| {
                                values
                                    .iter()
                                    .find(|(c, _)| *c == field)
                                    .map(|(_, v)| v.as_str())
                            });
                            row_result(&mut outcome, res, line);
                            parts.flush(writer, key, &mut buf, name, false)?;
                        }
                    }
                }
            }
        } else {
            let mut reader = CsvMappedReader::new(
                BufReader::with_capacity(1 << 20, file),
                label.clone(),
                tm.mapping.clone(),
            );
            for row in reader.by_ref() {
                outcome.receipts += 1;
                let res = buf.push_row(&opts.provider_id, |field| {
                    row.fields.get(field).map(String::as_str)
                });
                row_result(&mut outcome, res, row.line);
                parts.flush(writer, key, &mut buf, name, false)?;
            }
            let findings = reader.finish();
            let quarantined = findings
                .iter()
                .filter(|f| f.severity == Severity::ReceiptQuarantine)
                .count() as u64;
            outcome.receipts += quarantined;
            outcome.receipts_quarantined += quarantined;
            if findings.iter().any(|f| f.severity == Severity::FileFatal) {
                rejection = Some("the header or the file cannot be read (see the findings)".into());
            }
            outcome.findings = findings;
        }
        progress(bytes);
        Ok(UnitRead {
            outcome,
            pending: Some((buf, name)),
            rejection,
        })
    }

    fn write_pending(
        cx: &UnitCx<'_>,
        parts: &mut FileParts,
        pending: Self::Pending,
    ) -> Result<(), IngestError> {
        if let Some((mut buf, name)) = pending {
            parts.flush(cx.writer, cx.key, &mut buf, name, true)?;
        }
        Ok(())
    }
}
