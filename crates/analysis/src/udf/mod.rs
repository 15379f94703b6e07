//! SQL functions researchers need, registered in every workspace session:
//!
//! | function | returns |
//! |---|---|
//! | `age_at(birth_date, date)` | completed years at `date` (birthday reached when month/day ≥ the birth month/day; NULL if `date` < `birth_date`) |
//! | `jp_fiscal_year(date)` | Japanese fiscal year (April–March): 2024-03-31 → 2023, 2024-04-01 → 2024 |
//! | `icd10_match(code, pattern)` | whether an ICD-10 code matches `'E11'` (prefix), `'E10-E14'` (range of categories) or a comma list of both; dots and case ignored |
//! | `master_name(code)` | the name of a receipt code (drug, procedure, device, comment, disease, modifier) in the loaded SSK masters, NULL if unknown |
//! | `repeat`, `lpad`, `rpad` | DataFusion's, refusing a value over 1 MiB or a batch over 64 MiB (function results are not counted in the memory pool) |
//! | `charlson_index(icd10)` | aggregate: Charlson comorbidity index of a group's ICD-10 codes (Quan 2005 coding, Charlson 1987 weights, hierarchy applied) |

mod caps;
mod charlson;
mod dates;
mod icd10;
mod masters;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::ColumnarValue;
use datafusion::prelude::SessionContext;

pub use caps::{MAX_BATCH_BYTES, MAX_VALUE_BYTES, capped_string_udfs};
pub use charlson::{CHARLSON_CATEGORIES, CharlsonCategory, charlson_score, charlson_udaf};
pub use dates::{age_at_udf, age_years, civil_from_days, fiscal_year, jp_fiscal_year_udf};
pub use icd10::{Icd10Pattern, icd10_match_udf};
pub use masters::{MasterNames, master_name_udf};

/// Registers every function above on `ctx`.
pub fn register_all(ctx: &SessionContext, masters: Arc<MasterNames>) {
    ctx.register_udf(age_at_udf());
    ctx.register_udf(jp_fiscal_year_udf());
    ctx.register_udf(icd10_match_udf());
    ctx.register_udf(master_name_udf(masters));
    ctx.register_udaf(charlson_udaf());
    for f in capped_string_udfs() {
        ctx.register_udf(f);
    }
}

/// String types the functions accept (Parquet strings arrive as Utf8View by default).
pub(crate) const STRING_TYPES: [DataType; 3] =
    [DataType::Utf8View, DataType::Utf8, DataType::LargeUtf8];

/// The values of any string array as `Option<&str>`.
pub(crate) fn strings(array: &ArrayRef) -> DfResult<Vec<Option<&str>>> {
    Ok(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
        DataType::Utf8View => array.as_string_view().iter().collect(),
        DataType::Null => vec![None; array.len()],
        other => return exec_err!("expected a string argument, got {other}"),
    })
}

/// A function of all-scalar arguments returns a scalar; otherwise the array as computed.
pub(crate) fn finish(args: &[ColumnarValue], out: ArrayRef) -> DfResult<ColumnarValue> {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
    } else {
        Ok(ColumnarValue::Array(out))
    }
}
