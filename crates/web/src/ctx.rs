//! What every page knows about its request: the language, the caller (decided by the API's
//! own extractor, so a page sees exactly what the API would), the CSRF token its forms carry,
//! and the navigation for the caller's role. Errors become HTML pages in the same language.

use std::path::PathBuf;
use std::sync::Arc;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use medinfra_govern::{Action, Resource, Role, can};
use medinfra_model::Tier;
use medinfra_server::{ApiError, AppState, Caller};

use crate::i18n::{Lang, Tr};

/// The cookie holding the session's CSRF token for server-rendered forms (HttpOnly: only the
/// server reads it, to put it in the forms it renders).
pub const CSRF_COOKIE: &str = "medinfra_csrf";

/// Where the web UI finds what the API does not hold.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The key directory (the workspace re-keys stored tokens per project).
    pub key_dir: PathBuf,
    /// SSK master CSVs for `master_name` in SQL.
    pub masters: Option<PathBuf>,
}

/// The UI's state: the API's plus its own configuration.
#[derive(Clone)]
pub struct Web {
    pub app: AppState,
    pub config: Arc<WebConfig>,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The request as a page sees it.
pub struct Ctx {
    pub lang: Lang,
    pub t: &'static Tr,
    pub caller: Caller,
    pub csrf: String,
    pub path: String,
    pub nav: Vec<NavItem>,
}

impl Ctx {
    pub fn signed_in(&self) -> bool {
        self.caller.signed_in()
    }

    pub fn username(&self) -> &str {
        &self.caller.actor.user
    }

    pub fn role(&self) -> Role {
        self.caller.actor.role
    }

    pub fn role_name(&self) -> &'static str {
        self.caller.actor.role.as_str()
    }

    /// Whether `can` allows `action` on a resource of no particular project (navigation only:
    /// every handler decides again on the real resource).
    pub fn may(&self, action: Action, tier: Tier) -> bool {
        can(
            &self.caller.actor,
            action,
            &Resource::of(tier),
            self.caller.today,
        )
        .allowed
    }

    /// The error page for `e`. As in the API (401 for the public, 403 for a signed-in
    /// user), a refusal sends the public to the sign-in page.
    pub fn fail(&self, e: impl Into<WebError>) -> PageError {
        let error = match e.into() {
            WebError::Denied(_) if !self.signed_in() => WebError::SignIn,
            other => other,
        };
        PageError {
            lang: self.lang,
            error,
            signed_in: self.signed_in(),
        }
    }

    /// The language-switch link for this page.
    pub fn switch_href(&self) -> String {
        format!(
            "/ui/lang/{}?back={}",
            self.lang.other().code(),
            encode(&self.path)
        )
    }
}

/// Percent-encoding for a query value.
pub fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

fn nav_for(caller: &Caller, path: &str, t: &'static Tr) -> Vec<NavItem> {
    let role = caller.actor.role;
    let mut items: Vec<(&'static str, &'static str)> = vec![
        ("/ui", t.home),
        ("/ui/catalog", t.catalog),
        ("/ui/sample", t.sample_workspace),
    ];
    if matches!(
        role,
        Role::Researcher | Role::AuthorizedUser | Role::Reviewer | Role::Operator
    ) {
        items.push(("/ui/applications", t.applications));
    }
    if matches!(role, Role::Researcher | Role::AuthorizedUser) {
        items.push(("/ui/projects", t.projects));
    }
    if matches!(role, Role::Reviewer) {
        items.push(("/ui/releases", t.releases));
    }
    if matches!(role, Role::Operator) {
        items.push(("/ui/runs", t.runs));
    }
    if matches!(role, Role::Auditor | Role::Operator) {
        items.push(("/ui/audit", t.audit));
    }
    if matches!(role, Role::Operator) {
        items.push(("/ui/admin", t.admin));
    }
    items
        .into_iter()
        .map(|(href, label)| NavItem {
            href,
            label,
            current: if href == "/ui" {
                path == "/ui"
            } else {
                path.starts_with(href)
            },
        })
        .collect()
}

impl FromRequestParts<Web> for Ctx {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, PageError> {
        let lang = Lang::of(&parts.headers);
        let caller = match Caller::from_request_parts(parts, &web.app).await {
            Ok(c) => c,
            Err(e) => {
                return Err(PageError {
                    lang,
                    error: e.into(),
                    signed_in: false,
                });
            }
        };
        let csrf = medinfra_server::auth::cookie(&parts.headers, CSRF_COOKIE)
            .unwrap_or("")
            .to_string();
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/ui".into());
        let t = lang.tr();
        let nav = nav_for(&caller, parts.uri.path(), t);
        Ok(Ctx {
            lang,
            t,
            caller,
            csrf,
            path,
            nav,
        })
    }
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum WebError {
    SignIn,
    Denied(String),
    NotFound(String),
    Bad(String),
    /// Over a limit (sign-in attempts, queries per minute): 429.
    TooMany(String),
    /// No query slot free, or the server is stopping: 503.
    Busy(String),
    Internal(String),
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized => WebError::SignIn,
            ApiError::Forbidden(rule) => WebError::Denied(rule.to_string()),
            ApiError::NotFound(m) => WebError::NotFound(m),
            ApiError::BadRequest(m) | ApiError::Conflict(m) => WebError::Bad(m),
            ApiError::TooMany | ApiError::RateLimited { .. } => WebError::TooMany(e.to_string()),
            ApiError::Busy => WebError::Busy(e.to_string()),
            ApiError::Audit(m) | ApiError::Internal(m) => WebError::Internal(m),
        }
    }
}

impl From<medinfra_research::ResearchError> for WebError {
    fn from(e: medinfra_research::ResearchError) -> Self {
        use medinfra_research::ResearchError as R;
        match e {
            R::Denied { rule, .. } => WebError::Denied(rule.to_string()),
            R::NotFound(m) => WebError::NotFound(m),
            R::Invalid(m) => WebError::Bad(m),
            R::Analysis(a) => WebError::from(a),
            R::Disclosure(d) => WebError::Bad(d.to_string()),
            R::Registry(medinfra_govern::RegistryError::NotFound(m)) => {
                WebError::NotFound(m.to_string())
            }
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<medinfra_analysis::AnalysisError> for WebError {
    fn from(e: medinfra_analysis::AnalysisError) -> Self {
        use medinfra_analysis::AnalysisError as A;
        match e {
            A::Denied { rule, .. } => WebError::Denied(rule.to_string()),
            // Errors in the user's SQL (and refusals of what the workspace forbids) are
            // shown to the user: they name the user's own text, never data.
            A::TierNotAllowed(_)
            | A::TierMismatch { .. }
            | A::DuplicateTable { .. }
            | A::BadProject(_)
            | A::BadResultName { .. }
            | A::Refused(_)
            | A::Timeout(_)
            | A::MemoryLimit { .. }
            | A::Query(_) => WebError::Bad(e.to_string()),
            // Files, the catalog and the audit log are the system's business: logged, not
            // shown (their messages name server paths).
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<medinfra_store::StoreError> for WebError {
    fn from(e: medinfra_store::StoreError) -> Self {
        match e {
            medinfra_store::StoreError::NoSuchDataset(_)
            | medinfra_store::StoreError::NoSuchVersion { .. } => WebError::NotFound(e.to_string()),
            other => WebError::Internal(other.to_string()),
        }
    }
}

/// An error page, in the request's language.
#[derive(Debug)]
pub struct PageError {
    pub lang: Lang,
    pub error: WebError,
    pub signed_in: bool,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: &'static Tr,
    lang: &'a str,
    heading: &'a str,
    message: &'a str,
    sign_in: bool,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let t = self.lang.tr();
        let (status, heading, message) = match &self.error {
            WebError::SignIn => {
                // A browser with no (or an expired) session goes to the sign-in page.
                return Redirect::to("/ui/login").into_response();
            }
            WebError::Denied(rule) => (StatusCode::FORBIDDEN, t.denied, format!("rule: {rule}")),
            WebError::NotFound(m) => (StatusCode::NOT_FOUND, t.not_found, m.clone()),
            WebError::Bad(m) => (StatusCode::BAD_REQUEST, t.error, m.clone()),
            WebError::TooMany(m) => (StatusCode::TOO_MANY_REQUESTS, t.error, m.clone()),
            WebError::Busy(m) => (StatusCode::SERVICE_UNAVAILABLE, t.error, m.clone()),
            WebError::Internal(m) => {
                tracing::error!(error = %m, "web page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    t.error,
                    "internal error".to_string(),
                )
            }
        };
        let page = ErrorPage {
            t,
            lang: self.lang.code(),
            heading,
            message: &message,
            sign_in: !self.signed_in && matches!(self.error, WebError::Denied(_)),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, heading.to_string()).into_response(),
        }
    }
}

/// Render a template as a page.
pub fn render(ctx: &Ctx, page: &impl Template) -> Result<Response, PageError> {
    let html = page
        .render()
        .map_err(|e| ctx.fail(WebError::Internal(e.to_string())))?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

pub type PageResult = Result<Response, PageError>;
