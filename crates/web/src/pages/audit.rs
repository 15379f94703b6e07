//! The audit log with its chain verification (auditors and operators; the API's handlers
//! decide and record the reading itself).

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use medinfra_server::api::audit::{self as api, AuditEntryView, AuditQuery, VerifyView};

use crate::ctx::{Ctx, PageResult, Web, render};

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    ctx: &'a Ctx,
    entries: Vec<AuditEntryView>,
    verify: VerifyView,
    limit: u32,
}

#[derive(Deserialize)]
pub struct Limit {
    limit: Option<u32>,
}

pub async fn page(State(web): State<Web>, ctx: Ctx, Query(q): Query<Limit>) -> PageResult {
    let limit = q.limit.unwrap_or(200).clamp(1, 10_000);
    let verify = api::verify(super::api(&web), ctx.caller.clone())
        .await
        .map_err(|e| ctx.fail(e))?
        .0;
    let entries = api::entries(
        super::api(&web),
        ctx.caller.clone(),
        super::query(AuditQuery { limit: Some(limit) }),
    )
    .await
    .map_err(|e| ctx.fail(e))?
    .0;
    render(
        &ctx,
        &AuditPage {
            ctx: &ctx,
            entries,
            verify,
            limit,
        },
    )
}
