//! `age_at` and `jp_fiscal_year` over Date32 (days since 1970-01-01).

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, Int32Array};
use datafusion::arrow::datatypes::{DataType, Date32Type};
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Signature, SimpleScalarUDF, Volatility};

use super::finish;

/// (year, month, day) of a day count since 1970-01-01 in the proleptic Gregorian calendar.
/// Hand-written (Howard Hinnant's `civil_from_days`) rather than going through a date type:
/// it runs per row, cannot fail, and is checked against the `time` crate by a property test.
pub fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

/// Completed years between two dates; `None` when `at` is before `birth`. A birthday counts
/// as reached on the calendar day (so a 29 February birth turns a year older on 1 March in
/// common years), the convention of epidemiological age, not the civil-law rule of the day
/// before.
pub fn age_years(birth: i32, at: i32) -> Option<i32> {
    if at < birth {
        return None;
    }
    let (by, bm, bd) = civil_from_days(birth);
    let (ay, am, ad) = civil_from_days(at);
    Some(ay - by - i32::from((am, ad) < (bm, bd)))
}

/// The Japanese fiscal year (April to March) a date falls in.
pub fn fiscal_year(days: i32) -> i32 {
    let (y, m, _) = civil_from_days(days);
    if m >= 4 { y } else { y - 1 }
}

pub fn age_at_udf() -> ScalarUDF {
    ScalarUDF::from(SimpleScalarUDF::new_with_signature(
        "age_at",
        Signature::exact(
            vec![DataType::Date32, DataType::Date32],
            Volatility::Immutable,
        ),
        DataType::Int32,
        Arc::new(|args: &[ColumnarValue]| -> DfResult<ColumnarValue> {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let birth = arrays[0].as_primitive::<Date32Type>();
            let at = arrays[1].as_primitive::<Date32Type>();
            let out: Int32Array = birth
                .iter()
                .zip(at.iter())
                .map(|(b, a)| age_years(b?, a?))
                .collect();
            finish(args, Arc::new(out))
        }),
    ))
}

pub fn jp_fiscal_year_udf() -> ScalarUDF {
    ScalarUDF::from(SimpleScalarUDF::new_with_signature(
        "jp_fiscal_year",
        Signature::exact(vec![DataType::Date32], Volatility::Immutable),
        DataType::Int32,
        Arc::new(|args: &[ColumnarValue]| -> DfResult<ColumnarValue> {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let d = arrays[0].as_primitive::<Date32Type>();
            let out: Int32Array = d.iter().map(|v| v.map(fiscal_year)).collect();
            finish(args, Arc::new(out))
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::{Date, Month};

    fn days(y: i32, m: u8, d: u8) -> i32 {
        let date = Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap();
        date.to_julian_day() - 2_440_588
    }

    #[test]
    fn ages_around_birthdays_and_leap_days() {
        assert_eq!(age_years(days(1980, 5, 10), days(2024, 5, 9)), Some(43));
        assert_eq!(age_years(days(1980, 5, 10), days(2024, 5, 10)), Some(44));
        assert_eq!(age_years(days(2000, 2, 29), days(2023, 2, 28)), Some(22));
        assert_eq!(age_years(days(2000, 2, 29), days(2023, 3, 1)), Some(23));
        assert_eq!(age_years(days(2000, 2, 29), days(2024, 2, 29)), Some(24));
        assert_eq!(age_years(days(2000, 1, 1), days(1999, 12, 31)), None);
        assert_eq!(age_years(days(1930, 1, 1), days(1969, 12, 31)), Some(39));
    }

    #[test]
    fn fiscal_years_turn_in_april() {
        assert_eq!(fiscal_year(days(2024, 3, 31)), 2023);
        assert_eq!(fiscal_year(days(2024, 4, 1)), 2024);
        assert_eq!(fiscal_year(days(2024, 12, 31)), 2024);
        assert_eq!(fiscal_year(days(2025, 1, 1)), 2024);
    }

    proptest! {
        #[test]
        fn civil_from_days_agrees_with_time(d in -200_000i32..200_000) {
            let date = Date::from_julian_day(d + 2_440_588).unwrap();
            let (y, m, dd) = civil_from_days(d);
            prop_assert_eq!((y, m, dd), (date.year(), u8::from(date.month()) as u32, date.day() as u32));
        }

        #[test]
        fn age_is_monotone_and_matches_year_difference(b in -30_000i32..20_000, gap in 0i32..40_000) {
            let a0 = age_years(b, b + gap).unwrap();
            let a1 = age_years(b, b + gap + 1).unwrap();
            prop_assert!(a1 == a0 || a1 == a0 + 1);
            let (by, _, _) = civil_from_days(b);
            let (ay, _, _) = civil_from_days(b + gap);
            prop_assert!(a0 == ay - by || a0 == ay - by - 1);
        }
    }
}
