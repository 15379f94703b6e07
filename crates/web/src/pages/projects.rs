//! The caller's projects (members see theirs; reviewers and operators all).

use askama::Template;
use axum::extract::State;

use medinfra_server::api::applications::ProjectView;

use crate::ctx::{Ctx, PageResult, Web, render};

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage<'a> {
    ctx: &'a Ctx,
    projects: Vec<ProjectView>,
}

pub async fn list(State(web): State<Web>, ctx: Ctx) -> PageResult {
    let projects =
        medinfra_server::api::applications::projects(super::api(&web), ctx.caller.clone())
            .await
            .map_err(|e| ctx.fail(e))?
            .0;
    render(
        &ctx,
        &ProjectsPage {
            ctx: &ctx,
            projects,
        },
    )
}
