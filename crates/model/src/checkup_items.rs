//! 特定健診 item codes (japan.md §6.3) for the columns of the canonical `checkups` table: the
//! one place both the sample-data writer and ingest's reader take them from.
//!
//! Rules kept here:
//! - A column may be reported under several codes (measurement method variants). Writers use
//!   the first code of [`CheckupItem::codes`]; readers take the first code, in that order,
//!   that carries a usable value.
//! - Qualitative urine results are coded `1` −, `2` ±, `3` +, `4` ++, `5` +++, and yes/no
//!   answers (服薬, 喫煙) `1` yes, `2` no (as the ORCA 特定健診 reader decodes them). The value
//!   code systems ([`URINE_CODE_SYSTEM`], [`ANSWER_CODE_SYSTEM`]) are **unverified** (not in
//!   japan.md); readers ignore them and read the code only.
//! - The HbA1c NGSP variants after the first code are unverified (japan.md §6.3).

/// How an item's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// `PQ` with this unit.
    Quantity(&'static str),
    /// `CD` with the urine codes (canonical `-`, `±`, `+`, `++`, `+++`).
    Qualitative,
    /// `CD` 1 = yes, 2 = no (canonical boolean).
    YesNo,
}

/// One canonical column and the item codes that carry it.
#[derive(Debug, Clone, Copy)]
pub struct CheckupItem {
    pub column: &'static str,
    pub codes: &'static [&'static str],
    pub kind: ItemKind,
    pub display_name: &'static str,
}

const fn item(
    column: &'static str,
    codes: &'static [&'static str],
    kind: ItemKind,
    display_name: &'static str,
) -> CheckupItem {
    CheckupItem {
        column,
        codes,
        kind,
        display_name,
    }
}

use ItemKind::*;

/// Every item column of `checkups`, in schema order.
pub const CHECKUP_ITEMS: &[CheckupItem] = &[
    item("height_cm", &["9N001000000000001"], Quantity("cm"), "身長"),
    item("weight_kg", &["9N006000000000001"], Quantity("kg"), "体重"),
    item("bmi", &["9N011000000000001"], Quantity("kg/m2"), "BMI"),
    item(
        "waist_cm",
        &[
            "9N016160100000001",
            "9N016160200000001",
            "9N016160300000001",
        ],
        Quantity("cm"),
        "腹囲",
    ),
    item(
        "sbp",
        &[
            "9A751000000000001",
            "9A752000000000001",
            "9A755000000000001",
        ],
        Quantity("mmHg"),
        "収縮期血圧",
    ),
    item(
        "dbp",
        &[
            "9A761000000000001",
            "9A762000000000001",
            "9A765000000000001",
        ],
        Quantity("mmHg"),
        "拡張期血圧",
    ),
    item(
        "tg",
        &[
            "3F015000002327101",
            "3F015000002327201",
            "3F015000002399901",
        ],
        Quantity("mg/dL"),
        "中性脂肪",
    ),
    item(
        "hdl",
        &[
            "3F070000002327101",
            "3F070000002327201",
            "3F070000002399901",
        ],
        Quantity("mg/dL"),
        "HDLコレステロール",
    ),
    item(
        "ldl",
        &[
            "3F077000002327101",
            "3F077000002327201",
            "3F077000002399901",
        ],
        Quantity("mg/dL"),
        "LDLコレステロール",
    ),
    item(
        "ast",
        &["3B035000002327201", "3B035000002399901"],
        Quantity("U/L"),
        "GOT(AST)",
    ),
    item(
        "alt",
        &["3B045000002327201", "3B045000002399901"],
        Quantity("U/L"),
        "GPT(ALT)",
    ),
    item(
        "ggt",
        &["3B090000002327101", "3B090000002399901"],
        Quantity("U/L"),
        "γ-GT",
    ),
    item(
        "fpg",
        &[
            "3D010000001926101",
            "3D010000002227101",
            "3D010000001927201",
            "3D010000001999901",
        ],
        Quantity("mg/dL"),
        "空腹時血糖",
    ),
    item(
        "hba1c",
        &[
            "3D046000001906202",
            "3D046000001920402",
            "3D046000001927102",
            "3D046000001999902",
        ],
        Quantity("%"),
        "HbA1c(NGSP)",
    ),
    item("urine_glucose", &["1A020000000190111"], Qualitative, "尿糖"),
    item(
        "urine_protein",
        &["1A010000000190111"],
        Qualitative,
        "尿蛋白",
    ),
    item("med_bp", &["9N701000000000011"], YesNo, "服薬1(血圧)"),
    item("med_glucose", &["9N706000000000011"], YesNo, "服薬2(血糖)"),
    item("med_lipid", &["9N711000000000011"], YesNo, "服薬3(脂質)"),
    item("smoking", &["9N736000000000011"], YesNo, "喫煙"),
];

/// Value code system of the urine codes (unverified, see module docs).
pub const URINE_CODE_SYSTEM: &str = "1.2.392.200119.6.2101";
/// Value code system of yes/no answers (unverified, see module docs).
pub const ANSWER_CODE_SYSTEM: &str = "1.2.392.200119.6.2201";

/// (code, canonical symbol) of qualitative urine results.
const URINE: &[(&str, &str)] = &[
    ("1", "-"),
    ("2", "±"),
    ("3", "+"),
    ("4", "++"),
    ("5", "+++"),
];

/// The urine code for a canonical symbol.
pub fn urine_code(symbol: &str) -> Option<&'static str> {
    URINE.iter().find(|(_, s)| *s == symbol).map(|(c, _)| *c)
}

/// The canonical symbol for a urine code.
pub fn urine_symbol(code: &str) -> Option<&'static str> {
    URINE.iter().find(|(c, _)| *c == code).map(|(_, s)| *s)
}

/// The item a code belongs to.
pub fn item_of(code: &str) -> Option<&'static CheckupItem> {
    CHECKUP_ITEMS.iter().find(|i| i.codes.contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CanonicalTable;

    #[test]
    fn items_are_checkup_columns_and_codes_are_unique() {
        let cols: Vec<&str> = CanonicalTable::Checkups
            .columns()
            .iter()
            .map(|c| c.name)
            .collect();
        let mut seen = std::collections::HashSet::new();
        for i in CHECKUP_ITEMS {
            assert!(cols.contains(&i.column), "{}", i.column);
            for c in i.codes {
                assert_eq!(c.len(), 17, "{c}");
                assert!(seen.insert(*c), "{c}");
            }
        }
        assert_eq!(urine_symbol(urine_code("+").unwrap()), Some("+"));
    }
}
