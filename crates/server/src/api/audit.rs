//! The audit log, for auditors and operators (`ReadAudit`).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use medinfra_govern::{Action, Resource};
use medinfra_model::Tier;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;

const AUDIT: Resource = Resource::of(Tier::Statistics);

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub outcome: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The last N entries (1-10000, default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyView {
    pub intact: bool,
    /// Entries that verified before the first problem.
    pub entries_verified: u64,
    pub checkpoints: u64,
    /// The first bad entry.
    pub first_bad_entry: Option<i64>,
    pub reason: Option<String>,
}

/// The last entries of the audit log.
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntryView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn entries(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntryView>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::BadRequest("limit: 1-10000".into()));
    }
    state
        .require(&caller, Action::ReadAudit, &AUDIT, "audit log")
        .await?;
    let entries = state.log.entries(Some(limit as i64)).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| AuditEntryView {
                seq: e.seq,
                at: e.at,
                actor: e.actor,
                action: e.action,
                resource: e.resource,
                outcome: e.outcome,
                detail: e.detail,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect(),
    ))
}

/// Verify the hash chain and the signed checkpoints.
#[utoipa::path(get, path = "/api/audit/verify", tag = "audit",
    responses((status = 200, body = VerifyView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<VerifyView>, ApiError> {
    state
        .require(&caller, Action::ReadAudit, &AUDIT, "audit log (verify)")
        .await?;
    let (n, problem) = state.log.verify().await?;
    let checkpoints = state.log.checkpoints().await?.len() as u64;
    Ok(Json(VerifyView {
        intact: problem.is_none(),
        entries_verified: n,
        checkpoints,
        first_bad_entry: problem.as_ref().map(|p| p.seq),
        reason: problem.map(|p| p.reason),
    }))
}
