//! `medinfra masters FILE...`: load SSK code masters and report what they hold.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use medinfra_model::masters::{MasterKind, MasterReader};

pub fn run(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    if files.is_empty() {
        bail!("name at least one master file");
    }
    for f in files {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut with_icd = 0;
        for entry in MasterReader::open(f)? {
            let entry = entry?;
            if entry.kind == MasterKind::Disease && entry.icd10.is_some() {
                with_icd += 1;
            }
            *counts.entry(format!("{:?}", entry.kind)).or_default() += 1;
        }
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let icd = if with_icd > 0 {
            format!(", {with_icd} with ICD-10")
        } else {
            String::new()
        };
        println!("{}: {}{icd}", f.display(), parts.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
