//! Charlson comorbidity index from ICD-10 codes: the Quan et al. 2005 ICD-10 coding
//! algorithms (Med Care 43(11):1130–9, table 1, "enhanced ICD-10") with the original Charlson
//! 1987 weights. Where a mild and a severe form both occur only the severe one counts (mild /
//! moderate-severe liver disease, diabetes without / with complications, any malignancy /
//! metastatic solid tumour), as in Quan's and the R `comorbidity` package's scoring.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, UInt32Type};
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, Signature, SimpleAggregateUDF, Volatility,
};

use super::icd10::Icd10Pattern;
use super::{STRING_TYPES, strings};

/// One Charlson category: name, weight and its ICD-10 pattern (see [`Icd10Pattern`]).
#[derive(Debug, Clone, Copy)]
pub struct CharlsonCategory {
    pub name: &'static str,
    pub weight: i32,
    pub codes: &'static str,
}

const fn cat(name: &'static str, weight: i32, codes: &'static str) -> CharlsonCategory {
    CharlsonCategory {
        name,
        weight,
        codes,
    }
}

/// The 17 categories, in Quan's order. Bit `i` of a category mask is category `i`.
pub const CHARLSON_CATEGORIES: [CharlsonCategory; 17] = [
    cat("myocardial_infarction", 1, "I21,I22,I25.2"),
    cat(
        "congestive_heart_failure",
        1,
        "I09.9,I11.0,I13.0,I13.2,I25.5,I42.0,I42.5-I42.9,I43,I50,P29.0",
    ),
    cat(
        "peripheral_vascular_disease",
        1,
        "I70,I71,I73.1,I73.8,I73.9,I77.1,I79.0,I79.2,K55.1,K55.8,K55.9,Z95.8,Z95.9",
    ),
    cat("cerebrovascular_disease", 1, "G45,G46,H34.0,I60-I69"),
    cat("dementia", 1, "F00-F03,F05.1,G30,G31.1"),
    cat(
        "chronic_pulmonary_disease",
        1,
        "I27.8,I27.9,J40-J47,J60-J67,J68.4,J70.1,J70.3",
    ),
    cat(
        "rheumatic_disease",
        1,
        "M05,M06,M31.5,M32-M34,M35.1,M35.3,M36.0",
    ),
    cat("peptic_ulcer_disease", 1, "K25-K28"),
    cat(
        "mild_liver_disease",
        1,
        "B18,K70.0-K70.3,K70.9,K71.3-K71.5,K71.7,K73,K74,K76.0,K76.2-K76.4,K76.8,K76.9,Z94.4",
    ),
    cat(
        "diabetes_without_complication",
        1,
        "E10.0,E10.1,E10.6,E10.8,E10.9,E11.0,E11.1,E11.6,E11.8,E11.9,E12.0,E12.1,E12.6,E12.8,E12.9,\
         E13.0,E13.1,E13.6,E13.8,E13.9,E14.0,E14.1,E14.6,E14.8,E14.9",
    ),
    cat(
        "diabetes_with_complication",
        2,
        "E10.2-E10.5,E10.7,E11.2-E11.5,E11.7,E12.2-E12.5,E12.7,E13.2-E13.5,E13.7,E14.2-E14.5,E14.7",
    ),
    cat(
        "hemiplegia_paraplegia",
        2,
        "G04.1,G11.4,G80.1,G80.2,G81,G82,G83.0-G83.4,G83.9",
    ),
    cat(
        "renal_disease",
        2,
        "I12.0,I13.1,N03.2-N03.7,N05.2-N05.7,N18,N19,N25.0,Z49.0-Z49.2,Z94.0,Z99.2",
    ),
    cat(
        "malignancy",
        2,
        "C00-C26,C30-C34,C37-C41,C43,C45-C58,C60-C76,C81-C85,C88,C90-C97",
    ),
    cat(
        "moderate_severe_liver_disease",
        3,
        "I85.0,I85.9,I86.4,I98.2,K70.4,K71.1,K72.1,K72.9,K76.5,K76.6,K76.7",
    ),
    cat("metastatic_solid_tumor", 6, "C77-C80"),
    cat("hiv_aids", 6, "B20-B22,B24"),
];

/// (mild, severe) pairs: the mild category does not count when the severe one is present.
const HIERARCHY: [(usize, usize); 3] = [(8, 14), (9, 10), (13, 15)];

static PATTERNS: LazyLock<Vec<Option<Icd10Pattern>>> = LazyLock::new(|| {
    // The patterns are constants checked by a test; a parse failure would drop the category
    // instead of panicking in a query.
    CHARLSON_CATEGORIES
        .iter()
        .map(|c| Icd10Pattern::parse(c.codes).ok())
        .collect()
});

/// The categories one code falls in, as a bit mask.
pub fn category_mask(code: &str) -> u32 {
    PATTERNS
        .iter()
        .enumerate()
        .filter(|(_, p)| p.as_ref().is_some_and(|p| p.matches(code)))
        .fold(0, |m, (i, _)| m | (1 << i))
}

/// The index of a set of categories (bit mask), hierarchy applied.
pub fn charlson_score(mut mask: u32) -> i32 {
    for (mild, severe) in HIERARCHY {
        if mask & (1 << severe) != 0 {
            mask &= !(1 << mild);
        }
    }
    CHARLSON_CATEGORIES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, c)| c.weight)
        .sum()
}

#[derive(Debug, Default)]
struct CharlsonAccumulator {
    mask: u32,
}

impl Accumulator for CharlsonAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        if let Some(codes) = values.first() {
            for code in strings(codes)?.into_iter().flatten() {
                self.mask |= category_mask(code);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(ScalarValue::Int32(Some(charlson_score(self.mask))))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::UInt32(Some(self.mask))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        if let Some(masks) = states.first() {
            for m in masks.as_primitive::<UInt32Type>().iter().flatten() {
                self.mask |= m;
            }
        }
        Ok(())
    }
}

/// `charlson_index(icd10)`: aggregate over a group's codes (typically `GROUP BY patient_id`).
pub fn charlson_udaf() -> AggregateUDF {
    AggregateUDF::from(SimpleAggregateUDF::new_with_signature(
        "charlson_index",
        Signature::uniform(1, STRING_TYPES.to_vec(), Volatility::Immutable),
        DataType::Int32,
        Arc::new(|_| Ok(Box::new(CharlsonAccumulator::default()))),
        vec![Arc::new(Field::new("categories", DataType::UInt32, true))],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(codes: &[&str]) -> i32 {
        charlson_score(codes.iter().fold(0, |m, c| m | category_mask(c)))
    }

    #[test]
    fn every_category_pattern_parses() {
        for c in CHARLSON_CATEGORIES {
            assert!(Icd10Pattern::parse(c.codes).is_ok(), "{}", c.name);
        }
    }

    #[test]
    fn weights_and_hierarchy() {
        assert_eq!(score(&[]), 0);
        assert_eq!(score(&["I10"]), 0); // hypertension is not a Charlson condition
        assert_eq!(score(&["I21.9"]), 1);
        assert_eq!(score(&["E11.9"]), 1);
        assert_eq!(score(&["E11.2"]), 2);
        assert_eq!(score(&["E11.9", "E11.2"]), 2); // complicated diabetes replaces plain
        assert_eq!(score(&["C34.1"]), 2);
        assert_eq!(score(&["C34.1", "C78.0"]), 6); // metastatic replaces malignancy
        assert_eq!(score(&["K70.3", "K72.1"]), 3); // severe liver replaces mild
        assert_eq!(score(&["C44.9"]), 0); // skin (non-melanoma) excluded
        assert_eq!(score(&["I50.0", "J44.9", "N18.5", "B20"]), 1 + 1 + 2 + 6);
        assert_eq!(score(&["I50.0", "I50.1"]), 1); // a category counts once
        assert_eq!(score(&["I42.6"]), 1);
        assert_eq!(score(&["I42.1"]), 0);
    }

    #[test]
    fn maximum_is_the_sum_without_mild_forms() {
        let all = (1u32 << CHARLSON_CATEGORIES.len()) - 1;
        let total: i32 = CHARLSON_CATEGORIES.iter().map(|c| c.weight).sum();
        assert_eq!(charlson_score(all), total - 1 - 1 - 2);
    }
}
