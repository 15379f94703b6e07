//! The DPC survey files the generator writes read back cleanly through the format crate's
//! readers, match the run summary, and tie every 様式1 stay to its EF rows.

use std::collections::BTreeSet;
use std::io::BufReader;

use arrow::record_batch::RecordBatch;
use medinfra_formats::Severity;
use medinfra_formats::ef::EfReader;
use medinfra_formats::ff1::Ff1Reader;
use medinfra_model::CanonicalTable;
use medinfra_synth::{PartSink, SynthConfig, TableSink, generate};

/// Discards the tables: this test is about the provider files.
struct NullSink;
struct NullPart;

impl PartSink for NullPart {
    fn write(&mut self, _: &RecordBatch) -> Result<(), String> {
        Ok(())
    }
}

impl TableSink for NullSink {
    type Part = NullPart;
    fn open(&self, _: CanonicalTable, _: usize) -> Result<NullPart, String> {
        Ok(NullPart)
    }
    fn close(&self, _: CanonicalTable, _: NullPart) -> Result<(), String> {
        Ok(())
    }
}

#[test]
fn dpc_files_read_back_and_match_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig {
        persons: 2_000,
        years: 1,
        provider_files: Some(dir.path().to_path_buf()),
        ..SynthConfig::default()
    };
    let summary = generate(&config, &NullSink, &|_| {}).unwrap();
    eprintln!(
        "DPC: {} stays, {} EF rows, {} FF1 rows, {} files",
        summary.provider_dpc_stays,
        summary.provider_dpc_ef_rows,
        summary.provider_dpc_ff1_rows,
        summary.provider_dpc_files
    );
    assert!(summary.provider_dpc_stays > 0, "no DPC stays generated");
    assert_eq!(
        summary.provider_dpc_stays, summary.rows["admissions"],
        "one 様式1 stay per admission"
    );

    let (mut files, mut ef_rows, mut ff1_rows) = (0u64, 0u64, 0u64);
    let mut ef_stays: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut ff1_stays: BTreeSet<(String, String, String)> = BTreeSet::new();
    for provider in std::fs::read_dir(dir.path()).unwrap() {
        let dpc = provider.unwrap().path().join("dpc");
        if !dpc.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dpc).unwrap() {
            let path = f.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let parts: Vec<&str> = name.trim_end_matches(".txt").split('_').collect();
            assert_eq!(parts.len(), 3, "unmerged or stray file {name}");
            let (facility, ym) = (parts[1].to_string(), parts[2]);
            files += 1;
            let input = BufReader::new(std::fs::File::open(&path).unwrap());
            match parts[0] {
                "EFn" => {
                    let mut reader = EfReader::new(input, name.clone());
                    for row in reader.by_ref() {
                        ef_rows += 1;
                        assert_eq!(row.columns.len(), 32);
                        assert_eq!(row.columns[0], facility);
                        assert!(row.columns[24].starts_with(ym), "実施年月日 outside {ym}");
                        ef_stays.insert((
                            row.columns[0].clone(),
                            row.columns[1].clone(),
                            row.columns[3].clone(),
                        ));
                    }
                    let bad: Vec<_> = reader
                        .finish()
                        .into_iter()
                        .filter(|f| f.severity > Severity::Warning)
                        .collect();
                    assert!(bad.is_empty(), "{name}: {bad:?}");
                }
                "FF1" => {
                    let mut reader = Ff1Reader::new(input, name.clone());
                    for row in reader.by_ref() {
                        ff1_rows += 1;
                        assert_eq!(row.facility_code, facility);
                        if row.code == "A000010" {
                            let key = (
                                row.facility_code.clone(),
                                row.patient_id.clone(),
                                row.admission_date.clone(),
                            );
                            assert!(ff1_stays.insert(key), "stay written twice");
                        }
                        if row.code == "A006010" {
                            assert!(!row.payload_named("ICD-10").unwrap().is_empty());
                        }
                    }
                    let bad: Vec<_> = reader
                        .finish()
                        .into_iter()
                        .filter(|f| f.severity > Severity::Warning)
                        .collect();
                    assert!(bad.is_empty(), "{name}: {bad:?}");
                }
                other => panic!("unexpected DPC file kind {other}"),
            }
        }
    }
    assert_eq!(files, summary.provider_dpc_files);
    assert_eq!(ef_rows, summary.provider_dpc_ef_rows);
    assert_eq!(ff1_rows, summary.provider_dpc_ff1_rows);
    assert_eq!(ff1_stays.len() as u64, summary.provider_dpc_stays);
    // データ識別番号 ties the files together: every 様式1 stay has EF rows and vice versa.
    let missing: Vec<_> = ff1_stays.difference(&ef_stays).collect();
    assert!(
        missing.is_empty(),
        "{} stays without EF rows",
        missing.len()
    );
    assert_eq!(ef_stays, ff1_stays);
}
