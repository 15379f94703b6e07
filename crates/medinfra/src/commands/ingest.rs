//! `medinfra ingest --provider ID PATH...`

use std::process::ExitCode;

use anyhow::{Context, bail};
use medinfra_ingest::{FileStatus, IngestOptions, IngestOutcome};
use medinfra_model::masters::CodeMaster;
use medinfra_store::Store;

use crate::cli::IngestArgs;
use crate::progress::Progress;

/// Run an ingest and write its quarantine report (JSON + text) under DATA_DIR/reports/.
pub async fn ingest(
    store: &Store,
    args: &IngestArgs,
) -> anyhow::Result<(IngestOutcome, std::path::PathBuf)> {
    if !(0.0..=1.0).contains(&args.max_quarantined_share) {
        bail!("--max-quarantined-share must be within 0..1");
    }
    let mut opts = IngestOptions::new(&args.provider);
    opts.strict = args.strict;
    opts.max_quarantined_share = args.max_quarantined_share;
    let mut masters = CodeMaster::default();
    for m in &args.masters {
        masters.load_file(m)?;
    }
    opts.masters = masters;
    let total: u64 = 1;
    let progress = Progress::new("ingest", total, "bytes");
    let progress = std::sync::Mutex::new(progress);
    let outcome = medinfra_ingest::ingest(store, &opts, &args.paths, &|done, total| {
        if let Ok(mut p) = progress.lock() {
            p.set_total(total);
            p.set(done);
        }
    })
    .await?;
    if let Ok(p) = progress.lock() {
        p.finish();
    }
    let stamp = medinfra_store::now_rfc3339().replace([':', '-'], "");
    let dir = store
        .root()
        .join("reports")
        .join(format!("ingest-{}-{}", args.provider, stamp));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(
        dir.join("quarantine.json"),
        serde_json::to_vec_pretty(&outcome)?,
    )?;
    std::fs::write(dir.join("quarantine.txt"), outcome.to_text())?;
    Ok((outcome, dir))
}

pub async fn run(store: &Store, args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let (outcome, dir) = ingest(store, args).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print_outcome(&outcome, &dir);
    }
    // Exit 0 when something was ingested or everything was already there; 2 when every
    // new file was rejected.
    let rejected_all =
        outcome.count(FileStatus::Accepted) == 0 && outcome.count(FileStatus::Rejected) > 0;
    Ok(if rejected_all {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn print_outcome(outcome: &IngestOutcome, report_dir: &std::path::Path) {
    println!(
        "ingest {}: {} accepted, {} rejected, {} duplicate file(s)",
        outcome.provider_id,
        outcome.count(FileStatus::Accepted),
        outcome.count(FileStatus::Rejected),
        outcome.count(FileStatus::Duplicate)
    );
    for f in &outcome.files {
        println!(
            "  {:<9} {} ({} receipts, {} quarantined){}",
            format!("{:?}", f.status).to_lowercase(),
            f.file,
            f.receipts,
            f.receipts_quarantined,
            f.rejection
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    if let Some(v) = outcome.version {
        println!("  -> dataset {} v{}", outcome.dataset, v);
    }
    println!(
        "  -> report {}",
        report_dir.join("quarantine.txt").display()
    );
}
