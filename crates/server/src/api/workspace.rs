//! A project's workspace over the API: SQL on the project's views (tokens re-keyed for the
//! project, dropped columns absent), saved results inside the workspace. The same workspace the
//! web pages and `medinfra query` open (`medinfra_research::open_workspace`), so the same
//! views, limits, plan checks and audit hold on every path; queries run in the server's
//! [`QueryPool`](crate::QueryPool).
//!
//! Rows of a pseudonymized project are never handed to a client program (rule
//! `pseudonymized-rows-stay-in-workspace`): there, SQL saves results inside the workspace,
//! which leave only through output checking.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use medinfra_analysis::{AnalysisError, Limits, QueryOutput, ResultInfo, Workspace};
use medinfra_govern::{Action, Resource, Via};
use medinfra_research::{Opening, ResearchError, open_workspace};

use crate::AppState;
use crate::api::TextRow;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

/// Most rows one API query returns.
pub const MAX_API_ROWS: u32 = 1000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct QueryRequest {
    /// One SELECT over the project's views and saved results.
    pub sql: String,
    /// Rows to return (1-1000, default 100); the total is still counted.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueryView {
    pub columns: Vec<String>,
    /// Values rendered as text; null where the cell is null.
    pub rows: Vec<Vec<Option<String>>>,
    pub total_rows: u64,
    pub truncated: bool,
    /// What the query read: `dataset@vN#sha256` for data, `result:NAME` for saved results.
    pub read: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SaveRequest {
    /// The result's name (letters, digits, `_`; not a view's name).
    pub name: String,
    pub sql: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultView {
    pub name: String,
    pub rows: u64,
    pub inputs: Vec<String>,
    pub created_at: String,
    pub created_by: String,
}

impl From<&ResultInfo> for ResultView {
    fn from(r: &ResultInfo) -> Self {
        ResultView {
            name: r.name.clone(),
            rows: r.rows,
            inputs: r.inputs.clone(),
            created_at: r.created_at.clone(),
            created_by: r.created_by.clone(),
        }
    }
}

impl From<AnalysisError> for ApiError {
    fn from(e: AnalysisError) -> Self {
        match e {
            AnalysisError::Denied { rule, .. } => ApiError::Forbidden(rule),
            // Errors in the caller's SQL and what the workspace refuses name the caller's own
            // text, never data.
            AnalysisError::TierNotAllowed(_)
            | AnalysisError::TierMismatch { .. }
            | AnalysisError::DuplicateTable { .. }
            | AnalysisError::BadProject(_)
            | AnalysisError::BadResultName { .. }
            | AnalysisError::Refused(_)
            | AnalysisError::Timeout(_)
            | AnalysisError::MemoryLimit { .. }
            | AnalysisError::Query(_) => ApiError::BadRequest(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ResearchError> for ApiError {
    fn from(e: ResearchError) -> Self {
        match e {
            ResearchError::Denied { rule, .. } => ApiError::Forbidden(rule),
            ResearchError::NotFound(m) => ApiError::NotFound(m),
            ResearchError::Invalid(m) => ApiError::BadRequest(m),
            ResearchError::Analysis(a) => a.into(),
            ResearchError::Disclosure(d) => ApiError::BadRequest(d.to_string()),
            ResearchError::Registry(r) => r.into(),
            ResearchError::Store(s) => s.into(),
            ResearchError::Audit(a) => a.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Decide (and audit) the access the request asks for, then open the project's workspace,
/// which decides and audits every query again.
async fn open(
    state: &AppState,
    caller: &Caller,
    project: &str,
    via: Via,
) -> Result<Workspace, ApiError> {
    caller.require_signed_in()?;
    let p = state.registry.project(project).await?;
    state
        .require(
            caller,
            Action::Read,
            &Resource::in_project(p.tier, p.name.as_str()).via(via),
            &format!("project {} ({}) via {}", p.name, p.tier, via.as_str()),
        )
        .await?;
    let limits = Limits {
        max_rows_shown: MAX_API_ROWS as usize,
        ..state.query_limits.clone()
    };
    Ok(open_workspace(
        state.store(),
        state.key_dir(),
        caller.actor.clone(),
        &Opening::Project(p.name),
        limits,
        state.masters(),
        caller.today,
    )
    .await?)
}

fn rows_of(out: &QueryOutput, limit: usize) -> Result<Vec<TextRow>, ApiError> {
    let mut rows = Vec::new();
    for batch in &out.batches {
        crate::api::push_text_rows(batch, &mut rows, limit)?;
    }
    Ok(rows)
}

/// Run one SELECT on the project's views; its rows come back (never for a pseudonymized
/// project: save a result there instead).
#[utoipa::path(post, path = "/api/projects/{name}/query", tag = "workspace", request_body = QueryRequest,
    params(("name" = String, Path, description = "project")),
    responses((status = 200, body = QueryView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 500, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn query(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<QueryRequest>,
) -> Result<Json<QueryView>, ApiError> {
    let limit = req.limit.unwrap_or(100);
    if !(1..=MAX_API_ROWS).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit: 1-{MAX_API_ROWS}")));
    }
    let ws = open(&state, &caller, &name, Via::Api).await?;
    let sql = req.sql;
    let out = state
        .pool()
        .run(&caller.client(), state.query_limits.timeout, async move {
            ws.query(&sql).await
        })
        .await??;
    Ok(Json(QueryView {
        columns: out
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
        rows: rows_of(&out, limit as usize)?,
        total_rows: out.total_rows,
        truncated: out.total_rows > u64::from(limit),
        read: out.read,
    }))
}

/// Run one SELECT and keep its rows inside the workspace as result `name` (later SQL of the
/// project reads it; a release request takes it out through output checking).
#[utoipa::path(post, path = "/api/projects/{name}/results", tag = "workspace", request_body = SaveRequest,
    params(("name" = String, Path, description = "project")),
    responses((status = 201, body = ResultView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 500, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn save(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<SaveRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let mut ws = open(&state, &caller, &name, Via::Workspace).await?;
    let info = state
        .pool()
        .run(&caller.client(), state.query_limits.timeout, async move {
            ws.save_result(&req.name, &req.sql).await
        })
        .await??;
    Ok((StatusCode::CREATED, Json(ResultView::from(&info))))
}

/// The project's saved results.
#[utoipa::path(get, path = "/api/projects/{name}/results", tag = "workspace",
    params(("name" = String, Path, description = "project")),
    responses((status = 200, body = Vec<ResultView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<ResultView>>, ApiError> {
    let ws = open(&state, &caller, &name, Via::Workspace).await?;
    Ok(Json(
        ws.results().into_iter().map(ResultView::from).collect(),
    ))
}
