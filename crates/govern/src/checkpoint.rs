//! The audit checkpoint key (`DATA_DIR/audit/checkpoint.key`: 32 random bytes, hex, in a
//! 0700 directory, file mode 0600) and the checkpoint head file beside it.
//!
//! The key never leaves this module: no getter, no Debug output, no error naming its bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::audit::Checkpoint;

const KEY_FILE: &str = "checkpoint.key";
const HEAD_FILE: &str = "checkpoint-head.json";
const DOMAIN: &[u8] = b"medinfra-audit-checkpoint-v1";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
}

fn file_err(path: &Path, reason: impl std::fmt::Display) -> KeyError {
    KeyError::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

pub struct CheckpointKey([u8; 32]);

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckpointKey(<redacted>)")
    }
}

impl CheckpointKey {
    fn hmac(&self, seq: i64, hash: &str, at: &str, prev_mac: &str) -> Hmac<Sha256> {
        // new_from_slice accepts any key length; 32 bytes never fails.
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        m.update(DOMAIN);
        for part in [seq.to_string().as_str(), hash, at, prev_mac] {
            m.update(&(part.len() as u64).to_le_bytes());
            m.update(part.as_bytes());
        }
        m
    }

    pub fn mac(&self, seq: i64, hash: &str, at: &str, prev_mac: &str) -> String {
        hex::encode(self.hmac(seq, hash, at, prev_mac).finalize().into_bytes())
    }

    /// Constant-time check of a stored MAC.
    pub fn verify(&self, seq: i64, hash: &str, at: &str, prev_mac: &str, mac: &str) -> bool {
        let Ok(bytes) = hex::decode(mac) else {
            return false;
        };
        self.hmac(seq, hash, at, prev_mac)
            .verify_slice(&bytes)
            .is_ok()
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| file_err(path, e))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), KeyError> {
    Ok(())
}

/// The key, if the file exists.
pub fn load_key(dir: &Path) -> Result<Option<CheckpointKey>, KeyError> {
    let path = dir.join(KEY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(file_err(&path, e)),
    };
    let bytes = hex::decode(text.trim()).map_err(|_| file_err(&path, "not a hex-encoded key"))?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| file_err(&path, "key must be 32 bytes"))?;
    Ok(Some(CheckpointKey(key)))
}

/// The key, created (0600, in a 0700 directory) on first use.
pub fn load_or_create_key(dir: &Path) -> Result<CheckpointKey, KeyError> {
    if let Some(k) = load_key(dir)? {
        return Ok(k);
    }
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    set_mode(dir, 0o700)?;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| file_err(dir, e))?;
    let path = dir.join(KEY_FILE);
    // Written whole, then linked into place: a concurrent appender (another node, another
    // task) sees no key or the whole key, never an empty file.
    match medinfra_store::create_file_whole(&path, hex::encode(key).as_bytes(), 0o600) {
        Ok(true) => Ok(CheckpointKey(key)),
        // Another appender created it first: use theirs.
        Ok(false) => load_key(dir)?.ok_or_else(|| file_err(&path, "vanished after creation")),
        Err(e) => Err(file_err(&path, e)),
    }
}

/// Record the newest checkpoint outside the database (write, fsync, rename).
pub fn write_head(dir: &Path, cp: &Checkpoint) -> Result<(), KeyError> {
    let path = dir.join(HEAD_FILE);
    // Never move the head backwards (two processes may race).
    if let Some(h) = read_head(dir)
        && h.seq >= cp.seq
    {
        return Ok(());
    }
    let tmp = dir.join(format!(
        "{HEAD_FILE}.{}.tmp",
        medinfra_store::unique_suffix()
    ));
    let bytes = serde_json::to_vec(cp).map_err(|e| file_err(&tmp, e))?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| file_err(&tmp, e))?;
    f.write_all(&bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| file_err(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| file_err(&path, e))?;
    Ok(())
}

/// The newest checkpoint recorded outside the database, if readable.
pub fn read_head(dir: &Path) -> Option<Checkpoint> {
    let bytes = std::fs::read(dir.join(HEAD_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_private_and_stable() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("audit");
        assert!(load_key(&dir).unwrap().is_none());
        let k = load_or_create_key(&dir).unwrap();
        let k2 = load_or_create_key(&dir).unwrap();
        assert_eq!(k.mac(1, "h", "t", ""), k2.mac(1, "h", "t", ""));
        assert!(k.verify(1, "h", "t", "", &k.mac(1, "h", "t", "")));
        assert!(!k.verify(2, "h", "t", "", &k.mac(1, "h", "t", "")));
        assert_eq!(format!("{k:?}"), "CheckpointKey(<redacted>)");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn racing_creators_all_get_the_one_whole_key() {
        // Before the key was linked into place, a racer could read the file between its
        // creation and its write ("key must be 32 bytes").
        for _ in 0..50 {
            let d = tempfile::tempdir().unwrap();
            let dir = d.path().join("audit");
            let start = std::sync::Barrier::new(8);
            let macs: Vec<String> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            load_or_create_key(&dir).unwrap().mac(1, "h", "t", "")
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert!(macs.iter().all(|m| m == &macs[0]));
            let names: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(
                names,
                vec![std::ffi::OsString::from(KEY_FILE)],
                "no temporary file left"
            );
        }
    }
}
