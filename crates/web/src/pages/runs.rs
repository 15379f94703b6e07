//! Pipeline runs (operators): steps running now with their live progress (the CLI's
//! progress reporter writes `DATA_DIR/runs/*.json` as it goes; this page refreshes itself
//! while any runs), the latest version each step produced, and the reports the steps wrote
//! (ingest quarantine reports, anonymization and linkage reports) under `DATA_DIR/reports`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;

use medinfra_govern::{Action, Resource, can};
use medinfra_model::Tier;
use medinfra_server::api::catalog::DatasetView;

use crate::ctx::{Ctx, PageError, PageResult, Web, WebError, render};

/// A run record as the CLI writes it.
#[derive(Debug, Clone, Deserialize)]
pub struct RunRecord {
    pub step: String,
    pub done: u64,
    pub total: u64,
    pub unit: String,
    pub started_at: String,
    /// Seconds since 1970-01-01 of the last update.
    pub updated: i64,
    /// `running` or `finished`.
    pub state: String,
}

impl RunRecord {
    pub fn percent(&self) -> u64 {
        (self.done * 100)
            .checked_div(self.total)
            .unwrap_or(0)
            .min(100)
    }

    /// A run that has not reported for a minute has died (killed, crashed).
    pub fn stalled(&self, now: &i64) -> bool {
        self.state == "running" && *now - self.updated > 60
    }
}

pub struct ReportDir {
    pub name: String,
    pub files: Vec<String>,
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage<'a> {
    ctx: &'a Ctx,
    runs: Vec<RunRecord>,
    live: bool,
    now: i64,
    latest: Vec<DatasetView>,
    reports: Vec<ReportDir>,
}

/// Only the operators, who run the pipeline, see its runs and reports.
async fn require_operator(web: &Web, ctx: &Ctx, what: &str) -> Result<(), PageError> {
    let resource = Resource::of(Tier::Identified);
    let d = can(
        &ctx.caller.actor,
        Action::Write,
        &resource,
        ctx.caller.today,
    );
    web.app
        .enforce(&ctx.caller, Action::Write, what, &d)
        .await
        .map_err(|e| ctx.fail(e))
}

fn read_runs(web: &Web) -> Vec<RunRecord> {
    let mut runs: Vec<RunRecord> = web
        .app
        .store()
        .run_records()
        .iter()
        .filter_map(|b| serde_json::from_slice(b).ok())
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.updated));
    runs.truncate(50);
    runs
}

fn read_reports(web: &Web) -> Vec<ReportDir> {
    let mut out: Vec<ReportDir> = web
        .app
        .store()
        .reports(|n| viewable(n).is_some())
        .into_iter()
        .map(|r| ReportDir {
            name: r.name,
            files: r.files,
        })
        .collect();
    out.sort_by(|a, b| b.name.cmp(&a.name));
    out.truncate(200);
    out
}

fn viewable(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1;
    Some(match ext {
        "txt" | "md" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "html" => "text/html; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        _ => return None,
    })
}

pub async fn page(State(web): State<Web>, ctx: Ctx) -> PageResult {
    require_operator(&web, &ctx, "pipeline runs").await?;
    let runs = read_runs(&web);
    let now = medinfra_govern::now_unix();
    let live = runs
        .iter()
        .any(|r| r.state == "running" && !r.stalled(&now));
    let mut latest = medinfra_server::api::catalog::list(super::api(&web), ctx.caller.clone())
        .await
        .map_err(|e| ctx.fail(e))?
        .0;
    latest.sort_by(|a, b| b.latest.created_at.cmp(&a.latest.created_at));
    let reports = read_reports(&web);
    render(
        &ctx,
        &RunsPage {
            ctx: &ctx,
            runs,
            live,
            now,
            latest,
            reports,
        },
    )
}

/// One report file. Names are checked to be plain names of existing entries (no paths).
pub async fn report(
    State(web): State<Web>,
    ctx: Ctx,
    Path((dir, file)): Path<(String, String)>,
) -> PageResult {
    require_operator(&web, &ctx, &format!("report {dir}/{file}")).await?;
    let Some(kind) = viewable(&file) else {
        return Err(ctx.fail(WebError::NotFound("no such report".into())));
    };
    let bytes = web
        .app
        .store()
        .read_report(&dir, &file)
        .await
        .map_err(|_| ctx.fail(WebError::NotFound("no such report".into())))?;
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            // Reports are our own files; still, no script runs from them.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            ),
        ],
        bytes,
    )
        .into_response())
}
