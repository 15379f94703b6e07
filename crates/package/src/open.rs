//! Opening a package: decrypt with the recipient's identity, read the manifest, and check
//! every entry against it (order, name, size, SHA-256), refusing a package that fails
//! authentication, is truncated, or does not match its own manifest. [`open_package`]
//! unpacks into a staging directory and renames it into place only when everything checked,
//! so a refused package leaves nothing behind.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::manifest::{MANIFEST_NAME, NOTICE_NAME};
use crate::write::Hashing;
use crate::{Identity, Manifest, PackageError};

/// The manifest of a real package is small; anything bigger is refused before parsing.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// Map an error of the decrypted stream: age reports a chunk that fails authentication as
/// `InvalidData` and a missing final chunk as `UnexpectedEof`.
fn stream_error(package: &Path, entry: &str, e: io::Error) -> PackageError {
    match e.kind() {
        io::ErrorKind::InvalidData => PackageError::Tampered {
            path: package.to_path_buf(),
            what: format!("encrypted data authentication failed while reading {entry}"),
        },
        io::ErrorKind::UnexpectedEof => PackageError::Truncated {
            path: package.to_path_buf(),
            what: format!("the encrypted stream ends inside {entry}"),
        },
        _ => PackageError::Content {
            path: package.to_path_buf(),
            entry: entry.to_string(),
            reason: e.to_string(),
        },
    }
}

fn decrypt_error(package: &Path, e: age::DecryptError) -> PackageError {
    use age::DecryptError as D;
    let path = package.to_path_buf();
    match e {
        D::NoMatchingKeys => PackageError::WrongKey { path },
        D::InvalidMac => PackageError::Tampered {
            path,
            what: "header MAC does not verify".into(),
        },
        D::DecryptionFailed | D::KeyDecryptionFailed => PackageError::Tampered {
            path,
            what: "header does not decrypt".into(),
        },
        D::InvalidHeader => PackageError::NotAPackage {
            path,
            reason: "no valid age header".into(),
        },
        D::UnknownFormat => PackageError::NotAPackage {
            path,
            reason: "unknown age format version".into(),
        },
        D::ExcessiveWork { .. } => PackageError::NotAPackage {
            path,
            reason: "passphrase-encrypted, not encrypted to a recipient key".into(),
        },
        D::Io(e) => match e.kind() {
            io::ErrorKind::UnexpectedEof => PackageError::Truncated {
                path,
                what: "the file ends inside the header".into(),
            },
            _ => PackageError::io(path, e),
        },
    }
}

fn content(package: &Path, entry: &str, reason: impl Into<String>) -> PackageError {
    PackageError::Content {
        path: package.to_path_buf(),
        entry: entry.to_string(),
        reason: reason.into(),
    }
}

/// Where each checked entry goes.
trait Sink {
    fn create(&mut self, entry: &str) -> Result<Box<dyn Write + '_>, PackageError>;
}

struct Discard;

impl Sink for Discard {
    fn create(&mut self, _: &str) -> Result<Box<dyn Write + '_>, PackageError> {
        Ok(Box::new(io::sink()))
    }
}

struct Unpack {
    root: PathBuf,
}

impl Sink for Unpack {
    fn create(&mut self, entry: &str) -> Result<Box<dyn Write + '_>, PackageError> {
        // Entry names were checked against the manifest's safe paths before this call.
        let path = self.root.join(entry);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| PackageError::io(dir, e))?;
        }
        let f = File::create(&path).map_err(|e| PackageError::io(&path, e))?;
        Ok(Box::new(io::BufWriter::with_capacity(1 << 16, f)))
    }
}

fn entry_name(package: &Path, entry: &tar::Entry<'_, impl Read>) -> Result<String, PackageError> {
    let name = entry
        .path_bytes()
        .into_owned()
        .into_iter()
        .map(char::from)
        .collect::<String>();
    if entry.header().entry_type() != tar::EntryType::Regular {
        return Err(content(package, &name, "not a regular file"));
    }
    Ok(name)
}

fn read_package(
    package: &Path,
    identity: &Identity,
    sink: &mut dyn Sink,
) -> Result<Manifest, PackageError> {
    let file = File::open(package).map_err(|e| PackageError::io(package, e))?;
    let decryptor = age::Decryptor::new_buffered(BufReader::with_capacity(1 << 16, file))
        .map_err(|e| decrypt_error(package, e))?;
    let plain = decryptor
        .decrypt(std::iter::once(identity.age() as &dyn age::Identity))
        .map_err(|e| decrypt_error(package, e))?;
    let mut archive = tar::Archive::new(plain);
    let manifest;
    {
        let mut entries = archive
            .entries()
            .map_err(|e| stream_error(package, MANIFEST_NAME, e))?;
        let mut next = |expected: &str| -> Result<tar::Entry<'_, _>, PackageError> {
            match entries.next() {
                None => Err(content(package, expected, "missing from the package")),
                Some(r) => r.map_err(|e| stream_error(package, expected, e)),
            }
        };

        // 1. The manifest.
        let mut entry = next(MANIFEST_NAME)?;
        let name = entry_name(package, &entry)?;
        if name != MANIFEST_NAME {
            return Err(content(
                package,
                &name,
                "the first entry must be manifest.json",
            ));
        }
        if entry.size() > MAX_MANIFEST_BYTES {
            return Err(content(package, &name, "manifest too large"));
        }
        let mut json = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut json)
            .map_err(|e| stream_error(package, MANIFEST_NAME, e))?;
        let parsed: Manifest = serde_json::from_slice(&json)
            .map_err(|e| content(package, MANIFEST_NAME, format!("not a valid manifest: {e}")))?;
        parsed
            .validate()
            .map_err(|e| content(package, MANIFEST_NAME, e.to_string()))?;
        write_all(package, sink, MANIFEST_NAME, &json)?;

        // 2. The notice, exactly as the manifest says.
        let mut entry = next(NOTICE_NAME)?;
        let name = entry_name(package, &entry)?;
        if name != NOTICE_NAME {
            return Err(content(
                package,
                &name,
                "the second entry must be NOTICE.txt",
            ));
        }
        let expected = parsed.notice.render(&parsed);
        if entry.size() != expected.len() as u64 {
            return Err(content(
                package,
                NOTICE_NAME,
                "differs from the manifest's notice",
            ));
        }
        let mut text = Vec::with_capacity(expected.len());
        entry
            .read_to_end(&mut text)
            .map_err(|e| stream_error(package, NOTICE_NAME, e))?;
        if text != expected.as_bytes() {
            return Err(content(
                package,
                NOTICE_NAME,
                "differs from the manifest's notice",
            ));
        }
        write_all(package, sink, NOTICE_NAME, &text)?;

        // 3. Every file, in manifest order, with its size and hash.
        for f in &parsed.files {
            let mut entry = next(&f.path)?;
            let name = entry_name(package, &entry)?;
            if name != f.path {
                return Err(content(
                    package,
                    &name,
                    format!("unexpected entry (the manifest lists {} here)", f.path),
                ));
            }
            if entry.size() != f.bytes {
                return Err(content(package, &f.path, "size differs from the manifest"));
            }
            let mut out = Hashing::new(sink.create(&f.path)?);
            io::copy(&mut entry, &mut out).map_err(|e| stream_error(package, &f.path, e))?;
            out.flush().map_err(|e| PackageError::io(&f.path, e))?;
            if out.bytes != f.bytes {
                return Err(content(package, &f.path, "shorter than the manifest says"));
            }
            if out.hex() != f.sha256 {
                return Err(content(
                    package,
                    &f.path,
                    "SHA-256 differs from the manifest",
                ));
            }
        }
        if let Some(extra) = entries.next() {
            let name = match extra {
                Ok(e) => entry_name(package, &e).unwrap_or_else(|_| "?".into()),
                Err(e) => return Err(stream_error(package, "the end of the archive", e)),
            };
            return Err(content(package, &name, "entry not listed in the manifest"));
        }
        manifest = parsed;
    }
    // Read the encrypted stream to its end so its final chunk is authenticated too (a cut
    // after the archive's last entry is still a truncated package).
    io::copy(&mut archive.into_inner(), &mut io::sink())
        .map_err(|e| stream_error(package, "the end of the archive", e))?;
    Ok(manifest)
}

fn write_all(
    package: &Path,
    sink: &mut dyn Sink,
    entry: &str,
    bytes: &[u8],
) -> Result<(), PackageError> {
    let mut w = sink.create(entry)?;
    w.write_all(bytes)
        .and_then(|_| w.flush())
        .map_err(|e| content(package, entry, e.to_string()))
}

/// Decrypt and check a package without writing anything; returns its manifest.
pub fn verify_package(package: &Path, identity: &Identity) -> Result<Manifest, PackageError> {
    read_package(package, identity, &mut Discard)
}

/// Decrypt, check and unpack a package into the new directory `out_dir` (`manifest.json`,
/// `NOTICE.txt`, `data/...`). `out_dir` appears only if every check passed.
pub fn open_package(
    package: &Path,
    identity: &Identity,
    out_dir: &Path,
) -> Result<Manifest, PackageError> {
    if out_dir.exists() {
        return Err(PackageError::io(
            out_dir,
            io::Error::new(io::ErrorKind::AlreadyExists, "already exists; not replaced"),
        ));
    }
    let name = out_dir
        .file_name()
        .ok_or_else(|| PackageError::invalid("out_dir", "must name a directory"))?;
    let staging = out_dir.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    std::fs::create_dir(&staging).map_err(|e| PackageError::io(&staging, e))?;
    let opened = read_package(
        package,
        identity,
        &mut Unpack {
            root: staging.clone(),
        },
    )
    .and_then(|m| {
        std::fs::rename(&staging, out_dir).map_err(|e| PackageError::io(out_dir, e))?;
        Ok(m)
    });
    if opened.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    opened
}
