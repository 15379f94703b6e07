//! NDB-compatible linkage IDs: ID1, ID2, keyed versions, and ID5-style per-release re-keying.
//!
//! The NDB's exact hash, salt and formatting are not public (`formats/japan.md` §1.1), so the
//! algorithm, salt and a few formatting choices are configurable ([`NdbHashConfig`]); the default
//! is SHA-256, no salt, no separators.
//!
//! **Byte layout** (all fields normalized first, then UTF-8 encoded):
//!
//! ```text
//! ID1 message = insurer ‖ card_symbol ‖ card_number ‖ birth_date ‖ sex
//! ID2 message = name ‖ birth_date ‖ sex
//! hashed      = salt ‖ message        (SaltPosition::Prefix, default; salt empty by default)
//!             | message ‖ salt        (SaltPosition::Suffix)
//! ```
//!
//! where `‖` is plain concatenation, or concatenation with the one configured separator byte
//! between fields (e.g. 0x1F) when [`NdbHashConfig::separator`] is set; `insurer`,
//! `card_symbol` and `card_number` are [`normalize_card`] output (ASCII digits, or full-width
//! digits when [`NdbHashConfig::full_width_card_digits`] is set — the NDB reportedly uses
//! full-width digits); `birth_date` is [`normalize_date`] (`YYYYMMDD`); `sex` is `1` (male) or `2`
//! (female); `name` is [`normalize_name`]. The value is the lowercase hex digest.
//!
//! Keyed versions use `HMAC-SHA-256(key, hashed)` over the same bytes. ID5-style re-keying is
//! `HMAC-SHA-256(release_key, UTF-8 of the ID's hex value)`: a new release key per release
//! gives every release different values, as the NDB does for ID5.
//!
//! Every [`LinkageId`] is an **identifier** ([`LinkageId::sensitivity`]): an unkeyed hash of
//! name + birth date + sex is reversible by dictionary, so these columns are handled like the
//! names they come from. Its `Debug` does not print the value.

use std::fmt;

use sha2::{Digest, Sha256, Sha512};
use thiserror::Error;

use crate::keys::Key;
use crate::normalize::{
    NormalizeError, normalize_card, normalize_date, normalize_name, normalize_sex,
};
use crate::token::{hmac_parts, hmac_sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashAlgorithm {
    #[default]
    Sha256,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaltPosition {
    #[default]
    Prefix,
    Suffix,
}

/// How unkeyed NDB-style IDs are computed. `Debug` hides the salt.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NdbHashConfig {
    pub algorithm: HashAlgorithm,
    pub salt: Vec<u8>,
    pub salt_position: SaltPosition,
    /// Byte placed between fields; `None` (default) concatenates them directly.
    pub separator: Option<u8>,
    /// Write card digits (insurer, symbol, number) full-width (０-９) before hashing.
    pub full_width_card_digits: bool,
}

impl fmt::Debug for NdbHashConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NdbHashConfig")
            .field("algorithm", &self.algorithm)
            .field("salt", &format_args!("<{} bytes>", self.salt.len()))
            .field("salt_position", &self.salt_position)
            .field("separator", &self.separator)
            .field("full_width_card_digits", &self.full_width_card_digits)
            .finish()
    }
}

/// Why an ID could not be computed: the field and reason, never the value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NdbError {
    #[error("field {field}: {source}")]
    Field {
        field: &'static str,
        #[source]
        source: NormalizeError,
    },
    #[error("field {field} is empty")]
    Empty { field: &'static str },
    #[error("field insurer_number must be 6 or 8 digits (got {len} characters)")]
    InsurerNumber { len: usize },
}

/// Inputs of ID1 as recorded on the claim (raw; normalized here).
#[derive(Clone, Copy)]
pub struct Id1Input<'a> {
    pub insurer_number: &'a str,
    pub card_symbol: &'a str,
    pub card_number: &'a str,
    pub birth_date: &'a str,
    pub sex: &'a str,
}

/// Inputs of ID2 as recorded on the claim (raw; normalized here).
#[derive(Clone, Copy)]
pub struct Id2Input<'a> {
    pub name: &'a str,
    pub birth_date: &'a str,
    pub sex: &'a str,
}

/// Inputs of the ID5-style key: the person's oldest card (ID1's fields) and its 枝番, which
/// makes the card number individual (個人単位被保険者番号, from 2021).
#[derive(Clone, Copy)]
pub struct Id5Input<'a> {
    pub card: Id1Input<'a>,
    pub card_branch: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkageKind {
    Id1,
    Id2,
    /// ID5-style: of the person's oldest individual-unit card (`formats/japan.md` §1.1).
    Id5,
}

/// How a linkage ID was derived; recorded with the dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Derivation {
    /// NDB-style unkeyed hash (reversible by dictionary).
    Unkeyed(HashAlgorithm),
    /// HMAC-SHA-256 under a store key.
    Keyed { key_id: String },
    /// ID5-style: an ID re-keyed under a per-release key.
    ReleaseRekeyed { release_key_id: String },
}

/// The data class of a column, for policies and manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    /// Identifies a person (alone or by dictionary): handle like a name.
    Identifier,
}

/// A computed linkage ID. Always an identifier.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkageId {
    pub kind: LinkageKind,
    pub derivation: Derivation,
    value: String,
}

impl LinkageId {
    /// Every linkage ID is an identifier.
    pub const IS_IDENTIFIER: bool = true;

    pub fn sensitivity(&self) -> Sensitivity {
        Sensitivity::Identifier
    }

    /// The lowercase hex value (deliberately not `Display`, so it is never printed by accident).
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for LinkageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkageId")
            .field("kind", &self.kind)
            .field("derivation", &self.derivation)
            .field("value", &"<identifier>")
            .finish()
    }
}

/// The normalized byte message of ID1 (before salt), per the module's layout.
pub fn id1_message(input: &Id1Input<'_>, config: &NdbHashConfig) -> Result<Vec<u8>, NdbError> {
    let insurer = card_field("insurer_number", input.insurer_number)?;
    if !(insurer.len() == 6 || insurer.len() == 8) || !insurer.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NdbError::InsurerNumber {
            len: insurer.chars().count(),
        });
    }
    let symbol = card_field("card_symbol", input.card_symbol)?;
    let number = card_field("card_number", input.card_number)?;
    if number.is_empty() {
        return Err(NdbError::Empty {
            field: "card_number",
        });
    }
    let (birth, sex) = birth_and_sex(input.birth_date, input.sex)?;
    let width = |s: String| {
        if config.full_width_card_digits {
            full_width_digits(&s)
        } else {
            s
        }
    };
    Ok(join(
        &[
            &width(insurer),
            &width(symbol),
            &width(number),
            &birth,
            &sex,
        ],
        config.separator,
    ))
}

/// The normalized byte message of ID2 (before salt), per the module's layout.
pub fn id2_message(input: &Id2Input<'_>, config: &NdbHashConfig) -> Result<Vec<u8>, NdbError> {
    let name = normalize_name(input.name);
    if name.is_empty() {
        return Err(NdbError::Empty { field: "name" });
    }
    let (birth, sex) = birth_and_sex(input.birth_date, input.sex)?;
    Ok(join(&[&name, &birth, &sex], config.separator))
}

/// NDB-style unkeyed ID1.
pub fn id1(input: &Id1Input<'_>, config: &NdbHashConfig) -> Result<LinkageId, NdbError> {
    let message = id1_message(input, config)?;
    Ok(unkeyed(LinkageKind::Id1, &message, config))
}

/// NDB-style unkeyed ID2.
pub fn id2(input: &Id2Input<'_>, config: &NdbHashConfig) -> Result<LinkageId, NdbError> {
    let message = id2_message(input, config)?;
    Ok(unkeyed(LinkageKind::Id2, &message, config))
}

/// Keyed ID1 for our own linkage: HMAC-SHA-256 over the same salted bytes.
pub fn id1_keyed(
    input: &Id1Input<'_>,
    config: &NdbHashConfig,
    key: &Key,
) -> Result<LinkageId, NdbError> {
    let message = id1_message(input, config)?;
    Ok(keyed(LinkageKind::Id1, &message, config, key))
}

/// Keyed ID2 for our own linkage: HMAC-SHA-256 over the same salted bytes.
pub fn id2_keyed(
    input: &Id2Input<'_>,
    config: &NdbHashConfig,
    key: &Key,
) -> Result<LinkageId, NdbError> {
    let message = id2_message(input, config)?;
    Ok(keyed(LinkageKind::Id2, &message, config, key))
}

/// The normalized byte message of the ID5-style key: ID1's message with the 枝番 (normalized
/// like the other card fields; empty on cards issued before individual numbers) before the
/// birth date. Keyed only: an unkeyed hash of a card number is an identifier.
pub fn id5_message(input: &Id5Input<'_>, config: &NdbHashConfig) -> Result<Vec<u8>, NdbError> {
    let insurer = card_field("insurer_number", input.card.insurer_number)?;
    if !(insurer.len() == 6 || insurer.len() == 8) || !insurer.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NdbError::InsurerNumber {
            len: insurer.chars().count(),
        });
    }
    let symbol = card_field("card_symbol", input.card.card_symbol)?;
    let number = card_field("card_number", input.card.card_number)?;
    if number.is_empty() {
        return Err(NdbError::Empty {
            field: "card_number",
        });
    }
    let branch = card_field("card_branch", input.card_branch)?;
    let (birth, sex) = birth_and_sex(input.card.birth_date, input.card.sex)?;
    Ok(join(
        &[&insurer, &symbol, &number, &branch, &birth, &sex],
        config.separator,
    ))
}

/// The ID5-style key under HMAC-SHA-256: the same for every row of one person (the registry
/// names the oldest card), different under every key.
pub fn id5_keyed(
    input: &Id5Input<'_>,
    config: &NdbHashConfig,
    key: &Key,
) -> Result<LinkageId, NdbError> {
    let message = id5_message(input, config)?;
    Ok(keyed(LinkageKind::Id5, &message, config, key))
}

/// ID5-style per-release re-keying of an ID: `HMAC-SHA-256(release_key, hex value)`.
pub fn release_rekey(id: &LinkageId, release_key: &Key) -> LinkageId {
    LinkageId {
        kind: id.kind,
        derivation: Derivation::ReleaseRekeyed {
            release_key_id: release_key.id().to_string(),
        },
        value: hex::encode(hmac_sha256(&release_key.material, id.value.as_bytes())),
    }
}

fn card_field(field: &'static str, raw: &str) -> Result<String, NdbError> {
    normalize_card(raw).map_err(|source| NdbError::Field { field, source })
}

fn birth_and_sex(birth: &str, sex: &str) -> Result<(String, String), NdbError> {
    let birth = normalize_date(birth).map_err(|source| NdbError::Field {
        field: "birth_date",
        source,
    })?;
    let sex = normalize_sex(sex).map_err(|source| NdbError::Field {
        field: "sex",
        source,
    })?;
    Ok((birth, sex.to_string()))
}

fn full_width_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c),
            other => other,
        })
        .collect()
}

fn join(fields: &[&str], separator: Option<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.iter().map(|f| f.len() + 1).sum());
    for (i, f) in fields.iter().enumerate() {
        if i > 0
            && let Some(sep) = separator
        {
            out.push(sep);
        }
        out.extend_from_slice(f.as_bytes());
    }
    out
}

fn salted<'a>(message: &'a [u8], config: &'a NdbHashConfig) -> [&'a [u8]; 2] {
    match config.salt_position {
        SaltPosition::Prefix => [&config.salt, message],
        SaltPosition::Suffix => [message, &config.salt],
    }
}

fn unkeyed(kind: LinkageKind, message: &[u8], config: &NdbHashConfig) -> LinkageId {
    let parts = salted(message, config);
    let value = match config.algorithm {
        HashAlgorithm::Sha256 => {
            let mut h = Sha256::new();
            parts.iter().for_each(|p| h.update(p));
            hex::encode(h.finalize())
        }
        HashAlgorithm::Sha512 => {
            let mut h = Sha512::new();
            parts.iter().for_each(|p| h.update(p));
            hex::encode(h.finalize())
        }
    };
    LinkageId {
        kind,
        derivation: Derivation::Unkeyed(config.algorithm),
        value,
    }
}

fn keyed(kind: LinkageKind, message: &[u8], config: &NdbHashConfig, key: &Key) -> LinkageId {
    let parts = salted(message, config);
    LinkageId {
        kind,
        derivation: Derivation::Keyed {
            key_id: key.id().to_string(),
        },
        value: hex::encode(hmac_parts(key.material.expose(), &parts)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyMaterial;

    // All expected values below were computed independently with Python hashlib/hmac on the
    // documented layout, e.g.
    //   hashlib.sha256(('ヤマダタロウ' + '19800115' + '1').encode()).hexdigest()
    const ID1_DEFAULT: &str = "9d387351132c38b1a4516f78719335916c187f91b91a401d2fa165110c5582ef";
    const ID2_DEFAULT: &str = "ecd2c441c909638afeb7840f1464c8ecc660358bff9b7a0e1abc5358a903906f";

    fn id1_input() -> Id1Input<'static> {
        Id1Input {
            insurer_number: "０１１３００１２",
            card_symbol: "ｱｲ-01",
            card_number: "１２３４５",
            birth_date: "S55.1.15",
            sex: "男",
        }
    }

    fn id2_input() -> Id2Input<'static> {
        Id2Input {
            name: "ﾔﾏﾀﾞ ﾀﾛｳ",
            birth_date: "昭和55年1月15日",
            sex: "1",
        }
    }

    #[test]
    fn id1_default_vector() {
        let cfg = NdbHashConfig::default();
        assert_eq!(
            id1_message(&id1_input(), &cfg).unwrap(),
            "01130012アイ011234519800115\u{31}".as_bytes()
        );
        let id = id1(&id1_input(), &cfg).unwrap();
        assert_eq!(id.as_str(), ID1_DEFAULT);
        assert_eq!(id.kind, LinkageKind::Id1);
        assert_eq!(id.sensitivity(), Sensitivity::Identifier);
        const { assert!(LinkageId::IS_IDENTIFIER) };
        // Written differently, same person, same ID1.
        let variant = Id1Input {
            insurer_number: "01130012",
            card_symbol: "あい　０１",
            card_number: "12345",
            birth_date: "3550115",
            sex: "M",
        };
        assert_eq!(id1(&variant, &cfg).unwrap().as_str(), ID1_DEFAULT);
    }

    #[test]
    fn id1_full_width_digits_vector() {
        let cfg = NdbHashConfig {
            full_width_card_digits: true,
            ..NdbHashConfig::default()
        };
        assert_eq!(
            id1(&id1_input(), &cfg).unwrap().as_str(),
            "596628f705ae20c8b2bb87813ea300b6bd10c7015f2562a7cd6b133ddc0ceae2"
        );
    }

    #[test]
    fn id2_vectors() {
        let cfg = NdbHashConfig::default();
        assert_eq!(id2(&id2_input(), &cfg).unwrap().as_str(), ID2_DEFAULT);
        for name in ["やまだ　たろう", "ヤマダタロウ", "ヤマダ タロウ"] {
            let input = Id2Input {
                name,
                birth_date: "19800115",
                sex: "男性",
            };
            assert_eq!(id2(&input, &cfg).unwrap().as_str(), ID2_DEFAULT, "{name}");
        }
        let salted_prefix = NdbHashConfig {
            salt: b"pepper".to_vec(),
            ..NdbHashConfig::default()
        };
        assert_eq!(
            id2(&id2_input(), &salted_prefix).unwrap().as_str(),
            "17e79266d486085019addc5e6903d17ab0281f49b4f2d9cc2bc380d19ab1b034"
        );
        let salted_suffix = NdbHashConfig {
            salt: b"pepper".to_vec(),
            salt_position: SaltPosition::Suffix,
            ..NdbHashConfig::default()
        };
        assert_eq!(
            id2(&id2_input(), &salted_suffix).unwrap().as_str(),
            "7988681a4b002205f0a9551e6242972d6b1a3182a69e1c1264344c8263290057"
        );
        let sha512_sep = NdbHashConfig {
            algorithm: HashAlgorithm::Sha512,
            separator: Some(0x1F),
            ..NdbHashConfig::default()
        };
        assert_eq!(
            id2(&id2_input(), &sha512_sep).unwrap().as_str(),
            "deeec78734d755d234e473d2cf749874d79ff77067466352c7df3cd5d9b5a8a6\
             aba4375a5532582f68ffcdb9ca16abb5aae13c3c63ec42314c76fda20b52bc6e"
        );
    }

    #[test]
    fn different_people_differ() {
        let cfg = NdbHashConfig::default();
        let base = id2(&id2_input(), &cfg).unwrap();
        let other_sex = Id2Input {
            sex: "2",
            ..id2_input()
        };
        let other_day = Id2Input {
            birth_date: "S55.1.16",
            ..id2_input()
        };
        assert_ne!(id2(&other_sex, &cfg).unwrap(), base);
        assert_ne!(id2(&other_day, &cfg).unwrap(), base);
    }

    #[test]
    fn id5_is_the_oldest_card_with_its_branch_and_keyed_only() {
        let key = Key::in_memory("link-1", "linkage", KeyMaterial::from_bytes([7u8; 32]));
        let other = Key::in_memory("link-2", "linkage", KeyMaterial::from_bytes([8u8; 32]));
        let cfg = NdbHashConfig::default();
        let with = |branch| Id5Input {
            card: id1_input(),
            card_branch: branch,
        };
        let a = id5_keyed(&with("01"), &cfg, &key).unwrap();
        assert_eq!(a.kind, LinkageKind::Id5);
        // The 枝番 separates family members on one household card.
        assert_ne!(a, id5_keyed(&with("02"), &cfg, &key).unwrap());
        // Written full-width or half-width, the branch is the same number.
        assert_eq!(a, id5_keyed(&with("０１"), &cfg, &key).unwrap());
        // Not ID1 under the same key, and different under another key (per-release).
        assert_ne!(
            a.as_str(),
            id1_keyed(&id1_input(), &cfg, &key).unwrap().as_str()
        );
        assert_ne!(a, id5_keyed(&with("01"), &cfg, &other).unwrap());
        assert!(
            id5_keyed(
                &Id5Input {
                    card: Id1Input {
                        card_number: "",
                        ..id1_input()
                    },
                    card_branch: "01",
                },
                &cfg,
                &key
            )
            .is_err()
        );
    }

    #[test]
    fn keyed_and_release_rekeyed_vectors() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        let key = Key::in_memory("link-1", "linkage", KeyMaterial::from_bytes(bytes));
        let cfg = NdbHashConfig::default();
        let keyed = id2_keyed(&id2_input(), &cfg, &key).unwrap();
        assert_eq!(
            keyed.as_str(),
            "c5dc53b57a84e45083f4d317b398e642645dc279380189c69fc26d945aa2963b"
        );
        assert_eq!(
            keyed.derivation,
            Derivation::Keyed {
                key_id: "link-1".into()
            }
        );
        assert_ne!(keyed.as_str(), ID2_DEFAULT);
        assert_ne!(
            id1_keyed(&id1_input(), &cfg, &key).unwrap().as_str(),
            ID1_DEFAULT
        );

        let unkeyed = id2(&id2_input(), &cfg).unwrap();
        let release_a = Key::in_memory("rel-a", "release", KeyMaterial::from_bytes([7u8; 32]));
        let release_b = Key::in_memory("rel-b", "release", KeyMaterial::from_bytes([9u8; 32]));
        let a = release_rekey(&unkeyed, &release_a);
        let b = release_rekey(&unkeyed, &release_b);
        assert_eq!(
            a.as_str(),
            "51db93d7bcbc88ac931ede2146b301fdac0c02665a1a4d4faaa19364ceb9e5a5"
        );
        assert_eq!(
            b.as_str(),
            "90477488afeb379d3a106aa9e8a6200d9359e625ebbd6de71481ce9157e589e1"
        );
        assert_eq!(a.kind, LinkageKind::Id2);
        // Same release key, same value: linkable within a release only.
        assert_eq!(release_rekey(&unkeyed, &release_a), a);
    }

    #[test]
    fn errors_name_the_field_not_the_value() {
        let cfg = NdbHashConfig::default();
        let bad_date = Id2Input {
            name: "山田太郎",
            birth_date: "昭和55年2月30日",
            sex: "1",
        };
        let e = id2(&bad_date, &cfg).unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("birth_date"), "{shown}");
        assert!(!shown.contains("山田") && !shown.contains("55"), "{shown}");
        let bad_insurer = Id1Input {
            insurer_number: "1234567",
            ..id1_input()
        };
        assert_eq!(
            id1(&bad_insurer, &cfg).unwrap_err(),
            NdbError::InsurerNumber { len: 7 }
        );
        let no_number = Id1Input {
            card_number: " ",
            ..id1_input()
        };
        assert_eq!(
            id1(&no_number, &cfg).unwrap_err(),
            NdbError::Empty {
                field: "card_number"
            }
        );
        let no_name = Id2Input {
            name: "　",
            ..id2_input()
        };
        assert_eq!(
            id2(&no_name, &cfg).unwrap_err(),
            NdbError::Empty { field: "name" }
        );
        let bad_sex = Id2Input {
            sex: "9",
            ..id2_input()
        };
        assert!(matches!(
            id2(&bad_sex, &cfg).unwrap_err(),
            NdbError::Field { field: "sex", .. }
        ));
    }

    #[test]
    fn debug_hides_value_and_salt() {
        let cfg = NdbHashConfig {
            salt: b"secret-salt".to_vec(),
            ..NdbHashConfig::default()
        };
        let id = id2(&id2_input(), &cfg).unwrap();
        let shown = format!("{id:?} {cfg:?}");
        assert!(!shown.contains(id.as_str()), "{shown}");
        assert!(!shown.contains("secret-salt"), "{shown}");
        assert!(shown.contains("<identifier>") && shown.contains("<11 bytes>"));
    }
}
