//! Bootstrap and administration outside the server (`medinfra admin ...`, the demo): the same
//! access function and audit records as every other interface.

use medinfra_model::Tier;
use medinfra_store::Store;

use crate::registry::{Authorization, NewUser, Organization, Registry, RegistryError, User};
use crate::{
    Action, Actor, AuditError, AuditLog, AuthorizationKind, Decision, Resource, Role, can, today,
};

/// The actor of a CLI command: the operator at the machine.
pub fn cli_admin() -> Actor {
    Actor {
        user: "cli:operator".into(),
        role: Role::Operator,
        authorization: None,
        memberships: vec![],
    }
}

/// Decide, then record the decision; the caller acts only if this returns an allowed decision.
pub async fn audited(
    log: &AuditLog,
    actor: &Actor,
    action: Action,
    resource: &Resource,
    what: &str,
    today: i32,
) -> Result<Decision, AuditError> {
    let d = can(actor, action, resource, today);
    log.append(
        &actor.user,
        action.as_str(),
        what,
        if d.allowed { "allowed" } else { "denied" },
        &format!("rule {}", d.rule),
    )
    .await?;
    Ok(d)
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("access denied by rule {0}")]
    Denied(&'static str),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

const REGISTRY: Resource = Resource::of(Tier::Statistics);

async fn admin_check(store: &Store, what: &str) -> Result<AuditLog, AdminError> {
    let log = AuditLog::new(store);
    let d = audited(
        &log,
        &cli_admin(),
        Action::Administer,
        &REGISTRY,
        what,
        today(),
    )
    .await?;
    if !d.allowed {
        return Err(AdminError::Denied(d.rule));
    }
    Ok(log)
}

async fn done(log: &AuditLog, what: &str, ok: bool) -> Result<(), AdminError> {
    log.append(
        &cli_admin().user,
        "administer",
        what,
        if ok { "done" } else { "failed" },
        "",
    )
    .await?;
    Ok(())
}

/// `medinfra admin create-org NAME`.
pub async fn create_org(store: &Store, name: &str) -> Result<Organization, AdminError> {
    let what = format!("create organization {name}");
    let log = admin_check(store, &what).await?;
    let r = Registry::new(store).create_org(name).await;
    done(&log, &what, r.is_ok()).await?;
    Ok(r?)
}

/// `medinfra admin create-user NAME --role ROLE [--org ORG]` (password read by the CLI).
pub async fn create_user(
    registry: &Registry,
    username: &str,
    role: Role,
    organization: Option<&str>,
    password: &str,
) -> Result<User, AdminError> {
    let what = format!("create user {username} ({})", role.as_str());
    let log = admin_check(registry.store(), &what).await?;
    let r = registry
        .create_user(&NewUser {
            username,
            role,
            organization,
            password,
        })
        .await;
    done(&log, &what, r.is_ok()).await?;
    Ok(r?)
}

/// `medinfra admin grant-authorization ORG NUMBER --type I|II --from DAY --to DAY`.
pub async fn grant_authorization(
    store: &Store,
    organization: &str,
    number: &str,
    kind: AuthorizationKind,
    valid_from: i32,
    valid_to: i32,
) -> Result<Authorization, AdminError> {
    let what = format!("grant authorization to {organization}");
    let log = admin_check(store, &what).await?;
    let r = Registry::new(store)
        .grant_authorization(organization, number, kind, valid_from, valid_to)
        .await;
    done(&log, &what, r.is_ok()).await?;
    Ok(r?)
}

/// `medinfra admin revoke-authorization NUMBER`.
pub async fn revoke_authorization(store: &Store, number: &str) -> Result<(), AdminError> {
    let what = "revoke authorization".to_string();
    let log = admin_check(store, &what).await?;
    let r = Registry::new(store).revoke_authorization(number).await;
    done(&log, &what, r.is_ok()).await?;
    Ok(r?)
}

/// `medinfra admin set-recipient-key ORG --public-key age1...` (parsed by the caller, see
/// `medinfra_package::register_recipient_key`).
pub async fn set_recipient_key(
    store: &Store,
    organization: &str,
    public_key: &str,
) -> Result<(), AdminError> {
    let what = format!("set recipient key of {organization}");
    let log = admin_check(store, &what).await?;
    let r = Registry::new(store)
        .set_recipient_key(organization, public_key)
        .await;
    done(&log, &what, r.is_ok()).await?;
    Ok(r?)
}

/// One demo account: print the password once.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub role: Role,
    pub password: String,
}

/// The demo's accounts: organization `demo-org` with a type I authorization valid for a year
/// (`demo-org-ii` with a type II one), and one user per role with a random password.
pub async fn create_demo_accounts(registry: &Registry) -> Result<Vec<DemoAccount>, AdminError> {
    let store = registry.store();
    let t = today();
    create_org(store, "demo-org").await?;
    create_org(store, "demo-org-ii").await?;
    grant_authorization(
        store,
        "demo-org",
        "DEMO-I-0001",
        AuthorizationKind::TypeI,
        t,
        t + 365,
    )
    .await?;
    grant_authorization(
        store,
        "demo-org-ii",
        "DEMO-II-0001",
        AuthorizationKind::TypeII,
        t,
        t + 365,
    )
    .await?;
    let mut out = Vec::new();
    for (username, role, org) in [
        ("provider", Role::Provider, Some("demo-org")),
        ("operator", Role::Operator, None),
        ("reviewer", Role::Reviewer, None),
        ("authorized", Role::AuthorizedUser, Some("demo-org")),
        ("authorized2", Role::AuthorizedUser, Some("demo-org-ii")),
        ("researcher", Role::Researcher, Some("demo-org")),
        ("auditor", Role::Auditor, None),
    ] {
        // 16 random hex characters: enough for a demo, short enough to type.
        let password = format!(
            "demo-{}",
            &crate::random_secret().map_err(RegistryError::from)?[..16]
        );
        create_user(registry, username, role, org, &password).await?;
        out.push(DemoAccount {
            username: username.into(),
            role,
            password,
        });
    }
    Ok(out)
}

/// What `medinfra admin` takes back: an account, a password, a token, a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// Disable (true) or enable (false) a user: a disabled user's sessions and tokens stop.
    Disable(String, bool),
    /// Set a user's password (a reset).
    Password(String, String),
    /// Revoke one API token by id.
    Token(i64),
    /// Close a project: its members lose access.
    CloseProject(String),
}

/// `medinfra admin disable-user|enable-user|reset-password|revoke-token|close-project`,
/// decided and audited like every administration.
pub async fn take_back(store: &Store, what: Revocation) -> Result<(), AdminError> {
    let label = match &what {
        Revocation::Disable(u, true) => format!("disable user {u}"),
        Revocation::Disable(u, false) => format!("enable user {u}"),
        Revocation::Password(u, _) => format!("reset password of {u}"),
        Revocation::Token(id) => format!("revoke api token {id}"),
        Revocation::CloseProject(p) => format!("close project {p}"),
    };
    let log = admin_check(store, &label).await?;
    let registry = Registry::new(store);
    let r = match &what {
        Revocation::Disable(u, d) => registry.set_disabled(u, *d).await,
        Revocation::Password(u, p) => registry.set_password(u, p).await,
        Revocation::Token(id) => registry.revoke_token(*id).await,
        Revocation::CloseProject(p) => registry.close_project(p).await,
    };
    done(&log, &label, r.is_ok()).await?;
    Ok(r?)
}
