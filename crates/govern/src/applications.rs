//! Applications for data, their review history, and the projects approval creates.
//!
//! An applicant asks for named datasets at one tier, with purpose, protocol, members and a
//! requested period. Reviewers approve, reject or request changes (every event is kept);
//! an applicant revises an application that needs changes. Approval creates a project whose
//! members, granted dataset versions (the latest version of each dataset at approval), tier
//! and expiry are fixed. A pseudonymized-tier application is approved only while the
//! applicant's organization holds a valid government authorization.

use serde::Serialize;
use sqlx::Row;

use medinfra_model::Tier;

use crate::registry::{Registry, RegistryError, role_of, tier_of};
use crate::{AuthorizationKind, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Submitted,
    ChangesRequested,
    Approved,
    Rejected,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Submitted => "submitted",
            ApplicationStatus::ChangesRequested => "changes_requested",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<Self, RegistryError> {
        Ok(match s {
            "submitted" => ApplicationStatus::Submitted,
            "changes_requested" => ApplicationStatus::ChangesRequested,
            "approved" => ApplicationStatus::Approved,
            "rejected" => ApplicationStatus::Rejected,
            _ => return Err(RegistryError::State("unknown application status".into())),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approve,
    Reject,
    RequestChanges,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewDecision::Approve => "approve",
            ReviewDecision::Reject => "reject",
            ReviewDecision::RequestChanges => "request_changes",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approve" => Some(ReviewDecision::Approve),
            "reject" => Some(ReviewDecision::Reject),
            "request_changes" => Some(ReviewDecision::RequestChanges),
            _ => None,
        }
    }
}

/// What an applicant asks for.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub title: String,
    pub datasets: Vec<String>,
    pub tier: Tier,
    pub purpose: String,
    pub protocol: String,
    /// Usernames; the applicant is always a member.
    pub members: Vec<String>,
    /// Days since 1970-01-01, inclusive.
    pub requested_from: i32,
    pub requested_to: i32,
    /// Asks to link the data with the NDB (連結利用): the approved project sees the keyed
    /// linkage columns (ID1/ID2/ID5-style), re-keyed for it. Pseudonymized tier only.
    pub ndb_linkage: bool,
}

/// One event of an application's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewEvent {
    pub event: String,
    pub by: Option<String>,
    pub comment: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Application {
    pub id: i64,
    pub applicant: String,
    pub organization: String,
    pub title: String,
    pub tier: Tier,
    pub datasets: Vec<String>,
    pub purpose: String,
    pub protocol: String,
    pub members: Vec<String>,
    pub requested_from: i32,
    pub requested_to: i32,
    pub ndb_linkage: bool,
    pub status: ApplicationStatus,
    pub history: Vec<ReviewEvent>,
    /// The project approval created.
    pub project: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grant {
    pub dataset: String,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub name: String,
    pub application_id: i64,
    pub organization: String,
    pub tier: Tier,
    pub starts: i32,
    pub expires: i32,
    pub active: bool,
    /// Approved to link with the NDB: the workspace shows the keyed linkage columns.
    pub ndb_linkage: bool,
    pub members: Vec<String>,
    pub grants: Vec<Grant>,
}

impl Registry {
    async fn validate_application(
        &self,
        applicant_role: Role,
        app: &NewApplication,
    ) -> Result<Vec<i64>, RegistryError> {
        if app.title.trim().is_empty() || app.title.len() > 200 {
            return Err(RegistryError::invalid("title", "must be 1-200 characters"));
        }
        if app.purpose.trim().is_empty() {
            return Err(RegistryError::invalid("purpose", "must not be empty"));
        }
        if app.protocol.trim().is_empty() {
            return Err(RegistryError::invalid("protocol", "must not be empty"));
        }
        if app.ndb_linkage && app.tier != Tier::Pseudonymized {
            return Err(RegistryError::invalid(
                "ndb_linkage",
                "linkage with the NDB is for pseudonymized data (anonymized data carries no linkage key)",
            ));
        }
        if !matches!(app.tier, Tier::Pseudonymized | Tier::Anonymized) {
            return Err(RegistryError::invalid(
                "tier",
                "applications are for pseudonymized or anonymized data",
            ));
        }
        if app.tier == Tier::Pseudonymized && applicant_role != Role::AuthorizedUser {
            return Err(RegistryError::invalid(
                "tier",
                "only authorized users apply for pseudonymized data",
            ));
        }
        if app.requested_to < app.requested_from {
            return Err(RegistryError::invalid(
                "requested_to",
                "period ends before it starts",
            ));
        }
        if app.datasets.is_empty() {
            return Err(RegistryError::invalid("datasets", "name at least one"));
        }
        for d in &app.datasets {
            let tier = match self.store.version(d, None).await {
                Ok(v) => v.tier,
                Err(medinfra_store::StoreError::NoSuchDataset(_)) => {
                    return Err(RegistryError::NotFound("dataset"));
                }
                Err(e) => return Err(RegistryError::State(e.to_string())),
            };
            if tier != app.tier {
                return Err(RegistryError::invalid(
                    "datasets",
                    format!("a dataset is {tier}, the application is {}", app.tier),
                ));
            }
        }
        let mut member_ids = Vec::new();
        for m in &app.members {
            let (id, role, _) = self.user_id(m).await?;
            let fits = match app.tier {
                Tier::Pseudonymized => role == Role::AuthorizedUser,
                _ => matches!(role, Role::AuthorizedUser | Role::Researcher),
            };
            if !fits {
                return Err(RegistryError::invalid(
                    "members",
                    "a member's role may not use data of this tier",
                ));
            }
            if !member_ids.contains(&id) {
                member_ids.push(id);
            }
        }
        Ok(member_ids)
    }

    /// Submit an application on behalf of `applicant` (who becomes a member).
    pub async fn submit_application(
        &self,
        applicant: &str,
        app: &NewApplication,
    ) -> Result<Application, RegistryError> {
        let (applicant_id, role, org_id) = self.user_id(applicant).await?;
        let org_id = org_id.ok_or(RegistryError::invalid(
            "applicant",
            "belongs to no organization",
        ))?;
        let mut members = self.validate_application(role, app).await?;
        if !members.contains(&applicant_id) {
            members.insert(0, applicant_id);
        }
        let at = medinfra_store::now_rfc3339();
        let mut tx = self.store.pool().begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO applications (applicant_id, org_id, title, tier, purpose, protocol, requested_from, requested_to, status, created_at, updated_at, ndb_linkage)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'submitted', $9, $10, $11) RETURNING id",
        )
        .bind(applicant_id)
        .bind(org_id)
        .bind(&app.title)
        .bind(app.tier.as_str())
        .bind(&app.purpose)
        .bind(&app.protocol)
        .bind(app.requested_from)
        .bind(app.requested_to)
        .bind(&at)
        .bind(&at)
        .bind(app.ndb_linkage as i64)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        write_lists(&mut tx, id, &app.datasets, &members).await?;
        sqlx::query("INSERT INTO reviews (application_id, reviewer_id, event, comment, at) VALUES ($1, $2, 'submitted', '', $3)")
            .bind(id)
            .bind(applicant_id)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.application(id).await
    }

    /// Revise an application a reviewer sent back; only its applicant may.
    pub async fn revise_application(
        &self,
        applicant: &str,
        id: i64,
        app: &NewApplication,
    ) -> Result<Application, RegistryError> {
        let current = self.application(id).await?;
        if current.applicant != applicant {
            return Err(RegistryError::NotFound("application"));
        }
        if current.status != ApplicationStatus::ChangesRequested {
            return Err(RegistryError::State(
                "only an application sent back for changes can be revised".into(),
            ));
        }
        let (applicant_id, role, _) = self.user_id(applicant).await?;
        let mut members = self.validate_application(role, app).await?;
        if !members.contains(&applicant_id) {
            members.insert(0, applicant_id);
        }
        let at = medinfra_store::now_rfc3339();
        let mut tx = self.store.pool().begin().await?;
        sqlx::query(
            "UPDATE applications SET title = $1, tier = $2, purpose = $3, protocol = $4, requested_from = $5, requested_to = $6, status = 'submitted', updated_at = $7, ndb_linkage = $9 WHERE id = $8",
        )
        .bind(&app.title)
        .bind(app.tier.as_str())
        .bind(&app.purpose)
        .bind(&app.protocol)
        .bind(app.requested_from)
        .bind(app.requested_to)
        .bind(&at)
        .bind(id)
        .bind(app.ndb_linkage as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM application_datasets WHERE application_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM application_members WHERE application_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        write_lists(&mut tx, id, &app.datasets, &members).await?;
        sqlx::query("INSERT INTO reviews (application_id, reviewer_id, event, comment, at) VALUES ($1, $2, 'revised', '', $3)")
            .bind(id)
            .bind(applicant_id)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.application(id).await
    }

    /// A reviewer's decision on a submitted application. Approval creates the project.
    pub async fn review(
        &self,
        reviewer: &str,
        id: i64,
        decision: ReviewDecision,
        comment: &str,
        today: i32,
    ) -> Result<Application, RegistryError> {
        let (reviewer_id, role, _) = self.user_id(reviewer).await?;
        if role != Role::Reviewer {
            return Err(RegistryError::invalid("reviewer", "is not a reviewer"));
        }
        let app = self.application(id).await?;
        if app.status != ApplicationStatus::Submitted {
            return Err(RegistryError::State(format!(
                "application is {}, not submitted",
                app.status.as_str()
            )));
        }
        if decision == ReviewDecision::Approve {
            if app.requested_to < today {
                return Err(RegistryError::State(
                    "the requested period has already ended".into(),
                ));
            }
            if app.tier == Tier::Pseudonymized {
                let valid = self
                    .authorizations(Some(&app.organization))
                    .await?
                    .iter()
                    .any(|a| {
                        !a.revoked
                            && a.valid_from <= today
                            && today <= a.valid_to
                            && matches!(
                                a.kind,
                                AuthorizationKind::TypeI | AuthorizationKind::TypeII
                            )
                    });
                if !valid {
                    return Err(RegistryError::State(
                        "pseudonymized data needs the organization to hold a valid government authorization".into(),
                    ));
                }
            }
        }
        let mut grants = Vec::new();
        if decision == ReviewDecision::Approve {
            for d in &app.datasets {
                let v = self
                    .store
                    .version(d, None)
                    .await
                    .map_err(|e| RegistryError::State(e.to_string()))?;
                grants.push((d.clone(), v.version));
            }
        }
        let at = medinfra_store::now_rfc3339();
        let status = match decision {
            ReviewDecision::Approve => ApplicationStatus::Approved,
            ReviewDecision::Reject => ApplicationStatus::Rejected,
            ReviewDecision::RequestChanges => ApplicationStatus::ChangesRequested,
        };
        let mut tx = self.store.pool().begin().await?;
        // The status guard makes two concurrent reviews of the same application safe.
        let n = sqlx::query(
            "UPDATE applications SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'submitted'",
        )
        .bind(status.as_str())
        .bind(&at)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(RegistryError::State(
                "application is no longer submitted".into(),
            ));
        }
        sqlx::query("INSERT INTO reviews (application_id, reviewer_id, event, comment, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(reviewer_id)
            .bind(decision.as_str())
            .bind(comment)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        if decision == ReviewDecision::Approve {
            let name = format!("prj-{id}");
            let project_id: i64 = sqlx::query(
                "INSERT INTO projects (name, application_id, org_id, tier, starts, expires, created_at)
                 SELECT $1, id, org_id, tier, requested_from, requested_to, $2 FROM applications WHERE id = $3 RETURNING id",
            )
            .bind(&name)
            .bind(&at)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            sqlx::query("INSERT INTO project_members (project_id, user_id) SELECT $1, user_id FROM application_members WHERE application_id = $2")
                .bind(project_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for (d, v) in &grants {
                sqlx::query(
                    "INSERT INTO project_grants (project_id, dataset, version) VALUES ($1, $2, $3)",
                )
                .bind(project_id)
                .bind(d)
                .bind(v)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.application(id).await
    }

    pub async fn application(&self, id: i64) -> Result<Application, RegistryError> {
        let r = sqlx::query(
            "SELECT a.id AS id, u.username AS applicant, o.name AS org, a.title AS title, a.tier AS tier, a.purpose AS purpose, a.protocol AS protocol,
                    a.requested_from AS requested_from, a.requested_to AS requested_to, a.status AS status, p.name AS project, a.ndb_linkage AS ndb_linkage
             FROM applications a JOIN users u ON u.id = a.applicant_id JOIN organizations o ON o.id = a.org_id
             LEFT JOIN projects p ON p.application_id = a.id WHERE a.id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or(RegistryError::NotFound("application"))?;
        let pool = self.store.pool();
        let datasets = strings(
            pool,
            "SELECT dataset FROM application_datasets WHERE application_id = $1 ORDER BY dataset",
            id,
        )
        .await?;
        let members = strings(pool, "SELECT u.username FROM application_members m JOIN users u ON u.id = m.user_id WHERE m.application_id = $1 ORDER BY u.username", id).await?;
        let history = sqlx::query("SELECT r.event AS event, u.username AS reviewer, r.comment AS comment, r.at AS at FROM reviews r LEFT JOIN users u ON u.id = r.reviewer_id WHERE r.application_id = $1 ORDER BY r.id")
            .bind(id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok(ReviewEvent {
                    event: r.try_get("event")?,
                    by: r.try_get("reviewer")?,
                    comment: r.try_get("comment")?,
                    at: r.try_get("at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Application {
            id: r.try_get("id")?,
            applicant: r.try_get("applicant")?,
            organization: r.try_get("org")?,
            title: r.try_get("title")?,
            tier: tier_of(&r.try_get::<String, _>("tier")?)?,
            datasets,
            purpose: r.try_get("purpose")?,
            protocol: r.try_get("protocol")?,
            members,
            requested_from: r.try_get("requested_from")?,
            requested_to: r.try_get("requested_to")?,
            ndb_linkage: r.try_get::<i64, _>("ndb_linkage")? != 0,
            status: ApplicationStatus::parse(&r.try_get::<String, _>("status")?)?,
            history,
            project: r.try_get("project")?,
        })
    }

    /// Applications, oldest first: all of them, or those `member` applied for or is a member of.
    pub async fn applications(
        &self,
        member: Option<&str>,
    ) -> Result<Vec<Application>, RegistryError> {
        let ids = sqlx::query(
            "SELECT a.id AS id FROM applications a JOIN users u ON u.id = a.applicant_id
             WHERE $1 IS NULL OR u.username = $1
                OR a.id IN (SELECT m.application_id FROM application_members m JOIN users mu ON mu.id = m.user_id WHERE mu.username = $1)
             ORDER BY a.id",
        )
        .bind(member)
        .fetch_all(self.store.pool())
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for r in ids {
            out.push(self.application(r.try_get("id")?).await?);
        }
        Ok(out)
    }

    pub async fn project(&self, name: &str) -> Result<Project, RegistryError> {
        let r = sqlx::query(
            "SELECT p.id AS id, p.name AS name, p.application_id AS application_id, o.name AS org, p.tier AS tier, p.starts AS starts, p.expires AS expires, p.active AS active, a.ndb_linkage AS ndb_linkage
             FROM projects p JOIN organizations o ON o.id = p.org_id JOIN applications a ON a.id = p.application_id WHERE p.name = $1",
        )
        .bind(name)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or(RegistryError::NotFound("project"))?;
        let pid: i64 = r.try_get("id")?;
        let pool = self.store.pool();
        let members = strings(pool, "SELECT u.username FROM project_members m JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY u.username", pid).await?;
        let grants = sqlx::query("SELECT dataset, version FROM project_grants WHERE project_id = $1 ORDER BY dataset, version")
            .bind(pid)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Grant {
                    dataset: r.try_get("dataset")?,
                    version: r.try_get("version")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Project {
            name: r.try_get("name")?,
            application_id: r.try_get("application_id")?,
            organization: r.try_get("org")?,
            tier: tier_of(&r.try_get::<String, _>("tier")?)?,
            starts: r.try_get("starts")?,
            expires: r.try_get("expires")?,
            active: r.try_get::<i64, _>("active")? != 0,
            ndb_linkage: r.try_get::<i64, _>("ndb_linkage")? != 0,
            members,
            grants,
        })
    }

    /// Projects: all, or those `member` belongs to.
    pub async fn projects(&self, member: Option<&str>) -> Result<Vec<Project>, RegistryError> {
        let names = sqlx::query(
            "SELECT p.name AS name FROM projects p
             WHERE $1 IS NULL OR p.id IN (SELECT m.project_id FROM project_members m JOIN users u ON u.id = m.user_id WHERE u.username = $1)
             ORDER BY p.id",
        )
        .bind(member)
        .fetch_all(self.store.pool())
        .await?;
        let mut out = Vec::with_capacity(names.len());
        for r in names {
            out.push(self.project(&r.try_get::<String, _>("name")?).await?);
        }
        Ok(out)
    }

    /// Close a project (its members lose access at once).
    pub async fn close_project(&self, name: &str) -> Result<(), RegistryError> {
        let n = sqlx::query("UPDATE projects SET active = 0 WHERE name = $1")
            .bind(name)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(RegistryError::NotFound("project"));
        }
        Ok(())
    }

    /// Change a project's expiry (operators extend or shorten it; tests use it).
    pub async fn set_project_expiry(&self, name: &str, expires: i32) -> Result<(), RegistryError> {
        let n = sqlx::query("UPDATE projects SET expires = $1 WHERE name = $2")
            .bind(expires)
            .bind(name)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(RegistryError::NotFound("project"));
        }
        Ok(())
    }

    /// Whether `project` was granted `dataset` version `version`.
    pub async fn project_grants_version(
        &self,
        project: &str,
        dataset: &str,
        version: i64,
    ) -> Result<bool, RegistryError> {
        Ok(sqlx::query(
            "SELECT 1 FROM project_grants g JOIN projects p ON p.id = g.project_id WHERE p.name = $1 AND g.dataset = $2 AND g.version = $3",
        )
        .bind(project)
        .bind(dataset)
        .bind(version)
        .fetch_optional(self.store.pool())
        .await?
        .is_some())
    }

    /// The role of a user (for callers that need it without a full actor).
    pub async fn role(&self, username: &str) -> Result<Role, RegistryError> {
        let r = sqlx::query("SELECT role FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or(RegistryError::NotFound("user"))?;
        role_of(&r.try_get::<String, _>("role")?)
    }
}

async fn write_lists(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
    datasets: &[String],
    members: &[i64],
) -> Result<(), RegistryError> {
    for d in datasets {
        sqlx::query(
            "INSERT INTO application_datasets (application_id, dataset) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(d)
        .execute(&mut **tx)
        .await?;
    }
    for m in members {
        sqlx::query(
            "INSERT INTO application_members (application_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(m)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The first column of every row of a one-parameter query, as strings (member and dataset lists).
async fn strings(
    pool: &sqlx::AnyPool,
    sql: &'static str,
    id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query(sql)
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect()
}
