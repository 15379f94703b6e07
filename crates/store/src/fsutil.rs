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
