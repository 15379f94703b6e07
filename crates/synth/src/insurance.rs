//! Japanese insurer numbers (保険者番号) and insurance cards.
//!
//! Structure per `data/SOURCES.md`: 8 digits are 法別番号 (2), prefecture (2), insurer
//! serial (3) and a check digit; municipal national health insurance (国保) uses 6 digits:
//! prefecture (2), serial (3) and a check digit. The check digit weights the digits
//! 2,1,2,1,… from the right, sums the *digits* of the products, and takes
//! (10 − sum mod 10) mod 10.

/// The insurer types the generator simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsurerKind {
    /// 市町村国保 (self-employed, unemployed, retirees under 75).
    Kokuho,
    /// 協会けんぽ (small and medium employers), 法別 01.
    Kyokai,
    /// 組合健保 (health insurance societies), 法別 06.
    Kumiai,
    /// 共済組合 (public servants), 法別 31–34.
    Kyosai,
    /// 後期高齢者医療 (everyone from 75), 法別 39.
    Kouki,
}

impl InsurerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InsurerKind::Kokuho => "kokuho",
            InsurerKind::Kyokai => "kyokai",
            InsurerKind::Kumiai => "kumiai",
            InsurerKind::Kyosai => "kyosai",
            InsurerKind::Kouki => "kouki",
        }
    }

    pub fn is_employee(self) -> bool {
        matches!(
            self,
            InsurerKind::Kyokai | InsurerKind::Kumiai | InsurerKind::Kyosai
        )
    }
}

/// The check digit for the given leading digits (ASCII digits only).
pub fn check_digit(digits: &str) -> u8 {
    let mut sum = 0u32;
    for (i, c) in digits.bytes().rev().enumerate() {
        let d = (c.wrapping_sub(b'0')) as u32;
        let p = if i % 2 == 0 { d * 2 } else { d };
        sum += p / 10 + p % 10;
    }
    ((10 - sum % 10) % 10) as u8
}

/// True if a 6- or 8-digit insurer number carries a valid check digit.
pub fn is_valid_insurer_number(n: &str) -> bool {
    if !(n.len() == 6 || n.len() == 8) || !n.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (body, check) = n.split_at(n.len() - 1);
    check_digit(body) == check.as_bytes()[0] - b'0'
}

/// Build an insurer number for a kind, prefecture code ("01"–"47") and serial (0–999).
pub fn insurer_number(
    kind: InsurerKind,
    prefecture: &str,
    serial: u32,
    kyosai_hobetsu: u8,
) -> String {
    let body = match kind {
        InsurerKind::Kokuho => format!("{prefecture}{:03}", serial % 1000),
        InsurerKind::Kyokai => format!("01{prefecture}{:03}", serial % 1000),
        InsurerKind::Kumiai => format!("06{prefecture}{:03}", serial % 1000),
        InsurerKind::Kyosai => format!(
            "{}{prefecture}{:03}",
            31 + kyosai_hobetsu % 4,
            serial % 1000
        ),
        InsurerKind::Kouki => format!("39{prefecture}{:03}", serial % 1000),
    };
    let c = check_digit(&body);
    format!("{body}{c}")
}

/// Replace ASCII digits by full-width digits, as many providers write card symbols/numbers.
pub fn fullwidth_digits(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_check_digits() {
        // 協会けんぽ Tokyo branch: 01130012 (widely printed on cards).
        assert_eq!(check_digit("0113001"), 2);
        assert!(is_valid_insurer_number("01130012"));
        assert!(!is_valid_insurer_number("01130013"));
        assert!(!is_valid_insurer_number("0113001"));
        assert!(!is_valid_insurer_number("0113001x"));
    }

    #[test]
    fn widths() {
        assert_eq!(fullwidth_digits("12-ab3"), "１２-ab３");
    }

    proptest! {
        #[test]
        fn generated_numbers_validate(pref in 1u32..=47, serial in 0u32..1000, k in 0usize..5, h in 0u8..4) {
            let kind = [InsurerKind::Kokuho, InsurerKind::Kyokai, InsurerKind::Kumiai, InsurerKind::Kyosai, InsurerKind::Kouki][k];
            let n = insurer_number(kind, &format!("{pref:02}"), serial, h);
            prop_assert!(is_valid_insurer_number(&n), "{}", n);
            prop_assert_eq!(n.len(), if kind == InsurerKind::Kokuho { 6 } else { 8 });
        }
    }
}
