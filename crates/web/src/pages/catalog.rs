//! The catalog: datasets by tier, a dataset's versions, one version's tables and schemas,
//! its lineage as a graph, manifest verification, and downloads where the caller may take
//! the rows (the links go to the API's download endpoint, which decides again).

use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use medinfra_server::api::catalog::{DatasetDetail, DatasetView, LineageView};
use medinfra_store::{Manifest, VerifyReport};

use crate::chart::{LineageBox, lineage_svg};
use crate::ctx::{Ctx, PageResult, Web, WebError, render};

/// The tiers in the order a reader meets them (open first).
const TIER_ORDER: [&str; 6] = [
    "sample",
    "statistics",
    "anonymized",
    "pseudonymized",
    "identified",
    "",
];

pub struct TierGroup {
    pub tier: String,
    pub datasets: Vec<DatasetView>,
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct CatalogPage<'a> {
    ctx: &'a Ctx,
    groups: Vec<TierGroup>,
}

pub async fn list(State(web): State<Web>, ctx: Ctx) -> PageResult {
    let all = medinfra_server::api::catalog::list(super::api(&web), ctx.caller.clone())
        .await
        .map_err(|e| ctx.fail(e))?
        .0;
    let mut groups: Vec<TierGroup> = Vec::new();
    for tier in TIER_ORDER {
        let datasets: Vec<DatasetView> = all.iter().filter(|d| d.tier == tier).cloned().collect();
        if !datasets.is_empty() {
            groups.push(TierGroup {
                tier: tier.to_string(),
                datasets,
            });
        }
    }
    render(&ctx, &CatalogPage { ctx: &ctx, groups })
}

#[derive(Deserialize)]
pub struct VersionQuery {
    v: Option<i64>,
    verify: Option<u8>,
}

#[derive(Template)]
#[template(path = "dataset.html")]
struct DatasetPage<'a> {
    ctx: &'a Ctx,
    detail: DatasetDetail,
    version: i64,
    manifest: Manifest,
    lineage: LineageView,
    lineage_svg: String,
    parameters: String,
    verify: Option<VerifyReport>,
    downloadable: bool,
}

pub async fn dataset(
    State(web): State<Web>,
    ctx: Ctx,
    Path(name): Path<String>,
    Query(q): Query<VersionQuery>,
) -> PageResult {
    use medinfra_server::api::catalog as api;
    let detail = api::dataset(
        super::api(&web),
        ctx.caller.clone(),
        super::path(name.clone()),
    )
    .await
    .map_err(|e| ctx.fail(e))?
    .0;
    let version = match q.v {
        Some(v) => v,
        None => detail
            .versions
            .iter()
            .map(|v| v.version)
            .max()
            .ok_or_else(|| {
                ctx.fail(WebError::NotFound(format!("dataset {name} has no version")))
            })?,
    };
    let manifest_json = api::manifest(
        super::api(&web),
        ctx.caller.clone(),
        super::path((name.clone(), version)),
    )
    .await
    .map_err(|e| ctx.fail(e))?
    .0;
    let manifest: Manifest = serde_json::from_value(manifest_json)
        .map_err(|e| ctx.fail(WebError::Internal(e.to_string())))?;
    let lineage = api::lineage(
        super::api(&web),
        ctx.caller.clone(),
        super::path((name.clone(), version)),
    )
    .await
    .map_err(|e| ctx.fail(e))?
    .0;
    let boxes = lineage_graph(&web, &ctx, &lineage).await;
    let parameters = serde_json::to_string_pretty(&lineage.parameters).unwrap_or_default();
    // Verification rereads every file: only when asked, and only after `manifest` allowed
    // the caller to see this version.
    let verify = if q.verify == Some(1) {
        Some(
            web.app
                .store()
                .verify(&name, Some(version))
                .await
                .map_err(|e| ctx.fail(e))?,
        )
    } else {
        None
    };
    let downloadable = detail
        .tier
        .parse::<medinfra_model::Tier>()
        .ok()
        .is_some_and(|t| ctx.may(medinfra_govern::Action::Download, t));
    render(
        &ctx,
        &DatasetPage {
            ctx: &ctx,
            version,
            lineage_svg: lineage_svg(&boxes),
            manifest,
            lineage,
            parameters,
            verify,
            downloadable,
            detail,
        },
    )
}

/// The version and its inputs, two generations back, as far as the caller may see them.
async fn lineage_graph(web: &Web, ctx: &Ctx, root: &LineageView) -> Vec<LineageBox> {
    let mut boxes = vec![LineageBox {
        label: format!("{} v{}", root.dataset, root.version),
        step: root.step.clone(),
        generation: 0,
        parent: None,
    }];
    let mut frontier: Vec<(usize, String, i64)> = root
        .inputs
        .iter()
        .map(|i| (0, i.dataset.clone(), i.version))
        .collect();
    for generation in 1..=2 {
        let mut next = Vec::new();
        for (parent, dataset, version) in frontier {
            let idx = boxes.len();
            let seen = medinfra_server::api::catalog::lineage(
                super::api(web),
                ctx.caller.clone(),
                super::path((dataset.clone(), version)),
            )
            .await;
            let step = match &seen {
                Ok(l) => l.0.step.clone(),
                Err(_) => "—".to_string(),
            };
            boxes.push(LineageBox {
                label: format!("{dataset} v{version}"),
                step,
                generation,
                parent: Some(parent),
            });
            if let Ok(l) = seen {
                next.extend(
                    l.0.inputs
                        .iter()
                        .map(|i| (idx, i.dataset.clone(), i.version)),
                );
            }
        }
        frontier = next;
    }
    boxes
}
