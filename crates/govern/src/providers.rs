//! The providers this producer receives files from (医療情報取扱事業者).
//!
//! Under the Next-Generation Medical Infrastructure Act a provider may send its patients'
//! data to a certified producer only after it has told its patients (with the right to
//! refuse) and notified the competent minister; a producer that reads the files of a
//! hospital it has no such record for has no legal basis for them. So the monthly run reads
//! only registered providers' files, from the day their notice took effect, and none of a
//! withdrawn provider's. Provider ids are facility codes, not personal data.

use serde::Serialize;
use sqlx::Row;

use crate::registry::{Registry, RegistryError, unique};

/// One registered provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provider {
    /// 10 digits: prefecture (2) + 点数表 (1) + facility code (7), or a checkup institution's
    /// number.
    pub id: String,
    pub name: String,
    /// The day (YYYY-MM-DD) from which its patients were notified: files may be read from it.
    pub notified_on: String,
    pub registered_at: String,
    pub withdrawn_at: Option<String>,
}

/// Why a registered provider's files may not be read on `today` (YYYY-MM-DD; `None`: they
/// may). A provider that is not registered is refused by the caller, which knows the id.
pub fn refusal(p: &Provider, today: &str) -> Option<String> {
    if let Some(when) = &p.withdrawn_at {
        return Some(format!(
            "provider {} withdrew on {when}; its files were not read",
            p.id
        ));
    }
    (p.notified_on.as_str() > today).then(|| {
        format!(
            "provider {}'s notice takes effect on {}; its files were not read",
            p.id, p.notified_on
        )
    })
}

fn valid_id(id: &str) -> bool {
    id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit())
}

fn valid_date(d: &str) -> bool {
    time::Date::parse(
        d,
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .is_ok()
}

/// Checks one provider's fields (an import checks every line before registering any).
pub fn validate(id: &str, name: &str, notified_on: &str) -> Result<(), RegistryError> {
    if !valid_id(id) {
        return Err(RegistryError::invalid("provider_id", "must be 10 digits"));
    }
    if name.trim().is_empty() || name.len() > 200 {
        return Err(RegistryError::invalid("name", "must be 1-200 characters"));
    }
    if !valid_date(notified_on) {
        return Err(RegistryError::invalid(
            "notified_on",
            format!("{notified_on:?} is not a date YYYY-MM-DD"),
        ));
    }
    Ok(())
}

impl Registry {
    /// Registers a provider; registering an id again is refused (withdrawn ids included: a
    /// facility code is never reused for another provider's files).
    pub async fn register_provider(
        &self,
        id: &str,
        name: &str,
        notified_on: &str,
    ) -> Result<Provider, RegistryError> {
        validate(id, name, notified_on)?;
        let now = medinfra_store::now_rfc3339();
        sqlx::query(
            "INSERT INTO providers (id, name, notified_on, registered_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(name.trim())
        .bind(notified_on)
        .bind(&now)
        .execute(self.store.pool())
        .await
        .map_err(|e| unique(e, "provider"))?;
        Ok(Provider {
            id: id.into(),
            name: name.trim().into(),
            notified_on: notified_on.into(),
            registered_at: now,
            withdrawn_at: None,
        })
    }

    /// Registers every (id, name, notified_on) not registered yet, in one transaction, after
    /// checking them all; returns how many were added.
    pub async fn import_providers(
        &self,
        rows: &[(String, String, String)],
    ) -> Result<u64, RegistryError> {
        for (id, name, notified_on) in rows {
            validate(id, name, notified_on)?;
        }
        let now = medinfra_store::now_rfc3339();
        let mut tx = self.store.pool().begin().await?;
        let mut added = 0;
        for (id, name, notified_on) in rows {
            added += sqlx::query(
                "INSERT INTO providers (id, name, notified_on, registered_at) VALUES ($1, $2, $3, $4) ON CONFLICT(id) DO NOTHING",
            )
            .bind(id)
            .bind(name.trim())
            .bind(notified_on)
            .bind(&now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Every registered provider, by id.
    pub async fn providers(&self) -> Result<Vec<Provider>, RegistryError> {
        sqlx::query(
            "SELECT id, name, notified_on, registered_at, withdrawn_at FROM providers ORDER BY id",
        )
        .fetch_all(self.store.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Provider {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                notified_on: r.try_get("notified_on")?,
                registered_at: r.try_get("registered_at")?,
                withdrawn_at: r.try_get("withdrawn_at")?,
            })
        })
        .collect()
    }

    /// Marks a provider withdrawn: its later files are refused; what it sent stays.
    pub async fn withdraw_provider(&self, id: &str) -> Result<(), RegistryError> {
        let done = sqlx::query(
            "UPDATE providers SET withdrawn_at = $1 WHERE id = $2 AND withdrawn_at IS NULL",
        )
        .bind(medinfra_store::now_rfc3339())
        .bind(id)
        .execute(self.store.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::NotFound("registered provider"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(withdrawn: Option<&str>, notified: &str) -> Provider {
        Provider {
            id: "1310000001".into(),
            name: "x".into(),
            notified_on: notified.into(),
            registered_at: String::new(),
            withdrawn_at: withdrawn.map(str::to_string),
        }
    }

    #[test]
    fn refusals() {
        let today = "2026-12-07";
        assert!(refusal(&p(None, "2020-01-01"), today).is_none());
        assert!(refusal(&p(None, today), today).is_none());
        assert!(
            refusal(&p(None, "2027-01-01"), today)
                .unwrap()
                .contains("takes effect on 2027-01-01")
        );
        assert!(
            refusal(&p(Some("2026-01-01T00:00:00Z"), "2020-01-01"), today)
                .unwrap()
                .contains("withdrew")
        );
        assert!(valid_id("0110000001") && !valid_id("011000000") && !valid_id("01100000x1"));
        assert!(valid_date("2024-02-29") && !valid_date("2023-02-29") && !valid_date("20240101"));
    }
}
