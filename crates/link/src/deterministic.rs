//! Deterministic person resolution the way NDB researchers build ID0 (`formats/japan.md` §1.2):
//! records are linked when their ID1 **or** their ID2 match (across months and providers), the
//! links are closed transitively with union–find, and every cluster gets a stable person key.
//! The same works over keyed tokens: the IDs are opaque strings here, whether NDB-style hashes
//! ([`ndb_ids`] computes them with `medinfra-pseudo`), keyed HMAC versions, or tokens a party
//! already holds.
//!
//! Conflict rules (documented, counted in [`Resolution::conflicts`]):
//! 1. **ID2 collision.** A person holds at most two cards in one month (the month they change
//!    insurer). An ID2 that in some month appears with more than
//!    [`ConflictRules::id2_max_id1_per_month`] distinct ID1 values belongs to several people
//!    with the same name, birth date and sex, so it is not used to link (records carrying it
//!    still link through their ID1).
//! 2. **ID1 collision.** Optionally, an ID1 seen in one month with more than
//!    [`ConflictRules::id1_max_id2_per_month`] distinct ID2 values (same-sex twins on one family
//!    card) is not used to link. Off by default: one person's name written in kanji by one
//!    provider and in kana by another also gives two ID2 values, and that is far more common.
//! 3. Records without a month are never evidence of a collision (they cannot be placed in one).
//! 4. A record with neither ID is its own person.
//!
//! The person key is [`crate::cluster::person_key`] of the cluster's smallest record id, so it
//! does not depend on input order and stays put while that record stays in the cluster.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use medinfra_pseudo::keys::Key;
use medinfra_pseudo::ndb::{self, Id1Input, Id2Input, NdbHashConfig};

use crate::cluster::{UnionFind, person_key};

/// One record reduced to its linkage IDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRecord {
    pub rec_id: String,
    /// Billing month `YYYYMM` (or any period label), if known.
    pub month: Option<String>,
    pub id1: Option<String>,
    pub id2: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConflictRules {
    pub id2_max_id1_per_month: Option<usize>,
    pub id1_max_id2_per_month: Option<usize>,
}

impl Default for ConflictRules {
    fn default() -> Self {
        ConflictRules {
            id2_max_id1_per_month: Some(2),
            id1_max_id2_per_month: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Conflicts {
    /// Distinct ID2 values not used to link (rule 1).
    pub ambiguous_id2: usize,
    /// Distinct ID1 values not used to link (rule 2).
    pub ambiguous_id1: usize,
    /// Records with neither ID (rule 4).
    pub records_without_ids: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// Person key of each input record, in input order.
    pub person_keys: Vec<String>,
    pub persons: usize,
    pub conflicts: Conflicts,
}

/// Values of `key` seen in some month with more than `max` distinct values of `other`.
fn ambiguous(
    records: &[IdRecord],
    key: fn(&IdRecord) -> Option<&String>,
    other: fn(&IdRecord) -> Option<&String>,
    max: Option<usize>,
) -> HashSet<&str> {
    let Some(max) = max else {
        return HashSet::new();
    };
    let mut partners: HashMap<(&str, &str), HashSet<&str>> = HashMap::new();
    for r in records {
        if let (Some(month), Some(k), Some(o)) = (r.month.as_deref(), key(r), other(r)) {
            partners
                .entry((k.as_str(), month))
                .or_default()
                .insert(o.as_str());
        }
    }
    partners
        .into_iter()
        .filter(|(_, set)| set.len() > max)
        .map(|((k, _), _)| k)
        .collect()
}

/// Links records sharing a usable ID1 or ID2 and returns a person key per record.
pub fn resolve(records: &[IdRecord], rules: ConflictRules) -> Resolution {
    let bad_id2 = ambiguous(
        records,
        |r| r.id2.as_ref(),
        |r| r.id1.as_ref(),
        rules.id2_max_id1_per_month,
    );
    let bad_id1 = ambiguous(
        records,
        |r| r.id1.as_ref(),
        |r| r.id2.as_ref(),
        rules.id1_max_id2_per_month,
    );
    let mut uf = UnionFind::new(records.len());
    // First record seen with each usable ID value; later ones join it.
    let mut first: HashMap<(u8, &str), usize> = HashMap::new();
    let mut without = 0;
    for (x, r) in records.iter().enumerate() {
        if r.id1.is_none() && r.id2.is_none() {
            without += 1;
        }
        let ids = [
            (1u8, r.id1.as_deref().filter(|v| !bad_id1.contains(v))),
            (2u8, r.id2.as_deref().filter(|v| !bad_id2.contains(v))),
        ];
        for (kind, value) in ids {
            if let Some(v) = value {
                let y = *first.entry((kind, v)).or_insert(x);
                uf.union(x, y);
            }
        }
    }
    let labels = uf.labels();
    // Smallest rec_id per cluster.
    let mut smallest: HashMap<usize, &str> = HashMap::new();
    for (x, r) in records.iter().enumerate() {
        let e = smallest.entry(labels[x]).or_insert(r.rec_id.as_str());
        if r.rec_id.as_str() < *e {
            *e = r.rec_id.as_str();
        }
    }
    let keys: HashMap<usize, String> = smallest
        .iter()
        .map(|(label, id)| (*label, person_key(id)))
        .collect();
    Resolution {
        person_keys: labels
            .iter()
            .map(|l| keys.get(l).cloned().unwrap_or_default())
            .collect(),
        persons: keys.len(),
        conflicts: Conflicts {
            ambiguous_id2: bad_id2.len(),
            ambiguous_id1: bad_id1.len(),
            records_without_ids: without,
        },
    }
}

/// Identity fields as recorded (raw; `medinfra-pseudo` normalizes them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity<'a> {
    pub name: &'a str,
    pub sex: &'a str,
    pub birth_date: &'a str,
    pub insurer_number: &'a str,
    pub card_symbol: &'a str,
    pub card_number: &'a str,
}

/// ID1 and ID2 of a record via `medinfra-pseudo::ndb`: NDB-style unkeyed hashes, or keyed
/// (HMAC) versions when `key` is given. An ID whose inputs are missing or invalid is `None`
/// (the record then links through the other one).
pub fn ndb_ids(
    identity: &Identity<'_>,
    config: &NdbHashConfig,
    key: Option<&Key>,
) -> (Option<String>, Option<String>) {
    let i1 = Id1Input {
        insurer_number: identity.insurer_number,
        card_symbol: identity.card_symbol,
        card_number: identity.card_number,
        birth_date: identity.birth_date,
        sex: identity.sex,
    };
    let i2 = Id2Input {
        name: identity.name,
        birth_date: identity.birth_date,
        sex: identity.sex,
    };
    let (id1, id2) = match key {
        Some(k) => (
            ndb::id1_keyed(&i1, config, k),
            ndb::id2_keyed(&i2, config, k),
        ),
        None => (ndb::id1(&i1, config), ndb::id2(&i2, config)),
    };
    (
        id1.ok().map(|v| v.as_str().to_owned()),
        id2.ok().map(|v| v.as_str().to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use medinfra_pseudo::keys::KeyMaterial;

    fn rec(id: &str, month: &str, id1: Option<&str>, id2: Option<&str>) -> IdRecord {
        IdRecord {
            rec_id: id.into(),
            month: (!month.is_empty()).then(|| month.into()),
            id1: id1.map(Into::into),
            id2: id2.map(Into::into),
        }
    }

    #[test]
    fn either_id_links_across_months_transitively() {
        // a: card A, name N (Jan); b: new card B, same name (Feb); c: card B, new name M (Mar).
        let rs = vec![
            rec("a", "202401", Some("A"), Some("N")),
            rec("b", "202402", Some("B"), Some("N")),
            rec("c", "202403", Some("B"), Some("M")),
            rec("d", "202403", Some("C"), Some("Z")),
            rec("e", "", None, None),
        ];
        let r = resolve(&rs, ConflictRules::default());
        assert_eq!(r.person_keys[0], r.person_keys[1]);
        assert_eq!(r.person_keys[1], r.person_keys[2]);
        assert_ne!(r.person_keys[0], r.person_keys[3]);
        assert_eq!(r.persons, 3);
        assert_eq!(r.person_keys[0], person_key("a"));
        assert_eq!(r.conflicts.records_without_ids, 1);
        // Order does not change the keys.
        let mut rev = rs.clone();
        rev.reverse();
        let r2 = resolve(&rev, ConflictRules::default());
        assert_eq!(r2.person_keys[4], r.person_keys[0]);
    }

    #[test]
    fn colliding_id2_is_not_used() {
        // Three different cards with one ID2 in one month: three people who share a name and
        // birthday. Without the rule they would merge.
        let rs = vec![
            rec("a", "202401", Some("A"), Some("N")),
            rec("b", "202401", Some("B"), Some("N")),
            rec("c", "202401", Some("C"), Some("N")),
            rec("a2", "202402", Some("A"), Some("N")),
        ];
        let r = resolve(&rs, ConflictRules::default());
        assert_eq!(r.conflicts.ambiguous_id2, 1);
        assert_eq!(r.persons, 3);
        assert_eq!(r.person_keys[0], r.person_keys[3]);
        let all = resolve(
            &rs,
            ConflictRules {
                id2_max_id1_per_month: None,
                id1_max_id2_per_month: None,
            },
        );
        assert_eq!(all.persons, 1);
    }

    #[test]
    fn twins_split_only_with_the_id1_rule() {
        let rs = vec![
            rec("t1", "202401", Some("CARD"), Some("N1")),
            rec("t2", "202401", Some("CARD"), Some("N2")),
        ];
        assert_eq!(resolve(&rs, ConflictRules::default()).persons, 1);
        let strict = ConflictRules {
            id1_max_id2_per_month: Some(1),
            ..ConflictRules::default()
        };
        assert_eq!(resolve(&rs, strict).persons, 2);
    }

    #[test]
    fn ndb_ids_normalize_and_key() {
        let cfg = NdbHashConfig::default();
        let a = Identity {
            name: "山田　太郎",
            sex: "1",
            birth_date: "19800115",
            insurer_number: "06130012",
            card_symbol: "12",
            card_number: "345",
        };
        let b = Identity {
            name: "山田太郎",
            birth_date: "S55.1.15",
            insurer_number: "０６１３００１２",
            ..a
        };
        assert_eq!(ndb_ids(&a, &cfg, None), ndb_ids(&b, &cfg, None));
        let key = Key::in_memory("k", "link", KeyMaterial::from_bytes([7; 32]));
        let keyed = ndb_ids(&a, &cfg, Some(&key));
        assert!(keyed.0.is_some() && keyed.1.is_some());
        assert_ne!(keyed, ndb_ids(&a, &cfg, None));
        let missing = Identity {
            card_number: "",
            ..a
        };
        let ids = ndb_ids(&missing, &cfg, None);
        assert!(ids.0.is_none() && ids.1.is_some());
    }
}
