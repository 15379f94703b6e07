//! Submission metadata: every file a provider sent, with its hash and outcome. Accepted
//! submissions are recorded in the same transaction as the dataset version that holds their
//! rows, so a file is either ingested and recorded, or neither.

use serde::Serialize;
use sqlx::Row;

use crate::{Store, StoreError};

/// One submitted file and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Submission {
    pub provider_id: String,
    pub file_name: String,
    pub file_sha256: String,
    pub bytes: u64,
    pub kind: String,
    /// The month the file bills (IR 請求年月), the key for corrected re-submissions.
    pub billing_month: Option<String>,
    /// `accepted`, `rejected` or `superseded`.
    pub status: String,
    pub receipts_accepted: u64,
    pub receipts_quarantined: u64,
    pub findings: u64,
    pub dataset: Option<String>,
    pub version: Option<i64>,
    pub submitted_at: String,
}

pub(crate) async fn insert(
    conn: &mut sqlx::AnyConnection,
    s: &Submission,
) -> Result<(), StoreError> {
    if s.status == "accepted"
        && let Some(month) = &s.billing_month
    {
        // A corrected re-submission for the same provider and month replaces the earlier one.
        sqlx::query(
            "UPDATE submissions SET status = 'superseded' WHERE provider_id = $1 AND billing_month = $2 AND status = 'accepted' AND file_sha256 <> $3",
        )
        .bind(&s.provider_id)
        .bind(month)
        .bind(&s.file_sha256)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "INSERT INTO submissions (provider_id, file_name, file_sha256, bytes, kind, billing_month, status, receipts_accepted, receipts_quarantined, findings, dataset, version, submitted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&s.provider_id)
    .bind(&s.file_name)
    .bind(&s.file_sha256)
    .bind(s.bytes as i64)
    .bind(&s.kind)
    .bind(&s.billing_month)
    .bind(&s.status)
    .bind(s.receipts_accepted as i64)
    .bind(s.receipts_quarantined as i64)
    .bind(s.findings as i64)
    .bind(&s.dataset)
    .bind(s.version)
    .bind(&s.submitted_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Record submissions that produced no dataset version (all rejected or duplicates).
    pub async fn record_submissions(&self, subs: &[Submission]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for s in subs {
            insert(&mut tx, s).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A provider's submissions, oldest first.
    pub async fn submissions(&self, provider_id: &str) -> Result<Vec<Submission>, StoreError> {
        let rows = sqlx::query("SELECT * FROM submissions WHERE provider_id = $1 ORDER BY id")
            .bind(provider_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Submission {
                    provider_id: r.try_get("provider_id")?,
                    file_name: r.try_get("file_name")?,
                    file_sha256: r.try_get("file_sha256")?,
                    bytes: r.try_get::<i64, _>("bytes")? as u64,
                    kind: r.try_get("kind")?,
                    billing_month: r.try_get("billing_month")?,
                    status: r.try_get("status")?,
                    receipts_accepted: r.try_get::<i64, _>("receipts_accepted")? as u64,
                    receipts_quarantined: r.try_get::<i64, _>("receipts_quarantined")? as u64,
                    findings: r.try_get::<i64, _>("findings")? as u64,
                    dataset: r.try_get("dataset")?,
                    version: r.try_get("version")?,
                    submitted_at: r.try_get("submitted_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The accepted (current) submission with this content hash, if any.
    pub async fn accepted_submission(
        &self,
        provider_id: &str,
        file_sha256: &str,
    ) -> Result<Option<Submission>, StoreError> {
        Ok(self
            .submissions(provider_id)
            .await?
            .into_iter()
            .find(|s| s.file_sha256 == file_sha256 && s.status == "accepted"))
    }
}
