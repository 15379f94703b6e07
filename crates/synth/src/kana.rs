//! Kana width conversion for simulating how different providers write the same name.
//!
//! Hand-written because the generator needs only the one direction (full-width katakana →
//! half-width) and the table is short; the normalizer that undoes it (issue "Pseudonymization")
//! uses Unicode NFKC from a crate.

const FULL: &str = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンァィゥェォャュョッー";
const HALF: &str = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｧｨｩｪｫｬｭｮｯｰ";
const VOICED: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボヴ";
const VOICED_BASE: &str = "ｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎｳ";
const SEMI: &str = "パピプペポ";
const SEMI_BASE: &str = "ﾊﾋﾌﾍﾎ";

/// Convert full-width katakana (and the ideographic space) to half-width forms.
/// Characters with no half-width form are kept.
pub fn to_halfwidth_katakana(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\u{3000}' {
            out.push(' ');
        } else if let Some(i) = FULL.chars().position(|f| f == c) {
            out.push(HALF.chars().nth(i).unwrap_or(c));
        } else if let Some(i) = VOICED.chars().position(|f| f == c) {
            out.push(VOICED_BASE.chars().nth(i).unwrap_or(c));
            out.push('ﾞ');
        } else if let Some(i) = SEMI.chars().position(|f| f == c) {
            out.push(SEMI_BASE.chars().nth(i).unwrap_or(c));
            out.push('ﾟ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Convert hiragana to full-width katakana.
pub fn hiragana_to_katakana(s: &str) -> String {
    s.chars()
        .map(|c| {
            if ('\u{3041}'..='\u{3096}').contains(&c) {
                char::from_u32(c as u32 + 0x60).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_voiced_and_semi_voiced_kana() {
        assert_eq!(to_halfwidth_katakana("ヤマダ　タロウ"), "ﾔﾏﾀﾞ ﾀﾛｳ");
        assert_eq!(to_halfwidth_katakana("パン"), "ﾊﾟﾝ");
        assert_eq!(to_halfwidth_katakana("サトウ　キョウコ"), "ｻﾄｳ ｷｮｳｺ");
        assert_eq!(hiragana_to_katakana("すずき"), "スズキ");
    }
}
