//! The reverse map (削除情報等): pseudonym → original identifier, kept apart from the data, by
//! the producer only (`formats/japan.md` §7.3).
//!
//! It lives in the key directory (`maps/NAME.map`, mode 0600, directory 0700), never in the
//! data directory or the catalog, and is encrypted: ChaCha20-Poly1305 under a file key derived
//! from the active `reverse-map` key (`HMAC-SHA-256(key, "medinfra/reverse-map/v1" ‖ 0x1F ‖
//! NAME)`), so a copy of the file alone reveals nothing and a file renamed to another version's
//! name fails to open.
//!
//! Layout: `MEDINFRA-REVERSE-MAP 1\n`, one JSON header line (key id, entry count; no data),
//! then frames `nonce (12) ‖ length (u32 LE) ‖ ciphertext`, each holding up to 4,096 lines
//! `token TAB original` (the original's parts joined by 0x1F). The header is the AEAD's
//! associated data of every frame.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key as AeadKey, Nonce};
use medinfra_pseudo::keys::{KeyId, KeyStore};
use medinfra_pseudo::token::Tokenizer;
use serde::{Deserialize, Serialize};

use crate::error::PseudonymizeError;

const MAGIC: &[u8] = b"MEDINFRA-REVERSE-MAP 1\n";
const FRAME_ENTRIES: usize = 4096;
/// Purpose of the key the maps are encrypted under.
pub const MAP_KEY_PURPOSE: &str = "reverse-map";

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    name: String,
    map_key_id: String,
    token_key_id: String,
    entries: u64,
}

fn cipher(
    keys: &KeyStore,
    key_id: &KeyId,
    name: &str,
) -> Result<ChaCha20Poly1305, PseudonymizeError> {
    let key = keys.load(key_id)?;
    let file_key = Tokenizer::new(&key)?.digest(b"medinfra/reverse-map/v1", &[name.as_bytes()]);
    Ok(ChaCha20Poly1305::new(&AeadKey::from(file_key)))
}

fn maps_dir(keys: &KeyStore) -> PathBuf {
    keys.dir().join("maps")
}

/// Writes the map of version `name` (e.g. `pseudo-claims-v3`); returns its path. Creates the
/// `reverse-map` key on first use.
pub fn write(
    keys: &KeyStore,
    name: &str,
    token_key: &KeyId,
    map: &HashMap<String, String>,
) -> Result<PathBuf, PseudonymizeError> {
    let map_key = match keys.active(MAP_KEY_PURPOSE) {
        Ok(k) => k.id().clone(),
        Err(medinfra_pseudo::keys::KeyError::NoActiveKey { .. }) => {
            keys.new_key(MAP_KEY_PURPOSE)?.id
        }
        Err(e) => return Err(e.into()),
    };
    let cipher = cipher(keys, &map_key, name)?;
    let dir = maps_dir(keys);
    create_private_dir(&dir)?;
    let path = dir.join(format!("{name}.map"));
    let header = Header {
        name: name.to_string(),
        map_key_id: map_key.as_str().to_string(),
        token_key_id: token_key.as_str().to_string(),
        entries: map.len() as u64,
    };
    let mut header_line =
        serde_json::to_vec(&header).map_err(|e| PseudonymizeError::file(&path, e))?;
    header_line.push(b'\n');

    let tmp = dir.join(format!(".{name}.map.tmp"));
    let mut file = open_private(&tmp)?;
    let io = |e: std::io::Error| PseudonymizeError::file(&tmp, e);
    file.write_all(MAGIC).map_err(io)?;
    file.write_all(&header_line).map_err(io)?;
    let mut entries: Vec<(&String, &String)> = map.iter().collect();
    entries.sort();
    for chunk in entries.chunks(FRAME_ENTRIES) {
        let mut plain = Vec::with_capacity(chunk.len() * 96);
        for (token, original) in chunk {
            plain.extend_from_slice(token.as_bytes());
            plain.push(b'\t');
            plain.extend_from_slice(original.as_bytes());
            plain.push(b'\n');
        }
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &plain,
                    aad: &header_line,
                },
            )
            .map_err(|_| PseudonymizeError::file(&tmp, "encryption failed"))?;
        file.write_all(&nonce).map_err(io)?;
        file.write_all(&(sealed.len() as u32).to_le_bytes())
            .map_err(io)?;
        file.write_all(&sealed).map_err(io)?;
    }
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(|e| PseudonymizeError::file(&path, e))?;
    Ok(path)
}

/// The originals of `tokens` found in the map at `path` (operators only: the caller checks
/// access and audits the lookup).
pub fn lookup(
    keys: &KeyStore,
    path: &Path,
    tokens: &[String],
) -> Result<HashMap<String, Vec<String>>, PseudonymizeError> {
    let mut found = HashMap::new();
    read_entries(keys, path, |token, original| {
        if tokens.iter().any(|t| t == token) {
            found.insert(
                token.to_string(),
                original.split('\u{1f}').map(str::to_string).collect(),
            );
        }
    })?;
    Ok(found)
}

/// Whether version `name`'s map exists.
pub fn exists(keys: &KeyStore, name: &str) -> bool {
    maps_dir(keys).join(format!("{name}.map")).is_file()
}

/// Every entry of version `name`'s map (token, original with parts joined by 0x1F), for a
/// later version that carries that version's parts and must hold their tokens too.
pub fn for_each(
    keys: &KeyStore,
    name: &str,
    f: impl FnMut(&str, &str),
) -> Result<(), PseudonymizeError> {
    read_entries(keys, &maps_dir(keys).join(format!("{name}.map")), f)
}

/// Decrypts and authenticates every frame of the map at `path`, calling `f` per entry.
fn read_entries(
    keys: &KeyStore,
    path: &Path,
    mut f: impl FnMut(&str, &str),
) -> Result<(), PseudonymizeError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| PseudonymizeError::file(path, e))?;
    let bad = |reason: &str| PseudonymizeError::file(path, reason);
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("not a medinfra reverse map"))?;
    let nl = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| bad("header line missing"))?;
    let header_line = &rest[..=nl];
    let header: Header =
        serde_json::from_slice(&rest[..nl]).map_err(|_| bad("header is not valid"))?;
    let map_key = KeyId::parse(&header.map_key_id)?;
    let cipher = cipher(keys, &map_key, &header.name)?;
    let mut pos = nl + 1;
    let mut seen = 0u64;
    while pos < rest.len() {
        if rest.len() < pos + 16 {
            return Err(bad("truncated frame"));
        }
        let mut nonce_bytes = [0u8; 12];
        nonce_bytes.copy_from_slice(&rest[pos..pos + 12]);
        let nonce = Nonce::from(nonce_bytes);
        let mut len = [0u8; 4];
        len.copy_from_slice(&rest[pos + 12..pos + 16]);
        let len = u32::from_le_bytes(len) as usize;
        let start = pos + 16;
        let sealed = rest
            .get(start..start + len)
            .ok_or_else(|| bad("truncated frame"))?;
        let plain = cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: header_line,
                },
            )
            .map_err(|_| bad("frame does not authenticate (wrong key, renamed or altered file)"))?;
        for line in plain.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            seen += 1;
            let Some(tab) = line.iter().position(|&b| b == b'\t') else {
                return Err(bad("frame line without a tab"));
            };
            let token = String::from_utf8_lossy(&line[..tab]);
            let original = String::from_utf8_lossy(&line[tab + 1..]);
            f(&token, &original);
        }
        pos = start + len;
    }
    if seen != header.entries {
        return Err(bad("entry count does not match the header"));
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), PseudonymizeError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| PseudonymizeError::file(dir, e))?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| PseudonymizeError::file(dir, e))
}

fn open_private(path: &Path) -> Result<std::fs::File, PseudonymizeError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| PseudonymizeError::file(path, e))
}
