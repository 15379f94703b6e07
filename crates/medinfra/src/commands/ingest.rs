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
    ingest_one(store, args, &args.provider, &args.paths).await
}

async fn ingest_one(
    store: &Store,
    args: &IngestArgs,
    provider: &str,
    paths: &[std::path::PathBuf],
) -> anyhow::Result<(IngestOutcome, std::path::PathBuf)> {
    if !(0.0..=1.0).contains(&args.max_quarantined_share) {
        bail!("--max-quarantined-share must be within 0..1");
    }
    super::audit::check(
        store,
        medinfra_govern::Action::Submit,
        medinfra_model::Tier::Identified,
        &format!("dataset provider-{provider}"),
    )
    .await?;
    let opts = options(args, provider)?;
    let total: u64 = 1;
    let progress = Progress::new("ingest", total, "bytes");
    let progress = std::sync::Mutex::new(progress);
    let outcome = medinfra_ingest::ingest(store, &opts, paths, &|done, total| {
        if let Ok(mut p) = progress.lock() {
            p.set_total(total);
            p.set(done);
        }
    })
    .await?;
    if let Ok(p) = progress.lock() {
        p.finish();
    }
    let dir = write_report(store, provider, &outcome)?;
    Ok((outcome, dir))
}

/// The options of the command line, for `provider`.
fn options(args: &IngestArgs, provider: &str) -> anyhow::Result<IngestOptions> {
    let mut opts = IngestOptions::new(provider);
    opts.strict = args.strict;
    opts.max_quarantined_share = args.max_quarantined_share;
    let mut masters = CodeMaster::default();
    for m in &args.masters {
        masters.load_file(m)?;
    }
    opts.masters = std::sync::Arc::new(masters);
    if let Some(m) = &args.mapping {
        opts.mapping = Some(medinfra_ingest::TableMapping::load(m)?);
    }
    Ok(opts)
}

/// Write the quarantine report (JSON + text) of one ingest under DATA_DIR/reports/.
pub fn write_report(
    store: &Store,
    provider: &str,
    outcome: &IngestOutcome,
) -> anyhow::Result<std::path::PathBuf> {
    report_files(
        store,
        &format!("ingest-{provider}"),
        outcome,
        &outcome.to_text(),
    )
}

/// `DATA_DIR/reports/NAME-TIME/quarantine.{json,txt}`.
fn report_files(
    store: &Store,
    name: &str,
    json: &impl serde::Serialize,
    text: &str,
) -> anyhow::Result<std::path::PathBuf> {
    let stamp = medinfra_store::now_rfc3339().replace([':', '-'], "");
    let dir = store.root().join("reports").join(format!("{name}-{stamp}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(
        dir.join("quarantine.json"),
        serde_json::to_vec_pretty(json)?,
    )?;
    std::fs::write(dir.join("quarantine.txt"), text)?;
    Ok(dir)
}

pub async fn run(store: &Store, args: &IngestArgs) -> anyhow::Result<ExitCode> {
    if args.provider == "auto" {
        return run_auto(store, args).await;
    }
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

/// `--provider auto`: a bulk delivery with many providers' files. Each provider's files are
/// that provider's submission (its own version of `provider-<ID>`, its own submission
/// records, its bad files rejected alone); the library reads them on all cores and commits
/// many providers per catalog transaction (`medinfra_ingest::ingest_many`).
async fn run_auto(store: &Store, args: &IngestArgs) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.max_quarantined_share) {
        bail!("--max-quarantined-share must be within 0..1");
    }
    let (groups, unknown) = medinfra_ingest::group_by_provider(&args.paths)?;
    if !unknown.is_empty() {
        bail!(
            "{} file(s) have no IR/YK header naming their provider (first: {}); ingest them with --provider ID",
            unknown.len(),
            unknown[0].display()
        );
    }
    let groups: Vec<(String, Vec<std::path::PathBuf>)> = groups.into_iter().collect();
    check_submits(store, &groups).await?;
    let opts = options(args, "auto")?;
    let progress = std::sync::Mutex::new(Progress::new("ingest", 1, "bytes"));
    let outcomes = medinfra_ingest::ingest_many(store, &opts, groups, 0, &|done, total| {
        if let Ok(mut p) = progress.lock() {
            p.set_total(total);
            p.set(done);
        }
    })
    .await?;
    if let Ok(p) = progress.lock() {
        p.finish();
    }
    let dir = write_delivery_report(store, &outcomes)?;
    let mut rejected_all = true;
    for outcome in &outcomes {
        if outcome.count(FileStatus::Accepted) > 0 || outcome.count(FileStatus::Rejected) == 0 {
            rejected_all = false;
        }
        if !args.json {
            print_outcome(outcome, &dir);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    }
    Ok(if rejected_all {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The access decision and audit record for every provider dataset of a delivery, the same
/// as `audit::check` once per dataset, appended in one transaction.
async fn check_submits(
    store: &Store,
    groups: &[(String, Vec<std::path::PathBuf>)],
) -> anyhow::Result<()> {
    use medinfra_govern::{Action, AuditLog, AuditRecord, Resource, can};
    let tier = medinfra_model::Tier::Identified;
    let actor = super::audit::console_actor();
    let mut records = Vec::with_capacity(groups.len());
    let mut denied = None;
    for (provider, _) in groups {
        let resource = format!("dataset provider-{provider}");
        let decision = can(
            &actor,
            Action::Submit,
            &Resource::of(tier),
            medinfra_govern::today(),
        );
        if !decision.allowed && denied.is_none() {
            denied = Some(format!(
                "access denied: submit of {resource} ({tier}) by rule {}",
                decision.rule
            ));
        }
        records.push(AuditRecord {
            actor: actor.user.clone(),
            action: "submit".into(),
            resource: format!("{resource} ({tier})"),
            outcome: if decision.allowed {
                "allowed"
            } else {
                "denied"
            }
            .into(),
            detail: format!("rule {}", decision.rule),
        });
    }
    AuditLog::new(store).append_batch(&records).await?;
    if let Some(d) = denied {
        bail!(d);
    }
    Ok(())
}

/// One report for a whole delivery (JSON + text, every provider), under DATA_DIR/reports/.
fn write_delivery_report(
    store: &Store,
    outcomes: &[IngestOutcome],
) -> anyhow::Result<std::path::PathBuf> {
    let text: String = outcomes
        .iter()
        .map(|o| o.to_text())
        .collect::<Vec<_>>()
        .join("\n");
    report_files(store, "ingest-auto", &outcomes, &text)
}
