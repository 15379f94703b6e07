//! Credentials: argon2id password hashes, random secrets (API tokens, sessions, CSRF tokens)
//! stored only as SHA-256, and constant-time comparison of those hashes.
//!
//! A credential string is `PREFIX_ID_SECRET`: the row id finds the stored hash without a
//! search over secrets, the 32 random bytes of SECRET are what proves possession. A random
//! 256-bit secret needs no slow hash (nothing to brute-force); passwords do, hence argon2id.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Cost of the argon2id password hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
}

impl PasswordCost {
    /// OWASP's argon2id recommendation (19 MiB, 2 iterations, 1 lane).
    pub const DEFAULT: PasswordCost = PasswordCost {
        memory_kib: 19 * 1024,
        iterations: 2,
    };
    /// For tests and throw-away demos only: fast, and still argon2id.
    pub const TEST: PasswordCost = PasswordCost {
        memory_kib: 64,
        iterations: 1,
    };
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("random number generator: {0}")]
    Random(String),
}

fn argon(cost: PasswordCost) -> Result<Argon2<'static>, SecretError> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, Some(32))
        .map_err(|e| SecretError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The PHC string (`$argon2id$v=19$...`) of a password, with a fresh random salt.
pub fn hash_password(password: &str, cost: PasswordCost) -> Result<String, SecretError> {
    let hash = argon(cost)?
        .hash_password(password.as_bytes())
        .map_err(|e| SecretError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string (its own parameters are used).
/// A malformed stored hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// 32 random bytes from the operating system, hex-encoded.
pub fn random_secret() -> Result<String, SecretError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(hex::encode(buf))
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Constant-time equality of two hex digests (no early exit on the first differing byte).
pub fn digest_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Split `PREFIX_ID_SECRET` into (id, secret); `None` when malformed.
pub fn split_credential<'a>(prefix: &str, s: &'a str) -> Option<(i64, &'a str)> {
    let rest = s.strip_prefix(prefix)?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    let id: i64 = id.parse().ok()?;
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip_is_argon2id() {
        let h = hash_password("correct horse", PasswordCost::TEST).unwrap();
        assert!(h.starts_with("$argon2id$v=19$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("correct horse", "not a hash"));
        // Two hashes of the same password differ (random salt).
        assert_ne!(
            h,
            hash_password("correct horse", PasswordCost::TEST).unwrap()
        );
    }

    #[test]
    fn credentials_split_and_compare() {
        let s = random_secret().unwrap();
        assert_eq!(s.len(), 64);
        let c = format!("mit_42_{s}");
        assert_eq!(split_credential("mit", &c), Some((42, s.as_str())));
        assert_eq!(split_credential("mis", &c), None);
        assert_eq!(split_credential("mit", "mit_x_00"), None);
        assert!(digest_eq(&sha256_hex("a"), &sha256_hex("a")));
        assert!(!digest_eq(&sha256_hex("a"), &sha256_hex("b")));
        assert!(!digest_eq("ab", "abc"));
    }
}
