//! Where ingest time goes on electronic receipt files (issue 3 benchmark; profiling aid, not a
//! test): generates the receipts of PERSONS persons (one year), then times, over the files of
//! the first care month, (1) the format reader alone (decode, validate, group receipts) and
//! (2) the full ingest (reader + canonical mapping + Parquet + manifests + catalog), one
//! provider at a time with `ingest`, and (3) the same as a bulk delivery with `ingest_many`
//! (what `medinfra ingest --provider auto` runs): on one thread and on all cores.
//!
//! `cargo run --release -p medinfra-ingest --example uke_throughput -- [PERSONS] [MONTH] [DIR]`

use std::io::BufReader;
use std::path::PathBuf;
use std::time::Instant;

use arrow::record_batch::RecordBatch;
use medinfra_formats::uke::ReceiptReader;
use medinfra_ingest::{IngestOptions, ingest, ingest_many};
use medinfra_model::CanonicalTable;
use medinfra_store::Store;
use medinfra_synth::{PartSink, SynthConfig, TableSink, generate};

// The same allocator as the medinfra binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Discard;
impl PartSink for Discard {
    fn write(&mut self, _: &RecordBatch) -> Result<(), String> {
        Ok(())
    }
}
struct DiscardSink;
impl TableSink for DiscardSink {
    type Part = Discard;
    fn open(&self, _: CanonicalTable, _: usize) -> Result<Discard, String> {
        Ok(Discard)
    }
    fn close(&self, _: CanonicalTable, _: Discard) -> Result<(), String> {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let persons: u64 = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let month = args.get(2).cloned().unwrap_or_else(|| "202001".into());
    // An existing folder of generated files (third argument) is reused, so a profiler can
    // record the ingest alone.
    let tmp = tempfile::tempdir()?;
    let root = args
        .get(3)
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let data = tempfile::tempdir()?;
    if std::fs::read_dir(&root)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
    {
        let config = SynthConfig {
            persons,
            years: 1,
            provider_files: Some(root.clone()),
            receipts_only: true,
            ..SynthConfig::default()
        };
        generate(&config, &DiscardSink, &|_| {}).map_err(|e| e.to_string())?;
    }
    let mut month_files: Vec<(String, PathBuf)> = Vec::new();
    for p in std::fs::read_dir(&root)? {
        let p = p?.path();
        let f = p.join(&month).join("RECEIPTC.UKE");
        if f.is_file() {
            let id = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            month_files.push((id, f));
        }
    }
    month_files.sort();
    let bytes: u64 = month_files
        .iter()
        .map(|(_, f)| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();

    // (1) Reader only.
    let t = Instant::now();
    let mut lines = 0u64;
    for (_, f) in &month_files {
        let mut r = ReceiptReader::from_reader(
            BufReader::with_capacity(1 << 20, std::fs::File::open(f)?),
            "f",
        );
        for _ in r.by_ref() {}
        lines += r.finish().lines;
    }
    let read = t.elapsed().as_secs_f64();
    println!(
        "month {month}: {} files, {lines} records, {bytes} bytes",
        month_files.len()
    );
    println!(
        "reader only:  {read:.2} s, {:.0} records/s",
        lines as f64 / read
    );

    // (2) Full ingest, one provider after the other.
    let rt = tokio::runtime::Runtime::new()?;
    let t = Instant::now();
    rt.block_on(async {
        let store = Store::open(data.path()).await?;
        for (id, f) in &month_files {
            ingest(
                &store,
                &IngestOptions::new(id),
                std::slice::from_ref(f),
                &|_, _| {},
            )
            .await?;
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    let full = t.elapsed().as_secs_f64();
    println!(
        "full ingest, one provider at a time:  {full:.2} s, {:.0} records/s",
        lines as f64 / full
    );

    // (3) Bulk: batched commits, one thread, then all cores (fresh stores).
    for threads in [1, 0] {
        let data = tempfile::tempdir()?;
        let groups: Vec<(String, Vec<PathBuf>)> = month_files
            .iter()
            .map(|(id, f)| (id.clone(), vec![f.clone()]))
            .collect();
        let t = Instant::now();
        rt.block_on(async {
            let store = Store::open(data.path()).await?;
            ingest_many(
                &store,
                &IngestOptions::new("0000000000"),
                groups,
                threads,
                &|_, _| {},
            )
            .await?;
            Ok::<(), Box<dyn std::error::Error>>(())
        })?;
        let bulk = t.elapsed().as_secs_f64();
        println!(
            "bulk ingest ({}):  {bulk:.2} s, {:.0} records/s",
            if threads == 1 {
                "1 thread"
            } else {
                "all cores"
            },
            lines as f64 / bulk
        );
    }
    Ok(())
}
