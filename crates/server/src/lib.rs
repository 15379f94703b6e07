//! The HTTP API of medinfra (`medinfra serve`): the catalog (datasets, versions, manifests,
//! lineage, rows and downloads for those allowed), the registry (organizations, users,
//! government authorizations), applications, reviews and projects, access checks and the
//! audit log, described by an OpenAPI document at `/api/openapi.json` generated from this code.
//!
//! Every handler asks `medinfra_govern::can` and appends the decision to the audit log before
//! it touches anything; if the audit record cannot be written the request fails. This crate
//! must never decide access itself (only `can` does, plus the project's grant list, which can
//! only deny), never answer with rows of a tier the caller may not read, and never log or
//! return passwords, credential secrets (API tokens are shown once, at creation) or keys.

// Public so the web UI (crate `medinfra-web`) renders pages from the very handlers the API
// runs: one access decision, one audit record, one code path for both.
pub mod api;
pub mod auth;
mod error;
pub mod extract;
mod openapi;
pub mod pool;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use axum::serve::ListenerExt;

use medinfra_govern::{
    Action, AuditLog, AuditRecord, AuditWriter, Decision, PasswordCost, Registry, Resource, can,
};
use medinfra_store::Store;

pub use auth::{CSRF_HEADER, Caller, SESSION_COOKIE};
pub use error::ApiError;
pub use openapi::openapi_json;
pub use pool::{PoolLimits, QueryPool};
pub use tls::{TlsConfig, TlsError};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    /// Where the catalog is; `None`: [`medinfra_store::CatalogLocation::from_env`].
    pub catalog: Option<medinfra_store::CatalogLocation>,
    pub addr: SocketAddr,
    /// Mark session cookies `Secure` (set when TLS terminates in front of the server; always
    /// on when `tls` is set).
    pub secure_cookies: bool,
    /// Serve HTTPS with this certificate chain and key instead of plain HTTP.
    pub tls: Option<TlsConfig>,
    /// Password hashing cost for accounts created through the API.
    pub password_cost: PasswordCost,
    pub session_ttl: Duration,
    /// Login attempts per client address per minute.
    pub login_attempts_per_minute: usize,
    /// How often the audit chain head is signed (also at shutdown).
    pub checkpoint_every: Duration,
    /// More routes on the same port (the web UI), built on the API's shared state.
    pub extra_routes: Option<ExtraRoutes>,
    /// Where workspace queries run and how many at once.
    pub pool: PoolLimits,
    /// Limits of each API query (time, memory, rows).
    pub query_limits: medinfra_analysis::Limits,
    /// The key directory (the key stored tokens were made with, to re-key them per project);
    /// `None`: `DATA_DIR/keys`.
    pub key_dir: Option<PathBuf>,
    /// SSK master CSVs for the workspace's `master_name`.
    pub masters: Option<PathBuf>,
    /// Rows of pseudonymized (type II) projects the web workspace shows each user per
    /// project and day; past it rows are not shown and an alert goes to the audit log.
    pub pseudonymized_rows_per_day: u64,
}

/// Builds routes that share the API's state (the web UI's pages).
#[derive(Clone)]
pub struct ExtraRoutes(pub Arc<dyn Fn(&AppState) -> Router + Send + Sync>);

impl std::fmt::Debug for ExtraRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExtraRoutes")
    }
}

impl ServerConfig {
    pub fn new(data_dir: impl Into<PathBuf>, addr: SocketAddr) -> Self {
        ServerConfig {
            data_dir: data_dir.into(),
            catalog: None,
            addr,
            secure_cookies: false,
            tls: None,
            password_cost: PasswordCost::DEFAULT,
            session_ttl: Duration::from_secs(8 * 3600),
            login_attempts_per_minute: 20,
            checkpoint_every: Duration::from_secs(60),
            extra_routes: None,
            pool: PoolLimits::default(),
            query_limits: medinfra_analysis::Limits::default(),
            key_dir: None,
            masters: None,
            pseudonymized_rows_per_day: 5_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] medinfra_store::StoreError),
    #[error("{addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Audit(#[from] medinfra_govern::AuditError),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// What the handlers share (behind [`AppState`]).
pub struct Shared {
    pub(crate) store: Store,
    pub(crate) registry: Registry,
    pub(crate) log: AuditLog,
    pub(crate) writer: AuditWriter,
    pub(crate) limiter: auth::LoginLimiter,
    /// Failed sign-ins per (client address, account): throttles guessing at one account
    /// without letting anyone lock another's.
    pub(crate) failures: auth::LoginLimiter<(std::net::IpAddr, String)>,
    pub(crate) actors: auth::ActorCache,
    pub(crate) secure_cookies: bool,
    pub(crate) session_ttl: Duration,
    pub(crate) pool: QueryPool,
    pub(crate) query_limits: medinfra_analysis::Limits,
    pub(crate) key_dir: PathBuf,
    pub(crate) masters: Option<PathBuf>,
    pub(crate) rows_per_day: u64,
}

/// Shared state of the handlers. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// The catalog and data directory.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Accounts, organizations, authorizations, applications and projects.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The audit log (reads and verification; appends go through [`AppState::record`]).
    pub fn audit_log(&self) -> &AuditLog {
        &self.log
    }

    /// Whether cookies are marked `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    /// Where workspace queries run (the web pages use it too).
    pub fn pool(&self) -> &QueryPool {
        &self.pool
    }

    /// The key directory.
    pub fn key_dir(&self) -> &std::path::Path {
        &self.key_dir
    }

    /// SSK master CSVs, if configured.
    pub fn masters(&self) -> Option<&std::path::Path> {
        self.masters.as_deref()
    }

    /// How long a sign-in session lives.
    pub fn session_ttl(&self) -> Duration {
        self.session_ttl
    }

    /// Count a sign-in attempt from `ip`; false when the address is over its limit.
    pub fn login_allowed(&self, ip: std::net::IpAddr) -> bool {
        self.limiter.allow(ip)
    }

    /// Sign in with a password, for the API and the web UI alike: the per-address limit, the
    /// per-(address, account) throttle on failures, the registry's check (argon2id; the same
    /// answer for unknown, disabled and wrong), an audit record either way (`via` tags it,
    /// e.g. " (web)"), then a new session. An account is never locked: a guesser is throttled
    /// at their own address, the owner signs in from theirs.
    pub async fn sign_in(
        &self,
        ip: std::net::IpAddr,
        username: &str,
        password: &str,
        via: &str,
    ) -> Result<(medinfra_govern::User, medinfra_govern::NewSession), ApiError> {
        // The attempted name goes into the audit log: bound it (it is untrusted input).
        let who: String = username.chars().take(64).collect();
        let pair = (ip, who.clone());
        if !self.limiter.allow(ip) || self.failures.exhausted(&pair) {
            self.record(
                &who,
                "login",
                "session",
                "refused",
                format!("rate limit{via}"),
            )
            .await?;
            return Err(ApiError::TooMany);
        }
        let result = self.registry.login(username, password).await;
        let (outcome, detail) = match &result {
            Ok(_) => ("allowed", "password verified"),
            Err(_) => {
                self.failures.allow(pair);
                ("denied", "wrong user name or password")
            }
        };
        self.record(&who, "login", "session", outcome, format!("{detail}{via}"))
            .await?;
        let user = result?;
        let ttl = self.session_ttl.as_secs() as i64;
        let session = self.registry.create_session(&user.username, ttl).await?;
        Ok((user, session))
    }

    /// The `Set-Cookie` value carrying a new session's token.
    pub fn session_cookie(&self, token: &str) -> String {
        let ttl = self.session_ttl.as_secs();
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!(
            "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={ttl}{secure}"
        )
    }

    /// Append one audit record; the request fails if it cannot be written.
    pub async fn record(
        &self,
        actor: &str,
        action: &str,
        resource: &str,
        outcome: &str,
        detail: String,
    ) -> Result<(), ApiError> {
        self.writer
            .append(AuditRecord {
                actor: actor.into(),
                action: action.into(),
                resource: resource.into(),
                outcome: outcome.into(),
                detail,
            })
            .await?;
        Ok(())
    }

    /// Count `rows` of a pseudonymized project shown to the caller today against the per-user
    /// volume limit. Over it nothing is counted, the rows must not be shown, and the refusal
    /// is written to the audit log as an alert for the operators.
    pub async fn charge_row_views(
        &self,
        caller: &auth::Caller,
        project: &str,
        rows: u64,
    ) -> Result<medinfra_govern::RowViews, ApiError> {
        let v = self
            .registry
            .charge_row_views(
                &caller.actor.user,
                project,
                caller.today,
                rows,
                self.rows_per_day,
            )
            .await?;
        if !v.allowed {
            self.record(
                &caller.actor.user,
                "row_volume",
                &format!("project {project}"),
                "denied",
                format!(
                    "rule pseudonymized-row-volume: {} of {} rows shown today, {rows} more refused (alert)",
                    v.shown_today, v.limit
                ),
            )
            .await?;
        }
        Ok(v)
    }

    /// Record a decision.
    pub async fn record_decision(
        &self,
        caller: &auth::Caller,
        action: Action,
        what: &str,
        d: &Decision,
    ) -> Result<(), ApiError> {
        self.record(
            &caller.actor.user,
            action.as_str(),
            what,
            if d.allowed { "allowed" } else { "denied" },
            format!("rule {}", d.rule),
        )
        .await
    }

    /// Record a decision and refuse when it denies (401 for the public, 403 for a signed-in
    /// user).
    pub async fn enforce(
        &self,
        caller: &auth::Caller,
        action: Action,
        what: &str,
        d: &Decision,
    ) -> Result<(), ApiError> {
        self.record_decision(caller, action, what, d).await?;
        if d.allowed {
            Ok(())
        } else if caller.signed_in() {
            Err(ApiError::Forbidden(d.rule))
        } else {
            Err(ApiError::Unauthorized)
        }
    }

    /// Decide with `can`, record, and refuse when denied.
    pub async fn require(
        &self,
        caller: &auth::Caller,
        action: Action,
        resource: &Resource,
        what: &str,
    ) -> Result<(), ApiError> {
        let d = can(&caller.actor, action, resource, caller.today);
        self.enforce(caller, action, what, &d).await
    }
}

/// The routes, on an open store.
pub fn router(store: &Store, config: &ServerConfig) -> Result<(Router, AppState), ServerError> {
    // One rustls provider (ring) for the whole process, TLS or not: clients built later in
    // the process (tests, the load test) must not look for another one.
    tls::install_ring_provider();
    let log = AuditLog::new(store);
    let state = AppState(Arc::new(Shared {
        store: store.clone(),
        registry: Registry::with_password_cost(store, config.password_cost),
        writer: AuditWriter::spawn(log.clone()),
        log,
        limiter: auth::LoginLimiter::new(config.login_attempts_per_minute, Duration::from_secs(60)),
        failures: auth::LoginLimiter::new(
            medinfra_govern::MAX_FAILED_LOGINS as usize,
            Duration::from_secs(medinfra_govern::LOCK_SECONDS as u64),
        ),
        actors: auth::ActorCache::default(),
        secure_cookies: config.secure_cookies || config.tls.is_some(),
        session_ttl: config.session_ttl,
        pool: QueryPool::new(&config.pool)?,
        query_limits: config.query_limits.clone(),
        key_dir: config
            .key_dir
            .clone()
            .unwrap_or_else(|| config.data_dir.join("keys")),
        masters: config.masters.clone(),
        rows_per_day: config.pseudonymized_rows_per_day,
    }));
    let app = Router::new()
        .route("/api/openapi.json", get(openapi::serve_openapi))
        .route(
            "/api/session",
            post(api::session::login)
                .get(api::session::me)
                .delete(api::session::logout),
        )
        .route(
            "/api/tokens",
            post(api::session::create_token).get(api::session::list_tokens),
        )
        .route("/api/tokens/{id}/revoke", post(api::session::revoke_token))
        .route("/api/users/{name}/disable", post(api::admin::disable_user))
        .route("/api/users/{name}/enable", post(api::admin::enable_user))
        .route(
            "/api/users/{name}/password",
            post(api::admin::reset_password),
        )
        .route(
            "/api/projects/{name}/close",
            post(api::admin::close_project),
        )
        .route(
            "/api/projects/{name}/releases",
            get(api::releases::list).post(api::releases::request),
        )
        .route(
            "/api/projects/{name}/privacy-budget",
            get(api::releases::get_budget).put(api::releases::set_budget),
        )
        .route("/api/releases/{id}", get(api::releases::get_one))
        .route("/api/releases/{id}/review", post(api::releases::review))
        .route("/api/datasets", get(api::catalog::list))
        .route("/api/datasets/{name}", get(api::catalog::dataset))
        .route(
            "/api/datasets/{name}/versions/{version}/manifest",
            get(api::catalog::manifest),
        )
        .route(
            "/api/datasets/{name}/versions/{version}/lineage",
            get(api::catalog::lineage),
        )
        .route(
            "/api/datasets/{name}/versions/{version}/tables/{table}/rows",
            get(api::catalog::rows),
        )
        .route(
            "/api/datasets/{name}/versions/{version}/tables/{table}/download",
            get(api::catalog::download),
        )
        .route("/api/access/check", post(api::catalog::check))
        .route(
            "/api/orgs",
            get(api::admin::list_orgs).post(api::admin::create_org),
        )
        .route(
            "/api/users",
            get(api::admin::list_users).post(api::admin::create_user),
        )
        .route(
            "/api/authorizations",
            get(api::admin::list_authorizations).post(api::admin::grant_authorization),
        )
        .route(
            "/api/authorizations/{number}/revoke",
            post(api::admin::revoke_authorization),
        )
        .route(
            "/api/applications",
            get(api::applications::list).post(api::applications::submit),
        )
        .route(
            "/api/applications/{id}",
            get(api::applications::get_one).put(api::applications::revise),
        )
        .route(
            "/api/applications/{id}/reviews",
            post(api::applications::review),
        )
        .route("/api/projects", get(api::applications::projects))
        .route("/api/projects/{name}", get(api::applications::project))
        .route("/api/projects/{name}/query", post(api::workspace::query))
        .route(
            "/api/projects/{name}/results",
            get(api::workspace::results).post(api::workspace::save),
        )
        .route("/api/audit", get(api::audit::entries))
        .route("/api/audit/verify", get(api::audit::verify))
        .with_state(state.clone());
    let app = match &config.extra_routes {
        Some(extra) => app.merge((extra.0)(&state)),
        None => app,
    };
    let app = app
        .fallback(api::not_found)
        .layer(axum::middleware::map_response(security_headers));
    Ok((app, state))
}

/// Headers on every answer, API and pages alike: no framing (clickjacking), no MIME sniffing,
/// no referrer leaving the site, and a content security policy that allows only this origin's
/// own scripts, styles and images (the pages have no inline script or style).
async fn security_headers(mut resp: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let h = resp.headers_mut();
    // A page that set a stricter policy of its own (a report file) keeps it.
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// A server running in the background (tests, the load test, `serve`).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub store: Store,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// Stop accepting, finish in-flight requests, sign the audit head, and return.
    pub async fn stop(self) -> Result<(), ServerError> {
        let _ = self.shutdown.send(());
        self.task
            .await
            .map_err(|e| ServerError::Io(std::io::Error::other(e.to_string())))?
    }
}

/// Open the data directory, bind, and serve in the background.
pub async fn spawn(config: ServerConfig) -> Result<RunningServer, ServerError> {
    // A bad certificate or key is reported before anything is opened or bound.
    let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
    let store = match &config.catalog {
        Some(location) => Store::open_with(&config.data_dir, location).await?,
        None => Store::open(&config.data_dir).await?,
    };
    let (app, state) = router(&store, &config)?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let every = config.checkpoint_every;
    let task = tokio::spawn(async move {
        let log = state.log.clone();
        let ticker = tokio::spawn({
            let log = log.clone();
            async move {
                let mut t = tokio::time::interval(every);
                t.tick().await;
                loop {
                    t.tick().await;
                    if let Err(e) = log.checkpoint().await {
                        tracing::error!(error = %e, "audit checkpoint failed");
                    }
                }
            }
        });
        let stopping = state.clone();
        let stopped = async move {
            let _ = rx.await;
            // Running queries are cancelled, not waited for: graceful shutdown waits for
            // in-flight requests, and a query may run for its whole time limit.
            stopping.pool.stop();
        };
        let served = match tls {
            None => {
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(stopped)
                .await
            }
            Some(tls) => {
                // `tap_io` (a no-op here) is what lets axum hand handlers the client's
                // `SocketAddr` from a listener of our own (its `Connected` impl covers it).
                let listener = tls::TlsListener::new(listener, tls).tap_io(|_| {});
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(stopped)
                .await
            }
        };
        ticker.abort();
        drop(state);
        served?;
        log.checkpoint().await?;
        Ok(())
    });
    Ok(RunningServer {
        addr,
        store,
        shutdown: tx,
        task,
    })
}

/// `medinfra serve`: serve until Ctrl-C (or SIGTERM), then shut down cleanly.
pub async fn serve(config: ServerConfig) -> Result<(), ServerError> {
    let https = config.tls.is_some();
    let server = spawn(config).await?;
    tracing::info!(addr = %server.addr, https, "medinfra API listening");
    wait_for_signal().await;
    server.stop().await
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
