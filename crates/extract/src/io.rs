//! How an extract reads its input and hands over its output: re-scannable Arrow batch streams
//! per canonical table in, batches per released table out. The extract never opens files or
//! knows about the store; the caller adapts its storage to these two traits.

use std::collections::BTreeMap;

use arrow::array::{Array, Date32Array, Int32Array, Int64Array, StringArray};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use medinfra_model::CanonicalTable;

use crate::error::ExtractError;

/// A stream of batches of one table.
pub type BatchIter<'a> = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + 'a>;

/// Where an extract reads the canonical tables. Each table is scanned at most twice (a counting
/// pass, then a filtering pass), so `scan` must start a fresh stream each time it is called.
pub trait TableSource {
    /// A fresh scan of `table`, or `None` when the dataset has no such table.
    fn scan(&self, table: CanonicalTable) -> Result<Option<BatchIter<'_>>, ExtractError>;
}

/// Where an extract writes the released tables, batch by batch.
pub trait TableSink {
    fn write(&mut self, table: CanonicalTable, batch: RecordBatch) -> Result<(), ExtractError>;
}

/// Tables held in memory (tests, small datasets).
pub type MemoryTables = BTreeMap<CanonicalTable, Vec<RecordBatch>>;

impl TableSource for MemoryTables {
    fn scan(&self, table: CanonicalTable) -> Result<Option<BatchIter<'_>>, ExtractError> {
        Ok(self
            .get(&table)
            .map(|batches| Box::new(batches.iter().cloned().map(Ok)) as BatchIter<'_>))
    }
}

impl TableSink for MemoryTables {
    fn write(&mut self, table: CanonicalTable, batch: RecordBatch) -> Result<(), ExtractError> {
        self.entry(table).or_default().push(batch);
        Ok(())
    }
}

/// Calls `f` on every batch of `table` (numbered from 0); a missing table is an empty one.
pub(crate) fn for_each_batch(
    source: &dyn TableSource,
    table: CanonicalTable,
    mut f: impl FnMut(usize, &RecordBatch) -> Result<(), ExtractError>,
) -> Result<bool, ExtractError> {
    let Some(iter) = source.scan(table)? else {
        return Ok(false);
    };
    for (i, batch) in iter.enumerate() {
        let batch = batch.map_err(|source| ExtractError::Read {
            table: table.name(),
            batch: i,
            source,
        })?;
        f(i, &batch)?;
    }
    Ok(true)
}

/// Typed, named access to the columns of one input batch, with errors that say where.
pub(crate) struct Cols<'a> {
    pub table: CanonicalTable,
    pub batch_no: usize,
    pub batch: &'a RecordBatch,
}

impl<'a> Cols<'a> {
    pub fn new(table: CanonicalTable, batch_no: usize, batch: &'a RecordBatch) -> Self {
        Self {
            table,
            batch_no,
            batch,
        }
    }

    fn column<T: 'static>(&self, name: &'static str, ty: &str) -> Result<&'a T, ExtractError> {
        let err = |reason: String| ExtractError::Column {
            table: self.table.name(),
            batch: self.batch_no,
            column: name,
            reason,
        };
        let col = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| err("missing".into()))?;
        col.as_any()
            .downcast_ref::<T>()
            .ok_or_else(|| err(format!("expected {ty}, found {}", col.data_type())))
    }

    pub fn utf8(&self, name: &'static str) -> Result<&'a StringArray, ExtractError> {
        self.column(name, "Utf8")
    }
    pub fn int32(&self, name: &'static str) -> Result<&'a Int32Array, ExtractError> {
        self.column(name, "Int32")
    }
    pub fn int64(&self, name: &'static str) -> Result<&'a Int64Array, ExtractError> {
        self.column(name, "Int64")
    }
    pub fn date32(&self, name: &'static str) -> Result<&'a Date32Array, ExtractError> {
        self.column(name, "Date32")
    }

    /// An error about the value of `column` at `row`.
    pub fn bad(&self, row: usize, column: &'static str, reason: &'static str) -> ExtractError {
        ExtractError::Value {
            table: self.table.name(),
            batch: self.batch_no,
            row,
            column,
            reason,
        }
    }

    /// The non-null string at `row`.
    pub fn str_at(
        &self,
        arr: &'a StringArray,
        row: usize,
        column: &'static str,
    ) -> Result<&'a str, ExtractError> {
        if arr.is_null(row) {
            return Err(self.bad(row, column, "null in a required field"));
        }
        Ok(arr.value(row))
    }
}
