//! Hierarchy builders for Japanese medical data: ICD-10 codes and prefectures.
//!
//! ICD-10: full code (`E11.9` or `E119`) -> 3-character category (`E11`) -> WHO block
//! (`E10-E14`) -> chapter (`IV`) -> `*`. The chapter/block structure is WHO ICD-10 2019,
//! shipped in `data/icd10_who2019_blocks.txt` (see `SOURCES.md` for where it comes from).
//! It is compiled in so the builder needs no file at run time.
//!
//! Prefectures: JIS X 0401 code `01`..`47` -> one of eight regions -> `*`.

use crate::error::AnonError;
use crate::hierarchy::Hierarchy;

const ICD10_BLOCKS: &str = include_str!("../data/icd10_who2019_blocks.txt");
const ICD10_SOURCE: &str = "icd10_who2019_blocks.txt";

/// One WHO block: chapter and inclusive 3-character category range.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    chapter: String,
    first: String,
    last: String,
}

/// Parses the shipped block table (sorted by first category, checked disjoint).
fn icd10_blocks() -> Result<Vec<Block>, AnonError> {
    let err = |line: usize, reason: &str| AnonError::Hierarchy {
        source_name: ICD10_SOURCE.into(),
        line,
        reason: reason.into(),
    };
    let mut blocks = Vec::new();
    for (i, line) in ICD10_BLOCKS.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (chapter, range) = line
            .split_once(';')
            .ok_or_else(|| err(i + 1, "expected chapter;first-last"))?;
        let (first, last) = range
            .split_once('-')
            .ok_or_else(|| err(i + 1, "expected a range first-last"))?;
        if !is_category(first) || !is_category(last) || first > last {
            return Err(err(
                i + 1,
                "range bounds must be ordered 3-character categories",
            ));
        }
        blocks.push(Block {
            chapter: chapter.to_string(),
            first: first.to_string(),
            last: last.to_string(),
        });
    }
    blocks.sort_by(|a, b| a.first.cmp(&b.first));
    if blocks.windows(2).any(|w| w[0].last >= w[1].first) {
        return Err(err(0, "blocks overlap"));
    }
    Ok(blocks)
}

/// `A00`-style category: an ASCII capital and two digits.
fn is_category(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit()
}

/// Category of a code written with or without the dot (`E11.9`, `E119`, `e11`), or `None`
/// when it is not an ICD-10 code. Dagger/asterisk/plus marks after the code are accepted.
fn category_of(code: &str) -> Option<String> {
    let compact: String = code
        .trim()
        .chars()
        .filter(|&c| c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let cat: String = compact.chars().take(3).collect();
    let rest_ok = compact
        .chars()
        .skip(3)
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '+' | '†' | '‡'));
    (is_category(&cat) && rest_ok && compact.chars().count() <= 8).then_some(cat)
}

fn block_of<'b>(blocks: &'b [Block], category: &str) -> Option<&'b Block> {
    let i = blocks.partition_point(|b| b.first.as_str() <= category);
    let b = blocks.get(i.checked_sub(1)?)?;
    (category <= b.last.as_str()).then_some(b)
}

/// JIS X 0401 code ranges of the eight regions (first, last, name).
const REGIONS: [(u32, u32, &str); 8] = [
    (1, 1, "hokkaido"),
    (2, 7, "tohoku"),
    (8, 14, "kanto"),
    (15, 23, "chubu"),
    (24, 30, "kinki"),
    (31, 35, "chugoku"),
    (36, 39, "shikoku"),
    // Okinawa (47) is counted in Kyushu, as in the usual eight-region division.
    (40, 47, "kyushu"),
];

impl Hierarchy {
    /// ICD-10 hierarchy over the given codes: full code -> 3-character category -> WHO
    /// block (e.g. `E10-E14`) -> chapter (e.g. `IV`) -> `*` (height 4). Codes may be written
    /// with or without the dot; the original spelling is kept on level 0, and duplicates are
    /// ignored. As for the other value-list builders, the domain (ARX Loss's denominator) is
    /// the list given. A code whose category is in no WHO block is an error naming its
    /// position in `codes` (the code itself is not echoed).
    pub fn icd10<S: AsRef<str>>(codes: &[S]) -> Result<Self, AnonError> {
        let blocks = icd10_blocks()?;
        let mut seen = std::collections::HashSet::new();
        let mut rows = Vec::new();
        for (i, code) in codes.iter().enumerate() {
            let code = code.as_ref();
            if !seen.insert(code) {
                continue;
            }
            let bad = |reason: &str| AnonError::Hierarchy {
                source_name: "icd10".into(),
                line: i + 1,
                reason: format!("value (length {}) {reason}", code.chars().count()),
            };
            let cat = category_of(code).ok_or_else(|| bad("is not an ICD-10 code"))?;
            let block = block_of(&blocks, &cat).ok_or_else(|| bad("is in no WHO ICD-10 block"))?;
            rows.push(vec![
                code.to_string(),
                cat,
                format!("{}-{}", block.first, block.last),
                block.chapter.clone(),
                "*".into(),
            ]);
        }
        Self::from_rows(&rows, "icd10")
    }

    /// Prefecture hierarchy over the JIS X 0401 codes `01`..`47`: code -> region
    /// (`hokkaido`, `tohoku`, `kanto`, `chubu`, `kinki`, `chugoku`, `shikoku`, `kyushu`;
    /// Okinawa in `kyushu`) -> `*` (height 2). The domain is always all 47 prefectures.
    pub fn prefectures() -> Result<Self, AnonError> {
        let rows: Vec<Vec<String>> = REGIONS
            .iter()
            .flat_map(|&(lo, hi, name)| {
                (lo..=hi).map(move |c| vec![format!("{c:02}"), name.to_string(), "*".into()])
            })
            .collect();
        Self::from_rows(&rows, "prefectures")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(h: &Hierarchy, v: &str) -> Vec<String> {
        let c = h.code(v).unwrap();
        (0..=h.height())
            .map(|l| h.label(l, h.generalize(c, l)).to_string())
            .collect()
    }

    #[test]
    fn shipped_icd10_structure_is_complete() {
        let blocks = icd10_blocks().unwrap();
        assert_eq!(blocks.len(), 263);
        let mut chapters: Vec<&str> = blocks.iter().map(|b| b.chapter.as_str()).collect();
        chapters.sort_unstable();
        chapters.dedup();
        assert_eq!(chapters.len(), 22);
        assert_eq!(block_of(&blocks, "E11").unwrap().first, "E10");
        assert_eq!(block_of(&blocks, "C50").unwrap().last, "C50");
        // C00-C97 nests C00-C75 > C00-C14: the innermost block is used.
        assert_eq!(block_of(&blocks, "C01").unwrap().last, "C14");
        // D is split across chapters II (D00-D48) and III (D50-D89).
        assert_eq!(block_of(&blocks, "D48").unwrap().chapter, "II");
        assert_eq!(block_of(&blocks, "D50").unwrap().chapter, "III");
        // gaps between blocks are no category
        assert!(block_of(&blocks, "C42").is_none());
        assert!(block_of(&blocks, "A00").is_some());
        assert!(block_of(&blocks, "Z99").is_some());
    }

    #[test]
    fn icd10_levels() {
        let h = Hierarchy::icd10(&["E11.9", "E119", "I10", "J45.0", "U07.1", "E11.9"]).unwrap();
        assert_eq!(h.height(), 4);
        assert_eq!(h.domain_size(), 5);
        assert_eq!(labels(&h, "E11.9"), ["E11.9", "E11", "E10-E14", "IV", "*"]);
        assert_eq!(labels(&h, "E119"), ["E119", "E11", "E10-E14", "IV", "*"]);
        assert_eq!(labels(&h, "I10"), ["I10", "I10", "I10-I15", "IX", "*"]);
        assert_eq!(labels(&h, "J45.0"), ["J45.0", "J45", "J40-J47", "X", "*"]);
        assert_eq!(
            labels(&h, "U07.1"),
            ["U07.1", "U07", "U00-U49", "XXII", "*"]
        );
        // both spellings of E11.9 share the category
        assert_eq!(h.leaf_count(1, h.generalize(h.code("E119").unwrap(), 1)), 2);
    }

    #[test]
    fn icd10_rejects_bad_codes_without_echoing_them() {
        let e = Hierarchy::icd10(&["E11", "XYZ12"]).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("not an ICD-10 code"),
            "{e}"
        );
        assert!(!e.contains("XYZ"), "{e}");
        let e = Hierarchy::icd10(&["C42.1"]).unwrap_err().to_string();
        assert!(e.contains("no WHO ICD-10 block"), "{e}");
        assert!(!e.contains("C42"), "{e}");
    }

    #[test]
    fn prefecture_regions() {
        let h = Hierarchy::prefectures().unwrap();
        assert_eq!(h.height(), 2);
        assert_eq!(h.domain_size(), 47);
        assert_eq!(h.level_size(1), 8);
        let region = |c: &str| labels(&h, c)[1].clone();
        assert_eq!(region("01"), "hokkaido");
        assert_eq!(region("07"), "tohoku");
        assert_eq!(region("13"), "kanto");
        assert_eq!(region("15"), "chubu");
        assert_eq!(region("23"), "chubu");
        assert_eq!(region("27"), "kinki");
        assert_eq!(region("34"), "chugoku");
        assert_eq!(region("39"), "shikoku");
        assert_eq!(region("40"), "kyushu");
        assert_eq!(region("47"), "kyushu");
        assert_eq!(labels(&h, "47")[2], "*");
        assert!(h.code("48").is_none() && h.code("0").is_none());
        let sizes: Vec<u32> = (0..8).map(|c| h.leaf_count(1, c)).collect();
        assert_eq!(sizes, [1, 6, 7, 9, 7, 5, 4, 8]);
    }
}
