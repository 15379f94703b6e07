//! 負担区分 (別表21): which of a receipt's payers bear a detail line — the medical insurance
//! (医保, the HO record) and up to four public-expense payers (第1〜第4公費, the KO records in
//! file order).
//!
//! The table is the specification's 別表21 as tabulated by receiptisan
//! (`receipt/futan_kubun.rb`, cited in japan.md §2.2 SI/IY): one character per combination of
//! payers. The code is written on every SI/IY/TO/CO line; the receipt's HO.合計点数 is the sum of
//! the 算定単位 whose 負担区分 includes 医保, and the i-th KO.合計点数 the sum of those that include
//! the i-th 公費 (checked in `checks.rs`; verified on receiptisan's third-party sample file).

/// The payers bearing a line: bit 0 = 医保, bits 1..=4 = 第1〜第4公費.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PayerShare(u8);

const INSURANCE: u8 = 1;

impl PayerShare {
    /// The payers of a 負担区分 code; `None` for a code 別表21 does not define.
    pub fn of(code: &str) -> Option<PayerShare> {
        // (code, 医保, 公費1, 公費2, 公費3, 公費4) in 別表21's order: one payer, two, three,
        // four, all five.
        const TABLE: &[(&str, [u8; 5])] = &[
            ("1", [1, 0, 0, 0, 0]),
            ("5", [0, 1, 0, 0, 0]),
            ("6", [0, 0, 1, 0, 0]),
            ("B", [0, 0, 0, 1, 0]),
            ("C", [0, 0, 0, 0, 1]),
            ("2", [1, 1, 0, 0, 0]),
            ("3", [1, 0, 1, 0, 0]),
            ("E", [1, 0, 0, 1, 0]),
            ("G", [1, 0, 0, 0, 1]),
            ("7", [0, 1, 1, 0, 0]),
            ("H", [0, 1, 0, 1, 0]),
            ("I", [0, 1, 0, 0, 1]),
            ("J", [0, 0, 1, 1, 0]),
            ("K", [0, 0, 1, 0, 1]),
            ("L", [0, 0, 0, 1, 1]),
            ("4", [1, 1, 1, 0, 0]),
            ("M", [1, 1, 0, 1, 0]),
            ("N", [1, 1, 0, 0, 1]),
            ("O", [1, 0, 1, 1, 0]),
            ("P", [1, 0, 1, 0, 1]),
            ("Q", [1, 0, 0, 1, 1]),
            ("R", [0, 1, 1, 1, 0]),
            ("S", [0, 1, 1, 0, 1]),
            ("T", [0, 1, 0, 1, 1]),
            ("U", [0, 0, 1, 1, 1]),
            ("V", [1, 1, 1, 1, 0]),
            ("W", [1, 1, 1, 0, 1]),
            ("X", [1, 1, 0, 1, 1]),
            ("Y", [1, 0, 1, 1, 1]),
            ("Z", [0, 1, 1, 1, 1]),
            ("9", [1, 1, 1, 1, 1]),
        ];
        TABLE.iter().find(|(c, _)| *c == code).map(|(_, bits)| {
            PayerShare(
                bits.iter()
                    .enumerate()
                    .fold(0, |acc, (i, b)| acc | (b << i)),
            )
        })
    }

    /// Whether the medical insurance (HO) bears the line.
    pub fn insurance(self) -> bool {
        self.0 & INSURANCE != 0
    }

    /// Whether the `n`-th public-expense payer (1-based, the n-th KO of the receipt) bears it.
    pub fn public(self, n: usize) -> bool {
        (1..=4).contains(&n) && self.0 & (1 << n) != 0
    }

    /// The payers (0 = 医保, 1..=4 = 公費) bearing the line.
    pub fn payers(self) -> impl Iterator<Item = usize> {
        (0..5).filter(move |i| self.0 & (1 << i) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_of_payers_has_exactly_one_code() {
        let codes = "1562347BCEGHIJKLMNOPQRSTUVWXYZ9";
        let mut seen = std::collections::HashSet::new();
        for c in codes.chars() {
            let share = PayerShare::of(&c.to_string()).expect("defined");
            assert!(seen.insert(share), "{c} repeats a combination");
        }
        // 2^5 - 1 non-empty combinations of five payers.
        assert_eq!(seen.len(), 31);
        assert!(PayerShare::of("A").is_none() && PayerShare::of("").is_none());
    }

    #[test]
    fn codes_name_the_payers_of_the_specification() {
        let two = PayerShare::of("2").unwrap();
        assert!(two.insurance() && two.public(1) && !two.public(2));
        let five = PayerShare::of("5").unwrap();
        assert!(!five.insurance() && five.public(1));
        let c = PayerShare::of("C").unwrap();
        assert_eq!(c.payers().collect::<Vec<_>>(), [4]);
        assert_eq!(PayerShare::of("9").unwrap().payers().count(), 5);
    }
}
