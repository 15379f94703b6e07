//! Persons: demographics drawn from the 2020 census, names, addresses, insurance cards, and
//! how each provider writes them.

use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;

use crate::SynthError;
use crate::insurance::{InsurerKind, fullwidth_digits, insurer_number};
use crate::kana::to_halfwidth_katakana;
use crate::providers::{NameStyle, Provider};
use crate::reference::Reference;

/// Weighted samplers built once per run.
pub struct Samplers {
    age_sex: WeightedIndex<f64>,
    /// (sex, lowest age, highest age) per entry of `age_sex`.
    age_sex_bands: Vec<(u8, u32, u32)>,
    prefecture: WeightedIndex<f64>,
    family: WeightedIndex<f64>,
    given_male: WeightedIndex<f64>,
    given_female: WeightedIndex<f64>,
}

fn weighted(
    weights: impl IntoIterator<Item = f64>,
    what: &str,
) -> Result<WeightedIndex<f64>, SynthError> {
    WeightedIndex::new(weights).map_err(|e| SynthError::Reference {
        file: what.into(),
        line: 0,
        reason: format!("bad weights: {e}"),
    })
}

impl Samplers {
    pub fn new(r: &Reference) -> Result<Self, SynthError> {
        let mut bands = Vec::new();
        let mut weights = Vec::new();
        for b in &r.census {
            let (lo, hi) = b.range();
            bands.push((1, lo, hi));
            weights.push(b.male as f64);
            bands.push((2, lo, hi));
            weights.push(b.female as f64);
        }
        Ok(Samplers {
            age_sex: weighted(weights, "census_2020_age_sex.csv")?,
            age_sex_bands: bands,
            prefecture: weighted(
                r.prefectures.iter().map(|p| p.population_2020 as f64),
                "prefectures.csv",
            )?,
            family: weighted(r.family.iter().map(|n| n.weight), "names_family.csv")?,
            given_male: weighted(
                r.given_male.iter().map(|n| n.weight),
                "names_given_male.csv",
            )?,
            given_female: weighted(
                r.given_female.iter().map(|n| n.weight),
                "names_given_female.csv",
            )?,
        })
    }
}

/// A person's current insurance card.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub kind: InsurerKind,
    pub insurer_number: String,
    /// Card symbol (記号); 後期高齢者 cards have none.
    pub symbol: String,
    pub number: String,
    /// Household position: 0 = insured person, 1.. = dependents (枝番 from 2021).
    pub branch: u8,
    /// Dependent (family member) rather than the insured person.
    pub dependent: bool,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub index: u64,
    pub sex: u8,
    /// Days since 1970-01-01.
    pub birth: i32,
    pub birth_ymd: (i32, u8, u8),
    pub family: usize,
    pub given: usize,
    pub prefecture: usize,
    pub postcode: String,
    pub address: String,
    pub phone: String,
    pub card: Card,
    pub married: bool,
}

pub fn date32(y: i32, m: u8, d: u8) -> i32 {
    let month = time::Month::try_from(m).unwrap_or(time::Month::January);
    let date = time::Date::from_calendar_date(y, month, d)
        .or_else(|_| time::Date::from_calendar_date(y, month, 28))
        .unwrap_or(time::Date::MIN);
    date.to_julian_day() - 2_440_588
}

pub fn days_in_month(y: i32, m: u8) -> u8 {
    let month = time::Month::try_from(m).unwrap_or(time::Month::January);
    month.length(y)
}

/// Draw a new card for `kind` in prefecture `pref`.
pub fn new_card<R: Rng>(
    rng: &mut R,
    r: &Reference,
    kind: InsurerKind,
    pref: usize,
    dependent: bool,
) -> Card {
    let pc = &r.prefectures[pref].code;
    let (serial, symbol, number) = match kind {
        InsurerKind::Kokuho => (
            rng.random_range(0..60),
            format!(
                "{}{}",
                ["国", "市", "町", "村"][rng.random_range(0..4)],
                rng.random_range(1..99)
            ),
            format!("{}", rng.random_range(1..999_999)),
        ),
        InsurerKind::Kyokai => (
            1,
            format!("{}", rng.random_range(10_000_000..99_999_999u32)),
            format!("{}", rng.random_range(1..9999)),
        ),
        InsurerKind::Kumiai => (
            rng.random_range(0..200),
            format!("{}", rng.random_range(1..9999)),
            format!("{}", rng.random_range(1..99_999)),
        ),
        InsurerKind::Kyosai => (
            rng.random_range(0..40),
            format!("{}", rng.random_range(100..9999)),
            format!("{}", rng.random_range(1..999_999)),
        ),
        InsurerKind::Kouki => (
            1,
            String::new(),
            format!("{:08}", rng.random_range(1..99_999_999u32)),
        ),
    };
    Card {
        kind,
        insurer_number: insurer_number(kind, pc, serial, rng.random_range(0..4)),
        symbol,
        number,
        branch: if dependent { rng.random_range(1..4) } else { 0 },
        dependent,
    }
}

/// Which insurance a person of this age and sex has, before any events.
pub fn initial_kind<R: Rng>(rng: &mut R, age: u32, sex: u8) -> (InsurerKind, bool) {
    if age >= 75 {
        return (InsurerKind::Kouki, false);
    }
    let employee_share = match (age, sex) {
        (0..=19, _) => 0.65,
        (20..=59, 1) => 0.78,
        (20..=59, _) => 0.68,
        (60..=64, _) => 0.5,
        _ => 0.2,
    };
    if rng.random_bool(employee_share) {
        let dependent = age < 20 || (sex == 2 && rng.random_bool(0.35));
        (employee_kind(rng), dependent)
    } else {
        (InsurerKind::Kokuho, false)
    }
}

pub fn employee_kind<R: Rng>(rng: &mut R) -> InsurerKind {
    let x: f64 = rng.random();
    if x < 0.5 {
        InsurerKind::Kyokai
    } else if x < 0.85 {
        InsurerKind::Kumiai
    } else {
        InsurerKind::Kyosai
    }
}

impl Person {
    pub fn draw<R: Rng>(
        rng: &mut R,
        r: &Reference,
        s: &Samplers,
        index: u64,
        start_year: i32,
    ) -> Person {
        let (sex, lo, hi) = s.age_sex_bands[s.age_sex.sample(rng)];
        let age = rng.random_range(lo..=hi);
        let year = start_year - age as i32 - 1;
        let m = rng.random_range(1..=12u8);
        let d = rng.random_range(1..=days_in_month(year, m));
        let prefecture = s.prefecture.sample(rng);
        let pref = &r.prefectures[prefecture];
        let prefixes: Vec<&str> = pref.postcode_prefixes.split_whitespace().collect();
        let prefix = prefixes
            .get(rng.random_range(0..prefixes.len().max(1)))
            .copied()
            .unwrap_or("100");
        let postcode = format!("{prefix}{:04}", rng.random_range(0..10_000));
        let address = match r.addresses_by_prefecture.get(&pref.name_kanji) {
            Some(list) if !list.is_empty() => {
                let a = &list[rng.random_range(0..list.len())];
                format!(
                    "{}{}{}{}-{}-{}",
                    a.prefecture,
                    a.city,
                    a.town,
                    rng.random_range(1..9),
                    rng.random_range(1..30),
                    rng.random_range(1..20)
                )
            }
            _ => format!(
                "{}{}-{}",
                pref.name_kanji,
                rng.random_range(1..9),
                rng.random_range(1..30)
            ),
        };
        let given = if sex == 1 {
            s.given_male.sample(rng)
        } else {
            s.given_female.sample(rng)
        };
        let (kind, dependent) = initial_kind(rng, age, sex);
        let card = new_card(rng, r, kind, prefecture, dependent);
        Person {
            index,
            sex,
            birth: date32(year, m, d),
            birth_ymd: (year, m, d),
            family: s.family.sample(rng),
            given,
            prefecture,
            postcode,
            address,
            phone: format!(
                "0{}-{:04}-{:04}",
                rng.random_range(3..99),
                rng.random_range(0..10_000),
                rng.random_range(0..10_000)
            ),
            card,
            married: age >= 30 && rng.random_bool(0.6),
        }
    }

    pub fn new_family_name<R: Rng>(&mut self, rng: &mut R, s: &Samplers) {
        let old = self.family;
        for _ in 0..8 {
            self.family = s.family.sample(rng);
            if self.family != old {
                break;
            }
        }
    }

    /// Age in whole years on `date` (days since epoch, with its calendar (y, m, d)).
    pub fn age_on(&self, y: i32, m: u8, d: u8) -> u32 {
        let (by, bm, bd) = self.birth_ymd;
        let mut age = y - by;
        if (m, d) < (bm, bd) {
            age -= 1;
        }
        age.max(0) as u32
    }

    fn given_entry<'a>(&self, r: &'a Reference) -> &'a crate::reference::NameEntry {
        if self.sex == 1 {
            &r.given_male[self.given]
        } else {
            &r.given_female[self.given]
        }
    }

    /// Canonical forms: (kanji with full-width space, katakana with full-width space).
    pub fn canonical_names(&self, r: &Reference) -> (String, String) {
        let f = &r.family[self.family];
        let g = self.given_entry(r);
        (
            format!("{}\u{3000}{}", f.kanji, g.kanji),
            format!("{}\u{3000}{}", f.katakana, g.katakana),
        )
    }

    /// The name and kana name as `provider` writes them for this person.
    pub fn names_at(
        &self,
        r: &Reference,
        provider: &Provider,
        variant_rate: f64,
        typo_rate: f64,
        seed: u64,
    ) -> (String, String) {
        let (kanji, kana) = self.canonical_names(r);
        let style = if unit_hash(seed, self.index, provider.id.as_bytes()) < variant_rate {
            // Deterministic per (person, provider): another style than the provider's usual.
            let i = (mix(seed ^ self.index) % 3) as usize;
            NameStyle::ALL
                .iter()
                .copied()
                .filter(|s| *s != provider.name_style)
                .nth(i)
                .unwrap_or(provider.name_style)
        } else {
            provider.name_style
        };
        // Some providers register the traditional form of a character (高 → 髙, 崎 → 﨑, ...).
        let kanji = if provider.old_kanji_forms {
            to_old_forms(&kanji)
        } else {
            kanji
        };
        // Keying typos in the kana name, per (person, provider).
        let kana = if unit_hash(seed ^ 0x7970, self.index, provider.id.as_bytes()) < typo_rate {
            kana_typo(&kana, mix(seed ^ self.index))
        } else {
            kana
        };
        match style {
            NameStyle::KanjiSpaced => (kanji, kana),
            NameStyle::KanjiJoined => (kanji.replace('\u{3000}', ""), kana),
            NameStyle::KatakanaFull => (kana.clone(), kana),
            NameStyle::KatakanaHalf => {
                let half = to_halfwidth_katakana(&kana);
                (half.clone(), half)
            }
        }
    }

    /// Card symbol and number as `provider` writes them (digit width varies by provider).
    pub fn card_at(&self, provider: &Provider) -> (String, String) {
        if provider.fullwidth_card_digits {
            (
                fullwidth_digits(&self.card.symbol),
                fullwidth_digits(&self.card.number),
            )
        } else {
            (self.card.symbol.clone(), self.card.number.clone())
        }
    }
}

/// A date in the receipt's era form GYYMMDD (era digit 1 明治, 2 大正, 3 昭和, 4 平成, 5 令和),
/// with the era chosen by the date it began.
pub fn era_date(y: i32, m: u8, d: u8) -> String {
    const ERAS: [(u8, (i32, u8, u8)); 5] = [
        (5, (2019, 5, 1)),
        (4, (1989, 1, 8)),
        (3, (1926, 12, 25)),
        (2, (1912, 7, 30)),
        (1, (1868, 1, 25)),
    ];
    for (digit, start) in ERAS {
        if (y, m, d) >= start {
            return format!("{digit}{:02}{m:02}{d:02}", y - start.0 + 1);
        }
    }
    format!("{y:04}{m:02}{d:02}")
}

/// Pairs of katakana that are mistaken for each other when names are keyed in (シ/ツ, ソ/ン,
/// ク/ワ, ...): the typos that split one person's kana name across records.
const KANA_TYPOS: &[(char, char)] = &[
    ('シ', 'ツ'),
    ('ソ', 'ン'),
    ('ク', 'ワ'),
    ('ヘ', 'ペ'),
    ('ハ', 'バ'),
    ('ウ', 'ワ'),
];

/// Apply one typo to a katakana name, if it holds a confusable character.
pub fn kana_typo(kana: &str, pick: u64) -> String {
    let positions: Vec<(usize, char)> = kana
        .char_indices()
        .filter_map(|(i, c)| {
            KANA_TYPOS
                .iter()
                .find_map(|&(a, b)| {
                    if c == a {
                        Some(b)
                    } else if c == b {
                        Some(a)
                    } else {
                        None
                    }
                })
                .map(|r| (i, r))
        })
        .collect();
    if positions.is_empty() {
        return kana.to_string();
    }
    let (at, replacement) = positions[(pick % positions.len() as u64) as usize];
    let mut out = String::with_capacity(kana.len());
    for (i, c) in kana.char_indices() {
        out.push(if i == at { replacement } else { c });
    }
    out
}

/// Common new-form → traditional-form kanji pairs seen in Japanese surnames (異体字).
const OLD_FORMS: &[(char, char)] = &[
    ('高', '髙'),
    ('崎', '﨑'),
    ('辺', '邊'),
    ('斉', '齊'),
    ('斎', '齋'),
    ('沢', '澤'),
    ('浜', '濱'),
    ('桜', '櫻'),
    ('広', '廣'),
    ('国', '國'),
    ('島', '嶋'),
];

/// Replace new kanji forms by their traditional forms.
pub fn to_old_forms(s: &str) -> String {
    s.chars()
        .map(|c| {
            OLD_FORMS
                .iter()
                .find(|(new, _)| *new == c)
                .map(|(_, old)| *old)
                .unwrap_or(c)
        })
        .collect()
}

/// splitmix64's finalizer: a bijection on u64, used for ids and per-pair decisions.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1) from (seed, person, bytes).
pub fn unit_hash(seed: u64, person: u64, bytes: &[u8]) -> f64 {
    let mut h = mix(seed ^ person.rotate_left(17));
    for b in bytes {
        h = mix(h ^ *b as u64);
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn era_dates_follow_era_starts() {
        assert_eq!(era_date(1980, 1, 15), "3550115");
        assert_eq!(era_date(1989, 1, 7), "3640107");
        assert_eq!(era_date(1989, 1, 8), "4010108");
        assert_eq!(era_date(2019, 4, 30), "4310430");
        assert_eq!(era_date(2019, 5, 1), "5010501");
        assert_eq!(era_date(1926, 12, 24), "2151224");
    }

    #[test]
    fn typos_swap_one_confusable_kana() {
        assert_eq!(kana_typo("スズキ　シンジ", 0), "スズキ　ツンジ");
        assert_eq!(kana_typo("スズキ　シンジ", 1), "スズキ　シソジ");
        assert_eq!(kana_typo("タナカ", 3), "タナカ");
    }

    #[test]
    fn old_forms() {
        assert_eq!(to_old_forms("高橋　崎田"), "髙橋　﨑田");
        assert_eq!(to_old_forms("山田"), "山田");
    }

    #[test]
    fn dates() {
        assert_eq!(date32(1970, 1, 1), 0);
        assert_eq!(date32(2020, 3, 1) - date32(2020, 2, 28), 2);
        assert_eq!(days_in_month(2024, 2), 29);
    }
}
