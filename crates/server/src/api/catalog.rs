//! The catalog: datasets, versions, manifests, lineage (metadata: `ReadCatalog`), rows (`Read`)
//! and part files (`Download`) inside a project, and access checks.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use medinfra_govern::{Action, Decision, Resource, Via, can};
use medinfra_store::{Store, VersionInfo};

use crate::AppState;
use crate::api::names::ActionName;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableView {
    pub name: String,
    pub rows: i64,
    pub files: i64,
    pub bytes: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionView {
    pub dataset: String,
    pub version: i64,
    pub tier: String,
    pub manifest_sha256: String,
    pub step: String,
    pub created_at: String,
    pub superseded: bool,
    pub tables: Vec<TableView>,
}

impl From<&VersionInfo> for VersionView {
    fn from(v: &VersionInfo) -> Self {
        VersionView {
            dataset: v.dataset.clone(),
            version: v.version,
            tier: v.tier.as_str().into(),
            manifest_sha256: v.manifest_sha256.clone(),
            step: v.step.clone(),
            created_at: v.created_at.clone(),
            superseded: v.superseded,
            tables: v
                .tables
                .iter()
                .map(|t| TableView {
                    name: t.name.clone(),
                    rows: t.rows,
                    files: t.files,
                    bytes: t.bytes,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatasetView {
    pub name: String,
    pub tier: String,
    pub versions: i64,
    pub latest: VersionView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetDetail {
    pub name: String,
    pub tier: String,
    pub versions: Vec<VersionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InputView {
    pub dataset: String,
    pub version: i64,
    pub manifest_sha256: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineageView {
    pub dataset: String,
    pub version: i64,
    pub step: String,
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    pub inputs: Vec<InputView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowsView {
    pub dataset: String,
    pub version: i64,
    pub table: String,
    pub columns: Vec<String>,
    /// Values rendered as text; null where the cell is null.
    pub rows: Vec<Vec<Option<String>>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RowsQuery {
    /// The project the data is used in (required for every non-public tier).
    pub project: Option<String>,
    /// Rows to return (1-1000, default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    pub project: Option<String>,
    /// Which part file of the table (default 0).
    pub part: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckRequest {
    pub action: ActionName,
    pub dataset: String,
    /// Latest when omitted.
    pub version: Option<i64>,
    pub project: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    pub allowed: bool,
    pub rule: String,
}

fn describe(v: &VersionInfo) -> String {
    format!("dataset {} v{} ({})", v.dataset, v.version, v.tier)
}

/// `can` on the version as it stands for the project (granted? superseded?), reached `via`
/// the stored files: the rules decide every part of it (`stored-files-public-only`,
/// `project-grant-missing`, `superseded-version-unreadable`, …).
async fn decide_data(
    state: &AppState,
    caller: &Caller,
    action: Action,
    v: &VersionInfo,
    project: Option<&str>,
) -> Result<Decision, ApiError> {
    let mut resource = Resource::of(v.tier).via(Via::StoredFiles);
    if let Some(p) = project {
        let granted = state
            .registry
            .project_grants_version(p, &v.dataset, v.version)
            .await?;
        resource = Resource::in_project(v.tier, p)
            .via(Via::StoredFiles)
            .standing(v.superseded, granted);
    }
    Ok(can(&caller.actor, action, &resource, caller.today))
}

async fn visible(
    state: &AppState,
    caller: &Caller,
    name: &str,
    version: Option<i64>,
) -> Result<VersionInfo, ApiError> {
    let v = state.store.version(name, version).await?;
    let resource = Resource::of(v.tier);
    state
        .require(caller, Action::ReadCatalog, &resource, &describe(&v))
        .await?;
    Ok(v)
}

/// Datasets the caller may see in the catalog, with their latest version.
#[utoipa::path(get, path = "/api/datasets", tag = "catalog",
    responses((status = 200, body = Vec<DatasetView>), (status = 401, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<DatasetView>>, ApiError> {
    let all = state.store.list().await?;
    let mut shown = Vec::new();
    let mut hidden = 0;
    for d in all {
        let r = Resource::of(d.tier);
        if can(&caller.actor, Action::ReadCatalog, &r, caller.today).allowed {
            shown.push(DatasetView {
                name: d.name.clone(),
                tier: d.tier.as_str().into(),
                versions: d.versions,
                latest: VersionView::from(&d.latest),
            });
        } else {
            hidden += 1;
        }
    }
    state
        .record(
            &caller.actor.user,
            Action::ReadCatalog.as_str(),
            "dataset list",
            "allowed",
            format!("{} shown, {hidden} hidden by the rules", shown.len()),
        )
        .await?;
    Ok(Json(shown))
}

/// One dataset and all its versions.
#[utoipa::path(get, path = "/api/datasets/{name}", tag = "catalog",
    params(("name" = String, Path, description = "dataset name")),
    responses((status = 200, body = DatasetDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn dataset(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<DatasetDetail>, ApiError> {
    // One query for every version; the latest decides the (never changing) tier.
    let versions = state.store.versions(&name).await?;
    let latest = versions
        .last()
        .ok_or_else(|| ApiError::NotFound("no such dataset".into()))?;
    let resource = Resource::of(latest.tier);
    state
        .require(&caller, Action::ReadCatalog, &resource, &describe(latest))
        .await?;
    Ok(Json(DatasetDetail {
        name,
        tier: latest.tier.as_str().into(),
        versions: versions.iter().map(VersionView::from).collect(),
    }))
}

/// A version's manifest (schema, row counts, file hashes, lineage).
#[utoipa::path(get, path = "/api/datasets/{name}/versions/{version}/manifest", tag = "catalog",
    params(("name" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn manifest(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((name, version)): ApiPath<(String, i64)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = visible(&state, &caller, &name, Some(version)).await?;
    let m = state.store.read_manifest(&v)?;
    serde_json::to_value(m)
        .map(Json)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// A version's lineage: the step that made it, its parameters and its input versions.
#[utoipa::path(get, path = "/api/datasets/{name}/versions/{version}/lineage", tag = "catalog",
    params(("name" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = LineageView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn lineage(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((name, version)): ApiPath<(String, i64)>,
) -> Result<Json<LineageView>, ApiError> {
    let v = visible(&state, &caller, &name, Some(version)).await?;
    let m = state.store.read_manifest(&v)?;
    Ok(Json(LineageView {
        dataset: v.dataset,
        version: v.version,
        step: m.lineage.step,
        parameters: m.lineage.parameters,
        inputs: m
            .lineage
            .inputs
            .into_iter()
            .map(|i| InputView {
                dataset: i.dataset,
                version: i.version,
                manifest_sha256: i.manifest_sha256,
            })
            .collect(),
    }))
}

fn read_rows(
    store: &Store,
    v: &VersionInfo,
    table: &str,
    limit: usize,
) -> Result<(Vec<String>, Vec<crate::api::TextRow>), ApiError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let files = store.table_files(v, table)?;
    if files.is_empty() {
        return Err(ApiError::NotFound("no such table in this version".into()));
    }
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    for path in files {
        if rows.len() >= limit {
            break;
        }
        let file = std::fs::File::open(&path).map_err(|e| ApiError::Internal(e.to_string()))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(limit.min(8192)).build())
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        for batch in reader {
            let batch = batch.map_err(|e| ApiError::Internal(e.to_string()))?;
            if columns.is_empty() {
                columns = batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
            }
            crate::api::push_text_rows(&batch, &mut rows, limit)?;
            if rows.len() >= limit {
                break;
            }
        }
    }
    Ok((columns, rows))
}

/// Rows of a table, inside a project (the `Read` action).
#[utoipa::path(get, path = "/api/datasets/{name}/versions/{version}/tables/{table}/rows", tag = "data",
    params(("name" = String, Path), ("version" = i64, Path), ("table" = String, Path), RowsQuery),
    responses((status = 200, body = RowsView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn rows(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((name, version, table)): ApiPath<(String, i64, String)>,
    ApiQuery(q): ApiQuery<RowsQuery>,
) -> Result<Json<RowsView>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit: 1-1000".into()));
    }
    let v = state.store.version(&name, Some(version)).await?;
    let d = decide_data(&state, &caller, Action::Read, &v, q.project.as_deref()).await?;
    let what = format!("{} table {table}", describe(&v));
    // "allowed" goes into the audit chain only for a table that is there.
    if d.allowed && state.store.table_files(&v, &table)?.is_empty() {
        return Err(ApiError::NotFound("no such table in this version".into()));
    }
    state.enforce(&caller, Action::Read, &what, &d).await?;
    let store = state.store.clone();
    let (v2, t2) = (v.clone(), table.clone());
    let (columns, rows) =
        tokio::task::spawn_blocking(move || read_rows(&store, &v2, &t2, limit as usize))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(RowsView {
        dataset: v.dataset,
        version: v.version,
        table,
        columns,
        rows,
    }))
}

/// A table's Parquet part file, inside a project (the `Download` action: rows leave the
/// system).
#[utoipa::path(get, path = "/api/datasets/{name}/versions/{version}/tables/{table}/download", tag = "data",
    params(("name" = String, Path), ("version" = i64, Path), ("table" = String, Path), DownloadQuery),
    responses((status = 200, description = "the Parquet file", content_type = "application/vnd.apache.parquet", body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((name, version, table)): ApiPath<(String, i64, String)>,
    ApiQuery(q): ApiQuery<DownloadQuery>,
) -> Result<Response, ApiError> {
    let v = state.store.version(&name, Some(version)).await?;
    let d = decide_data(&state, &caller, Action::Download, &v, q.project.as_deref()).await?;
    let part = q.part.unwrap_or(0) as usize;
    let what = format!("{} table {table} part {part}", describe(&v));
    // "allowed" goes into the audit chain only for a part that is there.
    let files = if d.allowed {
        state.store.table_files(&v, &table)?
    } else {
        Vec::new()
    };
    if d.allowed && files.get(part).is_none() {
        return Err(ApiError::NotFound(
            "no such table part in this version".into(),
        ));
    }
    state.enforce(&caller, Action::Download, &what, &d).await?;
    let path = files
        .get(part)
        .ok_or_else(|| ApiError::NotFound("no such table part in this version".into()))?;
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut resp = Body::from(bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.apache.parquet"),
    );
    Ok(resp)
}

/// Would the caller be allowed `action` on a dataset version (in a project)? The decision is
/// audited like the access itself.
#[utoipa::path(post, path = "/api/access/check", tag = "access", request_body = CheckRequest,
    responses((status = 200, body = CheckResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CheckRequest>,
) -> Result<Json<CheckResponse>, ApiError> {
    let action = Action::from(req.action);
    // Finding 8 of the attack on the served demo: the public learnt which datasets exist and
    // their tiers from this endpoint. Without an account, anything but a public-tier dataset
    // gets one answer, whether it exists or not.
    if !caller.signed_in() {
        let public = matches!(
            state.store.version(&req.dataset, req.version).await,
            Ok(v) if v.tier.is_public()
        );
        if !public {
            state
                .record(
                    &caller.actor.user,
                    &format!("check_{}", action.as_str()),
                    "a dataset that is not public (or none)",
                    "denied",
                    "rule sign-in-required".into(),
                )
                .await?;
            return Err(ApiError::Unauthorized);
        }
    }
    let v = state.store.version(&req.dataset, req.version).await?;
    let d = decide_data(&state, &caller, action, &v, req.project.as_deref()).await?;
    state
        .record(
            &caller.actor.user,
            &format!("check_{}", action.as_str()),
            &describe(&v),
            if d.allowed { "allowed" } else { "denied" },
            format!("rule {}", d.rule),
        )
        .await?;
    Ok(Json(CheckResponse {
        allowed: d.allowed,
        rule: d.rule.into(),
    }))
}
