//! The built-in models: `japan-person` (Japanese identity columns, no configuration needed)
//! and `febrl` (the FEBRL benchmark's columns).

use crate::error::{LinkError, Result};
use crate::spec::{BlockingRule, ComparisonSpec, FieldSpec, KeyPart, Level, ModelSpec, Normalizer};

/// Column names `japan-person` reads (all optional except `rec_id`).
pub const JAPAN_PERSON_COLUMNS: &[&str] = &[
    "rec_id",
    "name_kanji",
    "name_kana",
    "sex",
    "birth_date",
    "insurer_number",
    "card_symbol",
    "card_number",
    "card_branch",
    "postcode",
    "prefecture",
];

/// A built-in model by its CLI name.
pub fn by_name(name: &str) -> Result<ModelSpec> {
    match name {
        "japan-person" => Ok(japan_person()),
        "febrl" => Ok(febrl()),
        other => Err(LinkError::UnknownModel(other.chars().take(40).collect())),
    }
}

fn field(name: &'static str, normalizer: Normalizer) -> FieldSpec {
    FieldSpec {
        name,
        sources: vec![name],
        normalizer,
    }
}

fn cmp(name: &'static str, field: usize, levels: Vec<Level>, tf: bool) -> ComparisonSpec {
    ComparisonSpec {
        name,
        field,
        levels,
        term_frequency: tf,
    }
}

fn rule(name: &'static str, fields: &[usize]) -> BlockingRule {
    BlockingRule {
        name,
        parts: fields
            .iter()
            .map(|&field| KeyPart::Field { field })
            .collect(),
    }
}

/// Japanese person records. Names go through `medinfra-pseudo`'s normalization, so full/half
/// width, spacing, hiragana/katakana, small kana and variant kanji do not split a person.
/// The card's symbol and number are one field (`card`), its branch another: the same card with a
/// different branch is another member of the family, which the branch comparison learns.
pub fn japan_person() -> ModelSpec {
    use Level::*;
    const KANJI: usize = 0;
    const KANA: usize = 1;
    const SEX: usize = 2;
    const BIRTH: usize = 3;
    const INSURER: usize = 4;
    const CARD: usize = 5;
    const BRANCH: usize = 6;
    const POSTCODE: usize = 7;
    const PREFECTURE: usize = 8;
    ModelSpec {
        name: "japan-person",
        id_column: "rec_id",
        fields: vec![
            field("name_kanji", Normalizer::Name),
            field("name_kana", Normalizer::Kana),
            field("sex", Normalizer::Sex),
            field("birth_date", Normalizer::Date),
            field("insurer_number", Normalizer::Card),
            FieldSpec {
                name: "card",
                sources: vec!["card_symbol", "card_number"],
                normalizer: Normalizer::Card,
            },
            field("card_branch", Normalizer::Card),
            field("postcode", Normalizer::Postcode),
            field("prefecture", Normalizer::Name),
        ],
        comparisons: vec![
            // Kanji names are 2–6 characters: edit distance says more than Jaro–Winkler.
            cmp(
                "name_kanji",
                KANJI,
                vec![Exact, Levenshtein(1), Levenshtein(2)],
                true,
            ),
            cmp(
                "name_kana",
                KANA,
                vec![Exact, JaroWinkler(0.92), Levenshtein(2), JaroWinkler(0.8)],
                true,
            ),
            cmp("sex", SEX, vec![Exact], false),
            cmp(
                "birth_date",
                BIRTH,
                vec![Exact, DateTypo, DateDayMonthSwap, DateWithinDays(366)],
                false,
            ),
            cmp("insurer_number", INSURER, vec![Exact], false),
            cmp("card", CARD, vec![Exact, DamerauLevenshtein(1)], false),
            cmp("card_branch", BRANCH, vec![Exact], false),
            cmp(
                "postcode",
                POSTCODE,
                vec![Exact, Prefix(5), Prefix(3)],
                false,
            ),
            cmp("prefecture", PREFECTURE, vec![Exact], false),
        ],
        blocking: vec![
            // Birth date alone makes ~93M pairs at a million persons (about 2,400 persons share
            // each date); with the prefecture ~6M, and on the synthetic population no true pair
            // that only this rule finds differs in prefecture (a person who changed name, card
            // and prefecture at once is lost; birth date + sex would keep them at 8× the pairs).
            rule("birth_date_prefecture", &[BIRTH, PREFECTURE]),
            rule("name_kana", &[KANA]),
            rule("name_kanji", &[KANJI]),
            rule("insurer_card", &[INSURER, CARD]),
            BlockingRule {
                name: "postcode_kana2",
                parts: vec![
                    KeyPart::Field { field: POSTCODE },
                    KeyPart::Prefix { field: KANA, n: 2 },
                ],
            },
        ],
        // Birth date is nearly independent of the other fields among non-matches; insurer and
        // card give the birth date's m (family members share a card but not a birth date).
        training: vec![
            rule("birth_date", &[BIRTH]),
            rule("insurer_card", &[INSURER, CARD]),
        ],
    }
}

/// FEBRL's columns (`given_name, surname, street_number, address_1, address_2, suburb,
/// postcode, state, date_of_birth, soc_sec_id`), compared the way Splink's FEBRL demo does.
pub fn febrl() -> ModelSpec {
    use Level::*;
    const GIVEN: usize = 0;
    const SURNAME: usize = 1;
    const NUMBER: usize = 2;
    const ADDRESS1: usize = 3;
    const ADDRESS2: usize = 4;
    const SUBURB: usize = 5;
    const POSTCODE: usize = 6;
    const STATE: usize = 7;
    const DOB: usize = 8;
    const SSN: usize = 9;
    let name_levels = || {
        vec![
            Exact,
            JaroWinkler(0.92),
            JaroWinkler(0.88),
            JaroWinkler(0.7),
        ]
    };
    ModelSpec {
        name: "febrl",
        id_column: "rec_id",
        fields: vec![
            field("given_name", Normalizer::Plain),
            field("surname", Normalizer::Plain),
            field("street_number", Normalizer::Plain),
            field("address_1", Normalizer::Plain),
            field("address_2", Normalizer::Plain),
            field("suburb", Normalizer::Plain),
            field("postcode", Normalizer::Plain),
            field("state", Normalizer::Plain),
            field("date_of_birth", Normalizer::Plain),
            field("soc_sec_id", Normalizer::Plain),
        ],
        comparisons: vec![
            cmp("given_name", GIVEN, name_levels(), true),
            cmp("surname", SURNAME, name_levels(), true),
            cmp(
                "date_of_birth",
                DOB,
                vec![Exact, DateTypo, DateDayMonthSwap, DamerauLevenshtein(2)],
                false,
            ),
            cmp(
                "soc_sec_id",
                SSN,
                vec![Exact, DamerauLevenshtein(1), DamerauLevenshtein(2)],
                false,
            ),
            cmp("street_number", NUMBER, vec![Exact], true),
            cmp(
                "address_1",
                ADDRESS1,
                vec![Exact, JaroWinkler(0.9), JaroWinkler(0.8)],
                false,
            ),
            cmp("address_2", ADDRESS2, vec![Exact, JaroWinkler(0.9)], false),
            cmp("suburb", SUBURB, vec![Exact, JaroWinkler(0.9)], false),
            cmp(
                "postcode",
                POSTCODE,
                vec![Exact, DamerauLevenshtein(1), DamerauLevenshtein(2)],
                true,
            ),
            cmp("state", STATE, vec![Exact], false),
        ],
        blocking: vec![
            BlockingRule {
                name: "names_either_order",
                parts: vec![KeyPart::Unordered {
                    a: GIVEN,
                    b: SURNAME,
                }],
            },
            rule("date_of_birth", &[DOB]),
            rule("soc_sec_id", &[SSN]),
            rule("state_address_1", &[STATE, ADDRESS1]),
            rule("street_number_address_1", &[NUMBER, ADDRESS1]),
            rule("postcode", &[POSTCODE]),
        ],
        training: vec![
            rule("date_of_birth", &[DOB]),
            rule("given_name_surname", &[GIVEN, SURNAME]),
        ],
    }
}

/// The entity number of a FEBRL record id (`rec-12-org`, `rec-12-dup-0` → `12`): FEBRL's truth
/// is "same number, same person".
pub fn febrl_entity(rec_id: &str) -> Option<&str> {
    let rest = rec_id.strip_prefix("rec-")?;
    let end = rest.find('-').unwrap_or(rest.len());
    let n = &rest[..end];
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_consistent() {
        for spec in [japan_person(), febrl()] {
            assert!(spec.comparisons.len() <= 16);
            for c in &spec.comparisons {
                assert!(c.field < spec.fields.len(), "{}", c.name);
                assert!(c.n_levels() < usize::from(crate::compare::NULL_LEVEL));
            }
            for r in &spec.blocking {
                assert!(!r.parts.is_empty());
            }
        }
        assert!(by_name("nope").is_err());
        assert_eq!(by_name("febrl").unwrap().name, "febrl");
    }

    #[test]
    fn febrl_entities() {
        assert_eq!(febrl_entity("rec-12-org"), Some("12"));
        assert_eq!(febrl_entity("rec-12-dup-3"), Some("12"));
        assert_eq!(febrl_entity("x-12"), None);
        assert_eq!(febrl_entity("rec--org"), None);
    }
}
