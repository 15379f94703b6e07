//! Per-project differential-privacy budgets, kept in the catalog so that every interface (CLI,
//! API, web) spends the same budget and two requests at the same moment cannot both spend its
//! last part: the spend is one conditional `UPDATE` (row-locked in PostgreSQL, serialized in
//! SQLite), and its log row commits in the same transaction.

use serde::Serialize;
use sqlx::Row;

use crate::registry::{Registry, RegistryError};

/// A project's budget in millionths of epsilon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DpBudget {
    pub project: String,
    pub total_micros: u64,
    pub spent_micros: u64,
    pub set_by: String,
    pub set_at: String,
}

impl DpBudget {
    pub fn remaining_micros(&self) -> u64 {
        self.total_micros.saturating_sub(self.spent_micros)
    }
}

impl Registry {
    /// Sets (or changes) a project's total budget. A total below what is already spent is
    /// refused: spent privacy cannot be given back.
    pub async fn set_dp_budget(
        &self,
        project: &str,
        total_micros: u64,
        by: &str,
    ) -> Result<DpBudget, RegistryError> {
        self.project(project).await?;
        if total_micros == 0 || total_micros > i64::MAX as u64 {
            return Err(RegistryError::invalid("epsilon", "must be greater than 0"));
        }
        if let Some(b) = self.dp_budget(project).await?
            && total_micros < b.spent_micros
        {
            return Err(RegistryError::invalid(
                "epsilon",
                format!(
                    "below what the project has already spent ({} millionths)",
                    b.spent_micros
                ),
            ));
        }
        let at = medinfra_store::now_rfc3339();
        sqlx::query(
            "INSERT INTO dp_budgets (project, total_micros, spent_micros, set_by, set_at) VALUES ($1, $2, 0, $3, $4)
             ON CONFLICT(project) DO UPDATE SET total_micros = $2, set_by = $3, set_at = $4",
        )
        .bind(project)
        .bind(total_micros as i64)
        .bind(by)
        .bind(&at)
        .execute(self.store.pool())
        .await?;
        self.dp_budget(project)
            .await?
            .ok_or(RegistryError::NotFound("privacy budget"))
    }

    /// The project's budget, if an operator set one.
    pub async fn dp_budget(&self, project: &str) -> Result<Option<DpBudget>, RegistryError> {
        let row = sqlx::query(
            "SELECT project, total_micros, spent_micros, set_by, set_at FROM dp_budgets WHERE project = $1",
        )
        .bind(project)
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|r| {
            Ok(DpBudget {
                project: r.try_get("project")?,
                total_micros: r.try_get::<i64, _>("total_micros")?.max(0) as u64,
                spent_micros: r.try_get::<i64, _>("spent_micros")?.max(0) as u64,
                set_by: r.try_get("set_by")?,
                set_at: r.try_get("set_at")?,
            })
        })
        .transpose()
    }

    /// Spends `micros` of the project's budget for `label`, or refuses and spends nothing.
    /// Returns the budget after the spend.
    pub async fn charge_dp(
        &self,
        project: &str,
        label: &str,
        micros: u64,
        by: &str,
    ) -> Result<DpBudget, RegistryError> {
        if micros == 0 || micros > i64::MAX as u64 {
            return Err(RegistryError::invalid("epsilon", "must be greater than 0"));
        }
        let Some(before) = self.dp_budget(project).await? else {
            return Err(RegistryError::State(format!(
                "project {project} has no privacy budget: an operator sets one (medinfra release budget)"
            )));
        };
        let mut tx = self.store.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE dp_budgets SET spent_micros = spent_micros + $1 WHERE project = $2 AND spent_micros + $1 <= total_micros",
        )
        .bind(micros as i64)
        .bind(project)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(RegistryError::State(format!(
                "privacy budget of project {project} exhausted: epsilon {} asked, {} of {} left",
                micros as f64 / 1e6,
                before.remaining_micros() as f64 / 1e6,
                before.total_micros as f64 / 1e6
            )));
        }
        sqlx::query(
            "INSERT INTO dp_charges (project, label, micros, charged_by, charged_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(project)
        .bind(label)
        .bind(micros as i64)
        .bind(by)
        .bind(medinfra_store::now_rfc3339())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.dp_budget(project)
            .await?
            .ok_or(RegistryError::NotFound("privacy budget"))
    }
}
