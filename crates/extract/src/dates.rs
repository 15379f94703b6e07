//! The little calendar arithmetic the rules need (service months, ages). Hand-written because
//! it is a dozen lines and a date crate would be a dependency for one conversion.

/// `(year, month)` of a canonical `service_month` (`YYYYMM`).
pub fn parse_service_month(s: &str) -> Option<(i32, u32)> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i32 = s[..4].parse().ok()?;
    let m: u32 = s[4..].parse().ok()?;
    (1..=12).contains(&m).then_some((y, m))
}

/// `(year, month, day)` of a Date32 value (days since 1970-01-01), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Age in completed years on the last day of month `(y, m)`; `None` when born after it.
pub fn age_at_end_of_month(birth: i32, y: i32, m: u32) -> Option<u32> {
    let (by, bm, bd) = civil_from_days(birth);
    let last = days_in_month(y, m);
    let before_birthday = (m, last) < (bm, bd);
    let age = y - by - i32::from(before_birthday);
    u32::try_from(age).ok()
}

#[cfg(test)]
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_ages() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (1931, 12, 31), (2024, 3, 1)] {
            assert_eq!(civil_from_days(days_from_civil(y, m, d)), (y, m, d));
        }
        assert_eq!(days_from_civil(1970, 1, 2), 1);
        let b = days_from_civil(1980, 6, 15);
        assert_eq!(age_at_end_of_month(b, 2020, 5), Some(39));
        assert_eq!(age_at_end_of_month(b, 2020, 6), Some(40));
        let newborn = days_from_civil(2024, 1, 20);
        assert_eq!(age_at_end_of_month(newborn, 2024, 1), Some(0));
        assert_eq!(age_at_end_of_month(newborn, 2023, 12), None);
        assert_eq!(parse_service_month("202401"), Some((2024, 1)));
        assert_eq!(parse_service_month("202413"), None);
        assert_eq!(parse_service_month("2024-1"), None);
    }
}
