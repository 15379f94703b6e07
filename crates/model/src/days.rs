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

/// The `Date32` value of a `YYYYMMDD` string (`None` unless eight digits of a real date).
pub fn from_yyyymmdd(s: &str) -> Option<i32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let month = time::Month::try_from(s[4..6].parse::<u8>().ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(s[..4].parse().ok()?, month, s[6..].parse().ok()?).ok()?;
    Some(days_of(date))
}

/// Today (UTC) as a `Date32` value.
pub fn today() -> i32 {
    days_of(time::OffsetDateTime::now_utc().date())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yyyymmdd_strings() {
        assert_eq!(from_yyyymmdd("19700102"), Some(1));
        assert_eq!(from_yyyymmdd("19700231"), None);
        assert_eq!(from_yyyymmdd("S450101"), None);
    }

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
