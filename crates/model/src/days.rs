//! Arrow `Date32` values (days since 1970-01-01) to and from calendar dates: the one place the
//! epoch offset is written.

/// Julian day number of 1970-01-01.
pub const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// The calendar date of a `Date32` value (`None` outside `time`'s range).
pub fn date_of(days: i32) -> Option<time::Date> {
    time::Date::from_julian_day(days + UNIX_EPOCH_JULIAN_DAY).ok()
}

/// The `Date32` value of a calendar date.
pub fn days_of(date: time::Date) -> i32 {
    date.to_julian_day() - UNIX_EPOCH_JULIAN_DAY
}

/// Today (UTC) as a `Date32` value.
pub fn today() -> i32 {
    days_of(time::OffsetDateTime::now_utc().date())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_known_values() {
        assert_eq!(days_of(time::macros::date!(1970 - 01 - 01)), 0);
        assert_eq!(days_of(time::macros::date!(2020 - 02 - 29)), 18321);
        assert_eq!(date_of(-1), Some(time::macros::date!(1969 - 12 - 31)));
        for d in [-40_000, -1, 0, 1, 18321, 60_000] {
            assert_eq!(date_of(d).map(days_of), Some(d));
        }
    }
}
