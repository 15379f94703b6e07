//! Other people's names (family members, other patients, staff) found with the embedded name
//! lists (`data/names_family.csv`, `data/names_given.csv`, `data/names_given_common.csv`; see
//! `data/SOURCES.md`) and context.
//!
//! A list hit alone is weak evidence: many surnames are also words (中野, 本田, 上田 ...), so a
//! family name is only taken when the context says "person":
//! - **full names**: a listed family name directly followed by a listed given name (kanji with
//!   kanji, kana with kana; spaces between allowed), at least 3 kanji or 4 kana. One-character
//!   given names must end the kanji run (田中誠が) or be followed by a role word, so 東大 or 原生
//!   are not names; kana names must be a whole kana run, so drug names are not split;
//! - **family name + role word** (田中医師, 林先生, スズキ看護師, 佐藤Dr);
//! - **kinship or staff word + family name** (妻の鈴木が, 長男 田中, 主治医 山本, Dr.佐藤), and
//!   kinship word + given name (妻の花子が);
//!
//! and never when the hit is in [`COMMON_WORDS`] (names that are also everyday/clinical words).
//! Matching is done on the text normalized with [`crate::normalize::normalize_name`], so
//! half-width kana, hiragana, 異体字 and spaced names are found like the listed form.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::{Context, Finding, Placeholder};
use crate::normalize::normalize_name;

const FAMILY_CSV: &str = include_str!("../../data/names_family.csv");
const GIVEN_CSV: &str = include_str!("../../data/names_given.csv");
/// Common given names missing from the sampled list above (花子, 一郎, 恵子 ...).
const GIVEN_COMMON_CSV: &str = include_str!("../../data/names_given_common.csv");

/// Listed names that are also common words: never a name on list evidence alone (an honorific
/// or a registered own name still finds them).
const COMMON_WORDS: &[&str] = &[
    "元気", "未来", "大和", "正義", "希望", "安心", "平和", "中央", "本人", "大地", "健康",
];

/// Words after a family name that say it is a person (staff titles, Dr).
const ROLE_WORDS: &[&str] = &[
    "医師",
    "先生",
    "看護師",
    "准看護師",
    "薬剤師",
    "技師",
    "保健師",
    "助産師",
    "理学療法士",
    "作業療法士",
    "言語聴覚士",
    "栄養士",
    "ケアマネ",
    "院長",
    "副院長",
    "部長",
    "科長",
    "師長",
    "主任",
    "教授",
    "准教授",
    "講師",
    "Dr",
    "Ｄｒ",
    "Ns",
    "Ｎｓ",
    "MSW",
    "PT",
    "OT",
    "ST",
];

/// Kinship words before a name (妻の鈴木, 長男 田中一郎).
const KINSHIP_WORDS: &[&str] = &[
    "妻",
    "夫",
    "母",
    "父",
    "娘",
    "息子",
    "長男",
    "次男",
    "三男",
    "長女",
    "次女",
    "三女",
    "兄",
    "姉",
    "弟",
    "妹",
    "祖母",
    "祖父",
    "孫",
    "嫁",
    "婿",
    "義母",
    "義父",
    "叔母",
    "叔父",
    "伯母",
    "伯父",
    "姪",
    "甥",
    "配偶者",
    "母親",
    "父親",
    "主人",
    "夫人",
    "友人",
    "知人",
    "隣人",
    "同居人",
    "内縁の妻",
    "内縁の夫",
    "キーパーソン",
    "KP",
    "家族",
];

/// Staff words before a name (主治医 山本, Dr.佐藤, 紹介元 田中).
const STAFF_WORDS: &[&str] = &[
    "Dr.",
    "Dr",
    "Ｄｒ．",
    "Ｄｒ",
    "ドクター",
    "主治医",
    "担当医",
    "前医",
    "紹介医",
    "紹介元",
    "紹介先",
    "執刀医",
    "当直医",
    "担当",
    "医師",
    "看護師",
    "薬剤師",
    "ケアマネ",
    "ケアマネージャー",
    "担当ケアマネ",
    "院長",
];

/// Characters allowed between a context word and the name (at most two of them).
fn is_context_separator(c: char) -> bool {
    matches!(
        c,
        'の' | 'は' | '：' | ':' | '・' | '（' | '(' | ' ' | '　' | '、'
    )
}

/// Hiragana particles that may directly follow or precede a hiragana name.
fn is_particle(c: char) -> bool {
    "がはにをのともへでさちくや".contains(c)
}

struct NameSet {
    names: HashSet<Vec<char>>,
    max_len: usize,
}

impl NameSet {
    fn new() -> Self {
        Self {
            names: HashSet::new(),
            max_len: 0,
        }
    }

    fn insert(&mut self, v: Vec<char>) {
        self.max_len = self.max_len.max(v.len());
        self.names.insert(v);
    }

    /// Lengths of listed names starting at `norm[i]`, longest first.
    fn lengths_at(&self, norm: &[char], i: usize) -> Vec<usize> {
        (1..=self.max_len)
            .rev()
            .filter(|&l| i + l <= norm.len() && self.names.contains(&norm[i..i + l]))
            .collect()
    }
}

struct NameLists {
    family_kanji: NameSet,
    family_kana: NameSet,
    given_kanji: NameSet,
    given_kana: NameSet,
    common: HashSet<Vec<char>>,
}

static LISTS: LazyLock<NameLists> = LazyLock::new(NameLists::load);

impl NameLists {
    /// Parses the embedded lists. They are compiled in and checked by a unit test, so a bad line
    /// is skipped rather than reported (there is no user input here).
    fn load() -> Self {
        let mut lists = NameLists {
            family_kanji: NameSet::new(),
            family_kana: NameSet::new(),
            given_kanji: NameSet::new(),
            given_kana: NameSet::new(),
            common: COMMON_WORDS
                .iter()
                .map(|w| normalize_name(w).chars().collect())
                .collect(),
        };
        for (csv, family) in [
            (FAMILY_CSV, true),
            (GIVEN_CSV, false),
            (GIVEN_COMMON_CSV, false),
        ] {
            for line in csv.lines().skip(1) {
                for field in line.split(',') {
                    let v: Vec<char> = normalize_name(field).chars().collect();
                    if v.is_empty() {
                        continue;
                    }
                    let set = match (v.iter().all(|&c| is_kanji(c)), family) {
                        (true, true) => &mut lists.family_kanji,
                        (true, false) => &mut lists.given_kanji,
                        (false, _) if !v.iter().all(|&c| is_katakana(c)) => continue,
                        (false, true) => &mut lists.family_kana,
                        (false, false) => &mut lists.given_kana,
                    };
                    set.insert(v);
                }
            }
        }
        lists
    }
}

pub(super) fn is_kanji(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' | '々')
}

fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー' | '\u{FF66}'..='\u{FF9F}')
}

fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}')
}

/// One candidate: normalized char range `[i, end)`.
struct Span<'c, 'a> {
    ctx: &'c Context<'a>,
    i: usize,
    end: usize,
}

impl Span<'_, '_> {
    fn first_char(&self) -> usize {
        self.ctx.origin[self.i].0
    }

    fn after_char(&self) -> usize {
        self.ctx.origin[self.end - 1].1
    }

    fn before(&self) -> Option<char> {
        self.first_char()
            .checked_sub(1)
            .and_then(|k| self.ctx.char_at(k))
    }

    fn after(&self) -> Option<char> {
        self.ctx.char_at(self.after_char())
    }

    fn is_common(&self, lists: &NameLists) -> bool {
        lists.common.contains(&self.ctx.norm[self.i..self.end])
    }

    /// The original text is not cut in the middle of a word of the same script.
    fn bounded(&self, kanji: bool) -> bool {
        let first = self.ctx.char_at(self.first_char()).unwrap_or(' ');
        let last = self
            .ctx
            .char_at(self.after_char().saturating_sub(1))
            .unwrap_or(' ');
        let before_ok = |c: char| {
            if kanji {
                !is_kanji(c)
            } else if is_hiragana(first) {
                !is_katakana(c) && (!is_hiragana(c) || is_particle(c))
            } else {
                !is_katakana(c)
            }
        };
        let after_ok = |c: char| {
            if kanji {
                !is_kanji(c)
            } else if is_hiragana(last) {
                !is_katakana(c) && (!is_hiragana(c) || is_particle(c))
            } else {
                !is_katakana(c)
            }
        };
        self.before().is_none_or(before_ok) && self.after().is_none_or(after_ok)
    }

    /// A role word follows (spaces allowed between).
    fn role_after(&self) -> bool {
        let mut k = self.after_char();
        while self.ctx.char_at(k).is_some_and(char::is_whitespace) {
            k += 1;
        }
        ROLE_WORDS.iter().any(|w| {
            self.ctx.followed_by(k, w)
                // "ST" / "PT" must not be the start of a longer Latin word.
                && !(w.is_ascii()
                    && self
                        .ctx
                        .char_at(k + w.chars().count())
                        .is_some_and(|c| c.is_ascii_alphabetic()))
        })
    }

    /// One of `words` ends right before the span, with at most two separators between.
    fn context_before(&self, words: &[&str]) -> bool {
        let mut k = self.first_char();
        let mut skipped = 0;
        while skipped < 2 && k > 0 && self.ctx.char_at(k - 1).is_some_and(is_context_separator) {
            k -= 1;
            skipped += 1;
        }
        // Also try without skipping: "妻の" itself ends in a separator.
        words
            .iter()
            .any(|w| self.ctx.preceded_by(k, w) || self.ctx.preceded_by(self.first_char(), w))
    }
}

/// Finds other people's names; see the module docs for the rules.
pub(super) fn find_other_names(ctx: &Context<'_>, found: &mut Vec<Finding>) {
    let lists = &*LISTS;
    let norm = &ctx.norm;
    let mut i = 0;
    while i < norm.len() {
        match name_at(ctx, lists, i) {
            Some(end) => {
                let from = ctx.origin[i].0;
                let to = ctx.origin[end - 1].1;
                found.push(ctx.finding(Placeholder::Name, from, to));
                i = end;
            }
            None => i += 1,
        }
    }
}

/// End (normalized index) of a name starting at `i`, if one does.
fn name_at(ctx: &Context<'_>, lists: &NameLists, i: usize) -> Option<usize> {
    let norm = &ctx.norm;
    let c = norm[i];
    let kanji = is_kanji(c);
    if !kanji && !is_katakana(c) {
        return None;
    }
    let (family, given) = if kanji {
        (&lists.family_kanji, &lists.given_kanji)
    } else {
        (&lists.family_kana, &lists.given_kana)
    };
    let family_lengths = family.lengths_at(norm, i);
    // Full names.
    for &lf in &family_lengths {
        let mut given_lengths = given.lengths_at(norm, i + lf);
        if kanji {
            given_lengths.extend(lists.given_kana.lengths_at(norm, i + lf));
        }
        for lg in given_lengths {
            let span = Span {
                ctx,
                i,
                end: i + lf + lg,
            };
            if span.is_common(lists) {
                continue;
            }
            let ok = if kanji && !is_kanji(norm[i + lf]) {
                // Kanji family name, kana given name (中田ひろみ).
                lf >= 2 && lg >= 3 && {
                    let last = ctx.char_at(span.after_char() - 1).unwrap_or(' ');
                    span.after().is_none_or(|c| {
                        !is_katakana(c) && (!is_hiragana(last) || !is_hiragana(c) || is_particle(c))
                    })
                }
            } else if kanji {
                let long_enough = lf + lg >= 3 && (lf >= 2 || lg >= 2);
                let left = lf >= 2
                    || !span.before().is_some_and(is_kanji)
                    || span.context_before(KINSHIP_WORDS)
                    || span.context_before(STAFF_WORDS);
                let right = lg >= 2 || !span.after().is_some_and(is_kanji) || span.role_after();
                long_enough && left && right
            } else {
                lf >= 2 && lg >= 2 && span.bounded(false)
            };
            if ok {
                return Some(span.end);
            }
        }
    }
    // Family name with a role word after or a kinship/staff word before.
    for &lf in &family_lengths {
        let span = Span {
            ctx,
            i,
            end: i + lf,
        };
        if span.is_common(lists) {
            continue;
        }
        let left_bounded = if kanji {
            !span.before().is_some_and(is_kanji)
        } else {
            !span.before().is_some_and(is_katakana)
        };
        let staff_or_kin = span.context_before(STAFF_WORDS) || span.context_before(KINSHIP_WORDS);
        if span.role_after() && (left_bounded || staff_or_kin || span.before() == Some('科')) {
            return Some(span.end);
        }
        // One-kanji family names (関, 辻) only when the kanji run ends with them: 父 関節痛
        // is not a name.
        let min_len = if kanji { 1 } else { 3 };
        let right_bounded = if kanji {
            !span.after().is_some_and(is_kanji)
        } else {
            span.bounded(false)
        };
        if lf >= min_len && staff_or_kin && right_bounded {
            return Some(span.end);
        }
    }
    // Given name after a kinship word (妻の花子が; 妻の颯が only before a particle, and never
    // a one-kanji name that is a common word: 母の元へ, 父の心が).
    for lg in given.lengths_at(norm, i) {
        let span = Span {
            ctx,
            i,
            end: i + lg,
        };
        let right_bounded = if kanji {
            !span.after().is_some_and(is_kanji)
        } else {
            span.bounded(false)
        };
        let min_len = if kanji { 2 } else { 3 };
        let one_kanji = kanji
            && lg == 1
            && !"心空大生元新明望天光和直信保円太愛".contains(norm[i])
            && span.ctx.preceded_by(span.first_char(), "の")
            && span.after().is_some_and(|c| "がはとも、。".contains(c));
        if (lg >= min_len || one_kanji)
            && !span.is_common(lists)
            && right_bounded
            && span.context_before(KINSHIP_WORDS)
        {
            return Some(span.end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lists_load() {
        let l = &*LISTS;
        assert!(
            l.family_kanji.names.len() > 450,
            "{}",
            l.family_kanji.names.len()
        );
        assert!(l.family_kana.names.len() > 400);
        assert!(l.given_kanji.names.len() > 1_500);
        assert!(l.given_kana.names.len() > 800);
        assert!(
            l.family_kanji
                .names
                .contains(&"鈴木".chars().collect::<Vec<_>>())
        );
        assert!(
            l.given_kana
                .names
                .contains(&"ハナコ".chars().collect::<Vec<_>>())
        );
    }

    #[test]
    fn kana_predicates() {
        assert!(is_hiragana('あ') && is_katakana('ア') && is_katakana('ｱ') && is_kanji('亜'));
    }
}
