//! Keyed pseudonyms: HMAC-SHA-256 over already-normalized input.
//!
//! - [`token`]: `HMAC-SHA-256(key, UTF-8 bytes of the normalized value)`, encoded as lowercase
//!   hex (64 characters) or lowercase RFC 4648 base32 without padding (52 characters). The key
//!   id travels with the token so a dataset records which key made it.
//! - [`project_token`]: the same under a key derived per recipient project, so two projects'
//!   extracts hold different tokens for one person and cannot be joined. The derivation is
//!   HKDF-Expand (RFC 5869 §2.3) with the master key as the PRK — sound because store keys are
//!   32 uniformly random bytes, so HKDF-Extract adds nothing — producing one 32-byte block:
//!
//!   `project_key = HMAC-SHA-256(master, "medinfra/project-token/v1" || 0x00 || project || 0x01)`
//!
//!   A project cannot recover the master key or another project's key from its own key.
//!
//! Callers normalize first (see [`crate::normalize`]); [`token`] hashes exactly the bytes given.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

use crate::keys::{Key, KeyId, KeyMaterial};

type HmacSha256 = Hmac<Sha256>;

/// Domain-separation label of the per-project key derivation (versioned so a future change of
/// scheme cannot silently collide with tokens made under this one).
pub const PROJECT_KEY_INFO: &[u8] = b"medinfra/project-token/v1";

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    #[error("the key cannot be used for HMAC-SHA-256")]
    KeyLength,
    #[error("project id must be 1..=128 characters of a-z A-Z 0-9 _ - . (got {len} characters)")]
    BadProject { len: usize },
}

/// How token bytes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Lowercase hex, 64 characters.
    Hex,
    /// Lowercase RFC 4648 base32, no padding, 52 characters (shorter, case-insensitive).
    Base32,
}

/// A pseudonym and the key that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub key_id: KeyId,
    /// The project whose derived key made it (for [`project_token`]).
    pub project: Option<String>,
    pub value: String,
}

/// Raw HMAC-SHA-256 of `data` under `key`.
pub fn hmac_sha256(key: &KeyMaterial, data: &[u8]) -> [u8; 32] {
    hmac_parts(key.expose(), &[data])
}

/// Keyed token of an already-normalized value.
pub fn token(key: &Key, normalized: &str, encoding: Encoding) -> Token {
    Token {
        key_id: key.id().clone(),
        project: None,
        value: encode(&hmac_sha256(&key.material, normalized.as_bytes()), encoding),
    }
}

/// Checks a token against a value in constant time (for verification after rotation: load the
/// retired key by the token's key id).
pub fn verify(key: &Key, normalized: &str, token_value: &str, encoding: Encoding) -> bool {
    let expected = encode(&hmac_sha256(&key.material, normalized.as_bytes()), encoding);
    constant_time_eq(expected.as_bytes(), token_value.as_bytes())
}

/// The key of `project` derived from `master` (see module docs for the exact construction).
pub fn derive_project_key(master: &Key, project: &str) -> Result<KeyMaterial, TokenError> {
    check_project(project)?;
    Ok(KeyMaterial::from_bytes(hmac_parts(
        master.material.expose(),
        &[PROJECT_KEY_INFO, &[0x00], project.as_bytes(), &[0x01]],
    )))
}

/// Per-project keyed token: differs between projects for the same value.
pub fn project_token(
    master: &Key,
    project: &str,
    normalized: &str,
    encoding: Encoding,
) -> Result<Token, TokenError> {
    let project_key = derive_project_key(master, project)?;
    Ok(Token {
        key_id: master.id().clone(),
        project: Some(project.to_owned()),
        value: encode(&hmac_sha256(&project_key, normalized.as_bytes()), encoding),
    })
}

/// A keyed hasher for columns of many values: the HMAC key schedule (inner and outer padded
/// blocks) is computed once and cloned per value, which halves the SHA-256 work of
/// [`hmac_sha256`] on short inputs. Column tokens are domain-separated:
///
/// `HMAC-SHA-256(key, domain ‖ 0x1F ‖ part₁ ‖ 0x1F ‖ part₂ …)`
///
/// so the same value under two domains (a chart number and a claim number, say) never yields
/// the same token, and composite keys (`provider_id`, `patient_id`) cannot collide by moving
/// bytes between parts (0x1F never occurs in normalized text).
#[derive(Clone)]
pub struct Tokenizer {
    mac: HmacSha256,
    key_id: KeyId,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Tokenizer {
    /// Tokens under `key` itself.
    pub fn new(key: &Key) -> Result<Self, TokenError> {
        Self::from_material(&key.material, key.id().clone())
    }

    /// Tokens under the key of `project` derived from `master` ([`derive_project_key`]).
    pub fn for_project(master: &Key, project: &str) -> Result<Self, TokenError> {
        let derived = derive_project_key(master, project)?;
        Self::from_material(&derived, master.id().clone())
    }

    fn from_material(material: &KeyMaterial, key_id: KeyId) -> Result<Self, TokenError> {
        // HMAC takes keys of any length, so this error cannot happen with a 32-byte key.
        let mac = <HmacSha256 as Mac>::new_from_slice(material.expose())
            .map_err(|_| TokenError::KeyLength)?;
        Ok(Self { mac, key_id })
    }

    /// The id of the key (the master key for project tokenizers).
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The 32-byte MAC of `domain ‖ 0x1F ‖ parts joined by 0x1F`.
    pub fn digest(&self, domain: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(domain);
        for p in parts {
            mac.update(&[0x1f]);
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// `HMAC-SHA-256(key, data)` without a domain, as 64 lowercase hex characters: the same
    /// value as [`hmac_sha256`] + [`encode`] (hex) under this tokenizer's key, without
    /// recomputing the key schedule or allocating.
    pub fn raw_hex_into(&self, data: &[u8], out: &mut [u8; 64]) {
        let mut mac = self.mac.clone();
        mac.update(data);
        let digest: [u8; 32] = mac.finalize().into_bytes().into();
        let _ = hex::encode_to_slice(digest, out);
    }

    /// [`digest`](Self::digest) as 64 lowercase hex characters written into `out`.
    pub fn hex_into(&self, domain: &[u8], parts: &[&[u8]], out: &mut [u8; 64]) {
        let digest = self.digest(domain, parts);
        // Writing into a fixed 64-byte buffer cannot fail for a 32-byte input.
        let _ = hex::encode_to_slice(digest, out);
    }
}

pub(crate) fn hmac_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this constructor cannot fail; the fallback keeps the
    // library panic-free without an `expect`.
    let mut mac = match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0u8; 32],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Encodes digest bytes.
pub fn encode(bytes: &[u8], encoding: Encoding) -> String {
    match encoding {
        Encoding::Hex => hex::encode(bytes),
        Encoding::Base32 => base32_lower(bytes),
    }
}

/// RFC 4648 base32, lowercase, unpadded. Hand-written (20 lines) rather than adding a crate
/// for one encoding; checked against the RFC's test vectors.
fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn check_project(project: &str) -> Result<(), TokenError> {
    let ok = !project.is_empty()
        && project.len() <= 128
        && project
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(TokenError::BadProject {
            len: project.chars().count(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize_name;

    fn test_key() -> Key {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        Key::in_memory("test-key", "token", KeyMaterial::from_bytes(bytes))
    }

    // Vectors computed independently with Python:
    //   k = bytes(range(32)); m = 'ヤマダタロウ'.encode()
    //   hmac.new(k, m, hashlib.sha256).hexdigest()
    //   pk = hmac.new(k, b'medinfra/project-token/v1\x00' + p.encode() + b'\x01', sha256).digest()
    // Python: hmac.new(bytes(range(32)), b'patient\x1f0123\x1f42', sha256).hexdigest()
    #[test]
    fn tokenizer_matches_independent_vector_and_separates_domains() {
        let key = test_key();
        let t = Tokenizer::new(&key).unwrap();
        let mut out = [0u8; 64];
        t.hex_into(b"patient", &[b"0123", b"42"], &mut out);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "53e6c858b0a73621c7e62cf8fb60c75f7ffaf215e4333def2533b5e1a0b3e7cb"
        );
        let direct = t.digest(b"patient", &[b"0123", b"42"]);
        assert_ne!(t.digest(b"claim", &[b"0123", b"42"]), direct);
        assert_ne!(t.digest(b"patient", &[b"012", b"342"]), direct);
        let p = Tokenizer::for_project(&key, "p1").unwrap();
        assert_ne!(p.digest(b"patient", &[b"0123", b"42"]), direct);
        // Without a domain it is exactly project_token's value.
        p.raw_hex_into("ヤマダタロウ".as_bytes(), &mut out);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            project_token(&key, "p1", "ヤマダタロウ", Encoding::Hex)
                .unwrap()
                .value
        );
    }

    #[test]
    fn token_matches_independent_vector() {
        let key = test_key();
        let t = token(&key, "ヤマダタロウ", Encoding::Hex);
        assert_eq!(
            t.value,
            "fb6b753ccd24420002358c953a7d05367160bcc99e8e353ffd5b5385d3046ec6"
        );
        assert_eq!(t.key_id.as_str(), "test-key");
        assert_eq!(t.project, None);
        let b = token(&key, "ヤマダタロウ", Encoding::Base32);
        assert_eq!(
            b.value,
            "7nvxkpgnerbaaarvrsktu7ifgzywbpgjt2hdkp75lnjyluyen3da"
        );
    }

    #[test]
    fn variants_give_the_same_token_after_normalization() {
        let key = test_key();
        let a = token(&key, &normalize_name("ﾔﾏﾀﾞ ﾀﾛｳ"), Encoding::Hex);
        let b = token(&key, &normalize_name("やまだ　たろう"), Encoding::Hex);
        assert_eq!(a, b);
        assert_eq!(
            a.value,
            "fb6b753ccd24420002358c953a7d05367160bcc99e8e353ffd5b5385d3046ec6"
        );
    }

    #[test]
    fn different_keys_give_different_tokens() {
        let key = test_key();
        let other = Key::in_memory("other", "token", KeyMaterial::from_bytes([7u8; 32]));
        assert_ne!(
            token(&key, "X", Encoding::Hex).value,
            token(&other, "X", Encoding::Hex).value
        );
    }

    #[test]
    fn project_tokens_match_vector_and_differ_between_projects() {
        let key = test_key();
        let a = project_token(&key, "proj-a", "ヤマダタロウ", Encoding::Hex).unwrap();
        let b = project_token(&key, "proj-b", "ヤマダタロウ", Encoding::Hex).unwrap();
        assert_eq!(
            a.value,
            "79b0a37ff91d491125470fd35b42b2a894f77cabdc8d6e71da338aa6c9e0833b"
        );
        assert_eq!(
            b.value,
            "146627766a06e9f6b3f29473b692864391ec40da5ab437a60aefac5d1bf38f6a"
        );
        assert_eq!(a.project.as_deref(), Some("proj-a"));
        assert_eq!(
            hex::encode(derive_project_key(&key, "proj-a").unwrap().expose()),
            "d82b3cae311887057dcaa6de3b6e8e56669b1c9f149ee0b31380d54168bfbdae"
        );
        // Neither equals the plain token.
        let plain = token(&key, "ヤマダタロウ", Encoding::Hex).value;
        assert_ne!(a.value, plain);
        assert_ne!(b.value, plain);
        // Stable within a project.
        assert_eq!(
            project_token(&key, "proj-a", "ヤマダタロウ", Encoding::Hex).unwrap(),
            a
        );
    }

    #[test]
    fn project_token_sets_cannot_be_joined() {
        // Two projects receive tokens for the same 1,000 people: no token value is shared.
        let key = test_key();
        let people: Vec<String> = (0..1000).map(|i| format!("PERSON{i:04}")).collect();
        let a: std::collections::HashSet<String> = people
            .iter()
            .map(|p| {
                project_token(&key, "proj-a", p, Encoding::Hex)
                    .unwrap()
                    .value
            })
            .collect();
        let b: std::collections::HashSet<String> = people
            .iter()
            .map(|p| {
                project_token(&key, "proj-b", p, Encoding::Hex)
                    .unwrap()
                    .value
            })
            .collect();
        assert_eq!(a.len(), 1000);
        assert_eq!(b.len(), 1000);
        assert_eq!(a.intersection(&b).count(), 0);
    }

    #[test]
    fn bad_project_ids_are_refused() {
        let key = test_key();
        for p in ["", "a b", "a/b", &"x".repeat(129)] {
            assert!(project_token(&key, p, "X", Encoding::Hex).is_err(), "{p:?}");
        }
    }

    #[test]
    fn verify_accepts_and_rejects() {
        let key = test_key();
        let t = token(&key, "ABC", Encoding::Base32);
        assert!(verify(&key, "ABC", &t.value, Encoding::Base32));
        assert!(!verify(&key, "ABD", &t.value, Encoding::Base32));
        assert!(!verify(&key, "ABC", &t.value[1..], Encoding::Base32));
    }

    #[test]
    fn outputs_never_contain_key_bytes() {
        let key = test_key();
        let raw = *key.material.expose();
        let project_key = derive_project_key(&key, "proj-a").unwrap();
        let derived = *project_key.expose();
        let outputs = [
            format!("{key:?}"),
            format!("{:?}", token(&key, "X", Encoding::Hex)),
            format!(
                "{:?}",
                project_token(&key, "proj-a", "X", Encoding::Base32).unwrap()
            ),
            format!("{project_key:?}"),
            format!(
                "{}",
                project_token(&key, "a b", "X", Encoding::Hex).unwrap_err()
            ),
        ];
        for out in &outputs {
            for secret in [&raw, &derived] {
                assert!(!out.contains(&hex::encode(secret)), "{out}");
                assert!(
                    !out.as_bytes().windows(8).any(|w| w == &secret[..8]),
                    "{out}"
                );
                let dec = format!("{:?}", &secret[..4]);
                assert!(!out.contains(&dec[1..dec.len() - 1]), "{out}");
            }
        }
    }

    #[test]
    fn base32_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(base32_lower(input.as_bytes()), want, "{input}");
        }
        assert_eq!(base32_lower(&[0u8; 32]).len(), 52);
    }
}
