//! Property test: the k^m anonymizer's output is k^m-anonymous, checked by brute force
//! independent of the crate's checker, and every released item is the original item or a
//! hierarchy ancestor of one of the person's original items.

use std::collections::{BTreeSet, HashMap};

use medinfra_anon::{Hierarchy, KmConfig, SetValuedData, km_anonymize};
use proptest::prelude::*;

/// Items 0..16; level i groups by `v >> i` for i = 1..=3, then `*`.
fn hierarchy() -> Hierarchy {
    let rows: Vec<Vec<String>> = (0..16u32)
        .map(|v| {
            let mut r = vec![format!("i{v}")];
            for i in 1..=3 {
                r.push(format!("g{i}:{}", v >> i));
            }
            r.push("*".into());
            r
        })
        .collect();
    Hierarchy::from_rows(&rows, "items").unwrap()
}

/// All non-empty subsets of size <= m of every set, with the number of sets containing them.
fn brute_supports(sets: &[Vec<String>], m: usize) -> HashMap<Vec<String>, usize> {
    let mut out: HashMap<Vec<String>, usize> = HashMap::new();
    for s in sets {
        let s: Vec<String> = s
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let n = s.len();
        for mask in 1u32..(1 << n) {
            if (mask.count_ones() as usize) <= m {
                let sub: Vec<String> = (0..n)
                    .filter(|i| mask >> i & 1 == 1)
                    .map(|i| s[i].clone())
                    .collect();
                *out.entry(sub).or_insert(0) += 1;
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn output_is_km_anonymous(
        raw in prop::collection::vec(prop::collection::vec(0u32..16, 0..6), 1..40),
        k in 2usize..5,
        m in 1usize..4,
        with_hierarchy in any::<bool>(),
        max_level in prop::option::of(0usize..5),
    ) {
        let sets: Vec<Vec<String>> =
            raw.iter().map(|s| s.iter().map(|v| format!("i{v}")).collect()).collect();
        let data = SetValuedData::from_sets(&sets);
        let h = hierarchy();
        let cfg = KmConfig {
            k,
            m,
            hierarchy: with_hierarchy.then(|| h.clone()),
            max_level,
        };
        let o = km_anonymize(&data, &cfg).unwrap();
        prop_assert_eq!(o.sets.len(), sets.len());
        for (sub, n) in brute_supports(&o.sets, m) {
            prop_assert!(n >= k, "itemset {:?} supported by {} < {}", sub, n, k);
        }
        // Released items come from the person's own items (self or ancestor).
        for (orig, out) in sets.iter().zip(&o.sets) {
            for item in out {
                let from_own = orig.iter().any(|v| {
                    let c = h.code(v).unwrap();
                    (0..=h.height()).any(|l| h.label(l, h.generalize(c, l)) == item)
                });
                prop_assert!(from_own, "{} not derived from {:?}", item, orig);
            }
            prop_assert!(out.len() <= orig.iter().collect::<BTreeSet<_>>().len());
        }
        prop_assert!((0.0..=1.0).contains(&o.loss));
    }
}
