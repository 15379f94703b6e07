//! The provider files synth wrote, cut into monthly deliveries the way providers send them:
//! each delivery directory holds, per provider directory, the files of the months after the
//! previous delivery up to its own month. Files are hard-linked (copied where linking fails).
//!
//! A file's month comes from where synth put it: `PROVIDER/YYYYMM/RECEIPTC.UKE` (receipts),
//! `PROVIDER/dpc/*_YYYYMM.txt` (DPC survey files), `PROVIDER/ssmix2/…/YYYYMMDD/…` (SS-MIX2
//! messages, by the date directory of the standard storage tree) and
//! `FACILITY/checkup/FACILITY_00000000_YYYYMMDD….zip` (checkup archives, by the end of the
//! fiscal year they hold).

use std::path::{Path, PathBuf};

/// The month (`YYYYMM`) of a provider file, from its path below the provider directory.
pub fn file_month(relative: &Path) -> Option<String> {
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let digits = |s: &str, n: usize| s.len() >= n && s.bytes().take(n).all(|b| b.is_ascii_digit());
    match parts.get(1).map(String::as_str) {
        Some("ssmix2") => parts
            .iter()
            .find(|p| p.len() == 8 && digits(p, 8))
            .map(|p| p[..6].to_string()),
        Some("dpc") => {
            let name = parts.last()?;
            let stem = name.strip_suffix(".txt")?;
            let ym = stem.rsplit('_').next()?;
            (ym.len() == 6 && digits(ym, 6)).then(|| ym.to_string())
        }
        Some("checkup") => {
            let name = parts.last()?;
            let date = name.split('_').nth(2)?;
            digits(date, 8).then(|| date[..6].to_string())
        }
        Some(m) if m.len() == 6 && digits(m, 6) => Some(m.to_string()),
        _ => None,
    }
}

/// One delivery made by [`split_into_deliveries`].
#[derive(Debug, Clone)]
pub struct DeliveryDir {
    /// The last month it holds (`YYYYMM`), also its directory name.
    pub month: String,
    pub dir: PathBuf,
    pub files: u64,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// Cuts the provider files under `root` (one directory per provider) into deliveries under
/// `out`, one per month in `ends` (ascending `YYYYMM`): delivery *k* holds the files of months
/// after `ends[k-1]` up to `ends[k]` (the first: everything up to `ends[0]`). Files after the
/// last month, and files whose month cannot be told, are left out.
pub fn split_into_deliveries(
    root: &Path,
    out: &Path,
    ends: &[String],
) -> std::io::Result<Vec<DeliveryDir>> {
    let mut sorted = ends.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut files = Vec::new();
    walk(root, &mut files)?;
    files.sort();
    let mut deliveries: Vec<DeliveryDir> = sorted
        .iter()
        .map(|m| DeliveryDir {
            month: m.clone(),
            dir: out.join(m),
            files: 0,
        })
        .collect();
    for f in files {
        let Ok(rel) = f.strip_prefix(root) else {
            continue;
        };
        let Some(month) = file_month(rel) else {
            continue;
        };
        let Some(d) = deliveries.iter_mut().find(|d| month <= d.month) else {
            continue;
        };
        let target = d.dir.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::hard_link(&f, &target).is_err() {
            std::fs::copy(&f, &target)?;
        }
        d.files += 1;
    }
    Ok(deliveries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_from_every_layout() {
        let m = |s: &str| file_month(Path::new(s));
        assert_eq!(
            m("0119000001/202003/RECEIPTC.UKE").as_deref(),
            Some("202003")
        );
        assert_eq!(
            m("1319000038/dpc/EFn_139000038_202105.txt").as_deref(),
            Some("202105")
        );
        assert_eq!(
            m("1219000034/ssmix2/747/338/7473387093/20210920/OML-11/x_1").as_deref(),
            Some("202109")
        );
        assert_eq!(
            m("1219000034/checkup/1219000034_00000000_2022033101001_1.zip").as_deref(),
            Some("202203")
        );
        assert_eq!(m("1219000034/notes.txt"), None);
    }

    #[test]
    fn splits_by_month_and_leaves_later_files_out() {
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        for p in [
            "P/202001/RECEIPTC.UKE",
            "P/202002/RECEIPTC.UKE",
            "P/202003/RECEIPTC.UKE",
        ] {
            let path = src.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, p).unwrap();
        }
        let d = split_into_deliveries(src.path(), out.path(), &["202002".into(), "202001".into()])
            .unwrap();
        assert_eq!(d.iter().map(|d| d.files).collect::<Vec<_>>(), vec![1, 1]);
        assert!(out.path().join("202002/P/202002/RECEIPTC.UKE").exists());
        assert!(!out.path().join("202002/P/202003").exists());
    }
}
