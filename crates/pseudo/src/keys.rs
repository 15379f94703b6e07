//! Key store: secret HMAC keys in a directory, one file per key.
//!
//! Layout of the key directory (created with mode 0700):
//! - `<id>.key`: the 32 raw key bytes, mode 0600, written once (create-new) and never rewritten;
//! - `<id>.json`: metadata ([`KeyMeta`]: id, purpose, creation time, status), never the key.
//!
//! Keys come from the operating system's RNG. A key file that group or others can read (or
//! write) is refused with an error naming the file and its mode. Rotation creates a new active
//! key for a purpose and retires the old ones; retired keys stay on disk so earlier tokens can
//! still be verified, but [`KeyStore::active`] never returns them.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::TryRngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Length of every key in bytes (HMAC-SHA-256 block-size-independent; 256 bits of entropy).
pub const KEY_LEN: usize = 32;

/// Key-store failures. They name files and ids, never key bytes.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: key file is accessible by group or others (mode {mode:o}); run chmod 600 on it"
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("{path}: key file has {found} bytes, expected {KEY_LEN}")]
    BadLength { path: PathBuf, found: usize },
    #[error("{path}: metadata is not valid: {reason}")]
    BadMetadata { path: PathBuf, reason: String },
    #[error("purpose must be 1..=64 characters of a-z 0-9 _ - (got {len} characters)")]
    BadPurpose { len: usize },
    #[error("no key with id {id}")]
    UnknownKey { id: String },
    #[error("key {id} is retired and cannot be used to make new tokens")]
    Retired { id: String },
    #[error("no active key for purpose {purpose}")]
    NoActiveKey { purpose: String },
    #[error("{count} active keys for purpose {purpose}; retire all but one")]
    SeveralActiveKeys { purpose: String, count: usize },
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),
    #[error("key files with permission checks are supported on Unix only")]
    UnsupportedPlatform,
}

/// Secret key bytes. Debug prints only the length; there is no Display, Clone, or Serialize,
/// and the bytes are overwritten on drop.
pub struct KeyMaterial([u8; KEY_LEN]);

impl KeyMaterial {
    /// Wraps bytes the caller already holds (tests, keys from an HSM export). Prefer
    /// [`KeyStore::new_key`].
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The secret bytes, for the HMAC code in this crate.
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn generate() -> Result<Self, KeyError> {
        let mut bytes = [0u8; KEY_LEN];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| KeyError::Rng(e.to_string()))?;
        Ok(Self(bytes))
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyMaterial(<redacted {KEY_LEN} bytes>)")
    }
}

impl Drop for KeyMaterial {
    fn drop(&mut self) {
        // Hand-written instead of the `zeroize` crate to keep dependencies small; volatile
        // writes stop the compiler from eliding the wipe of memory about to be freed.
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference to a u8.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

/// Key identifier, e.g. `token-20261125T152000Z-3fa9c2d1`. Safe to record in manifests.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Accepts an id typed by an operator; only the characters ids are made of.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        if !s.is_empty()
            && s.len() <= 128
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | 'T' | 'Z')
            })
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(KeyError::UnknownKey {
                id: "<malformed id>".to_owned(),
            })
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Retired,
}

/// Metadata stored beside each key; contains no key material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMeta {
    pub id: KeyId,
    pub purpose: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub status: KeyStatus,
    /// RFC 3339, UTC; set when the key is retired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<String>,
    pub algorithm: String,
}

/// A loaded key: metadata plus the secret.
#[derive(Debug)]
pub struct Key {
    pub meta: KeyMeta,
    pub material: KeyMaterial,
}

impl Key {
    /// A key held only in memory (tests, derived keys).
    pub fn in_memory(id: &str, purpose: &str, material: KeyMaterial) -> Self {
        Self {
            meta: KeyMeta {
                id: KeyId(id.to_owned()),
                purpose: purpose.to_owned(),
                created: String::new(),
                status: KeyStatus::Active,
                retired: None,
                algorithm: "hmac-sha256".to_owned(),
            },
            material,
        }
    }

    pub fn id(&self) -> &KeyId {
        &self.meta.id
    }
}

/// Result of [`KeyStore::rotate`].
#[derive(Debug, Clone)]
pub struct Rotation {
    pub new: KeyMeta,
    pub retired: Vec<KeyMeta>,
}

/// A key directory.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    /// Opens (creating with mode 0700 if missing) a key directory.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, KeyError> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.exists() {
            create_private_dir(&dir)?;
        }
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Generates a new active key for `purpose` (a-z 0-9 _ -, up to 64 characters).
    pub fn new_key(&self, purpose: &str) -> Result<KeyMeta, KeyError> {
        check_purpose(purpose)?;
        let material = KeyMaterial::generate()?;
        let now = OffsetDateTime::now_utc();
        let mut suffix = [0u8; 4];
        OsRng
            .try_fill_bytes(&mut suffix)
            .map_err(|e| KeyError::Rng(e.to_string()))?;
        let id = KeyId(format!(
            "{purpose}-{:04}{:02}{:02}T{:02}{:02}{:02}Z-{}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            hex::encode(suffix)
        ));
        let meta = KeyMeta {
            id: id.clone(),
            purpose: purpose.to_owned(),
            created: rfc3339(now),
            status: KeyStatus::Active,
            retired: None,
            algorithm: "hmac-sha256".to_owned(),
        };
        write_private_new(&self.key_path(&id), material.expose())?;
        self.write_meta(&meta)?;
        Ok(meta)
    }

    /// All keys' metadata, sorted by id. Reads no key material.
    pub fn list(&self) -> Result<Vec<KeyMeta>, KeyError> {
        let entries = fs::read_dir(&self.dir).map_err(|source| KeyError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let mut metas = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| KeyError::Io {
                path: self.dir.clone(),
                source,
            })?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                metas.push(read_meta(&path)?);
            }
        }
        metas.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(metas)
    }

    /// Creates a new active key for `purpose` and retires every key that was active for it.
    pub fn rotate(&self, purpose: &str) -> Result<Rotation, KeyError> {
        check_purpose(purpose)?;
        let previous: Vec<KeyMeta> = self
            .list()?
            .into_iter()
            .filter(|m| m.purpose == purpose && m.status == KeyStatus::Active)
            .collect();
        let new = self.new_key(purpose)?;
        let mut retired = Vec::new();
        for meta in previous {
            retired.push(self.retire(&meta.id)?);
        }
        Ok(Rotation { new, retired })
    }

    /// Marks a key retired. The key file stays, for verifying earlier tokens.
    pub fn retire(&self, id: &KeyId) -> Result<KeyMeta, KeyError> {
        KeyId::parse(id.as_str())?;
        let path = self.meta_path(id);
        if !path.exists() {
            return Err(KeyError::UnknownKey { id: id.to_string() });
        }
        let mut meta = read_meta(&path)?;
        if meta.status == KeyStatus::Active {
            meta.status = KeyStatus::Retired;
            meta.retired = Some(rfc3339(OffsetDateTime::now_utc()));
            self.write_meta(&meta)?;
        }
        Ok(meta)
    }

    /// Loads a key (active or retired) for verification.
    pub fn load(&self, id: &KeyId) -> Result<Key, KeyError> {
        // Ids can come from deserialized metadata; never let one name a path outside the store.
        KeyId::parse(id.as_str())?;
        let meta_path = self.meta_path(id);
        if !meta_path.exists() {
            return Err(KeyError::UnknownKey { id: id.to_string() });
        }
        let meta = read_meta(&meta_path)?;
        let material = read_key_file(&self.key_path(id))?;
        Ok(Key { meta, material })
    }

    /// Loads a key to make new tokens with: it must be active.
    pub fn load_for_signing(&self, id: &KeyId) -> Result<Key, KeyError> {
        let key = self.load(id)?;
        if key.meta.status != KeyStatus::Active {
            return Err(KeyError::Retired { id: id.to_string() });
        }
        Ok(key)
    }

    /// The single active key for `purpose`.
    pub fn active(&self, purpose: &str) -> Result<Key, KeyError> {
        let active: Vec<KeyMeta> = self
            .list()?
            .into_iter()
            .filter(|m| m.purpose == purpose && m.status == KeyStatus::Active)
            .collect();
        match active.as_slice() {
            [] => Err(KeyError::NoActiveKey {
                purpose: purpose.to_owned(),
            }),
            [one] => self.load(&one.id),
            many => Err(KeyError::SeveralActiveKeys {
                purpose: purpose.to_owned(),
                count: many.len(),
            }),
        }
    }

    fn key_path(&self, id: &KeyId) -> PathBuf {
        self.dir.join(format!("{}.key", id.0))
    }

    fn meta_path(&self, id: &KeyId) -> PathBuf {
        self.dir.join(format!("{}.json", id.0))
    }

    /// Writes metadata via a temporary file and rename, so a crash never leaves half a file.
    fn write_meta(&self, meta: &KeyMeta) -> Result<(), KeyError> {
        let path = self.meta_path(&meta.id);
        let tmp = self.dir.join(format!(".{}.json.tmp", meta.id.0));
        let json = serde_json::to_vec_pretty(meta).map_err(|e| KeyError::BadMetadata {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        fs::write(&tmp, json).map_err(|source| KeyError::Io {
            path: tmp.clone(),
            source,
        })?;
        fs::rename(&tmp, &path).map_err(|source| KeyError::Io { path, source })
    }
}

fn check_purpose(purpose: &str) -> Result<(), KeyError> {
    let ok = !purpose.is_empty()
        && purpose.len() <= 64
        && purpose
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(KeyError::BadPurpose {
            len: purpose.chars().count(),
        })
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    // Rfc3339 formatting of a UTC OffsetDateTime from the clock cannot fail in practice;
    // fall back to the unix time rather than panic.
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn read_meta(path: &Path) -> Result<KeyMeta, KeyError> {
    let bytes = fs::read(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| KeyError::BadMetadata {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn read_key_file(path: &Path) -> Result<KeyMaterial, KeyError> {
    check_private(path)?;
    let bytes = fs::read(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let material: [u8; KEY_LEN] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::BadLength {
            path: path.to_path_buf(),
            found: bytes.len(),
        })?;
    Ok(KeyMaterial(material))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| KeyError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

#[cfg(unix)]
fn write_private_new(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn create_private_dir(_dir: &Path) -> Result<(), KeyError> {
    Err(KeyError::UnsupportedPlatform)
}

#[cfg(not(unix))]
fn write_private_new(_path: &Path, _bytes: &[u8]) -> Result<(), KeyError> {
    Err(KeyError::UnsupportedPlatform)
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), KeyError> {
    Err(KeyError::UnsupportedPlatform)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Asserts that `text` contains neither the key's hex (either case) nor its raw bytes.
    fn assert_no_key(text: &str, key: &[u8; KEY_LEN], what: &str) {
        let hex_lower = hex::encode(key);
        let hex_upper = hex_lower.to_uppercase();
        assert!(!text.contains(&hex_lower), "{what} leaks key hex");
        assert!(!text.contains(&hex_upper), "{what} leaks key HEX");
        // Any 8-byte window of the key counts as a leak of raw bytes.
        for w in key.windows(8) {
            assert!(
                !text.as_bytes().windows(8).any(|t| t == w),
                "{what} leaks raw key bytes"
            );
            assert!(
                !text.contains(&hex::encode(w)),
                "{what} leaks part of the key hex"
            );
        }
        // Debug of a byte array prints decimal lists: look for the first 6 bytes that way.
        let dec = format!("{:?}", &key[..6]);
        let dec = &dec[1..dec.len() - 1];
        assert!(!text.contains(dec), "{what} leaks key bytes as decimals");
    }

    #[test]
    fn new_list_load_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path().join("keys")).unwrap();
        let dir_mode = fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        let meta = store.new_key("token").unwrap();
        assert!(meta.id.as_str().starts_with("token-"));
        assert_eq!(meta.status, KeyStatus::Active);
        let key_path = store.dir().join(format!("{}.key", meta.id));
        let mode = fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read(&key_path).unwrap().len(), KEY_LEN);
        let listed = store.list().unwrap();
        assert_eq!(listed, vec![meta.clone()]);
        let key = store.load(&meta.id).unwrap();
        assert_eq!(
            key.material.expose().as_slice(),
            fs::read(&key_path).unwrap()
        );
        // Two keys differ (the RNG is used, not a constant).
        let other = store.new_key("token").unwrap();
        let other_key = store.load(&other.id).unwrap();
        assert_ne!(key.material.expose(), other_key.material.expose());
        assert_ne!(key.material.expose(), &[0u8; KEY_LEN]);
    }

    #[test]
    fn rotate_retires_but_keeps_old_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path()).unwrap();
        let first = store.new_key("project").unwrap();
        let unrelated = store.new_key("release").unwrap();
        let rotation = store.rotate("project").unwrap();
        assert_eq!(rotation.retired.len(), 1);
        assert_eq!(rotation.retired[0].id, first.id);
        assert_eq!(rotation.retired[0].status, KeyStatus::Retired);
        assert!(rotation.retired[0].retired.is_some());
        let active = store.active("project").unwrap();
        assert_eq!(active.meta.id, rotation.new.id);
        // Old key still loadable for verification, but not for signing.
        assert!(store.load(&first.id).is_ok());
        assert!(matches!(
            store.load_for_signing(&first.id),
            Err(KeyError::Retired { .. })
        ));
        // Other purposes untouched.
        assert_eq!(store.active("release").unwrap().meta.id, unrelated.id);
        let all = store.list().unwrap();
        assert_eq!(all.len(), 3);
        store.retire(&rotation.new.id).unwrap();
        assert!(matches!(
            store.active("project"),
            Err(KeyError::NoActiveKey { .. })
        ));
        assert!(matches!(
            store.retire(&KeyId("nope".into())),
            Err(KeyError::UnknownKey { .. })
        ));
    }

    #[test]
    fn ids_cannot_escape_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path().join("k")).unwrap();
        let evil: KeyId = serde_json::from_str("\"../outside\"").unwrap();
        assert!(matches!(
            store.load(&evil),
            Err(KeyError::UnknownKey { .. })
        ));
        assert!(matches!(
            store.retire(&evil),
            Err(KeyError::UnknownKey { .. })
        ));
    }

    #[test]
    fn several_active_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path()).unwrap();
        store.new_key("token").unwrap();
        store.new_key("token").unwrap();
        assert!(matches!(
            store.active("token"),
            Err(KeyError::SeveralActiveKeys { count: 2, .. })
        ));
    }

    #[test]
    fn bad_purpose_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path()).unwrap();
        for p in ["", "Token", "a/b", "../x", &"x".repeat(65)] {
            assert!(
                matches!(store.new_key(p), Err(KeyError::BadPurpose { .. })),
                "{p}"
            );
        }
    }

    #[test]
    fn readable_key_file_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path()).unwrap();
        let meta = store.new_key("token").unwrap();
        let key_path = store.dir().join(format!("{}.key", meta.id));
        let bytes: [u8; KEY_LEN] = fs::read(&key_path).unwrap().try_into().unwrap();
        for mode in [0o640, 0o604, 0o660, 0o644, 0o620] {
            fs::set_permissions(&key_path, fs::Permissions::from_mode(mode)).unwrap();
            let err = store.load(&meta.id).unwrap_err();
            assert!(matches!(err, KeyError::InsecurePermissions { .. }));
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(&format!("{}.key", meta.id)), "{shown}");
            assert_no_key(&shown, &bytes, "permission error");
            assert!(store.active("token").is_err());
        }
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(store.load(&meta.id).is_ok());
    }

    #[test]
    fn wrong_length_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path()).unwrap();
        let meta = store.new_key("token").unwrap();
        let key_path = store.dir().join(format!("{}.key", meta.id));
        fs::write(&key_path, b"short").unwrap();
        let err = store.load(&meta.id).unwrap_err();
        assert!(matches!(err, KeyError::BadLength { found: 5, .. }), "{err}");
    }

    #[test]
    fn key_bytes_never_appear_in_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path()).unwrap();
        let meta = store.new_key("token").unwrap();
        let key = store.load(&meta.id).unwrap();
        let bytes = *key.material.expose();
        let mut outputs = vec![
            format!("{key:?}"),
            format!("{:?}", key.material),
            format!("{:#?}", key),
            format!("{meta:?}"),
            serde_json::to_string(&store.list().unwrap()).unwrap(),
            format!("{:?}", store.rotate("token").unwrap()),
        ];
        // Every metadata file on disk.
        for entry in fs::read_dir(store.dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                outputs.push(fs::read_to_string(&path).unwrap());
            }
        }
        // Every error this module can produce on this key.
        let key_path = store.dir().join(format!("{}.key", meta.id));
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).unwrap();
        let e = store.load(&meta.id).unwrap_err();
        outputs.push(format!("{e} {e:?}"));
        let e = store.load_for_signing(&meta.id).unwrap_err();
        outputs.push(format!("{e} {e:?}"));
        for (i, out) in outputs.iter().enumerate() {
            assert_no_key(out, &bytes, &format!("output {i}"));
        }
        assert!(format!("{key:?}").contains("redacted"));
        // The check itself can fail: the hex is found when present.
        let planted = format!("x{}y", hex::encode(bytes));
        assert!(std::panic::catch_unwind(|| assert_no_key(&planted, &bytes, "planted")).is_err());
    }
}
