//! `medinfra release request|review|list|download`: output checking of result tables before
//! they leave the workspace, a reviewer's decision, and the released statistics dataset with
//! its provenance — the flow of `medinfra-research`, printed for the console.

use std::process::ExitCode;

use anyhow::{Context, bail};
use medinfra_disclosure::{DisclosureConfig, render};
use medinfra_govern::{Action, Registry, today};
use medinfra_research::{
    ReleaseSpec, cell_counts, list_releases, load_release, parse_mitigation, parse_statistic,
    released_version, request_path, request_release, review_release,
};
use medinfra_store::Store;

use crate::cli::{ReleaseCommand, ReleaseRequestArgs};

async fn request(store: &Store, args: &ReleaseRequestArgs) -> anyhow::Result<ExitCode> {
    let t = today();
    let actor = Registry::new(store).actor(&args.user, t).await?;
    let config = match &args.config {
        Some(p) => DisclosureConfig::from_toml_file(p)?,
        None => DisclosureConfig::default(),
    };
    let spec = ReleaseSpec {
        result: args.result.clone(),
        rows: args.rows.clone(),
        cols: args.cols.clone(),
        value: args.value.clone(),
        person: args.person_column.clone(),
        statistic: parse_statistic(&args.statistic)?,
        margins: args.margins,
        mitigation: parse_mitigation(&args.mitigation)?,
        config,
    };
    let (req, checked) = request_release(store, &actor, &args.project, spec, t).await?;
    print!("{}", render::assessment_text(&checked.assessment));
    let (cells, primary, secondary) = cell_counts(&checked);
    println!(
        "release request {}: {cells} cells, {primary} suppressed by the checks, {secondary} by secondary suppression, {} differencing finding(s); status {:?} — waiting for a reviewer",
        req.id,
        checked.differencing.len(),
        checked.cleaned.status
    );
    println!(
        "  -> {}",
        request_path(store, &req.id)?.join("cleaned.csv").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Shows or sets a project's privacy budget (setting is an operator's registry change).
async fn budget(
    store: &Store,
    project: &str,
    epsilon: Option<f64>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    // The same calls as the API's: one access rule and audit record for both.
    let actor = super::audit::console_actor();
    let b = match epsilon {
        Some(eps) => {
            Some(medinfra_research::set_privacy_budget(store, &actor, project, eps, today()).await?)
        }
        None => medinfra_research::privacy_budget(store, &actor, project, today()).await?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&b)?);
    } else {
        match b {
            Some(b) => println!(
                "project {project}: epsilon {} spent of {} ({} left)",
                b.spent_micros as f64 / 1e6,
                b.total_micros as f64 / 1e6,
                b.remaining_micros() as f64 / 1e6
            ),
            None => println!("project {project}: no privacy budget (DP releases are refused)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run(store: &Store, command: ReleaseCommand) -> anyhow::Result<ExitCode> {
    let t = today();
    match command {
        ReleaseCommand::Request(args) => request(store, &args).await,
        ReleaseCommand::Review {
            id,
            user,
            approve,
            reject,
            comment,
        } => {
            if approve == reject {
                bail!("say --approve or --reject");
            }
            let actor = Registry::new(store).actor(&user, t).await?;
            let req = review_release(store, &actor, &id, approve, &comment, t).await?;
            match &req.released_dataset {
                Some(ds) => println!("release request {id} approved: dataset {ds} (statistics)"),
                None => println!("release request {id} {}", req.status.as_str()),
            }
            Ok(ExitCode::SUCCESS)
        }
        ReleaseCommand::Budget {
            project,
            epsilon,
            json,
        } => budget(store, &project, epsilon, json).await,
        ReleaseCommand::List { project } => {
            // The console lists as the operator running it.
            let operator = super::audit::console_actor();
            for r in list_releases(store, &operator, &project, t).await? {
                println!(
                    "{:<16} {:<9} result {:<16} by {:<12} {}",
                    r.id,
                    r.status.as_str(),
                    r.result,
                    r.requested_by,
                    r.released_dataset.unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ReleaseCommand::Package { .. } => {
            bail!("`release package` needs the key directory (run through the CLI entry point)")
        }
        ReleaseCommand::Download { id, format, out } => {
            let operator = super::audit::console_actor();
            let (req, _) = load_release(store, &operator, &id, t).await?;
            let info = released_version(store, &req).await?;
            super::audit::check(
                store,
                Action::Download,
                info.tier,
                &format!("dataset {} v{}", info.dataset, info.version),
            )
            .await?;
            let files = store.table_files(&info, "cells")?;
            match format.as_str() {
                "parquet" => {
                    let src = files.first().context("released table has no file")?;
                    std::fs::copy(src, &out)?;
                }
                "csv" => {
                    let mut w = arrow::csv::WriterBuilder::new()
                        .with_header(true)
                        .build(std::fs::File::create(&out)?);
                    for b in super::read_table(store, &info, "cells")? {
                        w.write(&b)?;
                    }
                }
                f => bail!("unknown format {f:?} (csv, parquet)"),
            }
            println!("wrote {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
