//! The analysis workspace: a project's (or the open sample data's) views, the SQL editor,
//! results with paging, SVG charts, saved result tables, and the release-request form.
//! Every request opens the workspace through `medinfra-research`, which decides access with
//! `can` and audits; the query runs with the workspace's limits.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use sha2::Digest;

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use medinfra_analysis::{Limits, QueryOutput, ResultInfo, Workspace};
use medinfra_research::{Opening, ReleaseRequest, list_releases, open_workspace};

use crate::chart::{ChartKind, chart_svg};
use crate::ctx::{Ctx, PageError, PageResult, Web, WebError, render};

/// Rows per page of a saved result, and shown for an ad-hoc query.
const PAGE_ROWS: usize = 50;
/// Rows a chart draws at most (and the most a query returns to the page).
const CHART_ROWS: usize = 500;
/// Rows of an ad-hoc query's answer shown on the page (save it to page through all).
const SHOWN_ROWS: usize = 100;

pub struct View {
    pub name: String,
    pub columns: Vec<(String, String)>,
}

/// A table of text cells for a template.
#[derive(Default)]
pub struct Grid {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub fn grid(batches: &[RecordBatch]) -> Result<Grid, WebError> {
    let mut g = Grid::default();
    let options = FormatOptions::default().with_null("NULL");
    for b in batches {
        if g.columns.is_empty() {
            g.columns = b
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
        }
        let formatters = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WebError::Internal(e.to_string()))?;
        for r in 0..b.num_rows() {
            g.rows
                .push(formatters.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    Ok(g)
}

/// Which workspace a page is about.
enum Where {
    Project(String),
    Sample { dataset: Option<String> },
}

impl Where {
    fn base(&self) -> String {
        match self {
            Where::Project(p) => format!("/ui/projects/{p}"),
            Where::Sample { .. } => "/ui/sample".into(),
        }
    }
}

async fn sample_datasets(web: &Web, ctx: &Ctx) -> Result<Vec<String>, PageError> {
    let all = medinfra_server::api::catalog::list(super::api(web), ctx.caller.clone())
        .await
        .map_err(|e| ctx.fail(e))?
        .0;
    Ok(all
        .into_iter()
        .filter(|d| d.tier == "sample")
        .map(|d| d.name)
        .collect())
}

async fn open(web: &Web, ctx: &Ctx, at: &Where) -> Result<(Workspace, Vec<String>), PageError> {
    let (opening, samples) = match at {
        Where::Project(p) => (Opening::Project(p.clone()), vec![]),
        Where::Sample { dataset } => {
            let samples = sample_datasets(web, ctx).await?;
            let chosen = match dataset {
                Some(d) if samples.contains(d) => d.clone(),
                Some(d) => {
                    return Err(ctx.fail(WebError::NotFound(format!("no sample dataset {d}"))));
                }
                None => samples
                    .first()
                    .cloned()
                    .ok_or_else(|| ctx.fail(WebError::NotFound("no sample dataset yet".into())))?,
            };
            // One scratch workspace per account, named by a digest of the user name (any
            // user name fits, and none can take another's or the public's).
            let scratch = if ctx.signed_in() {
                let digest = sha2::Sha256::digest(ctx.username().as_bytes());
                format!("scratch-user-{}", hex::encode(&digest[..12]))
            } else {
                "scratch-public".to_string()
            };
            (
                Opening::Sample {
                    datasets: vec![chosen],
                    scratch,
                },
                samples,
            )
        }
    };
    // Anyone on the network may query the sample: far smaller limits than a project's.
    // The sample area is open to every account: its saved results are capped as well.
    let base = match (at, ctx.signed_in()) {
        (Where::Project(_), _) => Limits::default(),
        (Where::Sample { .. }, true) => Limits {
            max_results: Limits::public().max_results,
            max_result_rows: Limits::public().max_result_rows,
            ..Limits::default()
        },
        (Where::Sample { .. }, false) => Limits::public(),
    };
    let limits = Limits {
        max_rows_shown: CHART_ROWS,
        ..base
    };
    let ws = open_workspace(
        web.app.store(),
        &web.config.key_dir,
        ctx.caller.actor.clone(),
        &opening,
        limits,
        web.config.masters.as_deref(),
        ctx.caller.today,
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok((ws, samples))
}

async fn views(ws: &Workspace, ctx: &Ctx) -> Result<Vec<View>, PageError> {
    Ok(ws
        .tables()
        .await
        .map_err(|e| ctx.fail(e))?
        .into_iter()
        .map(|(name, schema)| View {
            name,
            columns: schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().to_string()))
                .collect(),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "workspace.html")]
struct WorkspacePage<'a> {
    ctx: &'a Ctx,
    title: String,
    base: String,
    is_project: bool,
    may_save: bool,
    samples: Vec<String>,
    sample: String,
    views: Vec<View>,
    /// (table.column, why) of stored columns the views leave out for a reason to know.
    withheld: Vec<(String, String)>,
    results: Vec<ResultInfo>,
    releases: Vec<ReleaseRequest>,
    sql: String,
    output: Option<(Grid, u64, usize, String)>,
    error: Option<String>,
    /// Pseudonymized rows shown today against the per-user limit: (shown, limit, refused).
    volume: Option<(u64, u64, bool)>,
}

/// Charges the rows about to be shown from a pseudonymized project against the caller's
/// daily volume (type II rows never leave; the limit keeps them from being copied out by
/// hand). Over the limit the rows are removed from `grid` (the refusal is audited as an
/// alert); other tiers are not counted.
async fn charge_volume(
    web: &Web,
    ctx: &Ctx,
    ws: &Workspace,
    grid: &mut Grid,
) -> Result<Option<(u64, u64, bool)>, PageError> {
    if ws.tier() != medinfra_model::Tier::Pseudonymized || grid.rows.is_empty() {
        return Ok(None);
    }
    let v = web
        .app
        .charge_row_views(&ctx.caller, ws.project(), grid.rows.len() as u64)
        .await
        .map_err(|e| ctx.fail(e))?;
    if !v.allowed {
        grid.rows.clear();
    }
    Ok(Some((v.shown_today, v.limit, !v.allowed)))
}

#[allow(clippy::too_many_arguments)]
async fn workspace_page(
    web: &Web,
    ctx: &Ctx,
    at: Where,
    sql: String,
    output: Option<QueryOutput>,
    error: Option<String>,
    ws: Workspace,
    samples: Vec<String>,
) -> PageResult {
    let views = views(&ws, ctx).await?;
    let withheld: Vec<(String, String)> = ws
        .withheld_columns()
        .iter()
        .map(|(t, c, why)| (format!("{t}.{c}"), why.to_string()))
        .collect();
    let results: Vec<ResultInfo> = ws.results().into_iter().cloned().collect();
    let releases = match &at {
        Where::Project(p) => list_releases(web.app.store(), &ctx.caller.actor, p, ctx.caller.today)
            .await
            .map_err(|e| ctx.fail(e))?,
        Where::Sample { .. } => vec![],
    };
    let mut volume = None;
    let output = match output {
        Some(o) => {
            let mut g = grid(&o.batches).map_err(|e| ctx.fail(e))?;
            g.rows.truncate(SHOWN_ROWS);
            volume = charge_volume(web, ctx, &ws, &mut g).await?;
            let shown = g.rows.len();
            Some((g, o.total_rows, shown, format!("{:.0?}", o.elapsed)))
        }
        None => None,
    };
    let (title, is_project, sample) = match &at {
        Where::Project(p) => (p.clone(), true, String::new()),
        Where::Sample { dataset } => (
            ctx.t.sample_workspace.to_string(),
            false,
            dataset
                .clone()
                .or_else(|| samples.first().cloned())
                .unwrap_or_default(),
        ),
    };
    render(
        ctx,
        &WorkspacePage {
            ctx,
            title,
            base: at.base(),
            is_project,
            may_save: ctx.signed_in(),
            samples,
            sample,
            views,
            withheld,
            results,
            releases,
            sql,
            output,
            error,
            volume,
        },
    )
}

fn default_sql(views: &[String]) -> String {
    match views.first() {
        Some(v) => format!("SELECT count(*) AS n FROM {v}"),
        None => "SELECT 1".into(),
    }
}

#[derive(Deserialize, Default)]
pub struct SampleQuery {
    dataset: Option<String>,
}

pub async fn project_page(
    State(web): State<Web>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> PageResult {
    let at = Where::Project(name);
    let (ws, samples) = open(&web, &ctx, &at).await?;
    let names: Vec<String> = views(&ws, &ctx)
        .await?
        .into_iter()
        .map(|v| v.name)
        .collect();
    workspace_page(&web, &ctx, at, default_sql(&names), None, None, ws, samples).await
}

pub async fn sample_page(
    State(web): State<Web>,
    ctx: Ctx,
    Query(q): Query<SampleQuery>,
) -> PageResult {
    let at = Where::Sample { dataset: q.dataset };
    let (ws, samples) = open(&web, &ctx, &at).await?;
    let names: Vec<String> = views(&ws, &ctx)
        .await?
        .into_iter()
        .map(|v| v.name)
        .collect();
    workspace_page(&web, &ctx, at, default_sql(&names), None, None, ws, samples).await
}

#[derive(Deserialize)]
pub struct QueryForm {
    sql: String,
    #[serde(default)]
    save: String,
    #[serde(default)]
    dataset: Option<String>,
}

async fn run_query(web: &Web, ctx: &Ctx, at: Where, f: QueryForm) -> PageResult {
    let (ws, samples) = open(web, ctx, &at).await?;
    let save = f.save.trim().to_string();
    if !save.is_empty() {
        if !ctx.signed_in() {
            return Err(ctx.fail(WebError::Denied("sign-in-to-save".into())));
        }
        let sql = f.sql.clone();
        let (ws, saved) = web
            .app
            .pool()
            .run(&ctx.caller.client(), ws.limits().timeout, async move {
                let mut ws = ws;
                let r = ws.save_result(&save, &sql).await;
                (ws, r)
            })
            .await
            .map_err(|e| ctx.fail(e))?;
        return match saved {
            Ok(info) => Ok(super::see_other(&format!(
                "{}/results/{}",
                at.base(),
                info.name
            ))),
            Err(e) => {
                let msg = WebError::from(e);
                match msg {
                    WebError::Bad(m) => {
                        workspace_page(web, ctx, at, f.sql, None, Some(m), ws, samples).await
                    }
                    other => Err(ctx.fail(other)),
                }
            }
        };
    }
    let sql = f.sql.clone();
    let (ws, out) = web
        .app
        .pool()
        .run(&ctx.caller.client(), ws.limits().timeout, async move {
            let r = ws.query(&sql).await;
            (ws, r)
        })
        .await
        .map_err(|e| ctx.fail(e))?;
    match out {
        Ok(out) => workspace_page(web, ctx, at, f.sql, Some(out), None, ws, samples).await,
        Err(e) => match WebError::from(e) {
            WebError::Bad(m) => {
                workspace_page(web, ctx, at, f.sql, None, Some(m), ws, samples).await
            }
            other => Err(ctx.fail(other)),
        },
    }
}

pub async fn project_query(
    State(web): State<Web>,
    ctx: Ctx,
    Path(name): Path<String>,
    Form(f): Form<QueryForm>,
) -> PageResult {
    run_query(&web, &ctx, Where::Project(name), f).await
}

pub async fn sample_query(
    State(web): State<Web>,
    ctx: Ctx,
    Form(f): Form<QueryForm>,
) -> PageResult {
    let dataset = f.dataset.clone().filter(|d| !d.is_empty());
    run_query(&web, &ctx, Where::Sample { dataset }, f).await
}

#[derive(Deserialize, Default)]
pub struct ResultQuery {
    page: Option<usize>,
    chart: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

#[derive(Template)]
#[template(path = "result.html")]
struct ResultPage<'a> {
    ctx: &'a Ctx,
    project: String,
    info: ResultInfo,
    grid: Grid,
    page: usize,
    pages: usize,
    chart: Option<String>,
    chart_kind: String,
    x: String,
    y: String,
    chart_error: Option<String>,
    /// The project's privacy budget (total, spent, left), when one is set.
    budget: Option<(f64, f64, f64)>,
    /// Pseudonymized rows shown today against the per-user limit: (shown, limit, refused).
    volume: Option<(u64, u64, bool)>,
}

/// SQL identifier quoting (column and result names come from the schema, but are quoted
/// anyway so any name works).
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub async fn result_page(
    State(web): State<Web>,
    ctx: Ctx,
    Path((project, result)): Path<(String, String)>,
    Query(q): Query<ResultQuery>,
) -> PageResult {
    let at = Where::Project(project.clone());
    let (ws, _) = open(&web, &ctx, &at).await?;
    let info = ws
        .results()
        .into_iter()
        .find(|r| r.name == result)
        .cloned()
        .ok_or_else(|| ctx.fail(WebError::NotFound(format!("no saved result {result}"))))?;
    let pages = (info.rows as usize).div_ceil(PAGE_ROWS).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let out = ws
        .query(&format!(
            "SELECT * FROM {} LIMIT {PAGE_ROWS} OFFSET {}",
            ident(&info.name),
            (page - 1) * PAGE_ROWS
        ))
        .await
        .map_err(|e| ctx.fail(e))?;
    let mut grid = grid(&out.batches).map_err(|e| ctx.fail(e))?;
    let volume = charge_volume(&web, &ctx, &ws, &mut grid).await?;
    let kind = q.chart.as_deref().and_then(ChartKind::parse);
    let x =
        q.x.clone()
            .unwrap_or_else(|| grid.columns.first().cloned().unwrap_or_default());
    let y =
        q.y.clone()
            .unwrap_or_else(|| grid.columns.last().cloned().unwrap_or_default());
    let (chart, chart_error) = match kind {
        Some(kind) if grid.columns.contains(&x) && grid.columns.contains(&y) => {
            match chart_data(&ws, &info.name, &x, &y).await {
                Ok((labels, values)) => (
                    Some(chart_svg(
                        kind,
                        &format!("{} — {y}", info.name),
                        &labels,
                        &values,
                    )),
                    None,
                ),
                Err(m) => (None, Some(m)),
            }
        }
        Some(_) => (None, Some("unknown column".to_string())),
        None => (None, None),
    };
    // Shown beside the release form's DP choices, so a member knows what a DP release costs
    // before asking (the same audited call as the API's).
    let budget = medinfra_research::privacy_budget(
        web.app.store(),
        &ctx.caller.actor,
        &project,
        ctx.caller.today,
    )
    .await
    .map_err(|e| ctx.fail(e))?
    .map(|b| {
        (
            b.total_micros as f64 / 1e6,
            b.spent_micros as f64 / 1e6,
            b.remaining_micros() as f64 / 1e6,
        )
    });
    render(
        &ctx,
        &ResultPage {
            ctx: &ctx,
            project,
            info,
            grid,
            page,
            pages,
            chart,
            chart_kind: q.chart.unwrap_or_else(|| "bar".into()),
            x,
            y,
            chart_error,
            budget,
            volume,
        },
    )
}

async fn chart_data(
    ws: &Workspace,
    result: &str,
    x: &str,
    y: &str,
) -> Result<(Vec<String>, Vec<f64>), String> {
    let sql = format!(
        "SELECT CAST({} AS VARCHAR) AS x, CAST({} AS DOUBLE) AS y FROM {} LIMIT {CHART_ROWS}",
        ident(x),
        ident(y),
        ident(result)
    );
    let out = ws.query(&sql).await.map_err(|e| e.to_string())?;
    let g = grid(&out.batches).map_err(|_| "result could not be read".to_string())?;
    let labels = g.rows.iter().map(|r| r[0].clone()).collect();
    let values = g
        .rows
        .iter()
        .map(|r| r[1].parse::<f64>().unwrap_or(f64::NAN))
        .collect();
    Ok((labels, values))
}
