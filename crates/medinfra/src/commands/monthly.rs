//! `medinfra run DELIVERY`: the monthly run (`medinfra-pipeline`), with a progress bar per
//! step and the reconciliation printed (or written as JSON to standard output).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::bail;
use medinfra_govern::{Action, Registry};
use medinfra_model::Tier;
use medinfra_pipeline::{Observer, ProviderGate, RunOptions, RunReport};
use medinfra_pseudo::keys::KeyStore;
use medinfra_store::Store;

use crate::cli::RunArgs;
use crate::progress::Progress;

/// The key purpose of the registry's keyed ID1/ID2.
pub const PERSONS_KEY: &str = "persons";

struct Bars {
    current: Mutex<Option<(String, Progress)>>,
}

impl Observer for Bars {
    fn begin(&self, step: &str, total: u64, unit: &str) {
        if let Ok(mut c) = self.current.lock() {
            match c.as_mut() {
                Some((name, p)) if name == step => p.set_total(total),
                _ => *c = Some((step.to_string(), Progress::new(step, total, unit))),
            }
        }
    }

    fn set(&self, done: u64) {
        if let Ok(c) = self.current.lock()
            && let Some((_, p)) = c.as_ref()
        {
            p.set(done);
        }
    }

    fn end(&self) {
        if let Ok(mut c) = self.current.lock()
            && let Some((_, p)) = c.take()
        {
            p.finish();
        }
    }
}

/// The registry's linkage key (made on first use, like the demo's pseudonym key).
pub fn persons_key(key_dir: &Path) -> anyhow::Result<medinfra_pseudo::keys::Key> {
    let keys = KeyStore::open(key_dir)?;
    if keys.active(PERSONS_KEY).is_err() {
        let meta = keys.new_key(PERSONS_KEY)?;
        eprintln!(
            "created key {} (purpose {PERSONS_KEY}) in {}",
            meta.id,
            key_dir.display()
        );
    }
    Ok(keys.active(PERSONS_KEY)?)
}

/// The provider register as the run applies it: who may send, as of today.
async fn provider_gate(store: &Store) -> anyhow::Result<ProviderGate> {
    let today = time::OffsetDateTime::now_utc().date().to_string();
    Ok(ProviderGate {
        registered: Registry::new(store)
            .providers()
            .await?
            .iter()
            .map(|p| (p.id.clone(), medinfra_govern::provider_refusal(p, &today)))
            .collect(),
    })
}

/// Runs one month and returns its report (the demo prints it its own way).
pub async fn run_delivery(
    store: &Store,
    key_dir: &Path,
    args: &RunArgs,
) -> anyhow::Result<Monthly> {
    if !(0.0..=1.0).contains(&args.max_quarantined_share) {
        bail!("--max-quarantined-share must be within 0..1");
    }
    if let Some(bad) = args
        .extracts
        .iter()
        .find(|k| !matches!(k.as_str(), "sampling" | "trial"))
    {
        bail!("--extracts {bad}: expected sampling or trial");
    }
    super::audit::check(
        store,
        Action::Write,
        Tier::Identified,
        &format!("monthly run into {}", args.research),
    )
    .await?;
    let optouts: Vec<(String, String)> = Registry::new(store)
        .optouts(false)
        .await?
        .into_iter()
        .map(|o| (o.provider, o.person_key))
        .collect();
    let mut ingest = medinfra_ingest::IngestOptions::new("auto");
    ingest.max_quarantined_share = args.max_quarantined_share;
    let pseudonymized = format!("{}-pseudonymized", args.research);
    super::audit::check(
        store,
        Action::Write,
        Tier::Pseudonymized,
        &format!("dataset {pseudonymized} (monthly run)"),
    )
    .await?;
    let opts = RunOptions {
        delivery: args.delivery.clone(),
        research: args.research.clone(),
        ingest,
        threads: 0,
        pseudonymized: Some(pseudonymized),
        providers: Some(provider_gate(store).await?),
    };
    let key = persons_key(key_dir)?;
    let keys = KeyStore::open(key_dir)?;
    if keys.active("pseudonym").is_err() {
        let meta = keys.new_key("pseudonym")?;
        eprintln!(
            "created key {} (purpose pseudonym) in {}",
            meta.id,
            key_dir.display()
        );
    }
    let bars = Bars {
        current: Mutex::new(None),
    };
    let mut report =
        medinfra_pipeline::run_month(store, &opts, &keys, key, &optouts, &bars).await?;
    let lap = |report: &mut RunReport, step: &str, since: std::time::Instant| {
        report.steps.push(medinfra_pipeline::StepTime {
            step: step.to_string(),
            seconds: since.elapsed().as_secs_f64(),
        });
    };
    // The anonymized product from the new research version: one row per person across
    // providers (the built-in claims configuration).
    let since = std::time::Instant::now();
    let anonymized = match report.research_version {
        Some(_) => Some(anonymize(store, &args.research).await?),
        None => None,
    };
    if anonymized.is_some() {
        lap(&mut report, "anonymized product", since);
    }
    // The NDB-style extracts asked for, from the pseudonymized version just made (their keys
    // release-local, their lineage naming it).
    let mut extracts = Vec::new();
    if let Some((name, version)) = &report.pseudonymized {
        let info = store.version(name, Some(*version)).await?;
        for kind in &args.extracts {
            let output = format!("{}-ndb-{kind}", args.research);
            let since = std::time::Instant::now();
            let (v, _) = super::extract::build(store, kind, &info, &output, 1).await?;
            extracts.push((v.dataset, v.version));
            lap(&mut report, &format!("extract {kind}"), since);
        }
    }
    write_reports(store, &report)?;
    Ok(Monthly {
        report,
        anonymized,
        extracts,
    })
}

/// A monthly run's report and the anonymized product's summary, when one was built.
pub struct Monthly {
    pub report: RunReport,
    pub anonymized: Option<String>,
    /// The NDB-style extracts built (dataset, version).
    pub extracts: Vec<(String, i64)>,
}

async fn anonymize(store: &Store, research: &str) -> anyhow::Result<String> {
    let args = crate::cli::AnonymizeArgs {
        csv: None,
        input: Some(research.to_string()),
        output: Some(format!("{research}-anonymized")),
        config: None,
        delimiter: ";".into(),
        hierarchies: vec![],
        sensitive: None,
        k: None,
        l_diversity: None,
        t_closeness: None,
        suppression: 0.0,
        metric: "loss".into(),
        heuristic: None,
        population: None,
        out: None,
    };
    super::anonymize_dataset::build(store, &args).await
}

/// The run's reports under DATA_DIR/reports/run-STAMP/: the providers' quarantine report
/// (JSON + text, masked values only) and the reconciliation.
fn write_reports(store: &Store, report: &RunReport) -> anyhow::Result<()> {
    use anyhow::Context;
    let stamp = medinfra_store::now_rfc3339().replace([':', '-'], "");
    let dir = store.root().join("reports").join(format!("run-{stamp}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let text: String = report
        .ingest
        .iter()
        .map(|o| o.to_text())
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("quarantine.txt"), text)?;
    std::fs::write(
        dir.join("quarantine.json"),
        serde_json::to_vec_pretty(&report.ingest)?,
    )?;
    std::fs::write(
        dir.join("reconciliation.json"),
        serde_json::to_vec_pretty(report)?,
    )?;
    Ok(())
}

pub async fn run(store: &Store, key_dir: &Path, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let monthly = run_delivery(store, key_dir, args).await?;
    let report = &monthly.report;
    if args.json {
        let mut v = serde_json::to_value(report)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("anonymized".into(), serde_json::json!(monthly.anonymized));
            obj.insert("extracts".into(), serde_json::json!(monthly.extracts));
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_monthly(&monthly);
    }
    let r = &report.reconciliation;
    Ok(if r.files.accepted == 0 && r.files.rejected > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The report, then the anonymized product's summary.
pub fn print_monthly(m: &Monthly) {
    print_report(&m.report);
    if let Some(a) = &m.anonymized {
        println!("{a}");
    }
    for (dataset, version) in &m.extracts {
        println!(
            "NDB-style extract: {dataset} v{version} (anonymized; keys release-local; lineage names the pseudonymized version)"
        );
    }
}

pub fn print_report(report: &RunReport) {
    let r = &report.reconciliation;
    let f = &r.files;
    println!(
        "delivery: {} provider(s), {} file(s) accepted, {} rejected, {} already accepted earlier, {} placed nowhere, {} receipt(s) quarantined",
        f.providers,
        f.accepted,
        f.rejected,
        f.duplicate,
        f.unplaced.len(),
        f.receipts_quarantined
    );
    for (file, why) in &f.rejections {
        println!("  rejected {file}: {why}");
    }
    for file in &f.unplaced {
        println!("  placed nowhere (no provider directory or IR/YK header): {file}");
    }
    let s = &report.registry;
    println!(
        "registry: {} record(s) new, {} variant(s) new; persons: {} new, {} joined, {} merged, {} split; {} registered record(s) changed person; {} persons over {} records",
        s.records_new,
        s.variants_new,
        s.persons_new,
        s.joined,
        s.merged,
        s.split,
        s.records_moved,
        s.persons_total,
        s.records_total
    );
    if let Some((name, v)) = &report.pseudonymized {
        println!("pseudonymized research database: {name} v{v} (person_id as a keyed pseudonym)");
    }
    if let Some(why) = &report.unchanged {
        println!("research database: {why}");
    } else {
        println!(
            "research database: {} v{} (registry v{})",
            report.research_dataset,
            report.research_version.unwrap_or_default(),
            report
                .registry_version
                .map(|v| v.to_string())
                .unwrap_or_else(|| "unchanged".into())
        );
    }
    println!(
        "  {:<18} {:>12} {:>12} {:>9} {:>10} {:>8} {:>8}",
        "table", "source rows", "rows", "withheld", "delivered", "built", "carried"
    );
    for (t, b) in &r.tables {
        println!(
            "  {:<18} {:>12} {:>12} {:>9} {:>10} {:>8} {:>8}",
            t,
            b.source_rows,
            b.rows,
            b.withheld,
            r.rows_in.get(t).copied().unwrap_or(0),
            b.parts_built,
            b.parts_carried
        );
    }
    let k = &r.person_keys;
    println!(
        "  {:<18} {:>12} {:>12} {:>9} {:>10} {:>8} {:>8}   (one row per registry person: the oldest card, for the ID5-style key)",
        "person_keys", k.source_rows, k.rows, k.withheld, "-", k.parts_built, k.parts_carried
    );
    println!(
        "opt-outs: {} recorded, {} person(s) withheld, {} not (yet) in the registry",
        r.optouts.recorded, r.optouts.persons, r.optouts.unresolved
    );
    println!(
        "books: {} (source rows = rows + withheld for every table) in {:.1} s",
        if r.balanced {
            "balanced"
        } else {
            "NOT BALANCED"
        },
        report.seconds
    );
    if !report.steps.is_empty() {
        let steps: Vec<String> = report
            .steps
            .iter()
            .map(|s| format!("{} {:.1} s", s.step, s.seconds))
            .collect();
        println!("steps: {}", steps.join(" · "));
    }
}
