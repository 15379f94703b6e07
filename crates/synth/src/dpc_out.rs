//! Provider files: the DPC survey files of every DPC stay (japan.md §3 and §10.2), written
//! through the format crate's writers: per DPC hospital and month an EF integrated file
//! (`EFn_<facility9>_<YYYYMM>.txt`, one row per action detail and day) and a 様式1 file
//! (`FF1_<facility9>_<YYYYMM>.txt`, key/value rows per stay, in the month the stay ends).
//! Both live under `PROVIDER/dpc/`, CP932 with CRLF, and share データ識別番号 (the hospital's
//! chart number of the patient).
//!
//! Chunks run in parallel, so each chunk writes its own volumes (`…_<chunk>.txt`);
//! [`merge_volumes`] then concatenates them (rows carry no numbering, so joining is plain
//! concatenation) into one file per hospital and month. Memory: rows are buffered per chunk
//! and appended to the volumes whenever [`FLUSH_ROWS`] are pending.

use std::collections::{BTreeMap, HashSet};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use medinfra_formats::ef::{EfRow, TextEncoding, write_ef};
use medinfra_formats::ff1::{Ff1Row, write_ff1};

use crate::SynthError;

/// Folder under the hospital's directory that holds its DPC survey files.
pub const DPC_DIR: &str = "dpc";

/// Rows buffered per chunk before they are appended to the volumes.
pub const FLUSH_ROWS: usize = 100_000;

const LINE_END: &str = "\r\n";

/// Which of the two DPC files a row goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Ef,
    Ff1,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Ef => "EFn",
            Kind::Ff1 => "FF1",
        }
    }
}

/// Key of one volume: (provider id, 施設コード, YYYYMM).
type FileKey = (String, String, String);

/// The DPC survey volumes of one chunk.
pub struct DpcOut {
    root: PathBuf,
    chunk: usize,
    ef: BTreeMap<FileKey, Vec<EfRow>>,
    ff1: BTreeMap<FileKey, Vec<Ff1Row>>,
    created: HashSet<PathBuf>,
    buffered: usize,
    pub ef_rows: u64,
    pub ff1_rows: u64,
    pub stays: u64,
}

fn sink_err(path: &Path, reason: impl std::fmt::Display) -> SynthError {
    SynthError::Sink {
        table: "DPC survey files",
        reason: format!("{}: {reason}", path.display()),
    }
}

/// The 9-digit 施設コード of a 10-character provider id (prefecture + 点数表 + facility):
/// prefecture and facility, without the 点数表 digit.
pub fn facility_code(provider_id: &str) -> String {
    let pref = provider_id.get(..2).unwrap_or_default();
    let facility = provider_id.get(3..).unwrap_or_default();
    format!("{pref}{facility}")
}

impl DpcOut {
    pub fn new(root: &Path, chunk: usize) -> Self {
        DpcOut {
            root: root.to_path_buf(),
            chunk,
            ef: BTreeMap::new(),
            ff1: BTreeMap::new(),
            created: HashSet::new(),
            buffered: 0,
            ef_rows: 0,
            ff1_rows: 0,
            stays: 0,
        }
    }

    /// Queue the EF rows of one stay-month into the hospital's file of `ym`.
    pub fn add_ef(
        &mut self,
        provider_id: &str,
        ym: &str,
        rows: Vec<EfRow>,
    ) -> Result<(), SynthError> {
        let key = (
            provider_id.to_string(),
            facility_code(provider_id),
            ym.to_string(),
        );
        self.ef_rows += rows.len() as u64;
        self.buffered += rows.len();
        self.ef.entry(key).or_default().extend(rows);
        self.maybe_flush()
    }

    /// Queue the 様式1 rows of one stay into the hospital's file of `ym` (the stay's last month).
    pub fn add_stay(
        &mut self,
        provider_id: &str,
        ym: &str,
        rows: Vec<Ff1Row>,
    ) -> Result<(), SynthError> {
        let key = (
            provider_id.to_string(),
            facility_code(provider_id),
            ym.to_string(),
        );
        self.stays += 1;
        self.ff1_rows += rows.len() as u64;
        self.buffered += rows.len();
        self.ff1.entry(key).or_default().extend(rows);
        self.maybe_flush()
    }

    fn maybe_flush(&mut self) -> Result<(), SynthError> {
        if self.buffered >= FLUSH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn volume(&mut self, kind: Kind, key: &FileKey) -> Result<std::fs::File, SynthError> {
        let (provider, facility, ym) = key;
        let dir = self.root.join(provider).join(DPC_DIR);
        let path = dir.join(format!(
            "{}_{facility}_{ym}_{:02}.txt",
            kind.prefix(),
            self.chunk + 1
        ));
        // The first flush truncates whatever an earlier run left; later flushes append.
        let first = self.created.insert(path.clone());
        if first {
            std::fs::create_dir_all(&dir).map_err(|e| sink_err(&dir, e))?;
        }
        OpenOptions::new()
            .create(true)
            .write(true)
            .append(!first)
            .truncate(first)
            .open(&path)
            .map_err(|e| sink_err(&path, e))
    }

    fn flush(&mut self) -> Result<(), SynthError> {
        for (key, rows) in std::mem::take(&mut self.ef) {
            let file = self.volume(Kind::Ef, &key)?;
            write_ef(
                std::io::BufWriter::new(file),
                None,
                &rows,
                TextEncoding::Cp932,
                LINE_END,
            )
            .map_err(|e| sink_err(Path::new(&key.0), e))?;
        }
        for (key, rows) in std::mem::take(&mut self.ff1) {
            let file = self.volume(Kind::Ff1, &key)?;
            write_ff1(
                std::io::BufWriter::new(file),
                None,
                &rows,
                TextEncoding::Cp932,
                LINE_END,
            )
            .map_err(|e| sink_err(Path::new(&key.0), e))?;
        }
        self.buffered = 0;
        Ok(())
    }

    /// Write what is pending. Returns (EF rows, 様式1 rows, stays) of this chunk.
    pub fn finish(mut self) -> Result<(u64, u64, u64), SynthError> {
        self.flush()?;
        Ok((self.ef_rows, self.ff1_rows, self.stays))
    }
}

/// The merged file name of a volume name (`EFn_<f>_<ym>_<NN>.txt` → `EFn_<f>_<ym>.txt`).
fn merged_name(volume: &str) -> Option<String> {
    let stem = volume.strip_suffix(".txt")?;
    let parts: Vec<&str> = stem.split('_').collect();
    match parts.as_slice() {
        [prefix @ ("EFn" | "FF1"), facility, ym, chunk]
            if chunk.len() == 2 && chunk.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(format!("{prefix}_{facility}_{ym}.txt"))
        }
        _ => None,
    }
}

/// Join every hospital's per-chunk volumes under `root/*/dpc/` into one EF and one 様式1 file
/// per hospital and month, in chunk order. Returns the number of files.
pub fn merge_volumes(root: &Path) -> Result<u64, SynthError> {
    use rayon::prelude::*;
    let mut dirs = Vec::new();
    for p in std::fs::read_dir(root).map_err(|e| sink_err(root, e))? {
        let dir = p.map_err(|e| sink_err(root, e))?.path().join(DPC_DIR);
        if dir.is_dir() {
            dirs.push(dir);
        }
    }
    dirs.sort();
    let counts = dirs
        .par_iter()
        .map(|d| merge_dir(d))
        .collect::<Result<Vec<u64>, _>>()?;
    Ok(counts.iter().sum())
}

fn merge_dir(dir: &Path) -> Result<u64, SynthError> {
    let mut groups: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for e in std::fs::read_dir(dir).map_err(|e| sink_err(dir, e))? {
        let path = e.map_err(|e| sink_err(dir, e))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(target) = name.as_deref().and_then(merged_name) {
            groups.entry(target).or_default().push(path);
        }
    }
    for (target, mut volumes) in groups.iter_mut().map(|(t, v)| (dir.join(t), v.clone())) {
        volumes.sort();
        let mut out = std::fs::File::create(&target).map_err(|e| sink_err(&target, e))?;
        for v in &volumes {
            let mut f = std::fs::File::open(v).map_err(|e| sink_err(v, e))?;
            std::io::copy(&mut f, &mut out).map_err(|e| sink_err(&target, e))?;
        }
        for v in &volumes {
            std::fs::remove_file(v).map_err(|e| sink_err(v, e))?;
        }
    }
    Ok(groups.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_names_merge_to_the_monthly_file() {
        assert_eq!(
            merged_name("EFn_131234567_202001_03.txt").as_deref(),
            Some("EFn_131234567_202001.txt")
        );
        assert_eq!(merged_name("EFn_131234567_202001.txt"), None);
        assert_eq!(merged_name("RECEIPTC_01.UKE"), None);
        assert_eq!(facility_code("1311234567"), "131234567");
    }
}
