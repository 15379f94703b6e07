//! Per-user volume limits on the pseudonymized rows the web workspace shows (type II rows
//! never leave the system, but a member who pages through them row by row copies them by
//! hand): rows shown are counted per (user, project, day) in the catalog, so every server
//! node counts against one total, and one conditional `UPDATE` decides, so two pages opened at
//! once cannot both pass the limit.

use serde::Serialize;
use sqlx::Row;

use crate::registry::{Registry, RegistryError};

/// What a user has been shown of a project today, after a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RowViews {
    /// Rows shown today, this charge included when it was allowed.
    pub shown_today: u64,
    pub limit: u64,
    /// Whether this charge fit under the limit (if not, nothing was counted).
    pub allowed: bool,
}

impl Registry {
    /// Counts `rows` shown to `user` in `project` on `day` (days since 1970-01-01) if the day's
    /// total stays within `limit`; otherwise counts nothing and says so.
    pub async fn charge_row_views(
        &self,
        user: &str,
        project: &str,
        day: i32,
        rows: u64,
        limit: u64,
    ) -> Result<RowViews, RegistryError> {
        let rows = rows.min(i64::MAX as u64) as i64;
        let cap = limit.min(i64::MAX as u64) as i64;
        let mut tx = self.store.pool().begin().await?;
        sqlx::query(
            "INSERT INTO row_views (username, project, day, shown) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING",
        )
        .bind(user)
        .bind(project)
        .bind(day)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "UPDATE row_views SET shown = shown + $1 WHERE username = $2 AND project = $3 AND day = $4 AND shown + $1 <= $5",
        )
        .bind(rows)
        .bind(user)
        .bind(project)
        .bind(day)
        .bind(cap)
        .execute(&mut *tx)
        .await?;
        let shown: i64 = sqlx::query(
            "SELECT shown FROM row_views WHERE username = $1 AND project = $2 AND day = $3",
        )
        .bind(user)
        .bind(project)
        .bind(day)
        .fetch_one(&mut *tx)
        .await?
        .try_get("shown")?;
        tx.commit().await?;
        Ok(RowViews {
            shown_today: shown.max(0) as u64,
            limit,
            allowed: done.rows_affected() == 1,
        })
    }
}
