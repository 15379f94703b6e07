//! A project's workspace: the session, its grants, its limits, its results, its audit trail.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{LogicalPlan, ScalarUDF, TableSource};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use medinfra_govern::{Action, Actor, AuditLog, Resource, can};
use medinfra_model::{CanonicalTable, Tier};
use medinfra_pseudo::keys::Key;
use medinfra_store::{Store, VersionInfo};
use sha2::Digest;

use crate::error::AnalysisError;
use crate::guard::{CATALOG, SCHEMA, check_plan, source_id};
use crate::limits::Limits;
use crate::names::{validate_project, validate_result_name};
use crate::pseudonym::project_token_udf;
use crate::rekeyed::{self, CopyReport, ProjectKey, contained};
use crate::results::{self, ResultInfo};
use crate::udf::{self, MasterNames};
use crate::views::{
    LINKAGE_COLUMNS, LINKAGE_WITHHELD, build_view, empty_view, is_workspace_table, parquet_table,
};

/// Where a workspace's tables get their per-project pseudonyms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RekeyMode {
    /// From a re-keyed copy of each granted version under the project's workspace directory,
    /// built once (see [`crate::prepare_rekeyed_copies`]); queries read it as plain Parquet.
    #[default]
    Materialized,
    /// Re-keyed in every query's plan as the stored files are scanned: no copy on disk, one
    /// HMAC per key value read. For throw-away keys or versions too large to copy.
    OnScan,
}

/// One dataset version granted to a project. `version: None` takes the latest; the registry
/// should pin versions so results stay reproducible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetGrant {
    pub dataset: String,
    pub version: Option<i64>,
}

/// Everything a workspace is opened with, as the governance registry knows it.
#[derive(Debug, Clone)]
pub struct WorkspaceSpec {
    /// The project id (also the pseudonym domain and the results directory name).
    pub project: String,
    /// The project's tier; every granted version must be at this tier. Use `Tier::Sample`
    /// with sample datasets to develop SQL before approval.
    pub tier: Tier,
    pub datasets: Vec<DatasetGrant>,
    pub limits: Limits,
    /// Directory of SSK master CSVs for `master_name` (none: the function returns NULL).
    pub masters_dir: Option<PathBuf>,
    /// Today as days since 1970-01-01 (for membership and authorization expiry).
    pub today: i32,
    /// The project is approved for NDB linkage: its views show the keyed linkage columns
    /// (`views::LINKAGE_COLUMNS`), re-keyed for it; other projects are told they are withheld.
    pub ndb_linkage: bool,
}

/// The rows of one query, at most `Limits::max_rows_shown` of them.
#[derive(Debug, Clone)]
pub struct QueryOutput {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub shown_rows: usize,
    pub total_rows: u64,
    pub truncated: bool,
    /// What the query read: `dataset@vN#sha256` for data, `result:NAME` for saved results.
    pub read: Vec<String>,
    pub elapsed: Duration,
}

impl QueryOutput {
    /// The shown rows as a text table.
    pub fn to_pretty(&self) -> Result<String, AnalysisError> {
        datafusion::arrow::util::pretty::pretty_format_batches(&self.batches)
            .map(|t| t.to_string())
            .map_err(|e| AnalysisError::Query(DataFusionError::ArrowError(Box::new(e), None)))
    }
}

/// How much of a query's text the audit chain keeps: a digest names the whole text (the saved
/// result keeps it inside the workspace), the prefix lets an auditor read what was asked. The
/// chain is permanent and written for anonymous sample queries too, so a megabyte of SQL per
/// request must not go into it.
pub const AUDIT_SQL_PREFIX_CHARS: usize = 256;

fn sql_prefix(sql: &str) -> String {
    sql.chars().take(AUDIT_SQL_PREFIX_CHARS).collect()
}

/// A project's analysis session. See the crate docs for what it guarantees.
pub struct Workspace {
    ctx: SessionContext,
    store: Store,
    audit: AuditLog,
    actor: Actor,
    project: String,
    versions: Vec<VersionInfo>,
    /// View name → index into `versions`.
    views: BTreeMap<String, usize>,
    /// The views' stored-table sources (by identity) → view name; holding the `Arc`s keeps
    /// the identities stable for the life of the workspace.
    internal: HashMap<usize, String>,
    _sources: Vec<Arc<dyn TableSource>>,
    results: BTreeMap<String, ResultInfo>,
    results_dir: PathBuf,
    limits: Limits,
    today: i32,
    copies: Vec<CopyReport>,
    ndb_linkage: bool,
    tier: Tier,
    /// (table, column) of stored columns the views do not show for a reason the project
    /// should know (the NDB linkage IDs), with the reason.
    withheld: Vec<(String, String, &'static str)>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("project", &self.project)
            .field("views", &self.views.keys().collect::<Vec<_>>())
            .field("results", &self.results.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Workspace {
    /// Opens the workspace of `spec.project` for `actor`. `master` is the key the stored key
    /// columns were made with; the tables show them re-keyed under the project's derived key,
    /// read from the project's re-keyed copies (built here if missing).
    pub async fn open(
        store: &Store,
        actor: Actor,
        master: &Key,
        spec: WorkspaceSpec,
    ) -> Result<Workspace, AnalysisError> {
        Self::open_with(store, actor, master, spec, RekeyMode::Materialized).await
    }

    /// [`open`](Self::open) with the choice of where re-keying happens.
    pub async fn open_with(
        store: &Store,
        actor: Actor,
        master: &Key,
        spec: WorkspaceSpec,
        mode: RekeyMode,
    ) -> Result<Workspace, AnalysisError> {
        validate_project(&spec.project)?;
        if spec.tier == Tier::Identified {
            return Err(AnalysisError::TierNotAllowed(spec.tier));
        }
        let mut versions = Vec::new();
        for g in &spec.datasets {
            let info = store.version(&g.dataset, g.version).await?;
            if info.tier != spec.tier {
                return Err(AnalysisError::TierMismatch {
                    dataset: info.dataset,
                    version: info.version,
                    found: info.tier,
                    expected: spec.tier,
                });
            }
            versions.push(info);
        }
        let results_dir = store
            .root()
            .join("workspaces")
            .join(&spec.project)
            .join("results");
        let mut ws = Workspace {
            ctx: new_session(&spec.limits)?,
            store: store.clone(),
            audit: AuditLog::new(store),
            actor,
            project: spec.project.clone(),
            versions,
            views: BTreeMap::new(),
            internal: HashMap::new(),
            _sources: Vec::new(),
            results: BTreeMap::new(),
            results_dir,
            limits: spec.limits.clone(),
            today: spec.today,
            copies: Vec::new(),
            ndb_linkage: spec.ndb_linkage,
            tier: spec.tier,
            withheld: Vec::new(),
        };
        if let Err(e) = ws.authorize().await {
            ws.audit_event("open_workspace", &denied_outcome(&e), "", &[])
                .await?;
            return Err(e);
        }
        let masters = match &spec.masters_dir {
            Some(dir) => MasterNames::load_dir(dir)?,
            None => MasterNames::default(),
        };
        udf::register_all(&ws.ctx, Arc::new(masters));
        match mode {
            RekeyMode::Materialized => {
                let key = Arc::new(ProjectKey::new(master, &spec.project, spec.ndb_linkage)?);
                ws.register_copies(&key).await?;
            }
            RekeyMode::OnScan => {
                let rekey = Arc::new(project_token_udf(master, &spec.project)?);
                ws.register_views(store, &rekey).await?;
            }
        }
        ws.register_saved_results().await?;
        ws.note_withheld()?;
        Ok(ws)
    }

    /// Records the stored linkage columns the views leave out for this project, so the
    /// project is told rather than finding them silently gone.
    fn note_withheld(&mut self) -> Result<(), AnalysisError> {
        for info in &self.versions {
            if self.ndb_linkage && info.tier == Tier::Pseudonymized {
                continue;
            }
            let manifest = self.store.read_manifest(info)?;
            for entry in &manifest.tables {
                let shown = CanonicalTable::from_name(&entry.name).is_some_and(is_workspace_table);
                for c in entry
                    .schema
                    .iter()
                    .filter(|c| LINKAGE_COLUMNS.contains(&c.name.as_str()))
                {
                    if shown {
                        self.withheld
                            .push((entry.name.clone(), c.name.clone(), LINKAGE_WITHHELD));
                    }
                }
            }
        }
        Ok(())
    }

    /// Stored columns this project's views leave out for a reason it should know — (table,
    /// column, reason) — today the keyed NDB linkage IDs, outside NDB-linkage projects.
    pub fn withheld_columns(&self) -> &[(String, String, &'static str)] {
        &self.withheld
    }

    /// Whether the project is approved for NDB linkage (its views show the linkage IDs).
    pub fn ndb_linkage(&self) -> bool {
        self.ndb_linkage
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    /// The project's tier (what its views show: pseudonymized rows stay inside).
    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// The limits every query of this workspace runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The tables SQL can name: data views and saved results, with their columns.
    pub async fn tables(&self) -> Result<Vec<(String, SchemaRef)>, AnalysisError> {
        let mut out = Vec::new();
        for name in self.allowed() {
            let t = self
                .ctx
                .table_provider(name.as_str())
                .await
                .map_err(AnalysisError::Query)?;
            out.push((name, t.schema()));
        }
        Ok(out)
    }

    /// The re-keyed copies this workspace reads, and whether opening it built them.
    pub fn rekeyed_copies(&self) -> &[CopyReport] {
        &self.copies
    }

    /// The saved results of this project.
    pub fn results(&self) -> Vec<&ResultInfo> {
        self.results.values().collect()
    }

    /// Runs one SELECT under the limits; audited before it runs.
    pub async fn query(&self, sql: &str) -> Result<QueryOutput, AnalysisError> {
        let started = Instant::now();
        let (plan, read) = self.admit("query", sql).await?;
        let limit = self.limits.max_rows_shown;
        let run = async {
            let mut stream = self.execute(plan).await?;
            let schema = stream.schema();
            let (mut batches, mut shown, mut total) = (Vec::new(), 0usize, 0u64);
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| self.classify(e))?;
                total += batch.num_rows() as u64;
                if shown < limit {
                    let take = (limit - shown).min(batch.num_rows());
                    batches.push(batch.slice(0, take));
                    shown += take;
                }
            }
            Ok::<_, AnalysisError>(QueryOutput {
                schema,
                batches,
                shown_rows: shown,
                total_rows: total,
                truncated: total > shown as u64,
                read,
                elapsed: Duration::ZERO,
            })
        };
        let mut out = self.with_timeout(run).await?;
        out.elapsed = started.elapsed();
        Ok(out)
    }

    /// Runs `sql` and keeps its rows as result table `name` (Parquet under the project's
    /// workspace directory), which later SQL of this project can read.
    pub async fn save_result(
        &mut self,
        name: &str,
        sql: &str,
    ) -> Result<ResultInfo, AnalysisError> {
        validate_result_name(name)?;
        if self.results.len() >= self.limits.max_results {
            return Err(AnalysisError::Refused(format!(
                "this workspace keeps at most {} saved results; drop one first",
                self.limits.max_results
            )));
        }
        if self.results.contains_key(name) || self.views.contains_key(name) {
            return Err(AnalysisError::BadResultName {
                reason: format!("{name} already exists"),
            });
        }
        let (plan, read) = self.admit("save_result", sql).await?;
        std::fs::create_dir_all(&self.results_dir)
            .map_err(|e| AnalysisError::io(&self.results_dir, e))?;
        let path = results::parquet_path(&self.results_dir, name);
        let tmp = path.with_extension("parquet.tmp");
        let max_rows = self.limits.max_result_rows as u64;
        let run = async {
            let mut stream = self.execute(plan).await?;
            let file = std::fs::File::create(&tmp).map_err(|e| AnalysisError::io(&tmp, e))?;
            let write_err =
                |e: datafusion::parquet::errors::ParquetError| AnalysisError::ResultFile {
                    path: tmp.clone(),
                    reason: e.to_string(),
                };
            let mut writer =
                ArrowWriter::try_new(file, stream.schema(), None).map_err(write_err)?;
            let mut rows = 0u64;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| self.classify(e))?;
                rows += batch.num_rows() as u64;
                if rows > max_rows {
                    return Err(AnalysisError::Refused(format!(
                        "result has more than {max_rows} rows"
                    )));
                }
                writer.write(&batch).map_err(write_err)?;
            }
            writer.close().map_err(write_err)?;
            Ok(rows)
        };
        let rows = match self.with_timeout(run).await {
            Ok(rows) => rows,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        std::fs::rename(&tmp, &path).map_err(|e| AnalysisError::io(&path, e))?;
        let info = ResultInfo {
            name: name.to_string(),
            project: self.project.clone(),
            sql: sql.to_string(),
            rows,
            inputs: read,
            created_at: medinfra_store::now_rfc3339(),
            created_by: self.actor.user.clone(),
        };
        results::write_info(&self.results_dir, &info)?;
        self.register_result(&info).await?;
        Ok(info)
    }

    /// Deletes a saved result of this project.
    pub async fn drop_result(&mut self, name: &str) -> Result<(), AnalysisError> {
        validate_result_name(name)?;
        if !self.results.contains_key(name) {
            return Err(AnalysisError::BadResultName {
                reason: format!("no result named {name}"),
            });
        }
        self.audit_event("drop_result", "allowed", name, &[format!("result:{name}")])
            .await?;
        self.ctx
            .deregister_table(name)
            .map_err(AnalysisError::Query)?;
        self.results.remove(name);
        for p in [
            results::info_path(&self.results_dir, name),
            results::parquet_path(&self.results_dir, name),
        ] {
            std::fs::remove_file(&p).map_err(|e| AnalysisError::io(&p, e))?;
        }
        Ok(())
    }

    // ---- internals ----

    fn allowed(&self) -> BTreeSet<String> {
        self.views
            .keys()
            .chain(self.results.keys())
            .cloned()
            .collect()
    }

    /// Asks `can` for every granted version (memberships and authorizations may lapse while
    /// a workspace is open), then the catalog whether a version was superseded since (an
    /// opt-out): a superseded version is unreadable and its re-keyed copies are deleted.
    async fn authorize(&self) -> Result<(), AnalysisError> {
        self.authorize_actor()?;
        for v in &self.versions {
            let now = self.store.version(&v.dataset, Some(v.version)).await?;
            if now.superseded {
                rekeyed::remove_version_copies(&self.store, &self.project, &now)?;
                return Err(rekeyed::superseded(&now));
            }
        }
        Ok(())
    }

    fn authorize_actor(&self) -> Result<(), AnalysisError> {
        for v in &self.versions {
            let resource = Resource::in_project(v.tier, self.project.clone());
            let d = can(&self.actor, Action::Read, &resource, self.today);
            if !d.allowed {
                return Err(AnalysisError::Denied {
                    dataset: v.dataset.clone(),
                    version: v.version,
                    tier: v.tier,
                    rule: d.rule,
                });
            }
        }
        Ok(())
    }

    /// Access decision, planning, plan check and the audit record, in that order; nothing
    /// runs unless all four succeed.
    async fn admit(
        &self,
        action: &str,
        sql: &str,
    ) -> Result<(LogicalPlan, Vec<String>), AnalysisError> {
        if let Err(e) = self.authorize().await {
            self.audit_event(action, &denied_outcome(&e), sql, &[])
                .await?;
            return Err(e);
        }
        let planned = self
            .with_timeout(async {
                self.ctx
                    .state()
                    .create_logical_plan(sql)
                    .await
                    .map_err(|e| self.classify(e))
            })
            .await;
        let checked = planned.and_then(|plan| {
            let scanned = check_plan(&plan, &self.allowed(), &self.internal)?;
            Ok((plan, scanned))
        });
        let (plan, scanned) = match checked {
            Ok(ok) => ok,
            Err(e) => {
                self.audit_event(action, "refused", sql, &[]).await?;
                return Err(e);
            }
        };
        let read = self.describe_reads(&scanned);
        self.audit_event(action, "allowed", sql, &read).await?;
        Ok((plan, read))
    }

    fn describe_reads(&self, scanned: &BTreeSet<String>) -> Vec<String> {
        let mut read = BTreeSet::new();
        for t in scanned {
            if let Some(&i) = self.views.get(t) {
                let v = &self.versions[i];
                read.insert(format!(
                    "{}@v{}#{}",
                    v.dataset, v.version, v.manifest_sha256
                ));
            } else if self.results.contains_key(t) {
                read.insert(format!("result:{t}"));
            }
        }
        read.into_iter().collect()
    }

    async fn audit_event(
        &self,
        action: &str,
        outcome: &str,
        sql: &str,
        read: &[String],
    ) -> Result<(), AnalysisError> {
        let detail = serde_json::json!({
            "sql_sha256": hex::encode(sha2::Sha256::digest(sql.as_bytes())),
            "sql_bytes": sql.len(),
            "sql_prefix": sql_prefix(sql),
            "read": read,
        })
        .to_string();
        self.audit
            .append(
                &self.actor.user,
                &format!("analysis.{action}"),
                &format!("project:{}", self.project),
                outcome,
                &detail,
            )
            .await?;
        Ok(())
    }

    async fn execute(&self, plan: LogicalPlan) -> Result<SendableRecordBatchStream, AnalysisError> {
        let df = self
            .ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| self.classify(e))?;
        df.execute_stream().await.map_err(|e| self.classify(e))
    }

    async fn with_timeout<T>(
        &self,
        fut: impl Future<Output = Result<T, AnalysisError>>,
    ) -> Result<T, AnalysisError> {
        match tokio::time::timeout(self.limits.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(AnalysisError::Timeout(self.limits.timeout)),
        }
    }

    fn classify(&self, e: DataFusionError) -> AnalysisError {
        match e.find_root() {
            DataFusionError::ResourcesExhausted(detail) => AnalysisError::MemoryLimit {
                limit_bytes: self.limits.memory_bytes,
                detail: detail.clone(),
            },
            _ => AnalysisError::Query(e),
        }
    }

    async fn register_views(
        &mut self,
        store: &Store,
        rekey: &Arc<ScalarUDF>,
    ) -> Result<(), AnalysisError> {
        let state = self.ctx.state();
        for (i, info) in self.versions.iter().enumerate() {
            let manifest = store.read_manifest(info)?;
            for entry in &manifest.tables {
                let Some(table) = CanonicalTable::from_name(&entry.name) else {
                    continue;
                };
                if !is_workspace_table(table) {
                    continue;
                }
                if let Some(&j) = self.views.get(table.name()) {
                    return Err(AnalysisError::DuplicateTable {
                        table: table.name().to_string(),
                        first: self.versions[j].dataset.clone(),
                        second: info.dataset.clone(),
                    });
                }
                let files = entry
                    .files
                    .iter()
                    .map(|f| contained(&info.dir, &f.path))
                    .collect::<Result<Vec<_>, _>>()?;
                let (view, source) =
                    build_view(&state, table, info.tier, self.ndb_linkage, &files, rekey).await?;
                self.internal
                    .insert(source_id(&source), table.name().to_string());
                self._sources.push(source);
                self.ctx
                    .register_table(table.name(), view)
                    .map_err(AnalysisError::Query)?;
                self.views.insert(table.name().to_string(), i);
            }
        }
        Ok(())
    }

    /// Registers each granted version's tables from the project's re-keyed copy (built first
    /// where missing), after deleting the project's copies of superseded versions.
    async fn register_copies(&mut self, key: &Arc<ProjectKey>) -> Result<(), AnalysisError> {
        rekeyed::sweep_project(&self.store, &self.project).await?;
        let state = self.ctx.state();
        for (i, info) in self.versions.iter().enumerate() {
            let (copy, report) =
                rekeyed::ensure(&self.store, key, info, self.limits.copy_threads()).await?;
            self.copies.push(report);
            for (name, files) in &copy.tables {
                let Some(table) = CanonicalTable::from_name(name) else {
                    continue;
                };
                if let Some(&j) = self.views.get(table.name()) {
                    return Err(AnalysisError::DuplicateTable {
                        table: table.name().to_string(),
                        first: self.versions[j].dataset.clone(),
                        second: info.dataset.clone(),
                    });
                }
                let provider: Arc<dyn datafusion::catalog::TableProvider> = if files.is_empty() {
                    empty_view(table)?
                } else {
                    Arc::new(parquet_table(&state, files).await?)
                };
                self.ctx
                    .register_table(table.name(), provider)
                    .map_err(AnalysisError::Query)?;
                self.views.insert(table.name().to_string(), i);
            }
        }
        Ok(())
    }

    async fn register_saved_results(&mut self) -> Result<(), AnalysisError> {
        for info in results::list(&self.results_dir)? {
            if info.project != self.project || self.views.contains_key(&info.name) {
                continue;
            }
            self.register_result(&info).await?;
        }
        Ok(())
    }

    async fn register_result(&mut self, info: &ResultInfo) -> Result<(), AnalysisError> {
        let path = results::parquet_path(&self.results_dir, &info.name);
        let table = parquet_table(&self.ctx.state(), &[path]).await?;
        self.ctx
            .register_table(info.name.as_str(), Arc::new(table))
            .map_err(AnalysisError::Query)?;
        self.results.insert(info.name.clone(), info.clone());
        Ok(())
    }
}

/// `denied:RULE` for an access decision, the error's kind otherwise.
fn denied_outcome(e: &AnalysisError) -> String {
    match e {
        AnalysisError::Denied { rule, .. } => format!("denied:{rule}"),
        _ => "failed".to_string(),
    }
}

/// The share of rows a filter is assumed to keep when statistics cannot tell (percent).
const FILTER_SELECTIVITY_PERCENT: u8 = 5;

/// The session: one catalog and schema, no information_schema, no table functions, no
/// external-table factories, the memory pool of the limits.
fn new_session(limits: &Limits) -> Result<SessionContext, AnalysisError> {
    let mut config = SessionConfig::new()
        .with_default_catalog_and_schema(CATALOG, SCHEMA)
        .with_create_default_catalog_and_schema(true)
        .with_information_schema(false)
        .with_target_partitions(limits.partitions());
    // Filters in claims queries pick a code among thousands (a diagnosis prefix, a drug, an
    // analyte), so assume 5 % of rows pass rather than DataFusion's 20 %: a filtered table
    // then looks as small as it is and becomes the hash join's build side instead of, say,
    // every person (the prevalence query: 0.47 -> 0.33 s on the 1 M sample).
    config.options_mut().optimizer.default_filter_selectivity = FILTER_SELECTIVITY_PERCENT;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(limits.runtime()?)
        .with_default_features()
        .with_table_functions(HashMap::new())
        .with_table_factories(HashMap::new())
        .with_optimizer_rules(crate::distinct::logical_rules())
        .with_physical_optimizer_rule(Arc::new(crate::window::SortedWindowRule))
        .with_physical_optimizer_rule(Arc::new(crate::coop::YieldAboveJoins))
        .build();
    Ok(SessionContext::new_with_state(state))
}
