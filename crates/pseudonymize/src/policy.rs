//! The pseudonymization policy: per table and column, what happens to the value.
//!
//! A policy is TOML:
//!
//! ```toml
//! version = 1
//! key_purpose = "pseudonym"        # tokens use the active key of this purpose
//!
//! [tables.claims]
//! person = ["provider_id", "patient_id"]   # whose dates shift together, whose text is scrubbed
//!
//! [tables.claims.columns]
//! claim_id = "token"
//! patient_id = { action = "token", with = ["provider_id"], domain = "patient" }
//! name_kanji = "drop"
//! birth_date = { action = "truncate_date", to = "month" }
//! admission_date = { action = "date_shift", days = 30 }
//! postcode = { action = "generalize", hierarchy = "postcode3" }
//!
//! [tables.claims.add]
//! id1 = { kind = "id1_keyed" }
//! id2 = { kind = "id2_keyed", name = "name_kana" }
//! ```
//!
//! Deny by default: every column of every input table must be named (a column the policy does
//! not name is refused, as is a policy column the input lacks), and a table the policy does not
//! name is refused unless it is marked `omit = true`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::PseudonymizeError;

/// The text of the built-in policy, with its reasons as comments.
pub const DEFAULT_POLICY_TOML: &str = include_str!("default_policy.toml");

/// A whole policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Format version; only 1 exists.
    pub version: u32,
    /// Purpose of the key (in the key store) that tokens are made with.
    #[serde(default = "default_purpose")]
    pub key_purpose: String,
    pub tables: BTreeMap<String, TablePolicy>,
}

fn default_purpose() -> String {
    "pseudonym".into()
}

/// What happens to one table.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablePolicy {
    /// Leave the table out of the output altogether.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub omit: bool,
    /// The columns that identify the person a row belongs to (for `date_shift` and `scrub`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub person: Vec<String>,
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnSpec>,
    /// Columns computed from the row's identity fields before they are dropped.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub add: BTreeMap<String, DerivedColumn>,
}

/// A column's rule as written: either the action's name or a table with parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ColumnSpec {
    Short(ShortAction),
    Full(ColumnRule),
}

/// The actions that need no parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShortAction {
    Drop,
    Keep,
    Token,
    ProjectToken,
    DateShift,
    TruncateDate,
    Scrub,
}

/// How values are normalized before they are tokenized (`pseudo::normalize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// The bytes as stored (record keys, chart numbers within one provider).
    #[default]
    None,
    /// Insurer numbers, card symbols and numbers.
    Card,
    /// Names in kanji or kana.
    Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatePart {
    #[default]
    Month,
    Year,
}

/// The named generalization hierarchies a column can be cut to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamedHierarchy {
    /// Postcode to its first 3 digits (the delivery area).
    Postcode3,
    /// JIS prefecture code to one of 8 regions.
    PrefectureRegion,
    /// ICD-10 code to its 3-character category (level 1), WHO block (2) or chapter (3).
    Icd10,
}

/// A column's rule with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ColumnRule {
    Drop,
    Keep,
    /// Keyed pseudonym (HMAC-SHA-256) of the value, prefixed by the values of `with`.
    Token {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        with: Vec<String>,
        /// Domain label; defaults to the column name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain: Option<String>,
        #[serde(default)]
        normalize: Normalization,
        /// Keep the token → original mapping in the operator's reverse-map store.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep_map: bool,
    },
    /// As `token`, under the key derived for the recipient project.
    ProjectToken {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        with: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain: Option<String>,
        #[serde(default)]
        normalize: Normalization,
    },
    /// Shift by a keyed, per-person number of days in `[-days, +days]` (same shift for every
    /// date of that person in every table).
    DateShift {
        #[serde(default = "default_shift_days")]
        days: u32,
    },
    /// Cut a date to the first day of its month or year.
    TruncateDate {
        #[serde(default)]
        to: DatePart,
    },
    Generalize {
        hierarchy: NamedHierarchy,
        #[serde(default = "one")]
        level: usize,
    },
    /// Remove identifiers from free text (`pseudo::scrub`), using the person's own names,
    /// numbers and birth date from the identified zone.
    Scrub,
}

fn default_shift_days() -> u32 {
    30
}

fn one() -> usize {
    1
}

impl ColumnSpec {
    pub fn rule(&self) -> ColumnRule {
        match self {
            ColumnSpec::Full(rule) => rule.clone(),
            ColumnSpec::Short(short) => match short {
                ShortAction::Drop => ColumnRule::Drop,
                ShortAction::Keep => ColumnRule::Keep,
                ShortAction::Token => ColumnRule::Token {
                    with: vec![],
                    domain: None,
                    normalize: Normalization::None,
                    keep_map: false,
                },
                ShortAction::ProjectToken => ColumnRule::ProjectToken {
                    with: vec![],
                    domain: None,
                    normalize: Normalization::None,
                },
                ShortAction::DateShift => ColumnRule::DateShift {
                    days: default_shift_days(),
                },
                ShortAction::TruncateDate => ColumnRule::TruncateDate {
                    to: DatePart::Month,
                },
                ShortAction::Scrub => ColumnRule::Scrub,
            },
        }
    }
}

/// The linkage columns a policy can add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DerivedKind {
    /// NDB-compatible ID1 (insurer + card symbol + card number + birth date + sex), unkeyed
    /// hash: an **identifier** (reversible by dictionary); only with `allow_identifiers`.
    Id1,
    /// NDB-compatible ID2 (name + birth date + sex), unkeyed hash: an **identifier**.
    Id2,
    /// ID1 under HMAC-SHA-256 with the policy's key.
    Id1Keyed,
    /// ID2 under HMAC-SHA-256 with the policy's key.
    Id2Keyed,
    /// ID5-style key under HMAC-SHA-256 with the policy's key: the ID1 fields of the
    /// person's oldest card with its 枝番 (the NDB's ID5 hashes the oldest individual-unit
    /// insured number, `formats/japan.md` §1.1). Needs `card_branch` beside ID1's columns.
    Id5Keyed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedColumn {
    pub kind: DerivedKind,
    /// The name column ID2 is computed from (default `name_kana`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Required to output an unkeyed ID1/ID2, which is an identifier.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_identifiers: bool,
}

impl Policy {
    /// Parses a policy file's text; errors name the line and field.
    pub fn from_toml(text: &str, source: &str) -> Result<Self, PseudonymizeError> {
        let policy: Policy = toml::from_str(text).map_err(|e| PseudonymizeError::Policy {
            source_name: source.to_string(),
            reason: e.to_string().trim_end().to_string(),
        })?;
        if policy.version != 1 {
            return Err(PseudonymizeError::Policy {
                source_name: source.to_string(),
                reason: format!("version {} is not supported (only 1)", policy.version),
            });
        }
        Ok(policy)
    }

    /// The built-in policy (`default_policy.toml`, printed by
    /// `medinfra pseudonymize --print-default-policy`).
    pub fn builtin() -> Result<Self, PseudonymizeError> {
        Self::from_toml(DEFAULT_POLICY_TOML, "builtin:default")
    }

    /// The built-in policy for the linked research database (`medinfra run`), whose tables
    /// carry the registry's `person_id`: it becomes a keyed pseudonym (domain `person`, in
    /// the reverse map), and it is the person whose dates shift together and whose names are
    /// scrubbed from free text — one person across providers, not one per chart number.
    pub fn research() -> Result<Self, PseudonymizeError> {
        let mut policy = Self::builtin()?;
        for table in policy.tables.values_mut() {
            if table.omit {
                continue;
            }
            table.columns.insert(
                "person_id".into(),
                ColumnSpec::Full(ColumnRule::Token {
                    with: vec![],
                    domain: Some("person".into()),
                    normalize: Normalization::None,
                    keep_map: true,
                }),
            );
            table.person = vec!["person_id".into()];
        }
        Ok(policy)
    }

    /// SHA-256 of the policy's canonical JSON: the same rules give the same hash whatever the
    /// file's layout or comments.
    pub fn sha256(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(json))
    }
}
