//! Writing a new dataset version: parts of tables are written (possibly from many threads)
//! into a private staging directory; [`VersionWriter::commit`] makes them visible at once.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use medinfra_model::Tier;

use crate::manifest::{ColumnSchema, FileEntry, Lineage, TableEntry};
use crate::{Store, StoreError, VersionInfo};

/// A `Write` that hashes and counts what passes through, so a file's SHA-256 is known when
/// it is closed without reading it back.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The Parquet settings of every file medinfra writes. No timestamps or hostnames go into
/// the files, so the same input gives byte-identical output.
fn writer_properties() -> WriterProperties {
    // Measured (BENCHMARKS.md, Ingest): chunk-only statistics, no dictionary or no
    // compression made small parts no cheaper to write, so the defaults stay.
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(256 * 1024))
        .set_created_by(format!("medinfra {}", crate::MEDINFRA_VERSION))
        .build()
}

/// Writes one Parquet part file of one table.
pub struct PartWriter {
    table: String,
    rel_path: String,
    path: PathBuf,
    schema: SchemaRef,
    writer: ArrowWriter<HashingWriter<BufWriter<File>>>,
    rows: u64,
}

impl PartWriter {
    /// Append a batch; its schema must be the part's schema.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        if batch.schema().fields() != self.schema.fields() {
            return Err(StoreError::SchemaMismatch {
                table: self.table.clone(),
            });
        }
        self.writer
            .write(batch)
            .map_err(|source| StoreError::Parquet {
                path: self.path.clone(),
                source,
            })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }
}

/// A finished part, ready to be listed in the manifest.
#[derive(Debug, Clone)]
pub struct PartInfo {
    pub table: String,
    pub file: FileEntry,
}

struct TableParts {
    schema: SchemaRef,
    files: Vec<FileEntry>,
}

/// What a writer has put into its staging directory, shared by the threads writing parts.
#[derive(Default)]
struct Staged {
    tables: BTreeMap<String, TableParts>,
    /// Table directories already created (only for parts carried from versions in the
    /// earlier nested layout).
    dirs: BTreeSet<String>,
    /// Files written but not yet fsynced: they are all synced at commit, once, so a version
    /// of many small parts pays no fsync per part while it is being written.
    unsynced: Vec<PathBuf>,
}

/// A dataset version being written. Dropping it without [`commit`](Self::commit) discards it.
pub struct VersionWriter {
    store: Store,
    name: String,
    tier: Tier,
    lineage: Lineage,
    staging: PathBuf,
    staged: Mutex<Staged>,
    submissions: Vec<crate::Submission>,
    done: bool,
    /// A lock on the staging directory, held while this writer lives: another process
    /// opening the store leaves a locked staging directory alone.
    _lock: crate::fsutil::HeldLock,
}

impl VersionWriter {
    pub(crate) fn new(
        store: Store,
        name: String,
        tier: Tier,
        lineage: Lineage,
        staging: PathBuf,
        lock: crate::fsutil::HeldLock,
    ) -> Self {
        Self {
            store,
            name,
            tier,
            lineage,
            staging,
            staged: Mutex::new(Staged::default()),
            submissions: Vec::new(),
            done: false,
            _lock: lock,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// The staging directory (for tests of crash safety).
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }

    /// Open part `part` of table `table`. Parts of one table must share a schema.
    pub fn part_writer(
        &self,
        table: &str,
        part: usize,
        schema: SchemaRef,
    ) -> Result<PartWriter, StoreError> {
        self.named_part_writer(table, &format!("{part:05}"), schema)
    }

    /// Open a part with a chosen name (`TABLE.part-NAME.parquet`; NAME in `[a-z0-9_-]`).
    ///
    /// Flat: every part sits in the version directory itself, with no directory per table.
    /// A bulk ingest writes thousands of small versions, and on ext4 allocating an inode is a
    /// large share of its CPU time; the table directories were almost half of a version's
    /// inodes. Readers never list directories: they take the files from the manifest, which
    /// is also why versions written with the earlier `TABLE/part-NAME.parquet` layout read
    /// the same.
    pub fn named_part_writer(
        &self,
        table: &str,
        name: &str,
        schema: SchemaRef,
    ) -> Result<PartWriter, StoreError> {
        crate::validate_dataset_name(table)?;
        crate::validate_dataset_name(name)?;
        let rel_path = format!("{table}.part-{name}.parquet");
        let path = self.staging.join(&rel_path);
        // Never an existing file: a name already staged may be a part carried by hard link
        // from a committed version, and truncating it would rewrite that version's file.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        let sink = HashingWriter {
            // The Parquet writer hands over whole encoded pages and column chunks; the buffer
            // only gathers its small writes (headers, footer). Small, so the many parts of a
            // bulk ingest do not each allocate and fault in a large buffer.
            inner: BufWriter::with_capacity(64 << 10, file),
            hasher: Sha256::new(),
            bytes: 0,
        };
        let writer = ArrowWriter::try_new(sink, schema.clone(), Some(writer_properties()))
            .map_err(|source| StoreError::Parquet {
                path: path.clone(),
                source,
            })?;
        Ok(PartWriter {
            table: table.to_string(),
            rel_path,
            path,
            schema,
            writer,
            rows: 0,
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Staged>, StoreError> {
        self.staged
            .lock()
            .map_err(|_| StoreError::Corrupt("writer lock poisoned".into()))
    }

    /// Create `table`'s directory in staging the first time a part of it is carried from a
    /// version in the earlier nested layout. Not fsynced here: commit fsyncs every table
    /// directory once, before the version is renamed into place.
    fn table_dir(&self, table: &str) -> Result<(), StoreError> {
        let mut staged = self.lock()?;
        if !staged.dirs.contains(table) {
            let dir = self.staging.join(table);
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::io(&dir, e)),
            }
            staged.dirs.insert(table.to_string());
        }
        Ok(())
    }

    /// Drop a part without recording it (its rows belong to input that was rejected).
    pub fn abandon_part(&self, part: PartWriter) -> Result<(), StoreError> {
        let path = part.path.clone();
        drop(part);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    /// Carry a file of a committed version into this one unchanged (hard link, or copy where
    /// the file system cannot link). Committed files are never modified, so sharing is safe.
    pub fn carry_part(
        &self,
        table: &str,
        schema: SchemaRef,
        source_dir: &Path,
        entry: &FileEntry,
    ) -> Result<(), StoreError> {
        crate::validate_dataset_name(table)?;
        let src = source_dir.join(&entry.path);
        let dst = self.staging.join(&entry.path);
        let flat = dst.parent() == Some(self.staging.as_path())
            && entry
                .path
                .strip_prefix(table)
                .is_some_and(|rest| rest.starts_with(".part-"));
        let nested = dst.parent() == Some(&self.staging.join(table));
        if !flat && !nested {
            // Parts live at TABLE.part-NAME.parquet (or TABLE/part-NAME.parquet in versions
            // written before the flat layout); anything else is not ours.
            return Err(StoreError::Corrupt(format!(
                "manifest path {:?} is not a part of table {table:?}",
                entry.path
            )));
        }
        if nested {
            self.table_dir(table)?;
        }
        // A linked file is the committed (already fsynced) inode; only a copy needs a sync.
        if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).map_err(|e| StoreError::io(&dst, e))?;
            self.lock()?.unsynced.push(dst);
        }
        self.record_entry(table.to_string(), schema, entry.clone())
    }

    /// Record a submission to be written with this version in the same transaction.
    pub fn add_submission(&mut self, submission: crate::Submission) {
        self.submissions.push(submission);
    }

    fn record_entry(
        &self,
        table: String,
        schema: SchemaRef,
        entry: FileEntry,
    ) -> Result<(), StoreError> {
        let mut staged = self.lock()?;
        match staged.tables.get_mut(&table) {
            Some(t) => {
                if t.schema.fields() != schema.fields() {
                    return Err(StoreError::SchemaMismatch { table });
                }
                t.files.push(entry);
            }
            None => {
                staged.tables.insert(
                    table,
                    TableParts {
                        schema,
                        files: vec![entry],
                    },
                );
            }
        }
        Ok(())
    }

    /// Close a part: flush, and record it for the manifest. The file is fsynced at commit.
    pub fn finish_part(&self, part: PartWriter) -> Result<PartInfo, StoreError> {
        let PartWriter {
            table,
            rel_path,
            path,
            schema,
            writer,
            rows,
        } = part;
        let sink = writer.into_inner().map_err(|source| StoreError::Parquet {
            path: path.clone(),
            source,
        })?;
        let HashingWriter {
            inner,
            hasher,
            bytes,
        } = sink;
        // Closing the file here; commit reopens it by path to fsync (keeping every part of a
        // large batch open until then would run out of file descriptors).
        drop(
            inner
                .into_inner()
                .map_err(|e| StoreError::io(&path, e.into_error()))?,
        );
        self.lock()?.unsynced.push(path);
        let entry = FileEntry {
            path: rel_path,
            rows,
            bytes,
            sha256: hex::encode(hasher.finalize()),
        };
        self.record_entry(table.clone(), schema, entry.clone())?;
        Ok(PartInfo { table, file: entry })
    }

    /// Write a whole table as one part.
    pub fn write_table<'a>(
        &self,
        table: &str,
        schema: SchemaRef,
        batches: impl IntoIterator<Item = &'a RecordBatch>,
    ) -> Result<PartInfo, StoreError> {
        let mut w = self.part_writer(table, 0, schema)?;
        for b in batches {
            w.write(b)?;
        }
        self.finish_part(w)
    }

    pub(crate) fn table_entries(&self) -> Result<Vec<TableEntry>, StoreError> {
        let staged = self.lock()?;
        Ok(staged
            .tables
            .iter()
            .map(|(name, parts)| {
                let mut files = parts.files.clone();
                files.sort_by(|a, b| a.path.cmp(&b.path));
                TableEntry {
                    name: name.clone(),
                    rows: files.iter().map(|f| f.rows).sum(),
                    schema: parts
                        .schema
                        .fields()
                        .iter()
                        .map(|f| ColumnSchema {
                            name: f.name().clone(),
                            data_type: f.data_type().to_string(),
                            nullable: f.is_nullable(),
                        })
                        .collect(),
                    files,
                }
            })
            .collect())
    }

    /// What commit must fsync before the version may be renamed into place: the files
    /// written or copied, and the table directories holding them.
    pub(crate) fn unsynced(&self) -> Result<(Vec<PathBuf>, Vec<PathBuf>), StoreError> {
        let staged = self.lock()?;
        let dirs = staged.dirs.iter().map(|d| self.staging.join(d)).collect();
        Ok((staged.unsynced.clone(), dirs))
    }

    pub(crate) fn lineage(&self) -> &Lineage {
        &self.lineage
    }

    pub(crate) fn submissions(&self) -> &[crate::Submission] {
        &self.submissions
    }

    /// Called once the catalog holds the version: the staging directory is gone (renamed).
    pub(crate) fn mark_committed(&mut self) {
        self.done = true;
    }

    /// Make the version visible: fsync, manifest, rename, catalog transaction
    /// ([`Store::commit_all`] with this one version).
    pub async fn commit(self) -> Result<VersionInfo, StoreError> {
        let store = self.store.clone();
        store
            .commit_all(vec![self], &[])
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("commit returned no version".into()))
    }
}

impl Drop for VersionWriter {
    fn drop(&mut self) {
        if !self.done {
            // Best effort: whatever is left is removed by the next `Store::open` anyway.
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}
