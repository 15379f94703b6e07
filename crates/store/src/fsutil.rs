//! Durability helpers: the rename-based commit is only crash-safe if file contents and
//! directory entries are fsynced in the right order.

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::StoreError;

/// fsync a directory so that entries created or renamed in it survive a crash.
pub fn sync_dir(path: &Path) -> Result<(), StoreError> {
    let dir = File::open(path).map_err(|e| StoreError::io(path, e))?;
    dir.sync_all().map_err(|e| StoreError::io(path, e))
}

/// fsync a file by path.
pub fn sync_file(path: &Path) -> Result<(), StoreError> {
    let f = OpenOptions::new()
        .read(true)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    f.sync_all().map_err(|e| StoreError::io(path, e))
}

/// Create a directory and its parents, fsyncing the parent of the new directory.
pub fn create_dir_synced(path: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(path).map_err(|e| StoreError::io(path, e))?;
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent)?,
        _ => sync_dir(Path::new("."))?,
    }
    Ok(())
}

/// fsync many files or directories. Each is opened by path, so they need not be kept open.
/// Several threads issue the fsyncs at once: on a journalling file system concurrent fsyncs
/// share journal commits, and on any disk the device queue is kept busy. Threads from std
/// (scoped) rather than a pool crate: this is the only place the store wants them.
pub fn sync_paths(paths: &[std::path::PathBuf]) -> Result<(), StoreError> {
    const PER_THREAD: usize = 64;
    const MAX_THREADS: usize = 8;
    // Opening read-only and fsyncing works the same for files and directories on Unix.
    let sync = |p: &std::path::PathBuf| sync_file(p);
    if paths.len() <= PER_THREAD {
        return paths.iter().try_for_each(sync);
    }
    let threads = paths.len().div_ceil(PER_THREAD).min(MAX_THREADS);
    let chunk = paths.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().try_for_each(sync)))
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(StoreError::Corrupt("fsync thread panicked".into())))
        })
    })
}

/// An advisory lock held for as long as the value lives (the OS releases it when the process
/// dies, so a crashed writer never leaves a lock behind). `flock` through std's `File::lock`,
/// on a directory or a file: on NFS, Linux maps it to byte-range locks, which NFSv4 servers
/// honour across clients.
#[derive(Debug)]
pub struct HeldLock {
    _file: File,
}

fn open_lock_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StoreError::io(path, e))
}

/// Hold an exclusive lock on the directory `dir` (no extra file: a bulk ingest creates
/// thousands of versions, and every inode costs).
pub fn hold_dir(dir: &Path) -> Result<HeldLock, StoreError> {
    let file = File::open(dir).map_err(|e| StoreError::io(dir, e))?;
    file.lock().map_err(|e| StoreError::io(dir, e))?;
    Ok(HeldLock { _file: file })
}

/// Whether someone holds a lock on the directory `dir` now.
pub fn dir_is_locked(dir: &Path) -> Result<bool, StoreError> {
    let file = File::open(dir).map_err(|e| StoreError::io(dir, e))?;
    match file.try_lock() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(dir, e)),
    }
}

/// Hold a shared lock on `path` (created if missing, never removed): many holders at once.
pub fn hold_shared(path: &Path) -> Result<HeldLock, StoreError> {
    let file = open_lock_file(path)?;
    file.lock_shared().map_err(|e| StoreError::io(path, e))?;
    Ok(HeldLock { _file: file })
}

/// An exclusive lock on `path` if nobody holds any lock on it now; `None` when someone does.
pub fn try_exclusive(path: &Path) -> Result<Option<HeldLock>, StoreError> {
    let file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(HeldLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(path, e)),
    }
}

/// Create `path` holding `bytes`, unless it exists: `Ok(true)` when this call created it,
/// `Ok(false)` when somebody else had. The content is written and fsynced under a name of its
/// own and then linked into place (`link` refuses an existing name), so a concurrent reader
/// (another node sharing the directory, another task of this process) sees no file or a
/// whole one — never the empty file that `create_new` followed by a write shows in between.
/// `mode` is the new file's Unix permission bits.
pub fn create_file_whole(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<bool> {
    use std::io::Write;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", unique_suffix()));
    let tmp = path.with_file_name(name);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// A file-name suffix no other writer uses at the same time: `PID-NANOS-N`, unique across
/// nodes sharing a directory (process id and time) and across threads of this process (a
/// counter).
pub fn unique_suffix() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{nanos:x}-{n}", std::process::id())
}

/// Make a directory private to its owner (0700): the data directory holds the identified
/// zone and the catalog's password hashes, and nothing under it is reachable by another
/// account once the top cannot be traversed, whatever the modes below.
pub fn make_private_dir(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| StoreError::io(path, e))?;
    }
    Ok(())
}

/// Create `path` empty with mode 0600 if it does not exist, else set 0600 (the SQLite
/// catalog: SQLite gives its WAL and shared-memory files the database file's mode).
pub fn make_private_file(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| StoreError::io(path, e))?;
            }
            Err(e) => return Err(StoreError::io(path, e)),
        }
    }
    Ok(())
}
