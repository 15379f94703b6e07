//! The first page: what the caller can do, and the open data everyone can take.

use askama::Template;
use axum::extract::State;

use medinfra_server::api::catalog::DatasetView;

use crate::ctx::{Ctx, PageResult, Web, render};

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    ctx: &'a Ctx,
    open: Vec<DatasetView>,
}

pub async fn page(State(web): State<Web>, ctx: Ctx) -> PageResult {
    let all = medinfra_server::api::catalog::list(super::api(&web), ctx.caller.clone())
        .await
        .map_err(|e| ctx.fail(e))?
        .0;
    let open = all
        .into_iter()
        .filter(|d| d.tier == "sample" || d.tier == "statistics")
        .collect();
    render(&ctx, &Home { ctx: &ctx, open })
}
