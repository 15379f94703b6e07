//! String functions whose output size the caller chooses — `repeat`, `lpad`, `rpad` — with
//! a cap on what they may allocate.
//!
//! The attack on the served demo: `SELECT repeat('x', 1900000000)` made one 1.9 GB string per
//! row, outside DataFusion's memory pool (functions do not reserve memory), and took the
//! server to 5.9 GiB RSS. These wrappers keep DataFusion's own functions and refuse, before
//! anything is allocated, a value over [`MAX_VALUE_BYTES`] or a batch over
//! [`MAX_BATCH_BYTES`].

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

use super::strings;

/// Largest value one call may produce.
pub const MAX_VALUE_BYTES: i64 = 1 << 20;
/// Largest total one batch of calls may produce.
pub const MAX_BATCH_BYTES: i64 = 64 << 20;

/// How a function's output size follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Size {
    /// `repeat(s, n)`: `len(s) * n`.
    Repeat,
    /// `lpad(s, n [, fill])`, `rpad(...)`: `n` characters (up to 4 bytes each).
    Pad,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Capped {
    inner: Arc<ScalarUDF>,
    size: Size,
}

fn counts(array: &ArrayRef) -> DfResult<Vec<Option<i64>>> {
    let a = cast(array, &DataType::Int64)?;
    Ok(a.as_primitive::<Int64Type>().iter().collect())
}

impl Capped {
    fn check(&self, args: &[ColumnarValue], rows: usize) -> DfResult<()> {
        if args.len() < 2 {
            return Ok(());
        }
        let arrays = ColumnarValue::values_to_arrays(&args[..2])?;
        let n = counts(&arrays[1])?;
        let per_row: Vec<i64> = match self.size {
            Size::Repeat => {
                let s = strings(&arrays[0])?;
                s.iter()
                    .zip(&n)
                    .map(|(s, n)| match (s, n) {
                        (Some(s), Some(n)) => (s.len() as i64).saturating_mul((*n).max(0)),
                        _ => 0,
                    })
                    .collect()
            }
            Size::Pad => n
                .iter()
                .map(|n| n.unwrap_or(0).max(0).saturating_mul(4))
                .collect(),
        };
        let name = self.inner.name();
        if let Some(big) = per_row.iter().find(|b| **b > MAX_VALUE_BYTES) {
            return exec_err!(
                "{name}: a value of {big} bytes is over the limit of {MAX_VALUE_BYTES} bytes"
            );
        }
        // Scalars stand for every row of the batch.
        let total: i64 = if per_row.len() == 1 {
            per_row[0].saturating_mul(rows as i64)
        } else {
            per_row.iter().fold(0i64, |a, b| a.saturating_add(*b))
        };
        if total > MAX_BATCH_BYTES {
            return exec_err!(
                "{name}: {total} bytes in one batch is over the limit of {MAX_BATCH_BYTES} bytes"
            );
        }
        Ok(())
    }
}

impl ScalarUDFImpl for Capped {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        self.check(&args.args, args.number_rows)?;
        self.inner.invoke_with_args(args)
    }
}

/// `repeat`, `lpad` and `rpad` with their output capped (registered over the built-ins).
pub fn capped_string_udfs() -> Vec<ScalarUDF> {
    use datafusion::functions::{string, unicode};
    [
        (string::repeat(), Size::Repeat),
        (unicode::lpad(), Size::Pad),
        (unicode::rpad(), Size::Pad),
    ]
    .into_iter()
    .map(|(inner, size)| ScalarUDF::new_from_impl(Capped { inner, size }))
    .collect()
}
