//! `medinfra application submit|review|list`: the application → review → project workflow of
//! `medinfra_govern` from the operator's console (the API offers the same to users).

use std::process::ExitCode;

use anyhow::Context;
use medinfra_govern::{NewApplication, Registry, ReviewDecision, today};
use medinfra_model::Tier;
use medinfra_store::Store;

use crate::cli::ApplicationCommand;

pub async fn run(store: &Store, command: ApplicationCommand) -> anyhow::Result<ExitCode> {
    let registry = Registry::new(store);
    match command {
        ApplicationCommand::Submit {
            user,
            title,
            datasets,
            tier,
            purpose,
            protocol,
            members,
            days,
            ndb_linkage,
        } => {
            let tier: Tier = tier
                .parse()
                .map_err(|_| anyhow::anyhow!("unknown tier {tier:?}"))?;
            let protocol = match protocol.strip_prefix('@') {
                Some(path) => {
                    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
                }
                None => protocol,
            };
            let t = today();
            let app = registry
                .submit_application(
                    &user,
                    &NewApplication {
                        title,
                        datasets,
                        tier,
                        purpose,
                        protocol,
                        members,
                        requested_from: t,
                        requested_to: t + days,
                        ndb_linkage,
                    },
                )
                .await?;
            medinfra_govern::AuditLog::new(store)
                .append(
                    &user,
                    "apply",
                    &format!("application {}", app.id),
                    "submitted",
                    "",
                )
                .await?;
            println!(
                "application {} submitted ({}, {})",
                app.id, app.tier, app.organization
            );
        }
        ApplicationCommand::Review {
            id,
            user,
            decision,
            comment,
        } => {
            let d = ReviewDecision::parse(&decision).with_context(|| {
                format!("unknown decision {decision:?} (approve, reject, request_changes)")
            })?;
            let app = registry.review(&user, id, d, &comment, today()).await?;
            medinfra_govern::AuditLog::new(store)
                .append(&user, "review", &format!("application {id}"), &decision, "")
                .await?;
            println!(
                "application {id}: {:?}{}",
                app.status,
                app.project
                    .map(|p| format!(", project {p} created"))
                    .unwrap_or_default()
            );
        }
        ApplicationCommand::List { json } => {
            let apps = registry.applications(None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&apps)?);
            } else {
                for a in apps {
                    println!(
                        "{:>4} {:<10?} {:<14} {:<12} {} {}",
                        a.id,
                        a.status,
                        a.tier.to_string(),
                        a.applicant,
                        a.title,
                        a.project.unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
