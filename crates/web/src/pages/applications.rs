//! Applications: the applicant's list and form, the reviewers' queue, one application with its
//! review history, and the decision form. Submitting and deciding go through the API's
//! handlers, so the same validation, access rule and audit record apply.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use serde::Deserialize;

use medinfra_govern::{Action, Role};
use medinfra_model::Tier;
use medinfra_server::api::applications::{self as api, ApplicationView};
use medinfra_server::api::catalog::DatasetView;
use medinfra_server::extract::ApiJson;

use crate::ctx::{Ctx, PageResult, Web, WebError, render};

#[derive(Template)]
#[template(path = "applications.html")]
struct ListPage<'a> {
    ctx: &'a Ctx,
    applications: Vec<ApplicationView>,
    may_apply: bool,
}

fn may_apply(ctx: &Ctx) -> bool {
    ctx.may(Action::Apply, Tier::Anonymized) || ctx.may(Action::Apply, Tier::Pseudonymized)
}

pub async fn list(State(web): State<Web>, ctx: Ctx) -> PageResult {
    let applications = api::list(super::api(&web), ctx.caller.clone())
        .await
        .map_err(|e| ctx.fail(e))?
        .0;
    let may_apply = may_apply(&ctx);
    render(
        &ctx,
        &ListPage {
            ctx: &ctx,
            applications,
            may_apply,
        },
    )
}

#[derive(Template)]
#[template(path = "application_new.html")]
struct NewPage<'a> {
    ctx: &'a Ctx,
    datasets: Vec<DatasetView>,
    tiers: Vec<&'static str>,
    from: String,
    to: String,
    error: Option<String>,
}

async fn new_page(web: &Web, ctx: &Ctx, error: Option<String>) -> PageResult {
    if !may_apply(ctx) {
        return Err(ctx.fail(WebError::Denied("applicants-apply".into())));
    }
    let all = medinfra_server::api::catalog::list(super::api(web), ctx.caller.clone())
        .await
        .map_err(|e| ctx.fail(e))?
        .0;
    let mut tiers = vec!["anonymized"];
    if ctx.may(Action::Apply, Tier::Pseudonymized) {
        tiers.push("pseudonymized");
    }
    let datasets = all
        .into_iter()
        .filter(|d| tiers.contains(&d.tier.as_str()))
        .collect();
    let today = ctx.caller.today;
    render(
        ctx,
        &NewPage {
            ctx,
            datasets,
            tiers,
            from: medinfra_server::api::iso_date(today),
            to: medinfra_server::api::iso_date(today + 365),
            error,
        },
    )
}

pub async fn new_form(State(web): State<Web>, ctx: Ctx) -> PageResult {
    new_page(&web, &ctx, None).await
}

/// The form's fields (datasets may repeat: one per ticked box).
fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn list_field(s: &str) -> Vec<String> {
    s.split([',', '\n', ' ', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub async fn submit(
    State(web): State<Web>,
    ctx: Ctx,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let datasets: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "dataset")
        .map(|(_, v)| v.clone())
        .collect();
    let body = serde_json::json!({
        "title": field(&fields, "title"),
        "datasets": datasets,
        "tier": field(&fields, "tier"),
        "purpose": field(&fields, "purpose"),
        "protocol": field(&fields, "protocol"),
        "members": list_field(field(&fields, "members")),
        "requested_from": field(&fields, "requested_from"),
        "requested_to": field(&fields, "requested_to"),
        "ndb_linkage": field(&fields, "ndb_linkage") == "true",
    });
    let req: api::ApplicationRequest = match serde_json::from_value(body) {
        Ok(r) => r,
        Err(e) => return new_page(&web, &ctx, Some(e.to_string())).await,
    };
    match api::submit(super::api(&web), ctx.caller.clone(), ApiJson(req)).await {
        Ok(_) => {
            // The new application is the caller's latest.
            let mine = api::list(super::api(&web), ctx.caller.clone())
                .await
                .map_err(|e| ctx.fail(e))?
                .0;
            let id = mine.iter().map(|a| a.id).max().unwrap_or(0);
            Ok(super::see_other(&format!("/ui/applications/{id}")))
        }
        Err(medinfra_server::ApiError::BadRequest(m)) => new_page(&web, &ctx, Some(m)).await,
        Err(e) => Err(ctx.fail(e)),
    }
}

#[derive(Template)]
#[template(path = "application.html")]
struct DetailPage<'a> {
    ctx: &'a Ctx,
    a: ApplicationView,
    may_review: bool,
}

pub async fn detail(State(web): State<Web>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let a = api::get_one(super::api(&web), ctx.caller.clone(), super::path(id))
        .await
        .map_err(|e| ctx.fail(e))?
        .0;
    let may_review = ctx.role() == Role::Reviewer
        && matches!(a.status.as_str(), "submitted" | "changes_requested");
    render(
        &ctx,
        &DetailPage {
            ctx: &ctx,
            a,
            may_review,
        },
    )
}

#[derive(Deserialize)]
pub struct ReviewForm {
    decision: String,
    #[serde(default)]
    comment: String,
}

pub async fn review(
    State(web): State<Web>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ReviewForm>,
) -> PageResult {
    let req: api::ReviewRequest =
        serde_json::from_value(serde_json::json!({ "decision": f.decision, "comment": f.comment }))
            .map_err(|e| ctx.fail(WebError::Bad(e.to_string())))?;
    let _decided = api::review(
        super::api(&web),
        ctx.caller.clone(),
        super::path(id),
        ApiJson(req),
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok(super::see_other(&format!("/ui/applications/{id}")))
}
