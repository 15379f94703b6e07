//! Normalization of Japanese identity fields before any hashing or comparison.
//!
//! One function per field kind: [`normalize_name`], [`normalize_kana`], [`normalize_card`],
//! [`normalize_date`] (plus [`normalize_sex`] for the NDB IDs). Every function is idempotent
//! (normalizing twice gives the same result as once; property-tested).
//!
//! The rules, in order (names and kana):
//! 1. stand-alone voiced marks ゛ ゜ become combining marks, then Unicode **NFKC** (full-width
//!    Latin/digits to ASCII, half-width kana to full-width, ｶﾞ to ガ, ㍻ to 平成, compatibility
//!    ideographs to their unified form);
//! 2. **removed**: all whitespace (ASCII and U+3000), zero-width characters, and the name
//!    separators ・ · = ＝;
//! 3. **hiragana to katakana** (ぁ..ゖ, ゝゞ), so やまだ = ヤマダ = ﾔﾏﾀﾞ;
//! 4. **small kana to large** (ァ→ア, ッ→ツ, ャ→ヤ, ヮ→ワ, ヵ→カ, ヶ→ケ, ㇰ..ㇿ): legacy systems
//!    (banking and insurance kana) cannot store small kana, so キョウコ and キヨウコ must meet;
//!    archaic ヰ→イ, ヱ→エ for the same reason;
//! 5. **long-vowel marks** (ー and the dashes people type for it: - ‐ − – — ― 〜 ～) after a
//!    kana become the vowel the official kana spelling of a Japanese name uses: ア段→ア,
//!    イ段→イ, ウ段→ウ, エ段→イ, オ段→ウ (ユーコ→ユウコ, コーイチ→コウイチ, ケーコ→ケイコ);
//!    anywhere else they are removed;
//! 6. iteration marks are expanded: 々 〻 repeat the previous kanji (佐々木 = 佐佐木), ヽ repeats
//!    and ヾ voices the previous kana;
//! 7. Latin letters are upper-cased;
//! 8. **variant kanji (異体字) are folded** to the common form with the small table
//!    [`VARIANT_KANJI`] (髙→高, 﨑→崎, 邊→辺, 齋→斎 ...). We fold because the NDB's known
//!    ID2 splits come from providers writing old and new forms of the same registered name;
//!    the table holds only pairs that are forms of *one* character, never different characters
//!    that happen to be confused (斎/斉 and 竜/龍 stay distinct).
//!
//! Dates become Gregorian `YYYYMMDD` (see [`normalize_date`]).

use thiserror::Error;
use time::{Date, Month};
use unicode_normalization::UnicodeNormalization;

/// Why a field could not be normalized. Never carries the field value (it is an identifier):
/// only the character position and a reason.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NormalizeError {
    #[error("field is empty after normalization")]
    Empty,
    #[error("character {position} is not kana (kana field)")]
    NotKana { position: usize },
    #[error("character {position} is not allowed in a card symbol/number")]
    InvalidCardChar { position: usize },
    #[error("date is not in a recognized format ({reason})")]
    DateFormat { reason: &'static str },
    #[error("date does not exist in the calendar ({reason})")]
    DateInvalid { reason: &'static str },
    #[error("sex code is not recognized (expected 1/2, 男/女, M/F)")]
    Sex,
}

/// Old/variant kanji forms (旧字体・異体字) seen in Japanese names, folded to the common form.
/// Only forms of the same character; the target of a pair is never itself a source.
pub const VARIANT_KANJI: &[(char, char)] = &[
    ('髙', '高'),
    ('﨑', '崎'),
    ('嵜', '崎'),
    ('邊', '辺'),
    ('邉', '辺'),
    ('澤', '沢'),
    ('濱', '浜'),
    ('齋', '斎'),
    ('齊', '斉'),
    ('廣', '広'),
    ('國', '国'),
    ('櫻', '桜'),
    ('眞', '真'),
    ('德', '徳'),
    ('惠', '恵'),
    ('藏', '蔵'),
    ('壽', '寿'),
    ('實', '実'),
    ('榮', '栄'),
    ('圓', '円'),
    ('淺', '浅'),
    ('寳', '宝'),
    ('寶', '宝'),
    ('冨', '富'),
    ('峯', '峰'),
    ('嶋', '島'),
    ('嶌', '島'),
    ('瀨', '瀬'),
    ('濵', '浜'),
    ('黑', '黒'),
    ('縣', '県'),
    ('氣', '気'),
    ('龜', '亀'),
    ('舩', '船'),
    ('萬', '万'),
    ('與', '与'),
    ('彌', '弥'),
    ('兒', '児'),
    ('曾', '曽'),
    ('驒', '騨'),
];

/// Normalizes a personal name (kanji, kana or Latin) with the rules in the module docs.
/// Infallible: any string has a normal form; an empty result is the caller's concern.
pub fn normalize_name(input: &str) -> String {
    fixpoint(input, name_pass)
}

/// Normalizes a kana name field (カナ氏名): the same rules as [`normalize_name`], then checks that
/// only katakana and Latin letters remain (a kanji here means the column is mis-mapped).
pub fn normalize_kana(input: &str) -> Result<String, NormalizeError> {
    let out = normalize_name(input);
    for (position, c) in out.chars().enumerate() {
        if !(is_katakana(c) || c.is_ascii_alphanumeric()) {
            return Err(NormalizeError::NotKana { position });
        }
    }
    Ok(out)
}

/// Normalizes an insurer number or an insured-card symbol/number (保険者番号, 記号・番号):
/// NFKC (full-width digits and letters to ASCII), whitespace, hyphens/dashes, ・ and dots removed
/// (they are formatting, not part of the number), kana to full-width katakana with small kana
/// enlarged, Latin upper-cased, variant kanji folded. Leading zeros are **kept** (a card number
/// may start with 0; the NDB rule is "no zero-fill", so we neither add nor strip them).
/// Control characters and symbols other than the separators are refused.
pub fn normalize_card(input: &str) -> Result<String, NormalizeError> {
    let out = fixpoint(input, card_pass);
    for (position, c) in out.chars().enumerate() {
        if !(c.is_ascii_alphanumeric() || is_katakana(c) || is_kanji(c)) {
            return Err(NormalizeError::InvalidCardChar { position });
        }
    }
    Ok(out)
}

/// Normalizes a date to Gregorian `YYYYMMDD`. Accepted (after NFKC, so full-width digits and
/// ㍻ ㋿ work):
/// - Gregorian `YYYYMMDD`, `YYYY-MM-DD`, `YYYY/M/D`, `YYYY.M.D`, `YYYY年M月D日`;
/// - the 7-digit receipt form `GYYMMDD` with era digit 1 明治, 2 大正, 3 昭和, 4 平成, 5 令和;
/// - era text: `昭和55年1月15日`, `平成元年...`, `S55.1.15`, `H2/3/4`, `R01-05-01` with era letters
///   M T S H R (either case) or the era names.
///
/// Era years are converted arithmetically (明治 1867+, 大正 1911+, 昭和 1925+, 平成 1988+,
/// 令和 2018+) without checking the era's end: forms printed before an era change carry dates
/// such as 平成31年5月1日 or 平成32年, and they mean the arithmetic Gregorian date. The resulting
/// Gregorian date must exist (no 2月30日).
pub fn normalize_date(input: &str) -> Result<String, NormalizeError> {
    let text: String = input
        .nfkc()
        .filter(|c| !c.is_whitespace())
        .collect::<String>();
    if text.is_empty() {
        return Err(NormalizeError::Empty);
    }
    let (year, month, day) = if text.chars().all(|c| c.is_ascii_digit()) {
        match text.len() {
            8 => (num(&text[0..4])?, num(&text[4..6])?, num(&text[6..8])?),
            7 => {
                let era = era_offset_from_digit(&text[0..1])?;
                let era_year = num(&text[1..3])?;
                if era_year == 0 {
                    return Err(NormalizeError::DateInvalid {
                        reason: "era year 0",
                    });
                }
                (era + era_year, num(&text[3..5])?, num(&text[5..7])?)
            }
            _ => {
                return Err(NormalizeError::DateFormat {
                    reason: "digits only, but neither YYYYMMDD nor GYYMMDD",
                });
            }
        }
    } else {
        parse_delimited_date(&text)?
    };
    let month_enum = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or(NormalizeError::DateInvalid {
            reason: "month out of range",
        })?;
    let day_u8 = u8::try_from(day).map_err(|_| NormalizeError::DateInvalid {
        reason: "day out of range",
    })?;
    let year_i32 = i32::try_from(year).map_err(|_| NormalizeError::DateInvalid {
        reason: "year out of range",
    })?;
    if !(1868..=2999).contains(&year_i32) {
        return Err(NormalizeError::DateInvalid {
            reason: "year outside 1868..2999",
        });
    }
    let date = Date::from_calendar_date(year_i32, month_enum, day_u8).map_err(|_| {
        NormalizeError::DateInvalid {
            reason: "no such day in that month",
        }
    })?;
    Ok(format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

/// Normalizes a sex code to the claims' 男女区分: `1` male, `2` female. Accepts 1/2, 男/女,
/// 男性/女性, M/F, male/female (any width or case).
pub fn normalize_sex(input: &str) -> Result<char, NormalizeError> {
    let text: String = input
        .nfkc()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    match text.as_str() {
        "1" | "男" | "男性" | "m" | "male" => Ok('1'),
        "2" | "女" | "女性" | "f" | "female" => Ok('2'),
        _ => Err(NormalizeError::Sex),
    }
}

// ---------------------------------------------------------------------------------------------

/// Applies `pass` until the output stops changing. One pass almost always suffices; the loop
/// exists because removing a character can put a combining mark next to a base it composes
/// with, which only a further NFKC round resolves. Bounded so hostile input cannot spin.
fn fixpoint(input: &str, pass: fn(&str) -> String) -> String {
    let mut current = pass(input);
    for _ in 0..4 {
        let next = pass(&current);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

fn name_pass(input: &str) -> String {
    let nfkc: String = input.chars().map(standalone_voicing).nfkc().collect();
    let mut out: Vec<char> = Vec::with_capacity(nfkc.len());
    for c in nfkc.chars() {
        if is_removed_separator(c) {
            continue;
        }
        let c = fold_char(c);
        if is_long_vowel_like(c) {
            if let Some(v) = out.last().and_then(|&p| long_vowel_for(p)) {
                out.push(v);
            }
            continue;
        }
        match c {
            '々' | '〻' => match out.last() {
                Some(&p) if is_kanji(p) => out.push(p),
                _ => out.push(c),
            },
            'ヽ' => match out.last() {
                Some(&p) if is_katakana(p) => out.push(p),
                _ => out.push(c),
            },
            'ヾ' => match out.last().and_then(|&p| voiced(p)) {
                Some(v) => out.push(v),
                None => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out.into_iter().collect::<String>().nfkc().collect()
}

fn card_pass(input: &str) -> String {
    let nfkc: String = input.chars().map(standalone_voicing).nfkc().collect();
    let mut out = String::with_capacity(nfkc.len());
    for c in nfkc.chars() {
        if is_removed_separator(c) || is_long_vowel_like(c) || c == '.' {
            continue;
        }
        out.push(fold_char(c));
    }
    out.nfkc().collect()
}

/// ゛ and ゜ typed as separate characters: NFKC turns them into "space + combining mark", which
/// would then be split from its kana by the space removal, so map them to the combining marks.
fn standalone_voicing(c: char) -> char {
    match c {
        '\u{309B}' => '\u{3099}',
        '\u{309C}' => '\u{309A}',
        other => other,
    }
}

fn is_removed_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '・' | '·' | '='
        )
}

fn is_long_vowel_like(c: char) -> bool {
    matches!(
        c,
        'ー' | '-' | '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' | '〜' | '~' | '～'
    )
}

/// Hiragana to katakana, small kana to large, archaic kana, Latin upper case, variant kanji.
fn fold_char(c: char) -> char {
    let c = match c {
        '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => {
            char::from_u32(c as u32 + 0x60).unwrap_or(c)
        }
        _ => c,
    };
    let c = match c {
        'ァ' => 'ア',
        'ィ' => 'イ',
        'ゥ' => 'ウ',
        'ェ' => 'エ',
        'ォ' => 'オ',
        'ッ' => 'ツ',
        'ャ' => 'ヤ',
        'ュ' => 'ユ',
        'ョ' => 'ヨ',
        'ヮ' => 'ワ',
        'ヵ' => 'カ',
        'ヶ' => 'ケ',
        'ヰ' => 'イ',
        'ヱ' => 'エ',
        'ㇰ' => 'ク',
        'ㇱ' => 'シ',
        'ㇲ' => 'ス',
        'ㇳ' => 'ト',
        'ㇴ' => 'ヌ',
        'ㇵ' => 'ハ',
        'ㇶ' => 'ヒ',
        'ㇷ' => 'フ',
        'ㇸ' => 'ヘ',
        'ㇹ' => 'ホ',
        'ㇺ' => 'ム',
        'ㇻ' => 'ラ',
        'ㇼ' => 'リ',
        'ㇽ' => 'ル',
        'ㇾ' => 'レ',
        'ㇿ' => 'ロ',
        other => other,
    };
    if c.is_ascii_lowercase() {
        return c.to_ascii_uppercase();
    }
    VARIANT_KANJI
        .iter()
        .find(|(from, _)| *from == c)
        .map_or(c, |(_, to)| *to)
}

const ROW_A: &str = "アカガサザタダナハバパマヤラワヷ";
const ROW_I: &str = "イキギシジチヂニヒビピミリ";
const ROW_U: &str = "ウクグスズツヅヌフブプムユルヴ";
const ROW_E: &str = "エケゲセゼテデネヘベペメレ";
const ROW_O: &str = "オコゴソゾトドノホボポモヨロヲヺ";

/// The vowel a long-vowel mark after `prev` stands for in official name spelling
/// (エ段 and オ段 long vowels are written イ and ウ: ケイコ, コウイチ).
fn long_vowel_for(prev: char) -> Option<char> {
    if ROW_A.contains(prev) {
        Some('ア')
    } else if ROW_I.contains(prev) || ROW_E.contains(prev) {
        Some('イ')
    } else if ROW_U.contains(prev) || ROW_O.contains(prev) {
        Some('ウ')
    } else {
        None
    }
}

/// The voiced form of a katakana (for ヾ), via canonical composition with the voiced mark.
fn voiced(prev: char) -> Option<char> {
    let composed: String = [prev, '\u{3099}']
        .iter()
        .collect::<String>()
        .nfc()
        .collect();
    let mut chars = composed.chars();
    match (chars.next(), chars.next()) {
        (Some(v), None) if is_katakana(v) => Some(v),
        _ => None,
    }
}

fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}' | '\u{30FD}' | '\u{30FE}')
}

fn is_kanji(c: char) -> bool {
    matches!(
        c,
        '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{20000}'..='\u{3134F}'
            | '々'
            | '〆'
    )
}

fn num(s: &str) -> Result<u32, NormalizeError> {
    s.parse::<u32>().map_err(|_| NormalizeError::DateFormat {
        reason: "expected a number",
    })
}

fn era_offset_from_digit(d: &str) -> Result<u32, NormalizeError> {
    match d {
        "1" => Ok(1867),
        "2" => Ok(1911),
        "3" => Ok(1925),
        "4" => Ok(1988),
        "5" => Ok(2018),
        _ => Err(NormalizeError::DateFormat {
            reason: "unknown era digit (1 明治 .. 5 令和)",
        }),
    }
}

const ERAS: &[(&str, u32)] = &[
    ("明治", 1867),
    ("大正", 1911),
    ("昭和", 1925),
    ("平成", 1988),
    ("令和", 2018),
    ("M", 1867),
    ("T", 1911),
    ("S", 1925),
    ("H", 1988),
    ("R", 2018),
];

/// Parses `[era]Y<sep>M<sep>D[日]` where the separators are any of - / . 年 月.
fn parse_delimited_date(text: &str) -> Result<(u32, u32, u32), NormalizeError> {
    let upper = text.to_ascii_uppercase();
    let (offset, rest) = match ERAS.iter().find(|(name, _)| upper.starts_with(name)) {
        Some((name, offset)) => (Some(*offset), &upper[name.len()..]),
        None => (None, upper.as_str()),
    };
    let rest = rest.strip_suffix('日').unwrap_or(rest);
    let parts: Vec<&str> = rest
        .split(['-', '/', '.', '年', '月'])
        .filter(|p| !p.is_empty())
        .collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(NormalizeError::DateFormat {
            reason: "expected year, month and day",
        });
    };
    let year = if *y == "元" { 1 } else { num(y)? };
    let month = num(m)?;
    let day = num(d)?;
    match offset {
        Some(era) => {
            if year == 0 || year > 99 {
                return Err(NormalizeError::DateInvalid {
                    reason: "era year outside 1..99",
                });
            }
            Ok((era + year, month, day))
        }
        None => {
            if y.len() != 4 {
                return Err(NormalizeError::DateFormat {
                    reason: "Gregorian year must have 4 digits",
                });
            }
            Ok((year, month, day))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn name_variants_of_one_person_are_equal() {
        let groups: &[&[&str]] = &[
            &[
                "ヤマダ　タロウ",
                "ﾔﾏﾀﾞ ﾀﾛｳ",
                "やまだたろう",
                "ヤマダタロウ",
                "やまだ　たろう",
                "ﾔﾏﾀﾞﾀﾛｳ",
                " ヤマダ・タロウ ",
                "ヤマタ\u{309B}タロウ",
                "ヤマタ\u{3099}タロウ",
                "ﾔﾏﾀﾞ\u{3000}ﾀﾛｰ",
                "ヤマダタロー",
                "やまだ たろー",
            ],
            &[
                "キョウコ",
                "キヨウコ",
                "きょうこ",
                "ｷｮｳｺ",
                "ｷﾖｳｺ",
                "キョーコ",
            ],
            &["ユウコ", "ユーコ", "ﾕｰｺ", "ﾕ-ｺ", "ゆうこ", "ユ－コ"],
            &["ケイコ", "ケーコ", "けいこ"],
            &["コウイチ", "コーイチ", "こういち", "ｺｰｲﾁ"],
            &["ジュンイチ", "ジユンイチ", "じゅんいち", "ｼﾞｭﾝｲﾁ"],
            &["ハットリ", "ハツトリ", "はっとり", "ﾊｯﾄﾘ"],
            &["高橋 一郎", "髙橋一郎", "高橋　一郎", "髙橋　一郎"],
            &["山崎花子", "山﨑花子", "山嵜花子", "山崎 花子"],
            &["渡辺", "渡邊", "渡邉"],
            &["斎藤", "齋藤"],
            &["佐々木", "佐佐木", "佐〻木"],
            &[
                "SMITH JOHN",
                "smith john",
                "ＳＭＩＴＨ　ＪＯＨＮ",
                "Smith・John",
            ],
            &["ヴァン", "ゔぁん", "ｳﾞｧﾝ"],
            &["イトウ", "ヰトウ"],
            &["ササキ", "サヽキ", "ささき"],
            &["スズキ", "スヾキ"],
            &["ケ", "ヶ"],
            &["カ", "ヵ"],
        ];
        for group in groups {
            let first = normalize_name(group[0]);
            for variant in *group {
                assert_eq!(normalize_name(variant), first, "{variant} vs {}", group[0]);
            }
        }
    }

    #[test]
    fn name_exact_outputs() {
        let cases = [
            ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ"),
            ("ユーコ", "ユウコ"),
            ("キャー", "キヤア"),
            ("ンー", "ン"),
            ("ー山田", "山田"),
            ("髙橋", "高橋"),
            ("佐々木", "佐佐木"),
            ("々", "々"),
            ("smith-jones", "SMITHJONES"),
            ("㍻", "平成"),
            ("山田\u{200B}太郎", "山田太郎"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_name(input), want, "input {input}");
        }
    }

    #[test]
    fn distinct_names_stay_distinct() {
        let pairs = [
            ("斎藤", "斉藤"),
            ("ヤマダ", "ヤマタ"),
            ("ハナコ", "ハナゴ"),
            ("竜一", "龍一"),
            ("サトウ", "サイトウ"),
            ("オオノ", "オノ"),
        ];
        for (a, b) in pairs {
            assert_ne!(normalize_name(a), normalize_name(b), "{a} vs {b}");
        }
    }

    #[test]
    fn variant_table_targets_are_not_sources() {
        for (_, to) in VARIANT_KANJI {
            assert!(
                VARIANT_KANJI.iter().all(|(from, _)| from != to),
                "{to} is both target and source"
            );
        }
    }

    #[test]
    fn kana_field() {
        assert_eq!(normalize_kana("やまだ　はなこ").unwrap(), "ヤマダハナコ");
        assert_eq!(normalize_kana("ﾔﾏﾀﾞ ﾊﾅｺ").unwrap(), "ヤマダハナコ");
        assert_eq!(
            normalize_kana("ヤマダ花子"),
            Err(NormalizeError::NotKana { position: 3 })
        );
        assert_eq!(normalize_kana("").unwrap(), "");
    }

    #[test]
    fn card_variants() {
        let cases = [
            ("１２３４５", "12345"),
            ("12345", "12345"),
            ("１２ ３４５", "12345"),
            ("12-345", "12345"),
            ("１２－３４５", "12345"),
            ("0012", "0012"),
            ("ｱｲ-01", "アイ01"),
            ("あい　０１", "アイ01"),
            ("ab.12", "AB12"),
            ("東京 ５", "東京5"),
            ("髙 ５", "高5"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_card(input).unwrap(), want, "input {input}");
        }
        assert_eq!(
            normalize_card("12#3"),
            Err(NormalizeError::InvalidCardChar { position: 2 })
        );
        assert!(normalize_card("1\u{0007}2").is_err());
    }

    #[test]
    fn date_variants() {
        let cases = [
            ("19800115", "19800115"),
            ("1980-01-15", "19800115"),
            ("1980/1/15", "19800115"),
            ("1980.1.15", "19800115"),
            ("1980年1月15日", "19800115"),
            ("１９８０年１月１５日", "19800115"),
            ("3550115", "19800115"),
            ("昭和55年1月15日", "19800115"),
            ("昭和５５年１月１５日", "19800115"),
            ("S55.1.15", "19800115"),
            ("s55/01/15", "19800115"),
            ("Ｓ５５．１．１５", "19800115"),
            ("H2.3.4", "19900304"),
            ("4020304", "19900304"),
            ("平成2年3月4日", "19900304"),
            ("㍻2年3月4日", "19900304"),
            ("平成元年1月8日", "19890108"),
            ("R1.5.1", "20190501"),
            ("R01-05-01", "20190501"),
            ("令和元年5月1日", "20190501"),
            ("5010501", "20190501"),
            ("㋿1年5月1日", "20190501"),
            ("M45.7.29", "19120729"),
            ("1450729", "19120729"),
            ("T15.12.24", "19261224"),
            ("2151224", "19261224"),
            ("大正15年12月24日", "19261224"),
            ("明治45年7月29日", "19120729"),
            ("平成31年5月1日", "20190501"),
            ("H12.2.29", "20000229"),
            (" 1980 01 15 ", "19800115"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_date(input).unwrap(), want, "input {input}");
        }
    }

    #[test]
    fn bad_dates_are_refused() {
        for input in [
            "",
            "19800230",
            "H11.2.29",
            "80.1.15",
            "6550115",
            "3000115",
            "S0.1.1",
            "S100.1.1",
            "1980/13/01",
            "19800115extra",
            "昭和55年1月",
            "X55.1.15",
            "1234567890",
        ] {
            assert!(normalize_date(input).is_err(), "accepted {input:?}");
        }
    }

    #[test]
    fn sex_codes() {
        for (input, want) in [
            ("1", '1'),
            ("１", '1'),
            ("男", '1'),
            ("男性", '1'),
            ("M", '1'),
            ("male", '1'),
            ("2", '2'),
            ("女", '2'),
            ("F", '2'),
            ("ｆ", '2'),
        ] {
            assert_eq!(normalize_sex(input).unwrap(), want, "input {input}");
        }
        assert!(normalize_sex("3").is_err());
        assert!(normalize_sex("").is_err());
    }

    fn name_alphabet() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                proptest::char::range('\u{3041}', '\u{30FF}'),
                proptest::char::range('\u{FF61}', '\u{FF9F}'),
                proptest::char::range('\u{31F0}', '\u{31FF}'),
                Just('\u{3099}'),
                Just('\u{309A}'),
                Just('\u{309B}'),
                Just('々'),
                Just('〻'),
                Just(' '),
                Just('\u{3000}'),
                Just('-'),
                Just('～'),
                Just('髙'),
                Just('﨑'),
                Just('山'),
                proptest::char::range('０', 'ｚ'),
                proptest::char::range('a', 'z'),
                any::<char>(),
            ],
            0..24,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn name_normalization_is_idempotent(s in name_alphabet()) {
            let once = normalize_name(&s);
            prop_assert_eq!(normalize_name(&once), once);
        }

        #[test]
        fn kana_normalization_is_idempotent(s in name_alphabet()) {
            if let Ok(once) = normalize_kana(&s) {
                prop_assert_eq!(normalize_kana(&once).unwrap(), once);
            }
        }

        #[test]
        fn card_normalization_is_idempotent(s in name_alphabet()) {
            if let Ok(once) = normalize_card(&s) {
                prop_assert_eq!(normalize_card(&once).unwrap(), once);
            }
        }

        #[test]
        fn date_normalization_is_idempotent(y in 1868u32..2100, m in 1u32..13, d in 1u32..29, era in 0usize..4) {
            let input = match era {
                0 => format!("{y:04}{m:02}{d:02}"),
                1 => format!("{y}/{m}/{d}"),
                2 => format!("{y}年{m}月{d}日"),
                _ => format!("{y:04}-{m:02}-{d:02}"),
            };
            let once = normalize_date(&input).unwrap();
            prop_assert_eq!(normalize_date(&once).unwrap(), once.clone());
            prop_assert_eq!(once, format!("{y:04}{m:02}{d:02}"));
        }

        #[test]
        fn era_and_gregorian_agree(y in 1990u32..2019, m in 1u32..13, d in 1u32..29) {
            let heisei = y - 1988;
            let g = normalize_date(&format!("{y:04}{m:02}{d:02}")).unwrap();
            prop_assert_eq!(normalize_date(&format!("H{heisei}.{m}.{d}")).unwrap(), g.clone());
            prop_assert_eq!(normalize_date(&format!("4{heisei:02}{m:02}{d:02}")).unwrap(), g.clone());
            prop_assert_eq!(normalize_date(&format!("平成{heisei}年{m}月{d}日")).unwrap(), g);
        }
    }
}
