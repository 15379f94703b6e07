//! Comparison levels of a record pair. A pair's comparison vector packs one 4-bit level per
//! comparison into a `u64` ([`Gamma`]): 0 is the best level, `n_levels - 1` is "else" and
//! [`NULL_LEVEL`] means a value is missing on either side (no evidence either way).

use crate::spec::{ComparisonSpec, Level};
use crate::table::Table;

/// Level stored for "missing on either side".
pub const NULL_LEVEL: u8 = 15;

/// Packed comparison vector: level of comparison `c` in bits `4c..4c+4`.
pub type Gamma = u64;

pub fn level_of(gamma: Gamma, c: usize) -> u8 {
    ((gamma >> (4 * c)) & 0xF) as u8
}

/// The level of one comparison for two values (already normalized); `None` when either is
/// missing.
pub fn compare_values(spec: &ComparisonSpec, a: &str, b: &str) -> Option<u8> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    // Jaro–Winkler is computed at most once per pair even when several levels use it.
    let mut jw: Option<f64> = None;
    for (i, level) in spec.levels.iter().enumerate() {
        let hit = match *level {
            Level::Exact => a == b,
            Level::JaroWinkler(t) => *jw.get_or_insert_with(|| strsim::jaro_winkler(a, b)) >= t,
            Level::Levenshtein(d) => bounded_levenshtein(a, b, d),
            Level::DamerauLevenshtein(d) => {
                a.chars().count().abs_diff(b.chars().count()) <= d
                    // Optimal string alignment (adjacent transpositions, no edits across them):
                    // what keying typos need, and unlike strsim's unrestricted
                    // Damerau–Levenshtein it allocates no hash map per call.
                    && strsim::osa_distance(a, b) <= d
            }
            Level::Prefix(n) => prefix_equal(a, b, n),
            Level::DateTypo => date_typo(a, b),
            Level::DateDayMonthSwap => day_month_swapped(a, b),
            Level::DateWithinDays(n) => match (day_number(a), day_number(b)) {
                (Some(x), Some(y)) => x.abs_diff(y) <= i64::from(n).unsigned_abs(),
                _ => false,
            },
        };
        if hit {
            return Some(i as u8);
        }
    }
    Some(spec.levels.len() as u8)
}

/// The packed comparison vector of record `i` of `l` and record `j` of `r`.
pub fn gamma(specs: &[ComparisonSpec], l: &Table, i: usize, r: &Table, j: usize) -> Gamma {
    let mut g: Gamma = 0;
    for (c, spec) in specs.iter().enumerate() {
        let level = compare_values(spec, l.value(spec.field, i), r.value(spec.field, j))
            .unwrap_or(NULL_LEVEL);
        g |= u64::from(level) << (4 * c);
    }
    g
}

fn bounded_levenshtein(a: &str, b: &str, d: usize) -> bool {
    // The length difference is a lower bound; skipping the O(n·m) table when it already
    // exceeds the bound saves most of the work on unrelated names.
    a.chars().count().abs_diff(b.chars().count()) <= d && strsim::levenshtein(a, b) <= d
}

fn prefix_equal(a: &str, b: &str, n: usize) -> bool {
    let mut ca = a.chars();
    let mut cb = b.chars();
    for _ in 0..n {
        match (ca.next(), cb.next()) {
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
    true
}

/// One digit substituted, or two adjacent digits swapped, in an 8-digit date.
fn date_typo(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != 8 || b.len() != 8 {
        return false;
    }
    let diffs: Vec<usize> = (0..8).filter(|&k| a[k] != b[k]).collect();
    match diffs.as_slice() {
        [_] => true,
        [x, y] => *y == x + 1 && a[*x] == b[*y] && a[*y] == b[*x],
        _ => false,
    }
}

fn day_month_swapped(a: &str, b: &str) -> bool {
    a.len() == 8
        && b.len() == 8
        && a.get(0..4) == b.get(0..4)
        && a.get(4..6) == b.get(6..8)
        && a.get(6..8) == b.get(4..6)
        && a != b
}

/// Days since 0000-03-01 of a `YYYYMMDD` date (proleptic Gregorian), for date distances.
fn day_number(s: &str) -> Option<i64> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = s.get(0..4)?.parse().ok()?;
    let m: i64 = s.get(4..6)?.parse().ok()?;
    let d: i64 = s.get(6..8)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days-from-civil (H. Hinnant's algorithm): exact, branch-free, no date crate needed.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(levels: Vec<Level>) -> ComparisonSpec {
        ComparisonSpec {
            name: "t",
            field: 0,
            levels,
            term_frequency: false,
        }
    }

    #[test]
    fn date_levels_catch_swaps_and_typos() {
        let s = spec(vec![
            Level::Exact,
            Level::DateTypo,
            Level::DateDayMonthSwap,
            Level::DateWithinDays(366),
        ]);
        assert_eq!(compare_values(&s, "19800115", "19800115"), Some(0));
        assert_eq!(compare_values(&s, "19800115", "19800116"), Some(1));
        assert_eq!(compare_values(&s, "19800115", "19801015"), Some(1));
        assert_eq!(
            compare_values(&s, "19800115", "18900115"),
            Some(1),
            "adjacent swap"
        );
        assert_eq!(compare_values(&s, "19800312", "19801203"), Some(2));
        assert_eq!(compare_values(&s, "19800115", "19801231"), Some(3));
        assert_eq!(compare_values(&s, "19800115", "19700115"), Some(1));
        assert_eq!(compare_values(&s, "19800115", "19721231"), Some(4));
        assert_eq!(compare_values(&s, "", "19721231"), None);
    }

    #[test]
    fn string_levels_in_order() {
        let s = spec(vec![
            Level::Exact,
            Level::JaroWinkler(0.92),
            Level::Levenshtein(2),
            Level::Prefix(1),
        ]);
        assert_eq!(compare_values(&s, "ヤマダタロウ", "ヤマダタロウ"), Some(0));
        assert_eq!(compare_values(&s, "ヤマダタロウ", "ヤマダタロ"), Some(1));
        assert_eq!(compare_values(&s, "タロウ", "ハロワ"), Some(2));
        assert_eq!(compare_values(&s, "スズキ", "サトウ"), Some(4));
        assert_eq!(compare_values(&s, "スズキ", "スタンレー"), Some(3));
    }

    #[test]
    fn day_numbers_are_consecutive_across_year_ends() {
        let a = day_number("19991231").unwrap();
        let b = day_number("20000101").unwrap();
        assert_eq!(b - a, 1);
        assert_eq!(
            day_number("20000301").unwrap() - day_number("20000228").unwrap(),
            2
        );
    }

    #[test]
    fn gamma_packs_levels_and_nulls() {
        let specs = vec![spec(vec![Level::Exact]), {
            let mut s = spec(vec![Level::Exact]);
            s.field = 1;
            s
        }];
        let mut t = Table::new(2);
        t.push("a", &["x", ""]);
        t.push("b", &["x", "y"]);
        let g = gamma(&specs, &t, 0, &t, 1);
        assert_eq!(level_of(g, 0), 0);
        assert_eq!(level_of(g, 1), NULL_LEVEL);
    }
}
