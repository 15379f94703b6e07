//! Output checking: the release-request form's target, one request with every cell's check
//! outcome highlighted (published, suppressed by a check, secondary suppression, rounded),
//! the checks and differencing findings, the reviewer's decision, and the downloads of an
//! approved table. The flow itself is `medinfra-research`'s, shared with the CLI.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;

use medinfra_disclosure::{CellState, DisclosureConfig, Mitigation, ReleaseCheck};
use medinfra_govern::Role;
use medinfra_research::{
    ReleaseRequest, ReleaseSpec, ReleaseStatus, load_release, parse_mitigation, parse_statistic,
    pending_releases, request_release, review_release,
};

use crate::ctx::{Ctx, PageResult, Web, WebError, render};

#[derive(Deserialize)]
pub struct RequestForm {
    result: String,
    rows: String,
    #[serde(default)]
    cols: String,
    statistic: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    person_column: String,
    #[serde(default)]
    margins: Option<String>,
    mitigation: String,
}

fn names(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn non_empty(s: String) -> Option<String> {
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

pub async fn request(
    State(web): State<Web>,
    ctx: Ctx,
    Path(project): Path<String>,
    Form(f): Form<RequestForm>,
) -> PageResult {
    let spec = ReleaseSpec {
        result: f.result,
        rows: names(&f.rows),
        cols: names(&f.cols),
        value: non_empty(f.value),
        person: non_empty(f.person_column),
        statistic: parse_statistic(&f.statistic).map_err(|e| ctx.fail(e))?,
        margins: f.margins.is_some(),
        mitigation: parse_mitigation(&f.mitigation).map_err(|e| ctx.fail(e))?,
        config: DisclosureConfig::default(),
    };
    let (req, _) = request_release(
        web.app.store(),
        &ctx.caller.actor,
        &project,
        spec,
        ctx.caller.today,
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok(super::see_other(&format!("/ui/releases/{}", req.id)))
}

#[derive(Template)]
#[template(path = "releases.html")]
struct ListPage<'a> {
    ctx: &'a Ctx,
    pending: Vec<ReleaseRequest>,
}

/// The reviewers' queue.
pub async fn list(State(web): State<Web>, ctx: Ctx) -> PageResult {
    if ctx.role() != Role::Reviewer {
        return Err(ctx.fail(WebError::Denied("reviewers-review".into())));
    }
    let pending = pending_releases(web.app.store(), &ctx.caller.actor, ctx.caller.today)
        .await
        .map_err(|e| ctx.fail(e))?;
    render(&ctx, &ListPage { ctx: &ctx, pending })
}

pub struct CellView {
    pub text: String,
    pub class: &'static str,
    /// The state and the checks that flagged the cell (the cell's tooltip).
    pub reason: String,
    /// The checks that flagged it, shown in the cell (empty when none did).
    pub note: String,
}

pub struct RowView {
    pub label: String,
    pub cells: Vec<CellView>,
}

#[derive(Template)]
#[template(path = "release.html")]
struct DetailPage<'a> {
    ctx: &'a Ctx,
    req: ReleaseRequest,
    check: ReleaseCheck,
    col_labels: Vec<String>,
    rows: Vec<RowView>,
    may_review: bool,
    released: Option<(String, i64)>,
}

fn cell_views(ctx: &Ctx, check: &ReleaseCheck) -> (Vec<String>, Vec<RowView>) {
    let c = &check.cleaned;
    let a = &check.assessment;
    let rounded = matches!(c.mitigation, Mitigation::Round { .. });
    let col_labels = (0..c.width)
        .map(|j| {
            c.col_labels
                .get(j)
                .map(|l| l.join(" / "))
                .unwrap_or_default()
        })
        .collect();
    let rows = (0..c.height)
        .map(|i| RowView {
            label: c
                .row_labels
                .get(i)
                .map(|l| l.join(" / "))
                .unwrap_or_default(),
            cells: (0..c.width)
                .map(|j| {
                    let (class, word) = match c.state(i, j) {
                        CellState::Published if rounded => ("cell-rounded", ctx.t.cell_rounded),
                        CellState::Published => ("cell-ok", ctx.t.cell_ok),
                        CellState::Primary => ("cell-primary", ctx.t.cell_primary),
                        CellState::Secondary => ("cell-secondary", ctx.t.cell_secondary),
                        CellState::Blank => ("cell-ok", "—"),
                    };
                    let value = c
                        .value(i, j, 0)
                        .map(|v| {
                            if v.fract() == 0.0 {
                                format!("{}", v as i64)
                            } else {
                                format!("{v:.2}")
                            }
                        })
                        .unwrap_or_default();
                    let reason = if i < a.height && j < a.width {
                        a.cell(i, j).acro.trim().trim_end_matches(';').to_string()
                    } else {
                        String::new()
                    };
                    let flagged = !(reason == "ok" || reason.is_empty());
                    CellView {
                        text: if value.is_empty() {
                            word.to_string()
                        } else {
                            value
                        },
                        class,
                        reason: if flagged {
                            format!("{word}: {reason}")
                        } else {
                            word.to_string()
                        },
                        note: if flagged { reason } else { String::new() },
                    }
                })
                .collect(),
        })
        .collect();
    (col_labels, rows)
}

pub async fn detail(State(web): State<Web>, ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let (req, check) = load_release(web.app.store(), &ctx.caller.actor, &id, ctx.caller.today)
        .await
        .map_err(|e| ctx.fail(e))?;
    let (col_labels, rows) = cell_views(&ctx, &check);
    let may_review = ctx.role() == Role::Reviewer
        && req.status == ReleaseStatus::Pending
        && req.requested_by != ctx.username();
    let released = req.released_dataset.as_ref().and_then(|ds| {
        let (name, v) = ds.split_once("@v")?;
        Some((name.to_string(), v.parse().ok()?))
    });
    render(
        &ctx,
        &DetailPage {
            ctx: &ctx,
            req,
            check,
            col_labels,
            rows,
            may_review,
            released,
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
    Path(id): Path<String>,
    Form(f): Form<ReviewForm>,
) -> PageResult {
    let approve = match f.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(ctx.fail(WebError::Bad("decision: approve or reject".into()))),
    };
    review_release(
        web.app.store(),
        &ctx.caller.actor,
        &id,
        approve,
        &f.comment,
        ctx.caller.today,
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok(super::see_other(&format!("/ui/releases/{id}")))
}

/// A table of an open (or otherwise downloadable) version as CSV, e.g. a released table: the Parquet comes from the API's download handler (which
/// decides and audits); this only changes its format.
pub async fn download_csv(
    State(web): State<Web>,
    ctx: Ctx,
    Path((dataset, version, table)): Path<(String, i64, String)>,
) -> PageResult {
    use medinfra_server::api::catalog::{DownloadQuery, download};
    // Every part of the table, in order, each through the API's handler (which decides and
    // audits); the first part that does not exist ends the table.
    let mut csv = Vec::new();
    for part in 0u32.. {
        let response = download(
            super::api(&web),
            ctx.caller.clone(),
            super::path((dataset.clone(), version, table.clone())),
            super::query(DownloadQuery {
                project: None,
                part: Some(part),
            }),
        )
        .await;
        let response = match response {
            Ok(r) => r,
            Err(medinfra_server::ApiError::NotFound(_)) if part > 0 => break,
            Err(e) => return Err(ctx.fail(e)),
        };
        let bytes = axum::body::to_bytes(response.into_body(), 256 << 20)
            .await
            .map_err(|e| ctx.fail(WebError::Internal(e.to_string())))?;
        csv.extend(parquet_to_csv(bytes, part == 0).map_err(|e| ctx.fail(e))?);
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{dataset}-v{version}-{table}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

fn parquet_to_csv(bytes: axum::body::Bytes, header: bool) -> Result<Vec<u8>, WebError> {
    let internal = |e: &dyn std::fmt::Display| WebError::Internal(e.to_string());
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| internal(&e))?
        .build()
        .map_err(|e| internal(&e))?;
    let mut out = Vec::new();
    {
        let mut w = arrow::csv::WriterBuilder::new()
            .with_header(header)
            .build(&mut out);
        for b in reader {
            w.write(&b.map_err(|e| internal(&e))?)
                .map_err(|e| internal(&e))?;
        }
    }
    Ok(out)
}
