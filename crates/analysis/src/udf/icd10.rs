//! ICD-10 code matching by prefix and by range of codes of equal length.

use std::sync::Arc;

use datafusion::arrow::array::BooleanArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarUDF, Signature, SimpleScalarUDF, TypeSignature, Volatility,
};

use super::{STRING_TYPES, finish, strings};

/// The longest code the matcher looks at (ICD-10 codes have at most 7 characters; Japanese
/// extensions add one or two).
const MAX_CODE: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Prefix(Vec<u8>),
    /// Inclusive bounds of equal length; compared with the code's first `len` characters.
    Range(Vec<u8>, Vec<u8>),
}

/// A parsed pattern: comma-separated items, each a prefix (`E11`, `I25.2`) or a range of
/// equal-length bounds (`E10-E14`, `I42.5-I42.9`). Dots, spaces and case are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icd10Pattern {
    items: Vec<Item>,
}

/// Upper-cased code without dots and spaces, in a fixed buffer (no allocation per row).
fn normalize(code: &str) -> ([u8; MAX_CODE], usize) {
    let mut buf = [0u8; MAX_CODE];
    let mut n = 0;
    for b in code.bytes() {
        if b == b'.' || b.is_ascii_whitespace() {
            continue;
        }
        if n == MAX_CODE {
            break;
        }
        buf[n] = b.to_ascii_uppercase();
        n += 1;
    }
    (buf, n)
}

fn bound(s: &str) -> Result<Vec<u8>, String> {
    let (buf, n) = normalize(s);
    let v = buf[..n].to_vec();
    if v.is_empty() {
        return Err("empty code".into());
    }
    if n > 8 || !v.iter().all(u8::is_ascii_alphanumeric) {
        return Err(format!("{s:?} is not an ICD-10 code"));
    }
    Ok(v)
}

impl Icd10Pattern {
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let mut items = Vec::new();
        for part in pattern.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match part.split_once('-') {
                None => items.push(Item::Prefix(bound(part)?)),
                Some((lo, hi)) => {
                    let (lo, hi) = (bound(lo)?, bound(hi)?);
                    if lo.len() != hi.len() {
                        return Err(format!("range {part:?}: bounds differ in length"));
                    }
                    if lo > hi {
                        return Err(format!("range {part:?}: lower bound above upper"));
                    }
                    items.push(Item::Range(lo, hi));
                }
            }
        }
        if items.is_empty() {
            return Err("empty pattern".into());
        }
        Ok(Icd10Pattern { items })
    }

    pub fn matches(&self, code: &str) -> bool {
        let (buf, n) = normalize(code);
        let code = &buf[..n];
        self.items.iter().any(|item| match item {
            Item::Prefix(p) => code.starts_with(p),
            Item::Range(lo, hi) => {
                code.len() >= lo.len() && {
                    let head = &code[..lo.len()];
                    lo.as_slice() <= head && head <= hi.as_slice()
                }
            }
        })
    }
}

pub fn icd10_match_udf() -> ScalarUDF {
    let sig = Signature::one_of(
        STRING_TYPES
            .iter()
            .flat_map(|a| {
                STRING_TYPES
                    .iter()
                    .map(|b| TypeSignature::Exact(vec![a.clone(), b.clone()]))
            })
            .collect(),
        Volatility::Immutable,
    );
    ScalarUDF::from(SimpleScalarUDF::new_with_signature(
        "icd10_match",
        sig,
        DataType::Boolean,
        Arc::new(|args: &[ColumnarValue]| -> DfResult<ColumnarValue> {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let codes = strings(&arrays[0])?;
            let patterns = strings(&arrays[1])?;
            let parse = |p: &str| match Icd10Pattern::parse(p) {
                Ok(p) => Ok(p),
                Err(e) => exec_err!("icd10_match: bad pattern: {e}"),
            };
            // The usual call has a literal pattern: parse it once.
            let out: BooleanArray = match &args[1] {
                ColumnarValue::Scalar(_) => match patterns.first().copied().flatten() {
                    None => codes.iter().map(|_| None).collect(),
                    Some(p) => {
                        let pat = parse(p)?;
                        codes.iter().map(|c| c.map(|c| pat.matches(c))).collect()
                    }
                },
                ColumnarValue::Array(_) => {
                    let mut v = Vec::with_capacity(codes.len());
                    for (c, p) in codes.iter().zip(patterns.iter()) {
                        v.push(match (c, p) {
                            (Some(c), Some(p)) => Some(parse(p)?.matches(c)),
                            _ => None,
                        });
                    }
                    v.into_iter().collect()
                }
            };
            finish(args, Arc::new(out))
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prefixes_ranges_and_lists() {
        let e11 = Icd10Pattern::parse("E11").unwrap();
        assert!(e11.matches("E119"));
        assert!(e11.matches("e11.9"));
        assert!(!e11.matches("E10"));
        assert!(!e11.matches("E1"));
        let dm = Icd10Pattern::parse("E10-E14").unwrap();
        for c in ["E10", "E109", "E14.9", "E12"] {
            assert!(dm.matches(c), "{c}");
        }
        for c in ["E09", "E15", "E1", "", "I10"] {
            assert!(!dm.matches(c), "{c}");
        }
        let chf = Icd10Pattern::parse("I42.5-I42.9, I50").unwrap();
        assert!(chf.matches("I425"));
        assert!(chf.matches("I429"));
        assert!(!chf.matches("I424"));
        assert!(chf.matches("I500"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        for bad in ["", ",", "E1-E100", "E14-E10", "E1?", "-E10"] {
            assert!(Icd10Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn a_code_matches_its_own_prefixes(code in "[A-Z][0-9]{2}[0-9]{0,2}", cut in 1usize..5) {
            let cut = cut.min(code.len());
            let p = Icd10Pattern::parse(&code[..cut]).unwrap();
            prop_assert!(p.matches(&code));
            let dotted = format!("{}.{}", &code[..3], &code[3..]);
            prop_assert!(p.matches(&dotted));
        }

        #[test]
        fn range_is_inclusive_interval_on_categories(a in 0u32..100, b in 0u32..100, c in 0u32..100) {
            let (lo, hi) = (a.min(b), a.max(b));
            let p = Icd10Pattern::parse(&format!("K{lo:02}-K{hi:02}")).unwrap();
            prop_assert_eq!(p.matches(&format!("K{c:02}1")), lo <= c && c <= hi);
        }
    }
}
