//! `medinfra query`: SQL in a project's remote analysis workspace (`medinfra-analysis`), or on
//! sample-tier datasets with `--sample`. The workspace is opened by `medinfra-research` as the
//! registry describes the project; the actor is the named user as the registry knows them (the
//! CLI is the operator's console: researchers reach the same workspace through the web UI).

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use medinfra_analysis::Limits;
use medinfra_govern::{Actor, Registry, Role, today};
use medinfra_research::{Opening, open_workspace};
use medinfra_store::Store;

use crate::cli::QueryArgs;

pub async fn run(store: &Store, key_dir: &Path, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let limits = Limits {
        max_rows_shown: args.max_rows,
        ..Limits::default()
    };
    let t = today();
    let registry = Registry::new(store);
    let (actor, opening) = match (&args.sample, &args.project, &args.user) {
        (Some(datasets), _, user) => {
            let actor = match user {
                Some(u) => registry.actor(u, t).await?,
                None => Actor {
                    user: "public".into(),
                    role: Role::Public,
                    authorization: None,
                    memberships: vec![],
                },
            };
            let opening = Opening::Sample {
                datasets: datasets.clone(),
                scratch: "sample".into(),
            };
            (actor, opening)
        }
        (None, Some(p), Some(u)) => (registry.actor(u, t).await?, Opening::Project(p.clone())),
        _ => bail!("query needs --project P --as USER, or --sample DATASET"),
    };
    let mut ws = open_workspace(
        store,
        key_dir,
        actor,
        &opening,
        limits,
        args.masters.as_deref(),
        t,
    )
    .await?;
    // Columns the views leave out for a reason the project should know are named, not
    // silently absent (a query naming one fails with "no field named").
    let withheld = ws.withheld_columns();
    if !withheld.is_empty() {
        let names: Vec<String> = withheld
            .iter()
            .map(|(t, c, _)| format!("{t}.{c}"))
            .collect();
        eprintln!(
            "note: withheld from this project's tables: {} ({})",
            names.join(", "),
            withheld[0].2
        );
    }
    let out = ws.query(&args.sql).await?;
    println!("{}", out.to_pretty()?);
    println!(
        "{} row(s){}",
        out.total_rows,
        if out.truncated {
            format!(", {} shown", out.shown_rows)
        } else {
            String::new()
        }
    );
    if let Some(name) = &args.save {
        let info = ws.save_result(name, &args.sql).await?;
        println!(
            "saved result {} ({} rows) in the workspace",
            info.name, info.rows
        );
    }
    Ok(ExitCode::SUCCESS)
}
