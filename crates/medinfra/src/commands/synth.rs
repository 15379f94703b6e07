//! `medinfra synth`: generate the sample population into two dataset versions (the canonical
//! tables, and the ground truth kept apart).

use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, bail};
use medinfra_model::{CanonicalTable, Tier};
use medinfra_store::{Lineage, PartWriter, Store, VersionInfo, VersionWriter};
use medinfra_synth::{PartSink, SynthConfig, SynthSummary, TableSink};

use crate::cli::SynthArgs;
use crate::progress::Progress;

struct StoreSink {
    main: VersionWriter,
    truth: VersionWriter,
    errors: Mutex<Vec<String>>,
}

struct StorePart(PartWriter);

impl PartSink for StorePart {
    fn write(&mut self, batch: &arrow::record_batch::RecordBatch) -> Result<(), String> {
        self.0.write(batch).map_err(|e| e.to_string())
    }
}

impl StoreSink {
    fn writer(&self, table: CanonicalTable) -> &VersionWriter {
        if matches!(table, CanonicalTable::Truth | CanonicalTable::Population) {
            &self.truth
        } else {
            &self.main
        }
    }
}

impl TableSink for StoreSink {
    type Part = StorePart;

    fn open(&self, table: CanonicalTable, part: usize) -> Result<StorePart, String> {
        self.writer(table)
            .part_writer(table.name(), part, table.schema())
            .map(StorePart)
            .map_err(|e| e.to_string())
    }

    fn close(&self, table: CanonicalTable, part: StorePart) -> Result<(), String> {
        self.writer(table)
            .finish_part(part.0)
            .map(|_| ())
            .map_err(|e| {
                let msg = e.to_string();
                if let Ok(mut errs) = self.errors.lock() {
                    errs.push(msg.clone());
                }
                msg
            })
    }
}

/// Where `synth --format provider` writes the providers' files for dataset `output`.
pub fn provider_files_dir(store: &Store, output: &str) -> std::path::PathBuf {
    store.root().join("provider-files").join(output)
}

pub struct SynthOutcome {
    pub summary: SynthSummary,
    pub main: VersionInfo,
    pub truth: VersionInfo,
    /// The providers' register (`--format provider`), for `medinfra providers import`.
    pub provider_register: Option<std::path::PathBuf>,
    pub seconds: f64,
}

pub async fn generate(store: &Store, args: &SynthArgs) -> anyhow::Result<SynthOutcome> {
    let provider_files = match args.format.as_str() {
        "parquet" => None,
        "provider" => {
            let root = provider_files_dir(store, &args.output);
            if root.exists() {
                std::fs::remove_dir_all(&root)
                    .with_context(|| format!("clearing {}", root.display()))?;
            }
            Some(root)
        }
        other => bail!(
            "--format {other}: expected parquet (canonical tables) or provider (also the providers' files)"
        ),
    };
    let tier: Tier = args.tier.parse()?;
    if !matches!(tier, Tier::Identified | Tier::Sample) {
        bail!("--tier must be identified or sample, not {tier}");
    }
    let config = SynthConfig {
        persons: args.persons,
        years: args.years,
        start_year: args.start_year,
        seed: args.seed,
        provider_files,
        receipts_only: args.receipts_only,
        noise: match &args.noise {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("{}: invalid noise rates", path.display()))?
            }
            None => medinfra_synth::NoiseRates::default(),
        },
    };
    config.validate()?;
    let lineage = Lineage {
        step: "synth".into(),
        parameters: serde_json::to_value(&config)?,
        inputs: vec![],
    };
    super::audit::check(
        store,
        medinfra_govern::Action::Write,
        tier,
        &format!("dataset {}", args.output),
    )
    .await?;
    let truth_name = format!("{}-truth", args.output);
    let sink = StoreSink {
        main: store.begin(&args.output, tier, lineage.clone())?,
        truth: store.begin(&truth_name, Tier::Identified, lineage)?,
        errors: Mutex::new(Vec::new()),
    };
    let started = Instant::now();
    let (summary, sink) = tokio::task::spawn_blocking(move || {
        let progress = Progress::new("synth", config.persons, "persons");
        let result = medinfra_synth::generate(&config, &sink, &|done| progress.set(done));
        progress.finish();
        (result, sink)
    })
    .await
    .context("generator thread")?;
    let summary = summary?;
    let StoreSink { main, truth, .. } = sink;
    let main = main.commit().await?;
    let truth = truth.commit().await?;
    let provider_register = match args.format.as_str() {
        "provider" => Some(write_provider_register(
            store,
            &args.output,
            args.start_year,
        )?),
        _ => None,
    };
    Ok(SynthOutcome {
        summary,
        main,
        truth,
        provider_register,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Where synth lists the providers it wrote files for (the register a producer keeps, for
/// `medinfra providers import`): beside their directory, so a delivery cut from it does not
/// hold it.
pub fn provider_register_path(store: &Store, output: &str) -> std::path::PathBuf {
    store
        .root()
        .join("provider-files")
        .join(format!("{output}.providers.csv"))
}

/// Writes `provider_id,name,notified_on` for every provider directory synth wrote; every
/// synthetic provider notified its patients on January 1st of the first year.
fn write_provider_register(
    store: &Store,
    output: &str,
    start_year: i32,
) -> anyhow::Result<std::path::PathBuf> {
    let root = provider_files_dir(store, output);
    let mut ids: Vec<String> = std::fs::read_dir(&root)
        .with_context(|| format!("listing {}", root.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    ids.sort();
    let path = provider_register_path(store, output);
    let mut text = String::from("provider_id,name,notified_on\n");
    for id in &ids {
        text.push_str(&format!(
            "{id},synthetic provider {id},{start_year:04}-01-01\n"
        ));
    }
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

pub async fn run(store: &Store, args: SynthArgs) -> anyhow::Result<SynthOutcome> {
    if !args.deliveries.is_empty() && args.format != "provider" {
        bail!("--deliveries needs --format provider");
    }
    if let Some(bad) = args
        .deliveries
        .iter()
        .find(|m| m.len() != 6 || !m.bytes().all(|b| b.is_ascii_digit()))
    {
        bail!("--deliveries: {bad:?} is not a month YYYYMM");
    }
    let outcome = generate(store, &args).await?;
    let deliveries = if args.deliveries.is_empty() {
        vec![]
    } else {
        cut_deliveries(store, &args.output, &args.deliveries)?
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "summary": outcome.summary,
                "dataset": outcome.main,
                "truth": outcome.truth,
                "provider_register": outcome.provider_register,
                "seconds": outcome.seconds,
                "deliveries": deliveries
                    .iter()
                    .map(|d| serde_json::json!({"month": d.month, "dir": d.dir, "files": d.files}))
                    .collect::<Vec<_>>(),
            }))?
        );
    } else {
        print_outcome(store, &outcome);
        print_deliveries(&deliveries);
    }
    Ok(outcome)
}

pub fn print_deliveries(deliveries: &[medinfra_synth::deliveries::DeliveryDir]) {
    for d in deliveries {
        println!(
            "  -> delivery {}: {} files in {}",
            d.month,
            d.files,
            d.dir.display()
        );
    }
}

/// The provider files of `output` cut into monthly deliveries (see
/// `medinfra_synth::deliveries`) under DATA_DIR/provider-files/OUTPUT-deliveries/.
pub fn cut_deliveries(
    store: &Store,
    output: &str,
    months: &[String],
) -> anyhow::Result<Vec<medinfra_synth::deliveries::DeliveryDir>> {
    let root = provider_files_dir(store, output);
    let out = provider_files_dir(store, &format!("{output}-deliveries"));
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    medinfra_synth::deliveries::split_into_deliveries(&root, &out, months)
        .with_context(|| format!("cutting deliveries from {}", root.display()))
}

pub fn print_outcome(store: &Store, o: &SynthOutcome) {
    let rows: u64 = o.summary.rows.values().sum();
    println!(
        "synth: {} persons, {} providers, {} rows in {:.1}s ({:.0} persons/s, {:.0} rows/s)",
        o.summary.persons,
        o.summary.providers,
        rows,
        o.seconds,
        o.summary.persons as f64 / o.seconds,
        rows as f64 / o.seconds
    );
    for (table, n) in &o.summary.rows {
        println!("  {table:<18} {n:>12}");
    }
    println!(
        "  -> dataset {} v{} ({}) at {}",
        o.main.dataset,
        o.main.version,
        o.main.tier,
        o.main
            .dir
            .strip_prefix(store.root())
            .unwrap_or(&o.main.dir)
            .display()
    );
    println!(
        "  -> ground truth {} v{} ({}), never released",
        o.truth.dataset, o.truth.version, o.truth.tier
    );
    if o.summary.provider_files > 0 {
        println!(
            "  -> {} electronic receipt files ({} receipts, {} records) under {}",
            o.summary.provider_files,
            o.summary.provider_receipts,
            o.summary.provider_records,
            provider_files_dir(store, &o.main.dataset).display()
        );
    }
    if let Some(register) = &o.provider_register {
        println!(
            "  -> the providers' register (for `medinfra providers import`): {}",
            register.display()
        );
    }
    if o.summary.provider_dpc_files > 0 {
        println!(
            "  -> {} DPC survey files ({} EF rows, {} 様式1 rows for {} stays), {} SS-MIX2 lab messages, {} checkups in {} archives",
            o.summary.provider_dpc_files,
            o.summary.provider_dpc_ef_rows,
            o.summary.provider_dpc_ff1_rows,
            o.summary.provider_dpc_stays,
            o.summary.provider_lab_messages,
            o.summary.provider_checkups,
            o.summary.provider_checkup_archives
        );
    }
}
