//! Runs the benchmark queries (`bench_queries.sql`) on a sample dataset version, through the
//! medinfra workspace (views with per-project pseudonyms, limits, audit) and, for comparison,
//! through a bare DataFusion session over the same Parquet files (no re-keying). Prints one
//! JSON line per engine and query: median seconds, all runs, rows and a checksum of the last
//! column (for comparing answers with DuckDB in bench/py/analysis_duckdb.py).
//!
//!   cargo run --release --example analysis_bench -- --data DIR --dataset NAME [--runs 3]
//!       [--queries FILE] [--engines medinfra,medinfra-onscan,datafusion,copy] [--explain]
//!
//! `medinfra` reads the project's re-keyed copy (built on the first run, reported on stderr);
//! `medinfra-onscan` re-keys in every query instead; `copy` is bare DataFusion over the
//! re-keyed copy's files (the workspace's data without the workspace).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use medinfra_analysis::{DatasetGrant, Limits, RekeyMode, Workspace, WorkspaceSpec};
use medinfra_govern::{Actor, Role};
use medinfra_model::Tier;
use medinfra_pseudo::keys::{Key, KeyMaterial};
use medinfra_store::Store;

type Error = Box<dyn std::error::Error>;

struct Args {
    data: PathBuf,
    dataset: String,
    runs: usize,
    queries: PathBuf,
    engines: Vec<String>,
    /// Run only queries whose name starts with one of these.
    only: Vec<String>,
    /// The workspace's memory pool (default: `Limits::default()`'s).
    memory_mb: Option<usize>,
    /// Print bare DataFusion's EXPLAIN ANALYZE of each query to stderr.
    explain: bool,
    /// DataFusion settings for the bare sessions (`--set key=value,...`), to try options.
    settings: Vec<(String, String)>,
    /// The workspace's `Limits::target_partitions` (default: its default).
    partitions: Option<usize>,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        data: PathBuf::new(),
        dataset: String::new(),
        runs: 3,
        queries: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/bench_queries.sql"),
        engines: vec!["medinfra".into(), "datafusion".into()],
        only: Vec::new(),
        memory_mb: None,
        explain: false,
        settings: Vec::new(),
        partitions: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--explain" {
            args.explain = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data" => args.data = value.into(),
            "--dataset" => args.dataset = value,
            "--runs" => args.runs = value.parse()?,
            "--queries" => args.queries = value.into(),
            "--engines" => args.engines = value.split(',').map(str::to_string).collect(),
            "--only" => args.only = value.split(',').map(str::to_string).collect(),
            "--memory-mb" => args.memory_mb = Some(value.parse()?),
            "--partitions" => args.partitions = Some(value.parse()?),
            "--set" => {
                for kv in value.split(',') {
                    let (k, v) = kv.split_once('=').ok_or("--set takes key=value,...")?;
                    args.settings.push((k.to_string(), v.to_string()));
                }
            }
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if args.dataset.is_empty() || args.data.as_os_str().is_empty() {
        return Err("usage: analysis_bench --data DIR --dataset NAME [--runs N]".into());
    }
    Ok(args)
}

/// `-- name: ID` sections of the query file.
fn read_queries(path: &PathBuf) -> Result<Vec<(String, String)>, Error> {
    let text = std::fs::read_to_string(path)?;
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- name: ") {
            out.push((name.trim().to_string(), String::new()));
        } else if let Some((_, sql)) = out.last_mut()
            && !line.starts_with("--")
        {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    for (_, sql) in &mut out {
        *sql = sql.trim().trim_end_matches(';').to_string();
    }
    Ok(out)
}

/// Sum of the last column as f64 (a cheap fingerprint of the answer).
fn checksum(batches: &[RecordBatch]) -> f64 {
    let mut sum = 0.0;
    for b in batches {
        let Some(col) = b.columns().last() else {
            continue;
        };
        if let Ok(c) = cast(col, &DataType::Float64) {
            let c = c.as_primitive::<Float64Type>();
            sum += (0..c.len())
                .filter(|&i| c.is_valid(i))
                .map(|i| c.value(i))
                .sum::<f64>();
        }
    }
    sum
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[s.len() / 2]
}

fn report(engine: &str, name: &str, times: &[f64], rows: usize, check: f64) {
    let runs: Vec<String> = times.iter().map(|t| format!("{t:.4}")).collect();
    println!(
        "{{\"engine\":\"{engine}\",\"query\":\"{name}\",\"median_s\":{:.4},\"runs\":[{}],\"rows\":{rows},\"check\":{check:.4}}}",
        median(times),
        runs.join(",")
    );
}

/// A plain DataFusion session with the dataset's tables registered under the same names.
/// With `memory_mb`, under the same kind of memory pool as the workspace.
async fn raw_session(
    store: &Store,
    dataset: &str,
    memory_mb: Option<usize>,
    settings: &[(String, String)],
) -> Result<SessionContext, Error> {
    let info = store.version(dataset, None).await?;
    let manifest = store.read_manifest(&info)?;
    let tables = manifest
        .tables
        .iter()
        .map(|t| {
            let files = t.files.iter().map(|f| info.dir.join(&f.path)).collect();
            (t.name.clone(), files)
        })
        .collect();
    bare_session(tables, memory_mb, settings).await
}

/// A plain DataFusion session over the project's re-keyed copy (the files the workspace
/// reads), to separate the workspace's own cost from the copy's layout.
async fn copy_session(
    store: &Store,
    dataset: &str,
    memory_mb: Option<usize>,
    settings: &[(String, String)],
) -> Result<SessionContext, Error> {
    let ws = open_workspace(store, dataset, memory_mb, None, RekeyMode::Materialized).await?;
    let mut tables: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for copy in ws.rekeyed_copies() {
        for (path, relative, _) in &copy.files {
            let table = relative.split('/').next().unwrap_or_default().to_string();
            match tables.iter_mut().find(|(t, _)| *t == table) {
                Some((_, files)) => files.push(path.clone()),
                None => tables.push((table, vec![path.clone()])),
            }
        }
    }
    bare_session(tables, memory_mb, settings).await
}

async fn bare_session(
    tables: Vec<(String, Vec<PathBuf>)>,
    memory_mb: Option<usize>,
    settings: &[(String, String)],
) -> Result<SessionContext, Error> {
    let mut config = SessionConfig::new();
    for (k, v) in settings {
        config = config.set_str(k, v);
    }
    let ctx = match memory_mb {
        None => SessionContext::new_with_config(config),
        Some(mb) => SessionContext::new_with_config_rt(
            config,
            RuntimeEnvBuilder::new()
                .with_memory_pool(Arc::new(FairSpillPool::new(mb << 20)))
                .build_arc()?,
        ),
    };
    for (name, files) in &tables {
        let urls = files
            .iter()
            .map(|f| ListingTableUrl::parse(f.to_string_lossy()))
            .collect::<Result<Vec<_>, _>>()?;
        if urls.is_empty() {
            continue;
        }
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .infer_schema(&ctx.state())
            .await?;
        ctx.register_table(name.as_str(), Arc::new(ListingTable::try_new(config)?))?;
    }
    Ok(ctx)
}

/// The benchmark project's workspace over `dataset` (sample tier, public role).
async fn open_workspace(
    store: &Store,
    dataset: &str,
    memory_mb: Option<usize>,
    partitions: Option<usize>,
    mode: RekeyMode,
) -> Result<Workspace, Error> {
    // A benchmark-only master key: sample data is public and synthetic.
    let master = Key::in_memory("bench", "token", KeyMaterial::from_bytes([1; 32]));
    let actor = Actor {
        user: "bench".into(),
        role: Role::Public,
        authorization: None,
        memberships: vec![],
    };
    let spec = WorkspaceSpec {
        project: "bench".into(),
        tier: Tier::Sample,
        datasets: vec![DatasetGrant {
            dataset: dataset.to_string(),
            version: None,
        }],
        limits: Limits {
            max_rows_shown: 1_000_000,
            memory_bytes: memory_mb.map_or(Limits::default().memory_bytes, |m| m << 20),
            target_partitions: partitions.unwrap_or(Limits::default().target_partitions),
            ..Limits::default()
        },
        masters_dir: None,
        today: 20_600,
        ndb_linkage: false,
    };
    Ok(Workspace::open_with(store, actor, &master, spec, mode).await?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = parse_args()?;
    let mut queries = read_queries(&args.queries)?;
    if !args.only.is_empty() {
        queries.retain(|(n, _)| args.only.iter().any(|o| n.starts_with(o.as_str())));
    }
    let store = Store::open(&args.data).await?;
    for engine in &args.engines {
        match engine.as_str() {
            "medinfra" | "medinfra-onscan" => {
                let mode = if engine == "medinfra" {
                    RekeyMode::Materialized
                } else {
                    RekeyMode::OnScan
                };
                let t = Instant::now();
                let ws =
                    open_workspace(&store, &args.dataset, args.memory_mb, args.partitions, mode)
                        .await?;
                // The one-time cost of the re-keyed copy (zero when it already existed).
                eprintln!(
                    "{engine}: workspace opened in {:.1} s; copies: {}",
                    t.elapsed().as_secs_f64(),
                    serde_json::to_string(ws.rekeyed_copies())?
                );
                for (name, sql) in &queries {
                    let mut times = Vec::new();
                    let mut last = None;
                    for _ in 0..args.runs {
                        let t = Instant::now();
                        let out = ws.query(sql).await?;
                        times.push(t.elapsed().as_secs_f64());
                        last = Some(out);
                    }
                    let out = last.ok_or("no runs")?;
                    report(engine, name, &times, out.shown_rows, checksum(&out.batches));
                }
            }
            "datafusion" | "copy" => {
                let ctx = if engine == "copy" {
                    copy_session(&store, &args.dataset, args.memory_mb, &args.settings).await?
                } else {
                    raw_session(&store, &args.dataset, args.memory_mb, &args.settings).await?
                };
                for (name, sql) in &queries {
                    if args.explain {
                        let plan = ctx.sql(&format!("EXPLAIN ANALYZE {sql}")).await?;
                        let text = datafusion::arrow::util::pretty::pretty_format_batches(
                            &plan.collect().await?,
                        )?;
                        eprintln!("{engine} {name}\n{text}");
                    }
                    let mut times = Vec::new();
                    let mut last = Vec::new();
                    for _ in 0..args.runs {
                        let t = Instant::now();
                        last = ctx.sql(sql).await?.collect().await?;
                        times.push(t.elapsed().as_secs_f64());
                    }
                    let rows = last.iter().map(|b| b.num_rows()).sum();
                    report(engine, name, &times, rows, checksum(&last));
                }
            }
            other => return Err(format!("unknown engine {other}").into()),
        }
    }
    Ok(())
}
