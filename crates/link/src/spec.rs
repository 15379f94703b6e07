//! What a linkage model is made of: the fields it reads from a CSV (and how each is
//! normalized), the blocking rules that choose candidate pairs, and the comparisons whose
//! levels the Fellegi–Sunter weights are learnt for.

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use medinfra_pseudo::normalize::{
    normalize_card, normalize_date, normalize_kana, normalize_name, normalize_sex,
};

/// A present value that its normalizer cannot use (the value itself is never kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unusable;

/// How a raw CSV value becomes the value that is blocked on and compared. Japanese identity
/// fields go through `medinfra-pseudo`'s normalizers (the same bytes its tokens and NDB IDs
/// hash), so every part of the platform agrees on when two values are "the same".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalizer {
    /// Trim and lower-case (FEBRL's Latin fields).
    Plain,
    /// `normalize_name`: NFKC, spaces removed, kana unified, variant kanji folded.
    Name,
    /// `normalize_kana`; a value that is not kana afterwards is invalid.
    Kana,
    /// `normalize_date` to `YYYYMMDD` (Gregorian or era input).
    Date,
    /// `normalize_sex` to `1`/`2`.
    Sex,
    /// `normalize_card` (insurer numbers, card symbols, numbers and branches).
    Card,
    /// Postcodes: NFKC, then digits only (drops 〒, hyphens and spaces).
    Postcode,
}

impl Normalizer {
    /// The normalized value; `Err(Unusable)` when the raw value is present but unusable
    /// (counted in the report and treated as missing: one bad birth date must not stop a
    /// linkage).
    pub fn apply(self, raw: &str) -> Result<String, Unusable> {
        if raw.trim().is_empty() {
            return Ok(String::new());
        }
        match self {
            Normalizer::Plain => Ok(raw.trim().to_lowercase()),
            Normalizer::Name => Ok(normalize_name(raw)),
            Normalizer::Kana => normalize_kana(raw).map_err(|_| Unusable),
            Normalizer::Date => normalize_date(raw).map_err(|_| Unusable),
            Normalizer::Sex => normalize_sex(raw).map(String::from).map_err(|_| Unusable),
            Normalizer::Card => normalize_card(raw).map_err(|_| Unusable),
            Normalizer::Postcode => {
                let digits: String = raw.nfkc().filter(char::is_ascii_digit).collect();
                if digits.is_empty() {
                    Err(Unusable)
                } else {
                    Ok(digits)
                }
            }
        }
    }
}

/// One model field: read from one CSV column, or several joined with `-` (e.g. card symbol and
/// number), each normalized.
#[derive(Debug, Clone, Serialize)]
pub struct FieldSpec {
    pub name: &'static str,
    pub sources: Vec<&'static str>,
    pub normalizer: Normalizer,
}

/// One agreement level of a comparison; a pair gets the first level it satisfies, or "else".
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "at")]
pub enum Level {
    Exact,
    JaroWinkler(f64),
    Levenshtein(usize),
    /// Restricted Damerau–Levenshtein (optimal string alignment) distance at most n.
    DamerauLevenshtein(usize),
    /// The first n characters agree.
    Prefix(usize),
    /// Two `YYYYMMDD` dates one digit apart (one substitution or two adjacent digits swapped).
    DateTypo,
    /// Two `YYYYMMDD` dates with day and month swapped.
    DateDayMonthSwap,
    /// Two `YYYYMMDD` dates at most n days apart.
    DateWithinDays(u32),
}

impl Level {
    pub fn label(&self) -> String {
        match self {
            Level::Exact => "exact".into(),
            Level::JaroWinkler(t) => format!("jaro_winkler>={t}"),
            Level::Levenshtein(d) => format!("levenshtein<={d}"),
            Level::DamerauLevenshtein(d) => format!("damerau_levenshtein<={d}"),
            Level::Prefix(n) => format!("first_{n}_chars"),
            Level::DateTypo => "date_one_digit_typo".into(),
            Level::DateDayMonthSwap => "date_day_month_swap".into(),
            Level::DateWithinDays(n) => format!("date_within_{n}_days"),
        }
    }
}

/// A comparison of one field: its levels, best first, and whether the exact level is adjusted
/// for how common the value is (a match on a rare surname is stronger evidence).
#[derive(Debug, Clone, Serialize)]
pub struct ComparisonSpec {
    pub name: &'static str,
    pub field: usize,
    pub levels: Vec<Level>,
    pub term_frequency: bool,
}

impl ComparisonSpec {
    /// Number of non-null levels including "else".
    pub fn n_levels(&self) -> usize {
        self.levels.len() + 1
    }

    pub fn level_label(&self, level: usize) -> String {
        self.levels
            .get(level)
            .map_or_else(|| "else".to_owned(), Level::label)
    }
}

/// One part of a blocking key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum KeyPart {
    Field {
        field: usize,
    },
    /// The first n characters of a field.
    Prefix {
        field: usize,
        n: usize,
    },
    /// Two fields as an unordered pair: catches records whose given and family names were
    /// entered the other way round, with a key that is the same on both sides (so a rule stays
    /// one equi-join, with no separate swapped rule).
    Unordered {
        a: usize,
        b: usize,
    },
}

/// Records are candidates under a rule when all its key parts are present and equal.
#[derive(Debug, Clone, Serialize)]
pub struct BlockingRule {
    pub name: &'static str,
    pub parts: Vec<KeyPart>,
}

/// A whole model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSpec {
    pub name: &'static str,
    pub id_column: &'static str,
    pub fields: Vec<FieldSpec>,
    pub comparisons: Vec<ComparisonSpec>,
    pub blocking: Vec<BlockingRule>,
    /// Blocking rules of the EM training sessions (m is estimated once per rule, leaving out
    /// the comparisons of the rule's own fields). Loose, simple rules on independent fields
    /// work best (e.g. birth date; insurer and card); empty means the prediction rules.
    pub training: Vec<BlockingRule>,
}

impl ModelSpec {
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizers_unify_widths_and_reject_garbage() {
        assert_eq!(Normalizer::Kana.apply("ﾔﾏﾀﾞ ﾀﾛｳ"), Ok("ヤマダタロウ".into()));
        assert_eq!(
            Normalizer::Kana.apply("やまだ　たろう"),
            Ok("ヤマダタロウ".into())
        );
        assert_eq!(Normalizer::Kana.apply("山田"), Err(Unusable));
        assert_eq!(Normalizer::Date.apply("S55.1.15"), Ok("19800115".into()));
        assert_eq!(Normalizer::Date.apply("19801340"), Err(Unusable));
        assert_eq!(
            Normalizer::Postcode.apply("〒１００－０００１"),
            Ok("1000001".into())
        );
        assert_eq!(Normalizer::Sex.apply("女"), Ok("2".into()));
        assert_eq!(Normalizer::Plain.apply("  Smith "), Ok("smith".into()));
        assert_eq!(Normalizer::Name.apply("   "), Ok(String::new()));
    }
}
