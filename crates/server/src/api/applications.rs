//! Applications (`Apply`), reviews (`Review`) and projects. Reviewers see every application and
//! project; everyone else sees those they applied for or belong to.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use medinfra_govern::{Action, NewApplication, Resource, ReviewDecision, can};
use medinfra_model::Tier;

use crate::AppState;
use crate::api::names::{ApplyTier, Decision};
use crate::api::{iso_date, parse_date};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

const REGISTRY: Resource = Resource::of(Tier::Statistics);

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApplicationRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(min_items = 1)]
    pub datasets: Vec<String>,
    pub tier: ApplyTier,
    pub purpose: String,
    pub protocol: String,
    /// Usernames of the other members.
    #[serde(default)]
    pub members: Vec<String>,
    #[schema(format = Date)]
    pub requested_from: String,
    #[schema(format = Date)]
    pub requested_to: String,
    /// Asks to link the data with the NDB (連結利用; pseudonymized tier only): the approved
    /// project's workspace shows the keyed linkage columns, re-keyed for the project.
    #[serde(default)]
    pub ndb_linkage: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewEventView {
    /// submitted, revised, approve, reject or request_changes.
    pub event: String,
    pub by: Option<String>,
    pub comment: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: i64,
    pub applicant: String,
    pub organization: String,
    pub title: String,
    pub tier: String,
    pub datasets: Vec<String>,
    pub purpose: String,
    pub protocol: String,
    pub members: Vec<String>,
    #[schema(format = Date)]
    pub requested_from: String,
    #[schema(format = Date)]
    pub requested_to: String,
    pub ndb_linkage: bool,
    /// submitted, changes_requested, approved or rejected.
    pub status: String,
    pub history: Vec<ReviewEventView>,
    pub project: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewRequest {
    pub decision: Decision,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub dataset: String,
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    pub name: String,
    pub application_id: i64,
    pub organization: String,
    pub tier: String,
    #[schema(format = Date)]
    pub starts: String,
    #[schema(format = Date)]
    pub expires: String,
    pub active: bool,
    /// Approved to link with the NDB: its workspace shows the keyed linkage columns.
    pub ndb_linkage: bool,
    pub members: Vec<String>,
    pub grants: Vec<GrantView>,
}

fn view(a: medinfra_govern::Application) -> ApplicationView {
    ApplicationView {
        id: a.id,
        applicant: a.applicant,
        organization: a.organization,
        title: a.title,
        tier: a.tier.as_str().into(),
        datasets: a.datasets,
        purpose: a.purpose,
        protocol: a.protocol,
        members: a.members,
        requested_from: iso_date(a.requested_from),
        requested_to: iso_date(a.requested_to),
        ndb_linkage: a.ndb_linkage,
        status: a.status.as_str().into(),
        history: a
            .history
            .into_iter()
            .map(|h| ReviewEventView {
                event: h.event,
                by: h.by,
                comment: h.comment,
                at: h.at,
            })
            .collect(),
        project: a.project,
    }
}

fn project_view(p: medinfra_govern::Project) -> ProjectView {
    ProjectView {
        name: p.name,
        application_id: p.application_id,
        organization: p.organization,
        tier: p.tier.as_str().into(),
        starts: iso_date(p.starts),
        expires: iso_date(p.expires),
        active: p.active,
        ndb_linkage: p.ndb_linkage,
        members: p.members,
        grants: p
            .grants
            .into_iter()
            .map(|g| GrantView {
                dataset: g.dataset,
                version: g.version,
            })
            .collect(),
    }
}

fn parse_request(req: ApplicationRequest) -> Result<NewApplication, ApiError> {
    Ok(NewApplication {
        tier: req.tier.into(),
        requested_from: parse_date("requested_from", &req.requested_from)?,
        requested_to: parse_date("requested_to", &req.requested_to)?,
        title: req.title,
        datasets: req.datasets,
        purpose: req.purpose,
        protocol: req.protocol,
        members: req.members,
        ndb_linkage: req.ndb_linkage,
    })
}

/// Whether the caller sees everything (reviewers) — not audited by itself: the handler records
/// what it returns.
fn sees_all(caller: &Caller) -> bool {
    can(&caller.actor, Action::Review, &REGISTRY, caller.today).allowed
}

/// Applications: all for reviewers, else the caller's own.
#[utoipa::path(get, path = "/api/applications", tag = "applications",
    responses((status = 200, body = Vec<ApplicationView>), (status = 401, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ApplicationView>>, ApiError> {
    caller.require_signed_in()?;
    let all = sees_all(&caller);
    state
        .record(
            &caller.actor.user,
            "read_applications",
            if all {
                "applications (all)"
            } else {
                "applications (own)"
            },
            "allowed",
            String::new(),
        )
        .await?;
    let who = (!all).then_some(caller.actor.user.as_str());
    Ok(Json(
        state
            .registry
            .applications(who)
            .await?
            .into_iter()
            .map(view)
            .collect(),
    ))
}

/// Apply for data.
#[utoipa::path(post, path = "/api/applications", tag = "applications", request_body = ApplicationRequest,
    responses((status = 201, body = ApplicationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ApplicationRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let app = parse_request(req)?;
    let resource = Resource::of(app.tier);
    state
        .require(
            &caller,
            Action::Apply,
            &resource,
            &format!("application ({})", app.tier),
        )
        .await?;
    let a = state
        .registry
        .submit_application(&caller.actor.user, &app)
        .await?;
    Ok((StatusCode::CREATED, Json(view(a))))
}

async fn visible_application(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<medinfra_govern::Application, ApiError> {
    caller.require_signed_in()?;
    let a = state.registry.application(id).await?;
    let mine = a.applicant == caller.actor.user || a.members.contains(&caller.actor.user);
    let ok = mine || sees_all(caller);
    state
        .record(
            &caller.actor.user,
            "read_application",
            &format!("application {id}"),
            if ok { "allowed" } else { "denied" },
            if ok {
                "rule own-or-reviewer".into()
            } else {
                "rule deny-by-default".into()
            },
        )
        .await?;
    if !ok {
        return Err(ApiError::Forbidden("deny-by-default"));
    }
    Ok(a)
}

/// One application with its review history.
#[utoipa::path(get, path = "/api/applications/{id}", tag = "applications", params(("id" = i64, Path)),
    responses((status = 200, body = ApplicationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ApplicationView>, ApiError> {
    Ok(Json(view(visible_application(&state, &caller, id).await?)))
}

/// Revise an application sent back for changes.
#[utoipa::path(put, path = "/api/applications/{id}", tag = "applications", params(("id" = i64, Path)),
    request_body = ApplicationRequest,
    responses((status = 200, body = ApplicationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn revise(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ApplicationRequest>,
) -> Result<Json<ApplicationView>, ApiError> {
    let app = parse_request(req)?;
    let resource = Resource::of(app.tier);
    state
        .require(
            &caller,
            Action::Apply,
            &resource,
            &format!("application {id} (revise)"),
        )
        .await?;
    let a = state
        .registry
        .revise_application(&caller.actor.user, id, &app)
        .await?;
    Ok(Json(view(a)))
}

/// A reviewer's decision; approval creates the project.
#[utoipa::path(post, path = "/api/applications/{id}/reviews", tag = "applications", params(("id" = i64, Path)),
    request_body = ReviewRequest,
    responses((status = 200, body = ApplicationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<Json<ApplicationView>, ApiError> {
    let decision = ReviewDecision::from(req.decision);
    state
        .require(
            &caller,
            Action::Review,
            &REGISTRY,
            &format!("application {id} ({})", decision.as_str()),
        )
        .await?;
    let a = state
        .registry
        .review(&caller.actor.user, id, decision, &req.comment, caller.today)
        .await?;
    Ok(Json(view(a)))
}

/// Projects: all for reviewers, else the caller's own.
#[utoipa::path(get, path = "/api/projects", tag = "applications",
    responses((status = 200, body = Vec<ProjectView>), (status = 401, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn projects(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ProjectView>>, ApiError> {
    caller.require_signed_in()?;
    let all = sees_all(&caller);
    state
        .record(
            &caller.actor.user,
            "read_projects",
            if all {
                "projects (all)"
            } else {
                "projects (own)"
            },
            "allowed",
            String::new(),
        )
        .await?;
    let who = (!all).then_some(caller.actor.user.as_str());
    Ok(Json(
        state
            .registry
            .projects(who)
            .await?
            .into_iter()
            .map(project_view)
            .collect(),
    ))
}

/// One project: members, granted dataset versions, tier, expiry.
#[utoipa::path(get, path = "/api/projects/{name}", tag = "applications", params(("name" = String, Path)),
    responses((status = 200, body = ProjectView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn project(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<ProjectView>, ApiError> {
    caller.require_signed_in()?;
    let p = state.registry.project(&name).await?;
    let ok = p.members.contains(&caller.actor.user) || sees_all(&caller);
    state
        .record(
            &caller.actor.user,
            "read_project",
            &format!("project {name}"),
            if ok { "allowed" } else { "denied" },
            if ok {
                "rule member-or-reviewer".into()
            } else {
                "rule deny-by-default".into()
            },
        )
        .await?;
    if !ok {
        return Err(ApiError::Forbidden("deny-by-default"));
    }
    Ok(Json(project_view(p)))
}
