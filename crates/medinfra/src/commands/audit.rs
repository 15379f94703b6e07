//! `medinfra audit verify|list`, and the access check + audit record every data-touching
//! command makes before it reads or writes.

use std::process::ExitCode;

use anyhow::{Context, bail};
use medinfra_govern::{Action, Actor, AuditLog, Resource, Role, can};
use medinfra_model::Tier;
use medinfra_store::Store;

use crate::cli::AuditCommand;

/// The actor of a CLI command: the operator at the machine (accounts and sign-in arrive with
/// the server; the access function and the audit record are the same either way).
pub fn console_actor() -> Actor {
    Actor {
        user: "cli:operator".into(),
        role: Role::Operator,
        authorization: None,
        memberships: vec![],
    }
}

/// Decide, record, and refuse when denied. If the record cannot be written the action does
/// not happen (the error propagates before any data is touched).
pub async fn check(
    store: &Store,
    action: Action,
    tier: Tier,
    resource: &str,
) -> anyhow::Result<()> {
    let actor = console_actor();
    let decision = can(
        &actor,
        action,
        &Resource::of(tier),
        medinfra_govern::today(),
    );
    let outcome = if decision.allowed {
        "allowed"
    } else {
        "denied"
    };
    let action_name = format!("{action:?}").to_lowercase();
    AuditLog::new(store)
        .append(
            &actor.user,
            &action_name,
            &format!("{resource} ({tier})"),
            outcome,
            &format!("rule {}", decision.rule),
        )
        .await?;
    if !decision.allowed {
        bail!(
            "access denied: {action_name} of {resource} ({tier}) by rule {}",
            decision.rule
        );
    }
    Ok(())
}

pub async fn run(store: &Store, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let log = AuditLog::new(store);
    match command {
        AuditCommand::Anchor { out } => {
            let Some(anchor) = log.anchor().await? else {
                bail!("the audit log is empty: nothing to anchor");
            };
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&out)
                .with_context(|| format!("{}", out.display()))?;
            use std::io::Write;
            writeln!(f, "{}", serde_json::to_string(&anchor)?)
                .with_context(|| format!("{}", out.display()))?;
            f.sync_all().with_context(|| format!("{}", out.display()))?;
            println!(
                "anchored entry {} ({}) in {}",
                anchor.seq,
                &anchor.hash[..16],
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { anchors } => {
            let anchors = match &anchors {
                Some(path) => read_anchors(path)?,
                None => Vec::new(),
            };
            let (n, problem) = log.verify_with_anchors(&anchors).await?;
            match problem {
                None => {
                    println!("audit log intact: {n} entries, hash chain verified");
                    Ok(ExitCode::SUCCESS)
                }
                Some(p) => {
                    println!(
                        "audit log BROKEN at entry {}: {} ({n} entries before it verified)",
                        p.seq, p.reason
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCommand::List { limit, json } => {
            let entries = log.entries(Some(limit)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                for e in entries {
                    println!(
                        "{:>6} {} {} {} {} {} ({})",
                        e.seq, e.at, e.actor, e.action, e.resource, e.outcome, e.detail
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The anchors file: one JSON anchor per line; a bad line is named.
fn read_anchors(path: &std::path::Path) -> anyhow::Result<Vec<medinfra_govern::Anchor>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{} line {}: not an anchor", path.display(), i + 1))
        })
        .collect()
}
