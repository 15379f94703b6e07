//! Addresses: prefecture, municipality units (市 区 町 村 郡), town name and block number
//! (丁目 番地 番 号, digit groups joined by hyphens; ASCII, full-width or kanji numerals).
//!
//! Shapes taken (anything shorter is too coarse to identify anyone, and too close to clinical
//! words — 市販, 区域, 町内 — to scan for):
//! - prefecture + at least one municipality unit (東京都千代田区丸の内1-2-3, 北海道札幌市);
//! - two municipality units without the prefecture (大阪市北区梅田二丁目, 〇〇郡△△町);
//! - one municipality unit followed by a block number (千代田区丸の内1-2-3, 函館市松風町5番地).
//!
//! A prefecture alone (大阪府出身) and hospital names (東京都立〇〇病院, 大阪市立〇〇) are kept.

use super::{Context, Finding, Placeholder, digit_value, is_hyphen, names::is_kanji};

const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// Words that look like municipality units but are not addresses; skipped as a whole.
const NOT_ADDRESSES: &[&str] = &["都道府県", "市区町村", "市町村", "区市町村", "市区", "町村"];

/// Labels before an address; an address starting with one starts after it.
const LABELS: &[&str] = &[
    "現住所",
    "住所",
    "居住地",
    "自宅",
    "実家",
    "本籍",
    "転居先",
    "送付先",
    "在住",
];

/// Words that end a town-name run: the sentence goes on (中野区在住の娘が ...).
const TOWN_STOPS: &[&str] = &[
    "在住", "在宅", "出身", "方面", "付近", "近辺", "周辺", "居住", "自宅", "実家", "施設", "病院",
    "医院", "より",
];

/// Words a town-name run may end with that belong to the sentence, not the address.
const TRAILING_WORDS: &[&str] = &[
    "在住",
    "在",
    "出身",
    "方面",
    "付近",
    "近辺",
    "周辺",
    "居住",
    "住",
    "駅",
    "病院",
    "医院",
    "在宅",
    "へ",
    "自宅",
    "実家",
    "施設",
    "マンション",
    "アパート",
    "の",
    "が",
];

/// A unit character starting one of these is part of a word, not a municipality name's end.
const NOT_UNITS: &[&str] = &[
    "区域",
    "区分",
    "区間",
    "区画",
    "区別",
    "市販",
    "市立",
    "町立",
    "村立",
    "区立",
    "町内",
    "市内",
    "区内",
    "村内",
    "市民",
    "区民",
    "町民",
    "村民",
    "市営",
    "町営",
    "区営",
    "市外",
    "区外",
    "町外",
    "市役所",
    "区役所",
    "町役場",
    "村役場",
    "市議",
    "町議",
    "市長",
    "町長",
    "村長",
    "区長",
];

fn is_unit(c: char) -> bool {
    matches!(c, '市' | '区' | '町' | '村' | '郡')
}

fn is_kanji_numeral(c: char) -> bool {
    "〇一二三四五六七八九十百千".contains(c)
}

/// Characters of a municipality or town name (particles excluded, except inside town names).
fn is_place_char(c: char) -> bool {
    is_kanji(c)
        || matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー')
        || (matches!(c, '\u{3041}'..='\u{3096}') && !"のがはをにでともへや".contains(c))
}

pub(super) fn find_addresses(ctx: &Context<'_>, found: &mut Vec<Finding>) {
    let n = ctx.chars.len();
    let mut i = 0;
    while i < n {
        if let Some(w) = NOT_ADDRESSES
            .iter()
            .chain(LABELS)
            .find(|w| ctx.followed_by(i, w))
        {
            i += w.chars().count();
            continue;
        }
        match address_at(ctx, i, false).or_else(|| address_at(ctx, i, true)) {
            Some(end) => {
                found.push(ctx.finding(Placeholder::Address, i, end));
                i = end;
            }
            None => i += 1,
        }
    }
}

/// End (char index) of an address starting at char `i`.
///
/// `lenient` also reads a unit followed by a word in [`NOT_UNITS`] as a unit (常滑市長田,
/// 枕崎市立神本町), but then only a prefecture or a full block number confirms the address.
fn address_at(ctx: &Context<'_>, i: usize, lenient: bool) -> Option<usize> {
    let mut j = i;
    let prefecture = PREFECTURES.iter().find(|p| ctx.followed_by(i, p));
    if let Some(p) = prefecture {
        j += p.chars().count();
    }
    let mut units = 0;
    while units < 3 {
        if NOT_ADDRESSES.iter().any(|w| ctx.followed_by(j, w)) {
            break;
        }
        match municipality_at(ctx, j, lenient) {
            Some(k) => {
                j = k;
                units += 1;
            }
            None => break,
        }
    }
    if units == 0 {
        return None;
    }
    let town_end = town_at(ctx, j);
    let (block_end, full_block) = block_at(ctx, town_end);
    let has_block = block_end > town_end;
    let accepted = if lenient {
        prefecture.is_some() || full_block
    } else {
        prefecture.is_some() || units >= 2 || full_block
    };
    if !accepted {
        return None;
    }
    if has_block {
        return Some(block_end);
    }
    // No block: the town run minus sentence words at its end (梅田の病院 -> 梅田).
    let mut end = town_end;
    loop {
        let run = &ctx.text[ctx.byte(j)..ctx.byte(end)];
        match TRAILING_WORDS.iter().find(|w| run.ends_with(*w)) {
            Some(w) => end -= w.chars().count(),
            None => break,
        }
    }
    Some(end)
}

/// A municipality name of 1–6 place characters ending in a unit (さいたま市, 札幌市, 北区).
fn municipality_at(ctx: &Context<'_>, j: usize, lenient: bool) -> Option<usize> {
    for k in j + 1..=j + 6 {
        let c = ctx.char_at(k)?;
        // の/が inside a name (紀の川市, たつの市), never first.
        let inner = k - 1 > j && matches!(ctx.char_at(k - 1), Some('の' | 'が'));
        if !(inner || ctx.char_at(k - 1).is_some_and(is_place_char)) {
            return None;
        }
        if is_unit(c) {
            // 区域, 市販, 市立, 町内, 市民病院: a word, not a municipality.
            if !lenient && NOT_UNITS.iter().any(|w| ctx.followed_by(k, w)) {
                return None;
            }
            return Some(k + 1);
        }
    }
    None
}

/// Town name of up to 12 characters; の ヶ が allowed inside (丸の内, 自由が丘) when a block
/// number follows, which [`block_at`] then checks.
fn town_at(ctx: &Context<'_>, j: usize) -> usize {
    let mut k = j;
    while k < j + 12 {
        let Some(c) = ctx.char_at(k) else { break };
        if block_at(ctx, k).0 > k || TOWN_STOPS.iter().any(|w| ctx.followed_by(k, w)) {
            break;
        }
        let inner_particle = matches!(c, 'の' | 'が' | 'ヶ' | 'ケ')
            && k > j
            && ctx.char_at(k + 1).is_some_and(is_place_char);
        if is_place_char(c) || inner_particle {
            k += 1;
        } else {
            break;
        }
    }
    k
}

/// A number at `k`: ASCII/full-width digits, or kanji numerals (then a unit must follow).
fn number_at(ctx: &Context<'_>, k: usize) -> Option<(usize, bool)> {
    let mut e = k;
    while ctx.char_at(e).and_then(digit_value).is_some() {
        e += 1;
    }
    if e > k {
        return Some((e, false));
    }
    while ctx.char_at(e).is_some_and(is_kanji_numeral) {
        e += 1;
    }
    (e > k).then_some((e, true))
}

/// Longest first. 条/線 (with a direction) are Hokkaido street blocks: 北1条西2丁目.
const BLOCK_UNITS: &[&str] = &[
    "丁目", "番地", "条東", "条西", "条南", "条北", "番", "号", "条", "線", "の",
];

/// End of a block number (二丁目3番4号, 1-2-3, 123番地の4) at `k` (`k` if there is none), and
/// whether it is a full one: a 丁目/番地/番/号 unit or two or more joined numbers, not a bare
/// number (大阪市立病院3階 is not an address).
fn block_at(ctx: &Context<'_>, k: usize) -> (usize, bool) {
    let mut end = k;
    let mut pos = k;
    let mut numbers = 0;
    let mut units = 0;
    while let Some((e, kanji)) = number_at(ctx, pos) {
        numbers += 1;
        let unit = BLOCK_UNITS.iter().find(|u| ctx.followed_by(e, u));
        let hyphen = ctx.char_at(e).is_some_and(is_hyphen);
        match (unit, kanji) {
            (Some(u), _) => {
                let after = e + u.chars().count();
                if *u != "の" {
                    units += 1;
                    end = after;
                } else if number_at(ctx, after).is_some() {
                    // "の" only joins two numbers (123番地の4).
                    end = end.max(e);
                } else {
                    if !kanji {
                        end = e;
                    }
                    break;
                }
                pos = after;
            }
            (None, true) => break,
            (None, false) => {
                end = e;
                if hyphen && ctx.char_at(e + 1).and_then(digit_value).is_some() {
                    pos = e + 1;
                } else {
                    break;
                }
            }
        }
    }
    (end, end > k && (units > 0 || numbers >= 2))
}
