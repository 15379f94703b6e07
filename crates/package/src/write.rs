//! Writing a package: hash every input (first pass), build the manifest, then stream
//! manifest, notice and files into a tar archive inside an age stream encrypted to the
//! recipient (second pass, re-hashing each file as it is copied so a file that changed in
//! between fails the package instead of contradicting its manifest). Memory stays bounded by
//! the copy buffers whatever the file sizes.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::manifest::{FORMAT, MANIFEST_NAME, NOTICE_NAME, package_path, safe_path};
use crate::{DatasetRef, Manifest, Notice, PackageError, PackagedFile, Recipient, RecipientKey};

/// What the caller says about the package (the governed parts come from the registry).
#[derive(Debug, Clone)]
pub struct PackageMeta {
    pub project: String,
    pub producer: String,
    /// `public_key` is replaced by the key the package is actually encrypted to.
    pub recipient: Recipient,
    /// Last day of permitted use, YYYY-MM-DD.
    pub expires: String,
    pub datasets: Vec<DatasetRef>,
}

/// One file to put in the package.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Where it is on disk.
    pub source: PathBuf,
    pub dataset: String,
    pub version: i64,
    /// Its path inside the dataset version (`TABLE.part-*.parquet`; `TABLE/part-*.parquet`
    /// in versions written before the flat layout).
    pub path: String,
    /// What the version's manifest records; the file is refused if it differs.
    pub expected_sha256: Option<String>,
    pub expected_bytes: Option<u64>,
}

/// A reader that hashes and counts what passes through it.
pub(crate) struct Hashing<R> {
    pub(crate) inner: R,
    hasher: Sha256,
    pub(crate) bytes: u64,
}

impl<R> Hashing<R> {
    pub(crate) fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub(crate) fn hex(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hash_file(path: &Path) -> Result<(u64, String), PackageError> {
    let f = File::open(path).map_err(|e| PackageError::io(path, e))?;
    let mut h = Hashing::new(f);
    io::copy(&mut h, &mut io::sink()).map_err(|e| PackageError::io(path, e))?;
    Ok((h.bytes, h.hex()))
}

fn package_id() -> Result<String, PackageError> {
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf).map_err(|e| PackageError::invalid("package_id", e.to_string()))?;
    Ok(hex::encode(buf))
}

/// First pass: hash the inputs and describe them.
fn describe(meta: &PackageMeta, inputs: &[InputFile]) -> Result<Vec<PackagedFile>, PackageError> {
    let mut files = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        if !safe_path(&input.dataset) || input.dataset.contains('/') || input.version < 0 {
            return Err(PackageError::invalid(
                format!("inputs[{i}]"),
                "dataset name or version is not usable as a path",
            ));
        }
        if !safe_path(&input.path) {
            return Err(PackageError::invalid(
                format!("inputs[{i}].path"),
                "must be a relative path of letters, digits and -_. segments",
            ));
        }
        let (bytes, sha256) = hash_file(&input.source)?;
        if input.expected_bytes.is_some_and(|b| b != bytes) {
            return Err(PackageError::Input {
                path: input.source.clone(),
                reason: "size differs from its dataset version's manifest".into(),
            });
        }
        if input
            .expected_sha256
            .as_deref()
            .is_some_and(|h| !h.eq_ignore_ascii_case(&sha256))
        {
            return Err(PackageError::Input {
                path: input.source.clone(),
                reason: "SHA-256 differs from its dataset version's manifest".into(),
            });
        }
        files.push(PackagedFile {
            path: package_path(&input.dataset, input.version, &input.path),
            dataset: input.dataset.clone(),
            version: input.version,
            bytes,
            sha256,
        });
    }
    if meta.project.is_empty() {
        return Err(PackageError::invalid("project", "must not be empty"));
    }
    Ok(files)
}

fn tar_header(size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(0o600);
    h.set_mtime(mtime);
    h
}

/// Write the package to `out`, encrypted to `recipient`. Returns the manifest and `out`.
pub fn write_package<W: Write>(
    meta: &PackageMeta,
    inputs: &[InputFile],
    recipient: &RecipientKey,
    out: W,
) -> Result<(Manifest, W), PackageError> {
    write_to(meta, inputs, recipient, out, Path::new("<package output>"))
}

fn write_to<W: Write>(
    meta: &PackageMeta,
    inputs: &[InputFile],
    recipient: &RecipientKey,
    out: W,
    out_path: &Path,
) -> Result<(Manifest, W), PackageError> {
    let files = describe(meta, inputs)?;
    let mut recipient_info = meta.recipient.clone();
    recipient_info.public_key = recipient.as_str().to_string();
    let manifest = Manifest {
        format: FORMAT.into(),
        package_id: package_id()?,
        created_at: medinfra_store::now_rfc3339(),
        producer: meta.producer.clone(),
        medinfra_version: env!("CARGO_PKG_VERSION").into(),
        project: meta.project.clone(),
        recipient: recipient_info,
        expires: meta.expires.clone(),
        no_onward_provision: true,
        notice: Notice::standard(),
        datasets: meta.datasets.clone(),
        files,
    };
    manifest.validate()?;
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| PackageError::invalid("manifest", e.to_string()))?;
    let notice = manifest.notice.render(&manifest);
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);

    let out_err = |e: io::Error| PackageError::io(out_path, e);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient.age() as &dyn age::Recipient))
            .map_err(|e| PackageError::RecipientKey(e.to_string()))?;
    let stream = encryptor
        .wrap_output(BufWriter::with_capacity(1 << 16, out))
        .map_err(out_err)?;
    let mut tar = tar::Builder::new(stream);
    tar.append_data(
        &mut tar_header(manifest_json.len() as u64, mtime),
        MANIFEST_NAME,
        manifest_json.as_slice(),
    )
    .map_err(out_err)?;
    tar.append_data(
        &mut tar_header(notice.len() as u64, mtime),
        NOTICE_NAME,
        notice.as_bytes(),
    )
    .map_err(out_err)?;
    for (input, file) in inputs.iter().zip(&manifest.files) {
        let f = File::open(&input.source).map_err(|e| PackageError::io(&input.source, e))?;
        let mut reader = Hashing::new(f.take(file.bytes));
        // Read errors of the input surface here too; they are named by the output path and
        // the input's entry below only when the copy was short or different.
        tar.append_data(&mut tar_header(file.bytes, mtime), &file.path, &mut reader)
            .map_err(|e| PackageError::io(&input.source, e))?;
        if reader.bytes != file.bytes || reader.hex() != file.sha256 {
            return Err(PackageError::Input {
                path: input.source.clone(),
                reason: "changed while it was being packaged".into(),
            });
        }
    }
    let stream = tar.into_inner().map_err(out_err)?;
    let buffered = stream.finish().map_err(out_err)?;
    let out = buffered
        .into_inner()
        .map_err(|e| PackageError::io(out_path, e.into_error()))?;
    Ok((manifest, out))
}

/// Write the package to a new file `out` (never replacing one): written beside it under a
/// temporary name, synced, then renamed, so `out` is complete or absent.
pub fn write_package_file(
    meta: &PackageMeta,
    inputs: &[InputFile],
    recipient: &RecipientKey,
    out: &Path,
) -> Result<Manifest, PackageError> {
    if out.exists() {
        return Err(PackageError::io(
            out,
            io::Error::new(io::ErrorKind::AlreadyExists, "already exists; not replaced"),
        ));
    }
    let name = out
        .file_name()
        .ok_or_else(|| PackageError::invalid("out", "must name a file"))?;
    let partial = out.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(&partial)
        .map_err(|e| PackageError::io(&partial, e))?;
    let written = write_to(meta, inputs, recipient, file, out).and_then(|(manifest, file)| {
        file.sync_all().map_err(|e| PackageError::io(out, e))?;
        std::fs::rename(&partial, out).map_err(|e| PackageError::io(out, e))?;
        if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename is durable once the directory is synced.
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| PackageError::io(dir, e))?;
        }
        Ok(manifest)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}
