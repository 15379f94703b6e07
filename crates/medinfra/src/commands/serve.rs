//! `medinfra serve` and `medinfra admin ...`: the HTTP API (`medinfra-server`) and the
//! bootstrap of accounts without the UI (`medinfra_govern::admin`, audited as `cli:admin`).

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use medinfra_govern::{AuthorizationKind, Registry, Revocation, Role, take_back};
use medinfra_store::Store;

use crate::cli::{AdminCommand, ServeArgs};

/// The API and the web UI on one port (HTTPS when a certificate is given).
pub async fn serve(
    data_dir: &Path,
    catalog: medinfra_store::CatalogLocation,
    key_dir: &Path,
    args: &ServeArgs,
) -> anyhow::Result<ExitCode> {
    let mut config = medinfra_server::ServerConfig::new(data_dir, args.addr);
    config.catalog = Some(catalog);
    config.secure_cookies = args.secure_cookies;
    config.key_dir = Some(key_dir.to_path_buf());
    config.masters = args.masters.clone();
    config.pool.per_user_per_minute = args.queries_per_minute;
    config.pool.public_per_address_per_minute = args.public_queries_per_minute;
    config.pseudonymized_rows_per_day = args.pseudonymized_rows_per_day;
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(medinfra_server::TlsConfig::new(cert, key));
        config.secure_cookies = true;
    }
    let web = medinfra_web::WebConfig {
        key_dir: key_dir.to_path_buf(),
        masters: args.masters.clone(),
    };
    config.extra_routes = Some(medinfra_server::ExtraRoutes(std::sync::Arc::new(
        move |state: &medinfra_server::AppState| medinfra_web::routes(state, web.clone()),
    )));
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!(
        "medinfra on {scheme}://{}/ui (API: {scheme}://{}/api/openapi.json); Ctrl-C to stop",
        args.addr, args.addr
    );
    medinfra_server::serve(config)
        .await
        .with_context(|| format!("serving on {}", args.addr))?;
    Ok(ExitCode::SUCCESS)
}

fn day(s: &str) -> anyhow::Result<i32> {
    let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .with_context(|| format!("{s:?}: expected YYYY-MM-DD"))?;
    Ok(medinfra_model::days::days_of(d))
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("MEDINFRA_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.len() < 12 {
        bail!("the password must have at least 12 characters");
    }
    Ok(p)
}

pub async fn admin(store: &Store, command: AdminCommand) -> anyhow::Result<ExitCode> {
    let registry = Registry::new(store);
    match command {
        AdminCommand::CreateOrg { name } => {
            let org = medinfra_govern::create_org(store, &name).await?;
            println!("created organization {} (id {})", org.name, org.id);
        }
        AdminCommand::CreateUser {
            username,
            role,
            org,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?} (provider, operator, reviewer, authorized_user, researcher, auditor)")
            })?;
            let password = read_password()?;
            let user =
                medinfra_govern::create_user(&registry, &username, role, org.as_deref(), &password)
                    .await?;
            println!(
                "created user {} ({}{})",
                user.username,
                user.role.as_str(),
                user.organization
                    .map(|o| format!(", organization {o}"))
                    .unwrap_or_default()
            );
        }
        AdminCommand::GrantAuthorization {
            org,
            number,
            kind,
            from,
            to,
        } => {
            let kind = AuthorizationKind::parse(&kind)
                .with_context(|| format!("unknown authorization type {kind:?} (I or II)"))?;
            let (from, to) = (day(&from)?, day(&to)?);
            if to < from {
                bail!("--to is before --from");
            }
            let a =
                medinfra_govern::grant_authorization(store, &org, &number, kind, from, to).await?;
            println!(
                "authorization {} ({:?}) granted to {}",
                a.number, a.kind, a.organization
            );
        }
        AdminCommand::SetRecipientKey { org, public_key } => {
            return super::package::set_recipient_key(store, &org, &public_key).await;
        }
        AdminCommand::RevokeAuthorization { number } => {
            medinfra_govern::revoke_authorization(store, &number).await?;
            println!("authorization {number} revoked");
        }
        AdminCommand::DisableUser { username } => {
            take_back(store, Revocation::Disable(username.clone(), true)).await?;
            println!("user {username} disabled: their sessions and tokens stop now");
        }
        AdminCommand::EnableUser { username } => {
            take_back(store, Revocation::Disable(username.clone(), false)).await?;
            println!("user {username} enabled");
        }
        AdminCommand::ResetPassword { username } => {
            let password = read_password()?;
            take_back(store, Revocation::Password(username.clone(), password)).await?;
            println!("password of {username} set");
        }
        AdminCommand::RevokeToken { id } => {
            take_back(store, Revocation::Token(id)).await?;
            println!("api token {id} revoked");
        }
        AdminCommand::CloseProject { project } => {
            take_back(store, Revocation::CloseProject(project.clone())).await?;
            println!("project {project} closed");
        }
        AdminCommand::Tokens { user, json } => {
            let what = match &user {
                Some(u) => format!("api tokens of {u}"),
                None => "every api token".to_string(),
            };
            let d = medinfra_govern::audited(
                &medinfra_govern::AuditLog::new(store),
                &medinfra_govern::cli_admin(),
                medinfra_govern::Action::Administer,
                &medinfra_govern::Resource::of(medinfra_model::Tier::Statistics),
                &what,
                medinfra_govern::today(),
            )
            .await?;
            if !d.allowed {
                bail!("access denied (rule {})", d.rule);
            }
            let tokens = registry.tokens(user.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                let now = medinfra_govern::now_unix();
                for t in tokens {
                    let state = if t.revoked {
                        "revoked"
                    } else if t.expires_at <= now {
                        "expired"
                    } else {
                        "valid"
                    };
                    println!(
                        "{:>6} {:<20} {:<24} {state} (expires {} days from now)",
                        t.id,
                        t.username,
                        t.label,
                        (t.expires_at - now) / 86_400
                    );
                }
            }
        }
        AdminCommand::List { json } => {
            let users = registry.users().await?;
            let auths = registry.authorizations(None).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "users": users, "authorizations": auths })
                    )?
                );
            } else {
                for u in users {
                    println!(
                        "user {:<16} {:<16} {}{}",
                        u.username,
                        u.role.as_str(),
                        u.organization.unwrap_or_default(),
                        if u.locked { " (locked)" } else { "" }
                    );
                }
                for a in auths {
                    println!(
                        "authorization {} {:?} {} valid {}..{}{}",
                        a.number,
                        a.kind,
                        a.organization,
                        a.valid_from,
                        a.valid_to,
                        if a.revoked { " REVOKED" } else { "" }
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
