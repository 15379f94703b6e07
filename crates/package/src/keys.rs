//! Recipient keys: the public key (`age1...`, registered per organization) packages are
//! encrypted to, and the secret identity (`AGE-SECRET-KEY-1...`, kept by the recipient) that
//! opens them. Both in age's own text forms, so `age-keygen`/`rage-keygen` keys work here and
//! keys made here work with `age`/`rage`.

use std::fmt;
use std::io::Write;
use std::path::Path;

use age::secrecy::ExposeSecret;

use crate::PackageError;

/// A recipient's public key.
#[derive(Clone)]
pub struct RecipientKey {
    inner: age::x25519::Recipient,
    text: String,
}

impl RecipientKey {
    /// Parse an age X25519 recipient (`age1...`, bech32). Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<RecipientKey, PackageError> {
        let text = text.trim();
        let inner: age::x25519::Recipient = text.parse().map_err(|reason: &str| {
            PackageError::RecipientKey(format!("not an age X25519 recipient (age1...): {reason}"))
        })?;
        Ok(RecipientKey {
            text: inner.to_string(),
            inner,
        })
    }

    /// The canonical text form (`age1...`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn age(&self) -> &age::x25519::Recipient {
        &self.inner
    }
}

impl fmt::Display for RecipientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for RecipientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecipientKey({})", self.text)
    }
}

impl PartialEq for RecipientKey {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// A recipient's secret key. Never printed (`Debug` shows only its public key).
pub struct Identity {
    inner: age::x25519::Identity,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity(public {})", self.recipient())
    }
}

const SECRET_PREFIX: &str = "AGE-SECRET-KEY-1";

impl Identity {
    /// A new random identity (for recipients without `age-keygen`, and tests).
    pub fn generate() -> Identity {
        Identity {
            inner: age::x25519::Identity::generate(),
        }
    }

    /// The public key to register for this identity.
    pub fn recipient(&self) -> RecipientKey {
        let inner = self.inner.to_public();
        RecipientKey {
            text: inner.to_string(),
            inner,
        }
    }

    /// Read an age identity file (as `age-keygen` writes it): `#` comments and blank lines
    /// are skipped; the first `AGE-SECRET-KEY-1...` line is the key. Other lines are errors.
    pub fn from_file(path: &Path) -> Result<Identity, PackageError> {
        let text = std::fs::read_to_string(path).map_err(|e| PackageError::io(path, e))?;
        let err = |line: usize, reason: &str| PackageError::IdentityFile {
            path: path.to_path_buf(),
            line,
            reason: reason.into(),
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !line.starts_with(SECRET_PREFIX) {
                return Err(err(
                    i + 1,
                    "expected an age X25519 secret key (AGE-SECRET-KEY-1...); plugin and SSH identities are not supported",
                ));
            }
            // age's parse error text never contains the key; ours names only the line.
            let inner = line
                .parse::<age::x25519::Identity>()
                .map_err(|reason| err(i + 1, &format!("invalid secret key: {reason}")))?;
            return Ok(Identity { inner });
        }
        Err(err(0, "no secret key found"))
    }

    /// Write the identity in `age-keygen`'s format to a new file readable only by its owner.
    pub fn write_file(&self, path: &Path) -> Result<(), PackageError> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(path).map_err(|e| PackageError::io(path, e))?;
        let secret = self.inner.to_string();
        let text = format!(
            "# created by medinfra\n# public key: {}\n{}\n",
            self.recipient(),
            secret.expose_secret()
        );
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| PackageError::io(path, e))
    }

    pub(crate) fn age(&self) -> &age::x25519::Identity {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_text_and_files() {
        let id = Identity::generate();
        let r = id.recipient();
        assert!(r.as_str().starts_with("age1"));
        assert_eq!(RecipientKey::parse(&format!("  {r}\n")).unwrap(), r);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key.txt");
        id.write_file(&p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(Identity::from_file(&p).unwrap().recipient(), r);
        // Never overwrites.
        assert!(id.write_file(&p).is_err());
        // Debug shows no secret.
        let secret = id.inner.to_string();
        assert!(!format!("{id:?}").contains(secret.expose_secret()));
    }

    #[test]
    fn bad_keys_are_refused_with_the_line() {
        assert!(RecipientKey::parse("age1notbech32").is_err());
        assert!(RecipientKey::parse("").is_err());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.txt");
        std::fs::write(&p, "# comment\n\nssh-ed25519 AAAA\n").unwrap();
        let e = Identity::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("bad.txt: line 3"), "{e}");
        std::fs::write(&p, "AGE-SECRET-KEY-1XYZ\n").unwrap();
        let e = Identity::from_file(&p).unwrap_err().to_string();
        assert!(
            e.contains("line 1: invalid secret key") && !e.contains("XYZ"),
            "{e}"
        );
        std::fs::write(&p, "# only comments\n").unwrap();
        assert!(Identity::from_file(&p).is_err());
    }
}
