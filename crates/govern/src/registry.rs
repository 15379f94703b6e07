//! The registry: organizations, accounts, government authorizations and credentials, kept in
//! the catalog database. It also loads the [`Actor`] that [`crate::can`] decides about.
//!
//! The registry validates and stores; it never decides access (that is `can`), and it never
//! writes audit records itself: its callers (server, CLI) audit every change they make.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use medinfra_model::Tier;
use medinfra_store::Store;

use crate::secret::{self, PasswordCost, SecretError};
use crate::{Actor, AuthorizationKind, GovernmentAuthorization, Membership, Role};

/// Days an API token lives unless asked otherwise.
pub const TOKEN_DAYS: i64 = 30;
/// The longest an API token may live.
pub const MAX_TOKEN_DAYS: i64 = 365;

/// An API token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub username: String,
    pub label: String,
    pub created_at: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub revoked: bool,
}

/// Failed logins for one account from one client address before that address is throttled
/// for the account.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// The throttling window, in seconds.
pub const LOCK_SECONDS: i64 = 15 * 60;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0} already exists")]
    Exists(&'static str),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0}")]
    State(String),
    #[error("wrong user name or password")]
    BadCredentials,
    #[error("password hashing task failed")]
    Task,
}

impl RegistryError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        RegistryError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Map a UNIQUE constraint violation to `Exists`.
pub(crate) fn unique(e: sqlx::Error, what: &'static str) -> RegistryError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => RegistryError::Exists(what),
        _ => RegistryError::Db(e),
    }
}

/// Days since 1970-01-01 (UTC) today.
pub fn today() -> i32 {
    medinfra_model::days::today()
}

/// Seconds since 1970-01-01 (UTC) now.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub organization: Option<String>,
    pub locked: bool,
    pub disabled: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Authorization {
    pub id: i64,
    pub organization: String,
    pub number: String,
    pub kind: AuthorizationKind,
    pub valid_from: i32,
    pub valid_to: i32,
    pub revoked: bool,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub role: Role,
    pub organization: Option<&'a str>,
    pub password: &'a str,
}

/// A signed-in browser session: the user and the hash of its CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub username: String,
    /// Seconds since 1970-01-01.
    pub expires_at: i64,
    csrf_sha256: String,
}

impl Session {
    /// Whether the presented CSRF token is this session's (constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        secret::digest_eq(&secret::sha256_hex(presented), &self.csrf_sha256)
    }
}

/// A new session's secrets, shown once.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
    pub expires_at: i64,
}

/// The registry of a data directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Registry {
    pub(crate) store: Store,
    cost: PasswordCost,
}

fn validate_name(field: &'static str, s: &str) -> Result<(), RegistryError> {
    if s.is_empty() || s.len() > 64 {
        return Err(RegistryError::invalid(field, "must be 1-64 characters"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
    {
        return Err(RegistryError::invalid(
            field,
            "use letters, digits and - _ . @ only",
        ));
    }
    Ok(())
}

pub(crate) fn role_of(s: &str) -> Result<Role, RegistryError> {
    Role::parse(s).ok_or(RegistryError::State(
        "catalog holds an unknown role".to_string(),
    ))
}

pub(crate) fn tier_of(s: &str) -> Result<Tier, RegistryError> {
    s.parse()
        .map_err(|_| RegistryError::State("catalog holds an unknown tier".to_string()))
}

fn authorization_of(r: &AnyRow) -> Result<Authorization, RegistryError> {
    let kind: String = r.try_get("kind")?;
    Ok(Authorization {
        id: r.try_get("id")?,
        organization: r.try_get("org")?,
        number: r.try_get("number")?,
        kind: AuthorizationKind::parse(&kind).ok_or(RegistryError::State(
            "catalog holds an unknown authorization type".into(),
        ))?,
        valid_from: r.try_get("valid_from")?,
        valid_to: r.try_get("valid_to")?,
        revoked: r.try_get::<i64, _>("revoked")? != 0,
    })
}

const USER_SELECT: &str = "SELECT u.id AS id, u.username AS username, u.role AS role, o.name AS org, u.locked_until AS locked_until, u.disabled AS disabled, u.created_at AS created_at FROM users u LEFT JOIN organizations o ON o.id = u.org_id";

fn user_of(r: &AnyRow) -> Result<User, RegistryError> {
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        role: role_of(&r.try_get::<String, _>("role")?)?,
        organization: r.try_get("org")?,
        locked: r.try_get::<i64, _>("locked_until")? > now_unix(),
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

impl Registry {
    /// The registry with production password hashing cost.
    pub fn new(store: &Store) -> Self {
        Registry::with_password_cost(store, PasswordCost::DEFAULT)
    }

    pub fn with_password_cost(store: &Store, cost: PasswordCost) -> Self {
        Registry {
            store: store.clone(),
            cost,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A counter that every change to accounts, organizations, authorizations, credentials,
    /// sessions or projects increases (catalog triggers, so changes from any process count).
    /// An actor loaded at generation G is still exact while the counter reads G.
    pub async fn generation(&self) -> Result<i64, RegistryError> {
        Ok(
            sqlx::query("SELECT generation FROM registry_state WHERE id = 1")
                .fetch_one(self.store.pool())
                .await?
                .try_get("generation")?,
        )
    }

    // ---- organizations ----

    pub async fn create_org(&self, name: &str) -> Result<Organization, RegistryError> {
        validate_name("organization", name)?;
        let at = medinfra_store::now_rfc3339();
        let id: i64 = sqlx::query(
            "INSERT INTO organizations (name, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(name)
        .bind(&at)
        .fetch_one(self.store.pool())
        .await
        .map_err(|e| unique(e, "organization"))?
        .try_get("id")?;
        Ok(Organization {
            id,
            name: name.into(),
            created_at: at,
        })
    }

    pub async fn orgs(&self) -> Result<Vec<Organization>, RegistryError> {
        let rows = sqlx::query("SELECT id, name, created_at FROM organizations ORDER BY name")
            .fetch_all(self.store.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Organization {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Register (or replace) the public key that packages for `organization` are encrypted
    /// to. Callers parse the key first (`medinfra_package::RecipientKey`); the registry only
    /// checks its shape, so it stays free of any cryptographic format.
    pub async fn set_recipient_key(
        &self,
        organization: &str,
        public_key: &str,
    ) -> Result<(), RegistryError> {
        if public_key.is_empty()
            || public_key.len() > 512
            || !public_key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(RegistryError::invalid(
                "public_key",
                "must be 1-512 printable ASCII characters without spaces",
            ));
        }
        let n = sqlx::query(
            "UPDATE organizations SET recipient_public_key = $1, recipient_key_set_at = $2 WHERE name = $3",
        )
        .bind(public_key)
        .bind(medinfra_store::now_rfc3339())
        .bind(organization)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(RegistryError::NotFound("organization"));
        }
        Ok(())
    }

    /// The organization's registered recipient public key, if any.
    pub async fn recipient_key(&self, organization: &str) -> Result<Option<String>, RegistryError> {
        sqlx::query("SELECT recipient_public_key FROM organizations WHERE name = $1")
            .bind(organization)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or(RegistryError::NotFound("organization"))?
            .try_get("recipient_public_key")
            .map_err(RegistryError::from)
    }

    pub(crate) async fn org_id(&self, name: &str) -> Result<i64, RegistryError> {
        sqlx::query("SELECT id FROM organizations WHERE name = $1")
            .bind(name)
            .fetch_optional(self.store.pool())
            .await?
            .map(|r| r.try_get("id"))
            .transpose()?
            .ok_or(RegistryError::NotFound("organization"))
    }

    // ---- users ----

    /// Create an account. Authorized users, researchers and providers must belong to an
    /// organization (authorizations and projects attach to it).
    pub async fn create_user(&self, new: &NewUser<'_>) -> Result<User, RegistryError> {
        validate_name("username", new.username)?;
        if new.role == Role::Public {
            return Err(RegistryError::invalid(
                "role",
                "the public needs no account",
            ));
        }
        if new.password.chars().count() < 12 {
            return Err(RegistryError::invalid(
                "password",
                "must be at least 12 characters",
            ));
        }
        let needs_org = matches!(
            new.role,
            Role::AuthorizedUser | Role::Researcher | Role::Provider
        );
        let org_id = match new.organization {
            Some(o) => Some(self.org_id(o).await?),
            None if needs_org => {
                return Err(RegistryError::invalid(
                    "organization",
                    "this role belongs to an organization",
                ));
            }
            None => None,
        };
        let hash = self.hash_password(new.password).await?;
        let at = medinfra_store::now_rfc3339();
        sqlx::query(
            "INSERT INTO users (username, role, org_id, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(new.username)
        .bind(new.role.as_str())
        .bind(org_id)
        .bind(&hash)
        .bind(&at)
        .execute(self.store.pool())
        .await
        .map_err(|e| unique(e, "user"))?;
        self.user(new.username).await
    }

    async fn hash_password(&self, password: &str) -> Result<String, RegistryError> {
        let password = password.to_string();
        let cost = self.cost;
        // argon2id is deliberately slow: keep it off the async worker threads.
        tokio::task::spawn_blocking(move || secret::hash_password(&password, cost))
            .await
            .map_err(|_| RegistryError::Task)?
            .map_err(RegistryError::from)
    }

    pub async fn user(&self, username: &str) -> Result<User, RegistryError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{USER_SELECT} WHERE u.username = $1"
        )))
        .bind(username)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or(RegistryError::NotFound("user"))?;
        user_of(&row)
    }

    pub async fn users(&self) -> Result<Vec<User>, RegistryError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{USER_SELECT} ORDER BY u.username"
        )))
        .fetch_all(self.store.pool())
        .await?
        .iter()
        .map(user_of)
        .collect()
    }

    pub(crate) async fn user_id(
        &self,
        username: &str,
    ) -> Result<(i64, Role, Option<i64>), RegistryError> {
        let r = sqlx::query("SELECT id, role, org_id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or(RegistryError::NotFound("user"))?;
        Ok((
            r.try_get("id")?,
            role_of(&r.try_get::<String, _>("role")?)?,
            r.try_get("org_id")?,
        ))
    }

    /// Set a new password (clears a lock).
    pub async fn set_password(&self, username: &str, password: &str) -> Result<(), RegistryError> {
        if password.chars().count() < 12 {
            return Err(RegistryError::invalid(
                "password",
                "must be at least 12 characters",
            ));
        }
        let hash = self.hash_password(password).await?;
        let n = sqlx::query(
            "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = 0 WHERE username = $2",
        )
        .bind(&hash)
        .bind(username)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(RegistryError::NotFound("user"));
        }
        Ok(())
    }

    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<(), RegistryError> {
        let n = sqlx::query("UPDATE users SET disabled = $1 WHERE username = $2")
            .bind(disabled as i64)
            .bind(username)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(RegistryError::NotFound("user"));
        }
        Ok(())
    }

    /// Check a password. Every attempt costs one argon2id verification, whether the user
    /// exists, is disabled or not (no enumeration by timing), and every failure is the same
    /// [`RegistryError::BadCredentials`]. Accounts are never locked here: anyone could lock
    /// anyone's account by failing on purpose. Repeated failures are throttled per client
    /// and account by the server instead ([`MAX_FAILED_LOGINS`] per [`LOCK_SECONDS`]).
    pub async fn login(&self, username: &str, password: &str) -> Result<User, RegistryError> {
        let row = sqlx::query("SELECT password_hash, disabled FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(self.store.pool())
            .await?;
        let (stored, disabled) = match &row {
            Some(row) => (
                row.try_get::<String, _>("password_hash")?,
                row.try_get::<i64, _>("disabled")? != 0,
            ),
            None => (self.dummy_hash().await?, true),
        };
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || secret::verify_password(&pw, &stored))
            .await
            .map_err(|_| RegistryError::Task)?;
        if ok && !disabled {
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE username = $1")
                .bind(username)
                .execute(self.store.pool())
                .await?;
            return self.user(username).await;
        }
        Err(RegistryError::BadCredentials)
    }

    /// A hash of a password nobody has, made once per process and cost, so an unknown user
    /// costs one verification like a known one (hashing anew would cost two).
    async fn dummy_hash(&self) -> Result<String, RegistryError> {
        static DUMMIES: std::sync::Mutex<Vec<(PasswordCost, String)>> =
            std::sync::Mutex::new(Vec::new());
        if let Ok(d) = DUMMIES.lock()
            && let Some((_, h)) = d.iter().find(|(c, _)| *c == self.cost)
        {
            return Ok(h.clone());
        }
        let h = self.hash_password(&secret::random_secret()?).await?;
        if let Ok(mut d) = DUMMIES.lock() {
            d.push((self.cost, h.clone()));
        }
        Ok(h)
    }

    // ---- government authorizations ----

    pub async fn grant_authorization(
        &self,
        organization: &str,
        number: &str,
        kind: AuthorizationKind,
        valid_from: i32,
        valid_to: i32,
    ) -> Result<Authorization, RegistryError> {
        validate_name("number", number)?;
        if valid_to < valid_from {
            return Err(RegistryError::invalid("valid_to", "ends before it starts"));
        }
        let org_id = self.org_id(organization).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO authorizations (org_id, number, kind, valid_from, valid_to, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(org_id)
        .bind(number)
        .bind(kind.as_str())
        .bind(valid_from)
        .bind(valid_to)
        .bind(medinfra_store::now_rfc3339())
        .fetch_one(self.store.pool())
        .await
        .map_err(|e| unique(e, "authorization"))?
        .try_get("id")?;
        Ok(Authorization {
            id,
            organization: organization.into(),
            number: number.into(),
            kind,
            valid_from,
            valid_to,
            revoked: false,
        })
    }

    /// Revoke an authorization: access through it stops at the next decision.
    pub async fn revoke_authorization(&self, number: &str) -> Result<(), RegistryError> {
        let n = sqlx::query("UPDATE authorizations SET revoked = 1 WHERE number = $1")
            .bind(number)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(RegistryError::NotFound("authorization"));
        }
        Ok(())
    }

    /// Authorizations, of one organization or all.
    pub async fn authorizations(
        &self,
        organization: Option<&str>,
    ) -> Result<Vec<Authorization>, RegistryError> {
        sqlx::query(
            "SELECT a.id AS id, o.name AS org, a.number AS number, a.kind AS kind, a.valid_from AS valid_from, a.valid_to AS valid_to, a.revoked AS revoked
             FROM authorizations a JOIN organizations o ON o.id = a.org_id
             WHERE $1 IS NULL OR o.name = $1 ORDER BY a.id",
        )
        .bind(organization)
        .fetch_all(self.store.pool())
        .await?
        .iter()
        .map(authorization_of)
        .collect()
    }

    // ---- the actor ----

    /// The actor `can` decides about: role, the organization's authorization (one valid on
    /// `today` if there is one, type I before type II; otherwise the most recent, so `can`
    /// sees it expired or revoked) and the user's project memberships. A disabled account is
    /// the public.
    pub async fn actor(&self, username: &str, today: i32) -> Result<Actor, RegistryError> {
        let user = self.user(username).await?;
        if user.disabled {
            return Ok(Actor {
                user: username.into(),
                role: Role::Public,
                authorization: None,
                memberships: vec![],
            });
        }
        let mut authorization = None;
        if let Some(org) = &user.organization {
            let all = self.authorizations(Some(org)).await?;
            let best = all
                .iter()
                .filter(|a| !a.revoked && a.valid_from <= today && today <= a.valid_to)
                .min_by_key(|a| (a.kind != AuthorizationKind::TypeI, -a.id))
                .or_else(|| all.iter().max_by_key(|a| a.id));
            authorization = best.map(|a| GovernmentAuthorization {
                number: a.number.clone(),
                kind: a.kind,
                valid_from: a.valid_from,
                valid_to: a.valid_to,
                revoked: a.revoked,
            });
        }
        let memberships = sqlx::query(
            "SELECT p.name AS name, p.tier AS tier, p.starts AS starts, p.expires AS expires, p.active AS active
             FROM project_members m JOIN projects p ON p.id = m.project_id
             WHERE m.user_id = $1 ORDER BY p.id",
        )
        .bind(user.id)
        .fetch_all(self.store.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Membership {
                project: r.try_get("name")?,
                tier: tier_of(&r.try_get::<String, _>("tier")?)?,
                starts: r.try_get("starts")?,
                expires: r.try_get("expires")?,
                active: r.try_get::<i64, _>("active")? != 0,
            })
        })
        .collect::<Result<Vec<_>, RegistryError>>()?;
        Ok(Actor {
            user: username.into(),
            role: user.role,
            authorization,
            memberships,
        })
    }

    // ---- API tokens and sessions ----

    /// Create an API token for a user, valid [`TOKEN_DAYS`] days; the returned string is
    /// shown once and stored only as its SHA-256.
    pub async fn create_token(&self, username: &str, label: &str) -> Result<String, RegistryError> {
        Ok(self.create_token_for(username, label, TOKEN_DAYS).await?.0)
    }

    /// Create an API token valid `days` days (1 to [`MAX_TOKEN_DAYS`]); the token and when
    /// it expires (Unix seconds).
    pub async fn create_token_for(
        &self,
        username: &str,
        label: &str,
        days: i64,
    ) -> Result<(String, i64), RegistryError> {
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return Err(RegistryError::invalid("days", "1 to 365"));
        }
        let (user_id, _, _) = self.user_id(username).await?;
        let secret = secret::random_secret()?;
        let expires_at = now_unix() + days * 86_400;
        let id: i64 = sqlx::query(
            "INSERT INTO api_tokens (user_id, label, secret_sha256, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(label)
        .bind(secret::sha256_hex(&secret))
        .bind(medinfra_store::now_rfc3339())
        .bind(expires_at)
        .fetch_one(self.store.pool())
        .await?
        .try_get("id")?;
        Ok((format!("mit_{id}_{secret}"), expires_at))
    }

    /// The user an API token belongs to, if the token is valid, not revoked and not expired.
    pub async fn token_user(&self, token: &str) -> Result<Option<String>, RegistryError> {
        Ok(self.token_owner(token).await?.map(|(u, _)| u))
    }

    /// [`Registry::token_user`] with the token's expiry (Unix seconds).
    pub async fn token_owner(&self, token: &str) -> Result<Option<(String, i64)>, RegistryError> {
        let Some((id, secret)) = secret::split_credential("mit", token) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT t.secret_sha256 AS h, t.revoked AS revoked, t.expires_at AS expires_at, u.username AS username FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.try_get("h")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        if row.try_get::<i64, _>("revoked")? != 0
            || expires_at <= now_unix()
            || !secret::digest_eq(&secret::sha256_hex(secret), &stored)
        {
            return Ok(None);
        }
        Ok(Some((row.try_get("username")?, expires_at)))
    }

    /// API tokens (never their secrets): one user's, or everyone's.
    pub async fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenInfo>, RegistryError> {
        sqlx::query(
            "SELECT t.id AS id, u.username AS username, t.label AS label, t.created_at AS created_at, t.expires_at AS expires_at, t.revoked AS revoked
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE $1 IS NULL OR u.username = $1 ORDER BY t.id",
        )
        .bind(username)
        .fetch_all(self.store.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.try_get("id")?,
                username: r.try_get("username")?,
                label: r.try_get("label")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                revoked: r.try_get::<i64, _>("revoked")? != 0,
            })
        })
        .collect()
    }

    /// Revoke a token: it stops working at the next request.
    pub async fn revoke_token(&self, token_id: i64) -> Result<(), RegistryError> {
        let n = sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE id = $1")
            .bind(token_id)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(RegistryError::NotFound("token"));
        }
        Ok(())
    }

    /// Start a browser session lasting `ttl_seconds`.
    pub async fn create_session(
        &self,
        username: &str,
        ttl_seconds: i64,
    ) -> Result<NewSession, RegistryError> {
        let (user_id, _, _) = self.user_id(username).await?;
        let secret = secret::random_secret()?;
        let csrf = secret::random_secret()?;
        let expires_at = now_unix() + ttl_seconds;
        let id: i64 = sqlx::query(
            "INSERT INTO sessions (user_id, secret_sha256, csrf_sha256, expires_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user_id)
        .bind(secret::sha256_hex(&secret))
        .bind(secret::sha256_hex(&csrf))
        .bind(expires_at)
        .fetch_one(self.store.pool())
        .await?
        .try_get("id")?;
        Ok(NewSession {
            token: format!("mis_{id}_{secret}"),
            csrf,
            expires_at,
        })
    }

    /// The live session a cookie value names, if any.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, RegistryError> {
        let Some((id, secret)) = secret::split_credential("mis", token) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT s.secret_sha256 AS h, s.csrf_sha256 AS csrf, s.expires_at AS expires_at, u.username AS username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.try_get("h")?;
        if row.try_get::<i64, _>("expires_at")? <= now_unix()
            || !secret::digest_eq(&secret::sha256_hex(secret), &stored)
        {
            return Ok(None);
        }
        Ok(Some(Session {
            id,
            username: row.try_get("username")?,
            expires_at: row.try_get("expires_at")?,
            csrf_sha256: row.try_get("csrf")?,
        }))
    }

    pub async fn end_session(&self, id: i64) -> Result<(), RegistryError> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }
}
