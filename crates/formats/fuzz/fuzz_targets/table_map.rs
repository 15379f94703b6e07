//! Arbitrary bytes → mapped CSV/Parquet (ingest's `table_map`). Input: an optional mapping
//! file, a NUL byte, then the table file (without a NUL: the whole input is the file, mapped
//! with a fixed lab-results mapping). A file starting with `PAR1` is read as Parquet. Never
//! panics; an unusable mapping is an error; the outcome's invariants hold.
#![no_main]

#[path = "common/ingest_harness.rs"]
mod harness;

use libfuzzer_sys::fuzz_target;
use medinfra_ingest::fuzzing::UnitKind;
use medinfra_ingest::{IngestOptions, TableMapping};

const LAB_MAPPING: &str = r#"
table = "lab_results"
identifiers = ["patient_id"]
[columns]
"患者ID" = "patient_id"
"項目コード" = "jlac10"
"項目名" = "analyte"
"値" = "value"
"単位" = "unit"
"検査日" = "result_date"
"#;

fuzz_target!(|data: &[u8]| {
    let (mapping, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (
            String::from_utf8_lossy(&data[..i]).into_owned(),
            &data[i + 1..],
        ),
        None => (LAB_MAPPING.to_string(), data),
    };
    let Ok(mapping) = TableMapping::from_toml(&mapping) else {
        return;
    };
    let mut opts = IngestOptions::new(harness::PROVIDER);
    opts.mapping = Some(mapping);
    let (kind, name) = if body.starts_with(b"PAR1") {
        (UnitKind::MappedParquet, "unit.parquet")
    } else {
        (UnitKind::MappedCsv, "unit.csv")
    };
    harness::run(kind, name, body, &opts);
});
