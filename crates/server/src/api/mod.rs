//! The handlers, one module per area.

pub mod admin;
pub mod applications;
pub mod audit;
pub mod catalog;
pub mod releases;
pub mod session;
pub mod workspace;

use crate::error::ApiError;

/// One row as text, `None` where the cell is null.
pub type TextRow = Vec<Option<String>>;

/// Appends a batch's rows as text to `rows` until it holds `limit` (the rows endpoint and the
/// workspace's query answer render rows the same way).
pub(crate) fn push_text_rows(
    batch: &arrow::record_batch::RecordBatch,
    rows: &mut Vec<TextRow>,
    limit: usize,
) -> Result<(), ApiError> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let opts = FormatOptions::default();
    let fmts = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    for i in 0..batch.num_rows() {
        if rows.len() >= limit {
            break;
        }
        rows.push(
            batch
                .columns()
                .iter()
                .zip(&fmts)
                .map(|(c, f)| (!c.is_null(i)).then(|| f.value(i).to_string()))
                .collect(),
        );
    }
    Ok(())
}

/// Unknown paths answer in the API's error shape.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

/// Days since 1970-01-01 as an ISO date.
pub fn iso_date(day: i32) -> String {
    medinfra_model::days::date_of(day)
        .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        .unwrap_or_else(|| "invalid".into())
}

/// An ISO date (YYYY-MM-DD) as days since 1970-01-01.
pub fn parse_date(field: &str, s: &str) -> Result<i32, ApiError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt)
        .map(medinfra_model::days::days_of)
        .map_err(|_| ApiError::BadRequest(format!("{field}: expected a date YYYY-MM-DD")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(
            parse_date("d", "2024-02-29").map(iso_date).unwrap(),
            "2024-02-29"
        );
        assert!(parse_date("d", "2024-02-30").is_err());
        assert!(parse_date("d", "x").is_err());
    }
}

/// Names accepted in requests, as closed enums so the OpenAPI document lists them.
pub mod names {
    use serde::Deserialize;
    use utoipa::ToSchema;

    use medinfra_govern::{Action, AuthorizationKind, ReviewDecision, Role};
    use medinfra_model::Tier;

    /// The tiers an application may ask for.
    #[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ApplyTier {
        Pseudonymized,
        Anonymized,
    }

    impl From<ApplyTier> for Tier {
        fn from(t: ApplyTier) -> Tier {
            match t {
                ApplyTier::Pseudonymized => Tier::Pseudonymized,
                ApplyTier::Anonymized => Tier::Anonymized,
            }
        }
    }

    /// Roles that have accounts (the public needs none).
    #[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum AccountRole {
        Provider,
        Operator,
        Reviewer,
        AuthorizedUser,
        Researcher,
        Auditor,
    }

    impl From<AccountRole> for Role {
        fn from(r: AccountRole) -> Role {
            match r {
                AccountRole::Provider => Role::Provider,
                AccountRole::Operator => Role::Operator,
                AccountRole::Reviewer => Role::Reviewer,
                AccountRole::AuthorizedUser => Role::AuthorizedUser,
                AccountRole::Researcher => Role::Researcher,
                AccountRole::Auditor => Role::Auditor,
            }
        }
    }

    #[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Decision {
        Approve,
        Reject,
        RequestChanges,
    }

    impl From<Decision> for ReviewDecision {
        fn from(d: Decision) -> ReviewDecision {
            match d {
                Decision::Approve => ReviewDecision::Approve,
                Decision::Reject => ReviewDecision::Reject,
                Decision::RequestChanges => ReviewDecision::RequestChanges,
            }
        }
    }

    /// Type I (extracts into the user's own environment) or type II (remote analysis only).
    #[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Kind {
        TypeI,
        TypeIi,
    }

    impl From<Kind> for AuthorizationKind {
        fn from(k: Kind) -> AuthorizationKind {
            match k {
                Kind::TypeI => AuthorizationKind::TypeI,
                Kind::TypeIi => AuthorizationKind::TypeII,
            }
        }
    }

    #[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ActionName {
        Read,
        Download,
        Write,
        Submit,
        ReadAudit,
        ReadCatalog,
        Administer,
        Apply,
        Review,
    }

    impl From<ActionName> for Action {
        fn from(a: ActionName) -> Action {
            match a {
                ActionName::Read => Action::Read,
                ActionName::Download => Action::Download,
                ActionName::Write => Action::Write,
                ActionName::Submit => Action::Submit,
                ActionName::ReadAudit => Action::ReadAudit,
                ActionName::ReadCatalog => Action::ReadCatalog,
                ActionName::Administer => Action::Administer,
                ActionName::Apply => Action::Apply,
                ActionName::Review => Action::Review,
            }
        }
    }
}
