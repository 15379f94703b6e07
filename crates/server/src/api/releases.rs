//! Release requests over the API: the same flow as the web pages and `medinfra release`
//! (`medinfra_research::release`): a member asks for a saved result to leave, the output
//! checks run (cells count the distinct persons behind them, ACRO's and the NDB's rules,
//! suppression, the differencing ledger), a reviewer who is not the requester decides, and an
//! approved table becomes a `statistics` dataset.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use medinfra_disclosure::DisclosureConfig;
use medinfra_research::{
    ReleaseRequest, ReleaseSpec, cell_counts, list_releases, load_release, parse_mitigation,
    parse_statistic, privacy_budget, request_release, review_release, set_privacy_budget,
};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReleaseRequestBody {
    /// A saved result of the project, one row per record with its person column.
    pub result: String,
    /// Row variables (at least one).
    pub rows: Vec<String>,
    #[serde(default)]
    pub cols: Vec<String>,
    /// count (default), sum, mean, median, min, max, std, mode.
    pub statistic: Option<String>,
    /// The value column (every statistic but count).
    pub value: Option<String>,
    /// The column saying whom each row is about (default: person_id, person_token,
    /// patient_id or release_id, whichever the result has).
    pub person_column: Option<String>,
    #[serde(default)]
    pub margins: bool,
    /// suppress (default), round:BASE (at least the configured minimum), dp:EPSILON (the
    /// Laplace mechanism, spent from the project's privacy budget), none.
    pub mitigation: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseView {
    pub id: String,
    pub project: String,
    pub result: String,
    pub requested_by: String,
    pub requested_at: String,
    /// pending, approved or rejected.
    pub status: String,
    pub reviewer: Option<String>,
    pub comment: Option<String>,
    /// `dataset@vN` once approved.
    pub released_dataset: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseCheckView {
    pub request: ReleaseView,
    pub cells: usize,
    /// Cells blanked by the checks.
    pub primary: usize,
    /// Cells blanked to protect them.
    pub secondary: usize,
    pub differencing_findings: usize,
    /// pass, review or fail, after the mitigation.
    pub status: String,
    /// The checks' findings, as text.
    pub assessment: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReleaseReview {
    pub approve: bool,
    #[serde(default)]
    pub comment: String,
}

fn view(r: &ReleaseRequest) -> ReleaseView {
    ReleaseView {
        id: r.id.clone(),
        project: r.project.clone(),
        result: r.result.clone(),
        requested_by: r.requested_by.clone(),
        requested_at: r.requested_at.clone(),
        status: r.status.as_str().into(),
        reviewer: r.reviewer.clone(),
        comment: r.comment.clone(),
        released_dataset: r.released_dataset.clone(),
    }
}

fn checked_view(
    r: &ReleaseRequest,
    checked: &medinfra_disclosure::ReleaseCheck,
) -> ReleaseCheckView {
    let (cells, primary, secondary) = cell_counts(checked);
    ReleaseCheckView {
        request: view(r),
        cells,
        primary,
        secondary,
        differencing_findings: checked.differencing.len(),
        status: format!("{:?}", checked.cleaned.status).to_lowercase(),
        assessment: medinfra_disclosure::render::assessment_text(&checked.assessment),
    }
}

/// Ask for a saved result of the project to leave: the output checks run now; a reviewer
/// decides later.
#[utoipa::path(post, path = "/api/projects/{name}/releases", tag = "releases", request_body = ReleaseRequestBody,
    params(("name" = String, Path, description = "project")),
    responses((status = 201, body = ReleaseCheckView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn request(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<ReleaseRequestBody>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_signed_in()?;
    let spec = ReleaseSpec {
        result: body.result,
        rows: body.rows,
        cols: body.cols,
        value: body.value,
        person: body.person_column,
        statistic: parse_statistic(body.statistic.as_deref().unwrap_or("count"))?,
        margins: body.margins,
        mitigation: parse_mitigation(body.mitigation.as_deref().unwrap_or("suppress"))?,
        config: DisclosureConfig::default(),
    };
    let (req, checked) =
        request_release(state.store(), &caller.actor, &name, spec, caller.today).await?;
    Ok((StatusCode::CREATED, Json(checked_view(&req, &checked))))
}

/// The project's release requests (members and reviewers).
#[utoipa::path(get, path = "/api/projects/{name}/releases", tag = "releases",
    params(("name" = String, Path, description = "project")),
    responses((status = 200, body = Vec<ReleaseView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<ReleaseView>>, ApiError> {
    caller.require_signed_in()?;
    let all = list_releases(state.store(), &caller.actor, &name, caller.today).await?;
    Ok(Json(all.iter().map(view).collect()))
}

/// One release request with its checks (members and reviewers).
#[utoipa::path(get, path = "/api/releases/{id}", tag = "releases",
    params(("id" = String, Path, description = "PROJECT-N")),
    responses((status = 200, body = ReleaseCheckView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ReleaseCheckView>, ApiError> {
    caller.require_signed_in()?;
    let (req, checked) = load_release(state.store(), &caller.actor, &id, caller.today).await?;
    Ok(Json(checked_view(&req, &checked)))
}

/// A reviewer's decision (never on their own request); approval publishes the cleaned table
/// as a `statistics` dataset.
#[utoipa::path(post, path = "/api/releases/{id}/review", tag = "releases", request_body = ReleaseReview,
    params(("id" = String, Path, description = "PROJECT-N")),
    responses((status = 200, body = ReleaseView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReleaseReview>,
) -> Result<Json<ReleaseView>, ApiError> {
    caller.require_signed_in()?;
    let req = review_release(
        state.store(),
        &caller.actor,
        &id,
        body.approve,
        &body.comment,
        caller.today,
    )
    .await?;
    Ok(Json(view(&req)))
}

/// A project's privacy budget for DP releases, in epsilon.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyBudgetView {
    pub project: String,
    /// False: no budget is set and DP releases are refused (the amounts are then 0).
    pub set: bool,
    pub epsilon_total: f64,
    pub epsilon_spent: f64,
    pub epsilon_remaining: f64,
    pub set_by: Option<String>,
    pub set_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PrivacyBudgetBody {
    /// The project's total epsilon (never below what is already spent).
    pub epsilon: f64,
}

fn budget_view(project: &str, b: Option<medinfra_govern::DpBudget>) -> PrivacyBudgetView {
    match b {
        Some(b) => PrivacyBudgetView {
            project: project.to_string(),
            set: true,
            epsilon_total: b.total_micros as f64 / 1e6,
            epsilon_spent: b.spent_micros as f64 / 1e6,
            epsilon_remaining: b.remaining_micros() as f64 / 1e6,
            set_by: Some(b.set_by),
            set_at: Some(b.set_at),
        },
        None => PrivacyBudgetView {
            project: project.to_string(),
            set: false,
            epsilon_total: 0.0,
            epsilon_spent: 0.0,
            epsilon_remaining: 0.0,
            set_by: None,
            set_at: None,
        },
    }
}

/// The project's privacy budget: what DP releases have spent and what is left (members and
/// reviewers).
#[utoipa::path(get, path = "/api/projects/{name}/privacy-budget", tag = "releases",
    params(("name" = String, Path, description = "project")),
    responses((status = 200, body = PrivacyBudgetView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn get_budget(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<PrivacyBudgetView>, ApiError> {
    caller.require_signed_in()?;
    let b = privacy_budget(state.store(), &caller.actor, &name, caller.today).await?;
    Ok(Json(budget_view(&name, b)))
}

/// Set or raise the project's privacy budget (operators; spent epsilon is never given back).
#[utoipa::path(put, path = "/api/projects/{name}/privacy-budget", tag = "releases", request_body = PrivacyBudgetBody,
    params(("name" = String, Path, description = "project")),
    responses((status = 200, body = PrivacyBudgetView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn set_budget(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<PrivacyBudgetBody>,
) -> Result<Json<PrivacyBudgetView>, ApiError> {
    caller.require_signed_in()?;
    let b = set_privacy_budget(
        state.store(),
        &caller.actor,
        &name,
        body.epsilon,
        caller.today,
    )
    .await?;
    Ok(Json(budget_view(&name, Some(b))))
}
