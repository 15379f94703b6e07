//! Release requests (output checking before results leave the workspace).
//!
//! A request lives in `DATA_DIR/workspaces/PROJECT/releases/N/` (request.json, the table and
//! its checks, the assessment text, the cleaned CSV); the project's release ledger
//! (`ledger.json`) holds every table released so far, so a new table is checked against them
//! for differencing. Approval writes the cleaned table as a version of dataset
//! `release-PROJECT-N` at tier `statistics`, with the query text, input versions, checks,
//! parameters, reviewer and time in its lineage, and records it in the ledger.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use medinfra_disclosure::{
    CellState, DisclosureConfig, Mitigation, ReleaseCheck, ReleaseLedger, Statistic, Status, Table,
    TableBuilder, TableSpec, check_release, render,
};
use medinfra_govern::{Action, Actor, AuditLog, Registry, Resource, can};
use medinfra_model::Tier;
use medinfra_store::{Lineage, Store, VersionInfo};
use serde::{Deserialize, Serialize};

use crate::ResearchError;
use crate::error::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseStatus {
    Pending,
    Approved,
    Rejected,
}

impl ReleaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Pending => "pending",
            ReleaseStatus::Approved => "approved",
            ReleaseStatus::Rejected => "rejected",
        }
    }
}

/// One release request as stored in `request.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseRequest {
    pub id: String,
    pub project: String,
    pub requested_by: String,
    pub requested_at: String,
    pub result: String,
    /// The result's SQL and the dataset versions it read (provenance).
    pub sql: String,
    pub inputs: Vec<String>,
    pub spec: TableSpec,
    pub mitigation: Mitigation,
    pub status: ReleaseStatus,
    pub reviewer: Option<String>,
    pub reviewed_at: Option<String>,
    pub comment: Option<String>,
    /// `dataset@vN` once approved.
    pub released_dataset: Option<String>,
}

/// What to check and release from a saved result table.
#[derive(Debug, Clone)]
pub struct ReleaseSpec {
    pub result: String,
    /// Columns that label the table's rows (at least one) and columns.
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// The column summarized by `statistic` (none: count persons).
    pub value: Option<String>,
    /// The column saying whom each row is about; found among [`PERSON_COLUMNS`] when not
    /// named. Cells count the distinct persons behind them — never a count the requester
    /// supplies (a constant `12 AS n` column once published per-person rows).
    pub person: Option<String>,
    pub statistic: Statistic,
    pub margins: bool,
    pub mitigation: Mitigation,
    pub config: DisclosureConfig,
}

/// Columns that say whom a result row is about, in the order they are looked for: the
/// registry's person (re-keyed per project), a provider's patient, an anonymized release's
/// person number.
pub const PERSON_COLUMNS: &[&str] = &["person_id", "person_token", "patient_id", "release_id"];

/// `count`, `sum`, `mean`, `median`, `min`, `max`, `std`, `mode`.
pub fn parse_statistic(name: &str) -> Result<Statistic, ResearchError> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        ResearchError::Invalid(format!(
            "unknown statistic {name:?} (count, sum, mean, median, min, max, std, mode)"
        ))
    })
}

/// `suppress`, `round` (base 5), `round:BASE`, `dp:EPSILON`, `none`.
pub fn parse_mitigation(name: &str) -> Result<Mitigation, ResearchError> {
    Ok(match name {
        "suppress" => Mitigation::Suppress,
        "none" => Mitigation::None,
        n if n.starts_with("dp:") => {
            let eps: f64 = n[3..].parse().map_err(|_| {
                ResearchError::Invalid(format!("{name:?}: dp:EPSILON needs a number, e.g. dp:0.5"))
            })?;
            Mitigation::Dp {
                epsilon: medinfra_disclosure::dp::Epsilon::new(eps)?,
            }
        }
        n if n.starts_with("round") => Mitigation::Round {
            base: n
                .strip_prefix("round")
                .and_then(|b| b.trim_start_matches(':').parse().ok())
                .unwrap_or(5),
        },
        _ => {
            return Err(ResearchError::Invalid(format!(
                "unknown mitigation {name:?} (suppress, round, round:BASE, dp:EPSILON, none)"
            )));
        }
    })
}

fn project_dir(store: &Store, project: &str) -> PathBuf {
    store.root().join("workspaces").join(project)
}

fn split_id(id: &str) -> Result<(&str, u64), ResearchError> {
    let bad = || ResearchError::Invalid(format!("{id:?}: a release request id is PROJECT-N"));
    let (p, n) = id.rsplit_once('-').ok_or_else(bad)?;
    if p.is_empty() || p.contains(['/', '\\', '.']) {
        return Err(bad());
    }
    Ok((p, n.parse().map_err(|_| bad())?))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ResearchError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|source| ResearchError::Json {
        path: path.display().to_string(),
        source,
    })
}

fn save_json(path: &Path, value: &impl Serialize) -> Result<(), ResearchError> {
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| ResearchError::Json {
        path: path.display().to_string(),
        source,
    })?;
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn write_file(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), ResearchError> {
    std::fs::write(path, bytes).map_err(io(path))
}

fn request_dir(store: &Store, id: &str) -> Result<PathBuf, ResearchError> {
    let (project, n) = split_id(id)?;
    let dir = project_dir(store, project)
        .join("releases")
        .join(n.to_string());
    if !dir.join("request.json").exists() {
        return Err(ResearchError::NotFound(format!("no release request {id}")));
    }
    Ok(dir)
}

fn ledger_path(store: &Store, project: &str) -> PathBuf {
    project_dir(store, project).join("ledger.json")
}

fn load_ledger(store: &Store, project: &str) -> Result<ReleaseLedger, ResearchError> {
    let path = ledger_path(store, project);
    if !path.exists() {
        return Ok(ReleaseLedger::new(project));
    }
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    Ok(ReleaseLedger::from_json(
        &text,
        &path.display().to_string(),
    )?)
}

/// Text of column `c` at row `r` (the table's category labels).
fn label(batch: &RecordBatch, c: usize, r: usize) -> Result<String, ResearchError> {
    let col = batch.column(c);
    if col.is_null(r) {
        return Ok(String::new());
    }
    let s = arrow::compute::cast(&col.slice(r, 1), &DataType::Utf8)?;
    Ok(s.as_string::<i32>().value(0).to_string())
}

fn number(batch: &RecordBatch, c: usize, r: usize) -> Result<Option<f64>, ResearchError> {
    let col = batch.column(c);
    if col.is_null(r) {
        return Ok(None);
    }
    let v = arrow::compute::cast(&col.slice(r, 1), &DataType::Float64)?;
    Ok(Some(
        v.as_primitive::<arrow::datatypes::Float64Type>().value(0),
    ))
}

/// Decide with `can`, audit, refuse when denied.
async fn decide(
    store: &Store,
    actor: &Actor,
    action: Action,
    resource: &Resource,
    audit_action: &str,
    what: &str,
    today: i32,
) -> Result<(), ResearchError> {
    let d = can(actor, action, resource, today);
    AuditLog::new(store)
        .append(
            &actor.user,
            audit_action,
            what,
            if d.allowed { "allowed" } else { "denied" },
            &format!("rule {}", d.rule),
        )
        .await?;
    if d.allowed {
        Ok(())
    } else {
        Err(ResearchError::Denied {
            what: what.to_string(),
            rule: d.rule,
        })
    }
}

/// How a request is looked at: as a reviewer when `can` says so, else as a reader of the
/// project (a member); the decision itself is made and audited by [`decide`].
fn viewing_action(actor: &Actor, resource: &Resource, today: i32) -> Action {
    if can(actor, Action::Review, resource, today).allowed {
        Action::Review
    } else {
        Action::Read
    }
}

/// Decides (and audits as `audit_action` on `what`) whether `actor` may see something of
/// `project`: its members (who may read its data) and the reviewers may.
async fn decide_viewing(
    store: &Store,
    actor: &Actor,
    project: &medinfra_govern::Project,
    audit_action: &str,
    what: &str,
    today: i32,
) -> Result<(), ResearchError> {
    let resource = project_resource(project.tier, &project.name);
    let action = viewing_action(actor, &resource, today);
    decide(store, actor, action, &resource, audit_action, what, today).await
}

fn project_resource(tier: Tier, project: &str) -> Resource {
    Resource::in_project(tier, project.to_string())
}

/// Request the release of a saved result of `project`: builds the table, runs every check
/// (with the project's ledger for differencing), applies the mitigation and stores the
/// request for a reviewer.
pub async fn request_release(
    store: &Store,
    actor: &Actor,
    project: &str,
    spec: ReleaseSpec,
    today: i32,
) -> Result<(ReleaseRequest, ReleaseCheck), ResearchError> {
    let project = Registry::new(store).project(project).await?;
    decide(
        store,
        actor,
        Action::Read,
        &project_resource(project.tier, &project.name),
        "release_request",
        &format!("project {} result {}", project.name, spec.result),
        today,
    )
    .await?;
    // Operators may read every project inside the system, but only the project's own members
    // ask for its results to leave.
    let member = actor
        .memberships
        .iter()
        .any(|m| m.project == project.name && m.current(today));
    if !member {
        AuditLog::new(store)
            .append(
                &actor.user,
                "release_request",
                &format!("project {} result {}", project.name, spec.result),
                "denied",
                "rule release-requester-member",
            )
            .await?;
        return Err(ResearchError::Denied {
            what: format!("release request in project {}", project.name),
            rule: "release-requester-member",
        });
    }
    medinfra_analysis::validate_result_name(&spec.result)?;
    if spec.rows.is_empty() {
        return Err(ResearchError::Invalid(
            "a release table names at least one row variable".into(),
        ));
    }
    let dir = project_dir(store, &project.name);
    let results = dir.join("results");
    let info_path = results.join(format!("{}.json", spec.result));
    if !info_path.exists() {
        return Err(ResearchError::NotFound(format!(
            "no saved result {} in project {}",
            spec.result, project.name
        )));
    }
    let info: serde_json::Value = read_json(&info_path)?;
    let inputs: Vec<String> = info["inputs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Mitigation::Round { base } = spec.mitigation
        && base < spec.config.acro.safe_round_base
    {
        return Err(ResearchError::Invalid(format!(
            "rounding base {base} is below the minimum {} (round:{} or suppress)",
            spec.config.acro.safe_round_base, spec.config.acro.safe_round_base
        )));
    }
    let table_spec = TableSpec {
        name: spec.result.clone(),
        rows: spec.rows.clone(),
        cols: spec.cols.clone(),
        value: spec.value.clone(),
        statistics: vec![spec.statistic],
        margins: spec.margins,
        // Cells count distinct persons, so the NDB rule (no cell of 1–9 persons) applies to
        // every table that leaves.
        ndb: Some(medinfra_disclosure::NdbMeasure::PersonCount),
        scope: inputs.join(";"),
        filters: Default::default(),
        clamp: None,
    };
    let dp = matches!(spec.mitigation, Mitigation::Dp { .. });
    if dp && (spec.statistic != Statistic::Count || spec.value.is_some()) {
        return Err(ResearchError::Invalid(
            "dp releases person counts (statistic count, no value column)".into(),
        ));
    }
    let table = build_table(&results, &spec, &table_spec, dp)?;
    let checked = match spec.mitigation {
        Mitigation::Dp { epsilon } => {
            dp_release(store, actor, &project.name, &spec, &table, epsilon).await?
        }
        m => {
            let ledger = load_ledger(store, &project.name)?;
            check_release(&table, &spec.config, Some(&ledger), m)?
        }
    };

    let releases = dir.join("releases");
    std::fs::create_dir_all(&releases).map_err(io(&releases))?;
    // The next free number: `create_dir` fails on an existing directory, so two requests at
    // the same moment never share one.
    let mut n = std::fs::read_dir(&releases).map_err(io(&releases))?.count() as u64 + 1;
    let rdir = loop {
        let dir = releases.join(n.to_string());
        match std::fs::create_dir(&dir) {
            Ok(()) => break dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(io(&dir)(e)),
        }
    };
    let id = format!("{}-{n}", project.name);
    let req = ReleaseRequest {
        id,
        project: project.name.clone(),
        requested_by: actor.user.clone(),
        requested_at: medinfra_store::now_rfc3339(),
        result: spec.result.clone(),
        sql: info["sql"].as_str().unwrap_or_default().to_string(),
        inputs,
        spec: table_spec,
        mitigation: spec.mitigation,
        status: ReleaseStatus::Pending,
        reviewer: None,
        reviewed_at: None,
        comment: None,
        released_dataset: None,
    };
    save_json(&rdir.join("table.json"), &table)?;
    save_json(&rdir.join("check.json"), &checked)?;
    write_file(
        &rdir.join("assessment.txt"),
        render::assessment_text(&checked.assessment),
    )?;
    write_file(
        &rdir.join("cleaned.csv"),
        render::cleaned_csv(&checked.cleaned)?,
    )?;
    // request.json last: a request directory without it is not a request.
    save_json(&rdir.join("request.json"), &req)?;
    Ok((req, checked))
}

/// The DP path of a release request: the project's budget is charged in the catalog (or the
/// request refused, nothing spent), then the noise is drawn — once: the requester sees this
/// draw, so a rejected request has still spent its epsilon. Cells are disjoint (each person in
/// one inner cell, checked when the table was built), so one person changes one cell by one:
/// sensitivity 1.
async fn dp_release(
    store: &Store,
    actor: &Actor,
    project: &str,
    spec: &ReleaseSpec,
    table: &Table,
    epsilon: medinfra_disclosure::dp::Epsilon,
) -> Result<ReleaseCheck, ResearchError> {
    use medinfra_disclosure::dp;
    let assessment = medinfra_disclosure::assess(table, &spec.config);
    let label = format!("release of {}", spec.result);
    let budget = Registry::new(store)
        .charge_dp(project, &label, epsilon.micros, &actor.user)
        .await?;
    AuditLog::new(store)
        .append(
            &actor.user,
            "dp_charge",
            &format!("project {project} result {}", spec.result),
            "allowed",
            &format!(
                "epsilon {} spent, {} of {} left",
                epsilon.as_f64(),
                budget.remaining_micros() as f64 / 1e6,
                budget.total_micros as f64 / 1e6
            ),
        )
        .await?;
    // The catalog is the budget; this accountant only satisfies `dp::release`'s interface.
    let mut accountant = dp::BudgetAccountant::new(project, epsilon);
    let noisy = dp::release(
        table,
        &dp::DpRequest {
            statistic: Statistic::Count,
            epsilon,
            resolution: 1.0,
        },
        &mut accountant,
        &mut dp::secure_rng(),
    )?;
    Ok(ReleaseCheck {
        assessment,
        cleaned: dp::cleaned(table, &noisy, &spec.config),
        differencing: Vec::new(),
    })
}

fn build_table(
    results: &Path,
    spec: &ReleaseSpec,
    table_spec: &TableSpec,
    one_cell_per_person: bool,
) -> Result<Table, ResearchError> {
    // For DP: the inner cell each person was counted in (a second one is refused).
    let mut cell_of: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    let config = &spec.config;
    let mut builder = TableBuilder::for_config(table_spec.clone(), config)?;
    let path = results.join(format!("{}.parquet", spec.result));
    let file = std::fs::File::open(&path).map_err(io(&path))?;
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let mut rows_before = 0usize;
    for batch in reader {
        let batch = batch?;
        let schema = batch.schema();
        let idx = |c: &str| {
            schema.index_of(c).map_err(|_| {
                ResearchError::Invalid(format!("result {} has no column {c}", spec.result))
            })
        };
        let row_idx: Vec<usize> = spec.rows.iter().map(|c| idx(c)).collect::<Result<_, _>>()?;
        let col_idx: Vec<usize> = spec.cols.iter().map(|c| idx(c)).collect::<Result<_, _>>()?;
        let value_idx = spec.value.as_deref().map(idx).transpose()?;
        let person_idx = match spec.person.as_deref() {
            Some(c) => idx(c)?,
            None => PERSON_COLUMNS
                .iter()
                .find_map(|c| schema.index_of(c).ok())
                .ok_or_else(|| {
                    ResearchError::Invalid(format!(
                        "result {} has no person column ({}): cells count the distinct persons behind them, so keep one in the saved result (one row per record, not a count per group) or name it",
                        spec.result,
                        PERSON_COLUMNS.join(", ")
                    ))
                })?,
        };
        for r in 0..batch.num_rows() {
            let rl: Vec<String> = row_idx
                .iter()
                .map(|&c| label(&batch, c, r))
                .collect::<Result<_, _>>()?;
            let cl: Vec<String> = col_idx
                .iter()
                .map(|&c| label(&batch, c, r))
                .collect::<Result<_, _>>()?;
            let rr: Vec<&str> = rl.iter().map(String::as_str).collect();
            let cc: Vec<&str> = cl.iter().map(String::as_str).collect();
            if batch.column(person_idx).is_null(r) {
                return Err(ResearchError::Invalid(format!(
                    "result {} row {}: the person column is empty",
                    spec.result,
                    rows_before + r + 1
                )));
            }
            let person = person_digest(&label(&batch, person_idx, r)?);
            if one_cell_per_person {
                let cell = person_digest(&format!("{rr:?}{cc:?}"));
                if *cell_of.entry(person).or_insert(cell) != cell {
                    return Err(ResearchError::Invalid(format!(
                        "result {}: a person is counted in two cells; a DP release needs every person in one cell (one row per person, or release with suppress)",
                        spec.result
                    )));
                }
            }
            let value = value_idx
                .map(|v| number(&batch, v, r))
                .transpose()?
                .flatten();
            builder.push_person(&rr, &cc, person, value)?;
        }
        rows_before += batch.num_rows();
    }
    Ok(builder.finish())
}

/// A person's 64-bit digest for counting distinct persons in one table (never stored):
/// SHA-256's first eight bytes, so no two persons of a table collide in practice.
fn person_digest(label: &str) -> u64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(label.as_bytes());
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// The stored request and its checks, for someone allowed to see them: a member of the
/// project (who may read its data) or a reviewer. Audited.
pub async fn load_release(
    store: &Store,
    actor: &Actor,
    id: &str,
    today: i32,
) -> Result<(ReleaseRequest, ReleaseCheck), ResearchError> {
    let dir = request_dir(store, id)?;
    let req: ReleaseRequest = read_json(&dir.join("request.json"))?;
    let project = Registry::new(store).project(&req.project).await?;
    decide_viewing(
        store,
        actor,
        &project,
        "release_view",
        &format!("release {id}"),
        today,
    )
    .await?;
    let checked = read_json(&dir.join("check.json"))?;
    Ok((req, checked))
}

/// The release requests of a project, oldest first (no access check: the caller shows them
/// only after deciding, see [`list_releases`]).
fn read_requests(store: &Store, project: &str) -> Result<Vec<ReleaseRequest>, ResearchError> {
    let releases = project_dir(store, project).join("releases");
    if !releases.exists() {
        return Ok(vec![]);
    }
    let mut numbered = Vec::new();
    for e in std::fs::read_dir(&releases).map_err(io(&releases))? {
        let e = e.map_err(io(&releases))?;
        let Some(n) = e.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        let path = e.path().join("request.json");
        if path.exists() {
            numbered.push((n, read_json::<ReleaseRequest>(&path)?));
        }
    }
    numbered.sort_by_key(|(n, _)| *n);
    Ok(numbered.into_iter().map(|(_, r)| r).collect())
}

/// A project's release requests, for its members and the reviewers. Audited.
pub async fn list_releases(
    store: &Store,
    actor: &Actor,
    project: &str,
    today: i32,
) -> Result<Vec<ReleaseRequest>, ResearchError> {
    let p = Registry::new(store).project(project).await?;
    decide_viewing(
        store,
        actor,
        &p,
        "release_list",
        &format!("project {}", p.name),
        today,
    )
    .await?;
    read_requests(store, &p.name)
}

/// A project's privacy budget for DP releases (`None`: none set, DP releases are refused),
/// for the project's members and reviewers. Audited.
pub async fn privacy_budget(
    store: &Store,
    actor: &Actor,
    project: &str,
    today: i32,
) -> Result<Option<medinfra_govern::DpBudget>, ResearchError> {
    let registry = Registry::new(store);
    let p = registry.project(project).await?;
    decide_viewing(
        store,
        actor,
        &p,
        "privacy_budget",
        &format!("privacy budget of project {}", p.name),
        today,
    )
    .await?;
    Ok(registry.dp_budget(&p.name).await?)
}

/// Sets (or raises) a project's privacy budget: an operator's registry change, audited; a
/// total below what is already spent is refused.
pub async fn set_privacy_budget(
    store: &Store,
    actor: &Actor,
    project: &str,
    epsilon: f64,
    today: i32,
) -> Result<medinfra_govern::DpBudget, ResearchError> {
    let e = medinfra_disclosure::dp::Epsilon::new(epsilon)
        .map_err(|e| ResearchError::Invalid(e.to_string()))?;
    let registry = Registry::new(store);
    let p = registry.project(project).await?;
    decide(
        store,
        actor,
        Action::Administer,
        &Resource::of(Tier::Statistics),
        "privacy_budget_set",
        &format!("privacy budget of project {}", p.name),
        today,
    )
    .await?;
    Ok(registry
        .set_dp_budget(&p.name, e.micros, &actor.user)
        .await?)
}

/// Every pending request of every project, for reviewers. Audited.
pub async fn pending_releases(
    store: &Store,
    actor: &Actor,
    today: i32,
) -> Result<Vec<ReleaseRequest>, ResearchError> {
    let mut out = Vec::new();
    for p in Registry::new(store).projects(None).await? {
        let resource = project_resource(p.tier, &p.name);
        if can(actor, Action::Review, &resource, today).allowed {
            out.extend(
                read_requests(store, &p.name)?
                    .into_iter()
                    .filter(|r| r.status == ReleaseStatus::Pending),
            );
        }
    }
    AuditLog::new(store)
        .append(
            &actor.user,
            "release_list",
            "pending releases",
            "allowed",
            &format!("{} shown", out.len()),
        )
        .await?;
    Ok(out)
}

/// A reviewer's decision. Approval writes the released-statistics dataset version and
/// records the table in the project's ledger; a request that still fails its checks cannot
/// be approved. The requester can never decide on their own request.
pub async fn review_release(
    store: &Store,
    actor: &Actor,
    id: &str,
    approve: bool,
    comment: &str,
    today: i32,
) -> Result<ReleaseRequest, ResearchError> {
    let dir = request_dir(store, id)?;
    let mut req: ReleaseRequest = read_json(&dir.join("request.json"))?;
    let project = Registry::new(store).project(&req.project).await?;
    let resource = project_resource(project.tier, &project.name);
    let d = can(actor, Action::Review, &resource, today);
    // Separation of duties: the second pair of eyes is never the requester's own.
    let (allowed, rule) = if !d.allowed {
        (false, d.rule)
    } else if actor.user == req.requested_by {
        (false, "release-reviewer-not-requester")
    } else {
        (true, d.rule)
    };
    AuditLog::new(store)
        .append(
            &actor.user,
            "release_review",
            &format!("release {id}"),
            match (allowed, approve) {
                (false, _) => "denied",
                (true, true) => "approved",
                (true, false) => "rejected",
            },
            &format!("rule {rule}; {comment}"),
        )
        .await?;
    if !allowed {
        return Err(ResearchError::Denied {
            what: format!("review of release {id}"),
            rule,
        });
    }
    if req.status != ReleaseStatus::Pending {
        return Err(ResearchError::Invalid(format!(
            "release request {id} is {} already",
            req.status.as_str()
        )));
    }
    req.reviewer = Some(actor.user.clone());
    req.reviewed_at = Some(medinfra_store::now_rfc3339());
    req.comment = Some(comment.to_string());
    if !approve {
        req.status = ReleaseStatus::Rejected;
        save_json(&dir.join("request.json"), &req)?;
        return Ok(req);
    }
    let checked: ReleaseCheck = read_json(&dir.join("check.json"))?;
    let table: Table = read_json(&dir.join("table.json"))?;
    if checked.cleaned.status == Status::Fail {
        return Err(ResearchError::Invalid(format!(
            "release request {id} still fails its checks; it cannot be approved (resubmit with suppression or rounding)"
        )));
    }
    let (schema, batch) = released_cells(&checked)?;
    let name = format!("release-{}", id.to_lowercase());
    let lineage = Lineage {
        step: "release".into(),
        parameters: serde_json::json!({
            "request": id,
            "project": req.project,
            "result": req.result,
            "sql": req.sql,
            "inputs": req.inputs,
            "table": req.spec,
            "mitigation": req.mitigation,
            "checks": checked.assessment.checks,
            "parameters": checked.assessment.config,
            "status": checked.cleaned.status,
            "requested_by": req.requested_by,
            "reviewer": actor.user,
            "reviewed_at": req.reviewed_at,
            "comment": comment,
        }),
        inputs: vec![],
    };
    let w = store.begin(&name, Tier::Statistics, lineage)?;
    w.write_table("cells", schema, [&batch])?;
    let version = w.commit().await?;
    let mut ledger = load_ledger(store, &req.project)?;
    ledger.record(id, &table, &checked.cleaned)?;
    let lpath = ledger_path(store, &req.project);
    write_file(&lpath, ledger.to_json()?)?;
    req.status = ReleaseStatus::Approved;
    req.released_dataset = Some(format!("{}@v{}", version.dataset, version.version));
    save_json(&dir.join("request.json"), &req)?;
    Ok(req)
}

/// The released table: one row per cell, blanks as nulls, with each cell's state.
fn released_cells(checked: &ReleaseCheck) -> Result<(Arc<Schema>, RecordBatch), ResearchError> {
    let c = &checked.cleaned;
    let (mut rows, mut cols, mut vals, mut states) = (vec![], vec![], vec![], vec![]);
    for i in 0..c.height {
        for j in 0..c.width {
            rows.push(c.row_labels.get(i).map(|l| l.join("/")).unwrap_or_default());
            cols.push(c.col_labels.get(j).map(|l| l.join("/")).unwrap_or_default());
            vals.push(c.value(i, j, 0));
            states.push(format!("{:?}", c.state(i, j)).to_lowercase());
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("row", DataType::Utf8, false),
        Field::new("col", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
        Field::new("state", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(rows)),
            Arc::new(StringArray::from(cols)),
            Arc::new(Float64Array::from(vals)),
            Arc::new(StringArray::from(states)),
        ],
    )?;
    Ok((schema, batch))
}

/// The released dataset version of an approved request (public: statistics tier).
pub async fn released_version(
    store: &Store,
    req: &ReleaseRequest,
) -> Result<VersionInfo, ResearchError> {
    let Some(ds) = &req.released_dataset else {
        return Err(ResearchError::Invalid(format!(
            "release request {} is {}: nothing released",
            req.id,
            req.status.as_str()
        )));
    };
    let (name, v) = ds.split_once("@v").unwrap_or((ds.as_str(), ""));
    Ok(store.version(name, v.parse().ok()).await?)
}

/// Counts of cells by state (for summaries).
pub fn cell_counts(checked: &ReleaseCheck) -> (usize, usize, usize) {
    let count = |s: CellState| checked.cleaned.state.iter().filter(|x| **x == s).count();
    (
        checked.cleaned.state.len(),
        count(CellState::Primary),
        count(CellState::Secondary),
    )
}

/// The request's stored request directory (for the CLI's messages).
pub fn request_path(store: &Store, id: &str) -> Result<PathBuf, ResearchError> {
    request_dir(store, id)
}
