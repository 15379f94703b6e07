//! `medinfra extract --kind sampling|trial --from DATASET --output NAME`: the NDB's releasable
//! extracts (`formats/japan.md` §8.3) as anonymized-tier dataset versions with their report.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::bail;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use medinfra_extract::{
    BatchIter, ExtractConfig, ExtractError, ExtractKind, TableSink, TableSource,
};
use medinfra_model::{CanonicalTable, Tier};
use medinfra_store::{Lineage, PartWriter, Store, VersionInfo, VersionWriter};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::cli::ExtractArgs;

/// Streams a committed version's tables from their Parquet files (a fresh scan per call).
pub(crate) struct StoreSource<'a> {
    pub(crate) store: &'a Store,
    pub(crate) info: &'a VersionInfo,
}

impl TableSource for StoreSource<'_> {
    fn scan(&self, table: CanonicalTable) -> Result<Option<BatchIter<'_>>, ExtractError> {
        let files = self
            .store
            .table_files(self.info, table.name())
            .map_err(|e| ExtractError::Read {
                table: table.name(),
                batch: 0,
                source: ArrowError::ExternalError(Box::new(e)),
            })?;
        if files.is_empty() {
            return Ok(None);
        }
        let iter = files.into_iter().flat_map(move |path| {
            let opened = std::fs::File::open(&path)
                .map_err(|e| ArrowError::ExternalError(Box::new(e)))
                .and_then(|f| {
                    ParquetRecordBatchReaderBuilder::try_new(f)
                        .and_then(|b| b.with_batch_size(64 * 1024).build())
                        .map_err(|e| ArrowError::ExternalError(Box::new(e)))
                });
            let batches: Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>>> = match opened {
                Ok(reader) => Box::new(reader),
                Err(e) => Box::new(std::iter::once(Err(e))),
            };
            batches
        });
        Ok(Some(Box::new(iter)))
    }
}

/// Writes released batches into part files of the new version.
struct StoreSink<'a> {
    writer: &'a VersionWriter,
    parts: BTreeMap<CanonicalTable, PartWriter>,
}

impl TableSink for StoreSink<'_> {
    fn write(&mut self, table: CanonicalTable, batch: RecordBatch) -> Result<(), ExtractError> {
        let fail = |e: medinfra_store::StoreError| ExtractError::Sink {
            table: table.name(),
            reason: e.to_string(),
        };
        if !self.parts.contains_key(&table) {
            let pw = self
                .writer
                .part_writer(table.name(), 0, batch.schema())
                .map_err(fail)?;
            self.parts.insert(table, pw);
        }
        if let Some(pw) = self.parts.get_mut(&table) {
            pw.write(&batch).map_err(fail)?;
        }
        Ok(())
    }
}

pub async fn run(store: &Store, args: &ExtractArgs) -> anyhow::Result<ExitCode> {
    let info = store.version(&args.from, None).await?;
    let (version, report_path) = build(store, &args.kind, &info, &args.output, args.seed).await?;
    println!(
        "extract {} from {} v{} -> {} v{} (anonymized)",
        args.kind, info.dataset, info.version, version.dataset, version.version
    );
    for t in &version.tables {
        println!("  {:<18} {:>10} rows", t.name, t.rows);
    }
    println!("  -> report {}", report_path.display());
    Ok(ExitCode::SUCCESS)
}

/// Builds the `kind` extract (`sampling` or `trial`) of `info` into a new anonymized version
/// of `output` whose lineage names `info`, with its report under DATA_DIR/reports/; audited.
pub async fn build(
    store: &Store,
    kind_name: &str,
    info: &VersionInfo,
    output: &str,
    seed: u64,
) -> anyhow::Result<(VersionInfo, std::path::PathBuf)> {
    let kind = match kind_name {
        "sampling" => ExtractKind::Sampling,
        "trial" => ExtractKind::Trial,
        other => bail!("--kind {other}: expected sampling or trial"),
    };
    if !matches!(
        info.tier,
        Tier::Identified | Tier::Pseudonymized | Tier::Sample
    ) {
        bail!(
            "{} is {}: extracts start from claims-level data (identified, pseudonymized or sample)",
            info.dataset,
            info.tier
        );
    }
    super::audit::check(
        store,
        medinfra_govern::Action::Read,
        info.tier,
        &format!("dataset {} v{}", info.dataset, info.version),
    )
    .await?;
    super::audit::check(
        store,
        medinfra_govern::Action::Write,
        Tier::Anonymized,
        &format!("dataset {output}"),
    )
    .await?;
    let config = ExtractConfig::new(kind, seed, info.tier);
    let lineage = Lineage {
        step: format!("extract-{kind_name}"),
        parameters: serde_json::json!({ "kind": kind_name, "seed": seed, "quarter_months": config.quarter_months }),
        inputs: vec![Store::input_ref(info)],
    };
    let writer = store.begin(output, Tier::Anonymized, lineage)?;
    let source = StoreSource { store, info };
    let mut sink = StoreSink {
        writer: &writer,
        parts: BTreeMap::new(),
    };
    let report = medinfra_extract::extract(&source, &config, &mut sink)?;
    for (_, pw) in std::mem::take(&mut sink.parts) {
        writer.finish_part(pw)?;
    }
    let version = writer.commit().await?;
    let dir = store
        .root()
        .join("reports")
        .join(format!("extract-{}-v{}", version.dataset, version.version));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("report.json"), report.to_json()?)?;
    Ok((version, dir.join("report.json")))
}
