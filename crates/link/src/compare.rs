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
    // Jaro–Winkler and edit distances are computed at most once per pair even when several
    // levels use them, on characters decoded once (into stack buffers) per pair; edit
    // distances are bounded by the largest threshold asked for.
    let mut chars: Option<Chars> = None;
    let mut jw: Option<f64> = None;
    let mut lev: Option<usize> = None;
    let mut osa: Option<usize> = None;
    for (i, level) in spec.levels.iter().enumerate() {
        let hit = match *level {
            Level::Exact => a == b,
            Level::JaroWinkler(t) => {
                *jw.get_or_insert_with(|| {
                    chars.get_or_insert_with(|| Chars::new(a, b)).jaro_winkler()
                }) >= t
            }
            Level::Levenshtein(d) => {
                *lev.get_or_insert_with(|| {
                    chars
                        .get_or_insert_with(|| Chars::new(a, b))
                        .edit_distance(max_edits(spec), false)
                }) <= d
            }
            // Optimal string alignment (adjacent transpositions, no edits across them): what
            // keying typos need.
            Level::DamerauLevenshtein(d) => {
                *osa.get_or_insert_with(|| {
                    chars
                        .get_or_insert_with(|| Chars::new(a, b))
                        .edit_distance(max_edits(spec), true)
                }) <= d
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

/// The largest edit-distance threshold among a comparison's levels.
fn max_edits(spec: &ComparisonSpec) -> usize {
    spec.levels
        .iter()
        .map(|l| match *l {
            Level::Levenshtein(d) | Level::DamerauLevenshtein(d) => d,
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// Characters a short string is copied into on the stack; longer strings use `strsim`.
const SHORT: usize = 48;

/// The characters of a pair of values, decoded once. Hand-written string metrics on them
/// rather than `strsim`'s: comparisons run hundreds of millions of times on short names, card
/// numbers and dates, and `strsim` decodes UTF-8 again and allocates on every call.
struct Chars<'s> {
    a: [char; SHORT],
    b: [char; SHORT],
    la: usize,
    lb: usize,
    /// Set when a value is longer than [`SHORT`]: then `strsim` does the work.
    long: Option<(&'s str, &'s str)>,
}

impl<'s> Chars<'s> {
    fn new(a: &'s str, b: &'s str) -> Self {
        let mut c = Chars {
            a: ['\0'; SHORT],
            b: ['\0'; SHORT],
            la: 0,
            lb: 0,
            long: None,
        };
        match (fill(&mut c.a, a), fill(&mut c.b, b)) {
            (Some(la), Some(lb)) => (c.la, c.lb) = (la, lb),
            _ => c.long = Some((a, b)),
        }
        c
    }

    fn edit_distance(&self, bound: usize, transpositions: bool) -> usize {
        match self.long {
            Some((a, b)) if transpositions => strsim::osa_distance(a, b),
            Some((a, b)) => strsim::levenshtein(a, b),
            None => bounded_edits(
                &self.a[..self.la],
                &self.b[..self.lb],
                bound,
                transpositions,
            ),
        }
    }

    /// Jaro–Winkler exactly as `strsim` 0.11 computes it (same matching window, transposition
    /// count and prefix bonus above 0.7), without its allocation.
    fn jaro_winkler(&self) -> f64 {
        let (a, b) = match self.long {
            Some((a, b)) => return strsim::jaro_winkler(a, b),
            None => (&self.a[..self.la], &self.b[..self.lb]),
        };
        let sim = jaro(a, b);
        if sim > 0.7 {
            let prefix = a.iter().take(4).zip(b).take_while(|(x, y)| x == y).count();
            sim + 0.1 * prefix as f64 * (1.0 - sim)
        } else {
            sim
        }
    }
}

fn jaro(a: &[char], b: &[char]) -> f64 {
    let (la, lb) = (a.len(), b.len());
    if la == 0 && lb == 0 {
        return 1.0;
    }
    if la == 0 || lb == 0 {
        return 0.0;
    }
    let range = (la.max(lb) / 2).saturating_sub(1);
    let mut a_flags = [false; SHORT];
    let mut b_flags = [false; SHORT];
    let mut matches = 0usize;
    for (i, x) in a.iter().enumerate() {
        let lo = i.saturating_sub(range);
        let hi = lb.min(i + range + 1);
        for j in lo..hi {
            if !b_flags[j] && *x == b[j] {
                a_flags[i] = true;
                b_flags[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut k = 0;
    for (i, x) in a.iter().enumerate() {
        if a_flags[i] {
            while k < lb && !b_flags[k] {
                k += 1;
            }
            if k < lb {
                transpositions += usize::from(*x != b[k]);
                k += 1;
            }
        }
    }
    transpositions /= 2;
    ((matches as f64 / la as f64)
        + (matches as f64 / lb as f64)
        + ((matches - transpositions) as f64 / matches as f64))
        / 3.0
}

/// Levenshtein (or, with `transpositions`, optimal-string-alignment) distance of two strings
/// when it is at most `bound`; some value above `bound` otherwise. Allocates nothing, strips
/// the common prefix and suffix, rejects on the length difference and stops as soon as a whole
/// DP row exceeds the bound (almost all compared pairs are far apart).
pub fn edit_distance(a: &str, b: &str, bound: usize, transpositions: bool) -> usize {
    Chars::new(a, b).edit_distance(bound, transpositions)
}

fn bounded_edits(x: &[char], y: &[char], bound: usize, transpositions: bool) -> usize {
    let (mut x, mut y) = (x, y);
    while let (Some(p), Some(q)) = (x.first(), y.first())
        && p == q
    {
        x = &x[1..];
        y = &y[1..];
    }
    while let (Some(p), Some(q)) = (x.last(), y.last())
        && p == q
    {
        x = &x[..x.len() - 1];
        y = &y[..y.len() - 1];
    }
    if x.len().abs_diff(y.len()) > bound {
        return bound + 1;
    }
    if x.is_empty() || y.is_empty() {
        return x.len().max(y.len());
    }
    // Three rows of the DP table (the one before the previous is needed for transpositions).
    let mut prev2 = [0usize; SHORT + 1];
    let mut prev = [0usize; SHORT + 1];
    let mut cur = [0usize; SHORT + 1];
    for (k, v) in prev.iter_mut().enumerate().take(y.len() + 1) {
        *v = k;
    }
    for i in 1..=x.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=y.len() {
            let cost = usize::from(x[i - 1] != y[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if transpositions && i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > bound {
            return bound + 1;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[y.len()]
}

/// Copies the characters of `s` into `buf`; `None` when it has more than [`SHORT`].
fn fill(buf: &mut [char; SHORT], s: &str) -> Option<usize> {
    let mut n = 0;
    for c in s.chars() {
        *buf.get_mut(n)? = c;
        n += 1;
    }
    Some(n)
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
    let mut diffs = (0..8).filter(|&k| a[k] != b[k]);
    match (diffs.next(), diffs.next(), diffs.next()) {
        (Some(_), None, _) => true,
        (Some(x), Some(y), None) => y == x + 1 && a[x] == b[y] && a[y] == b[x],
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
    let d = s.as_bytes();
    if d.len() != 8 || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Digits by hand: this runs for most compared pairs, and `str::parse` three times per date
    // showed up in profiles.
    let num = |r: std::ops::Range<usize>| {
        d[r].iter()
            .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'))
    };
    let (y, m, d) = (num(0..4), num(4..6), num(6..8));
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

    proptest::proptest! {
        #[test]
        fn bounded_edit_distance_agrees_with_strsim(
            a in "[abcアイウ]{0,12}", b in "[abcアイウ]{0,12}", bound in 0usize..4
        ) {
            let lev = strsim::levenshtein(&a, &b);
            let osa = strsim::osa_distance(&a, &b);
            let got_lev = edit_distance(&a, &b, bound, false);
            let got_osa = edit_distance(&a, &b, bound, true);
            let jw = Chars::new(&a, &b).jaro_winkler();
            proptest::prop_assert_eq!(jw.to_bits(), strsim::jaro_winkler(&a, &b).to_bits());
            proptest::prop_assert_eq!(got_lev <= bound, lev <= bound);
            proptest::prop_assert_eq!(got_osa <= bound, osa <= bound);
            if lev <= bound {
                proptest::prop_assert_eq!(got_lev, lev);
            }
            if osa <= bound {
                proptest::prop_assert_eq!(got_osa, osa);
            }
        }
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
