//! `run_month`: delivery → ingest → registry → research database, with the books.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;

use medinfra_ingest::{FileStatus, IngestOptions, IngestOutcome};
use medinfra_model::{CanonicalTable, Tier};
use medinfra_persons::{Linker, Observations, RecordKey, Registry, RunSummary, stored};
use medinfra_pseudo::keys::Key;
use medinfra_store::{InputRef, Lineage, Store, VersionInfo};

use crate::error::{PipelineError, Result};
use crate::research::{BuildPlan, PartBooks, build};

/// The research database's default dataset name.
pub const DEFAULT_RESEARCH: &str = "research";

/// The identity-bearing tables the registry reads (the others — diagnoses, procedures, drugs,
/// devices — come from the same receipts as `claims` and name no other record).
const IDENTITY_TABLES: [&str; 7] = [
    "persons",
    "claims",
    "checkups",
    "insurance_periods",
    "lab_results",
    "admissions",
    "deaths",
];

pub type TableBooks = PartBooks;

/// Progress of the run's steps (the binary draws bars; tests pass [`Quiet`]).
pub trait Observer: Sync {
    fn begin(&self, step: &str, total: u64, unit: &str);
    fn set(&self, done: u64);
    fn end(&self);
}

/// No progress output.
pub struct Quiet;

impl Observer for Quiet {
    fn begin(&self, _: &str, _: u64, _: &str) {}
    fn set(&self, _: u64) {}
    fn end(&self) {}
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub delivery: PathBuf,
    pub research: String,
    /// Ingest options for every provider (`provider_id` is ignored).
    pub ingest: IngestOptions,
    /// Threads for ingest (0: all cores).
    pub threads: usize,
    /// The pseudonymized research database built from each new research version with the
    /// built-in research policy (`None`: not built). Needs the `pseudonym` key in `keys`.
    pub pseudonymized: Option<String>,
    /// The providers whose files may be read (`None`: every provider's, for callers that
    /// checked elsewhere).
    pub providers: Option<ProviderGate>,
}

/// The operator's provider register as the run applies it: files of a provider that is not
/// registered, withdrew, or whose notice has not taken effect are rejected unread, each
/// with the reason, and nothing of theirs is committed.
#[derive(Debug, Clone, Default)]
pub struct ProviderGate {
    /// Registered provider id → why its files may not be read now (`None`: they may).
    pub registered: BTreeMap<String, Option<String>>,
}

impl ProviderGate {
    /// Why `id`'s files may not be read (`None`: they may).
    pub fn refusal(&self, id: &str) -> Option<String> {
        match self.registered.get(id) {
            Some(reason) => reason.clone(),
            None => Some(format!(
                "provider {id} is not registered with this producer (medinfra providers add / import); its files were not read"
            )),
        }
    }
}

/// Every file under `paths` (directories walked), sorted.
fn files_under(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&p) {
                stack.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
            }
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Files of the delivery and what became of them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileBooks {
    pub providers: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub duplicate: u64,
    /// Files whose provider could not be determined (not ingested).
    pub unplaced: Vec<String>,
    /// Rejected files with the reason (paths relative to the delivery).
    pub rejections: Vec<(String, String)>,
    pub receipts_quarantined: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct OptOutBooks {
    pub recorded: u64,
    /// Opt-outs that resolved to a person in the registry.
    pub persons: u64,
    /// Opt-outs whose record the registry does not know (yet): applied once it arrives.
    pub unresolved: u64,
}

/// The reconciliation of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    pub files: FileBooks,
    /// Rows the delivery's accepted files brought, per table.
    pub rows_in: BTreeMap<String, u64>,
    /// The research database per table: source rows (all providers' latest versions) = rows +
    /// withheld; and this run's share (parts built from their sources now).
    pub tables: BTreeMap<String, TableBooks>,
    /// `person_keys`, one row per person: source rows are the registry's persons (= rows +
    /// opted-out persons withheld). Not a delivery's rows, so apart from `tables`.
    pub person_keys: TableBooks,
    pub optouts: OptOutBooks,
    pub balanced: bool,
}

/// One step's wall time.
#[derive(Debug, Clone, Serialize)]
pub struct StepTime {
    pub step: String,
    pub seconds: f64,
}

/// Times the steps of a run, one after another.
#[derive(Debug)]
pub struct StepClock {
    last: std::time::Instant,
    steps: Vec<StepTime>,
}

impl Default for StepClock {
    fn default() -> Self {
        Self::new()
    }
}

impl StepClock {
    pub fn new() -> Self {
        Self {
            last: std::time::Instant::now(),
            steps: Vec::new(),
        }
    }

    /// Ends the step that began at the previous call (or at creation).
    pub fn lap(&mut self, step: &str) {
        let now = std::time::Instant::now();
        self.steps.push(StepTime {
            step: step.to_string(),
            seconds: (now - self.last).as_secs_f64(),
        });
        self.last = now;
    }

    pub fn into_steps(self) -> Vec<StepTime> {
        self.steps
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub delivery: String,
    pub registry: RunSummary,
    pub registry_version: Option<i64>,
    pub research_dataset: String,
    pub research_version: Option<i64>,
    /// The pseudonymized research database made from it (dataset, version).
    pub pseudonymized: Option<(String, i64)>,
    pub reconciliation: Reconciliation,
    /// Providers' versions made by this run's ingest.
    pub provider_versions: Vec<(String, i64)>,
    pub seconds: f64,
    /// Wall time of each step, in order (where a month's time goes; the binary adds the
    /// products it builds after the run).
    pub steps: Vec<StepTime>,
    /// Why no new version was written, when none was.
    pub unchanged: Option<String>,
    /// Every provider's ingest outcome with its findings (for the quarantine reports; not in
    /// the JSON report, which carries the books).
    #[serde(skip)]
    pub ingest: Vec<IngestOutcome>,
}

fn relative(base: &std::path::Path, p: &str) -> String {
    std::path::Path::new(p)
        .strip_prefix(base)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| p.to_string())
}

/// One monthly run. `optouts` are the recorded opt-outs as (provider id, chart number).
pub async fn run_month(
    store: &Store,
    opts: &RunOptions,
    keys: &medinfra_pseudo::keys::KeyStore,
    key: Key,
    optouts: &[(String, String)],
    observer: &dyn Observer,
) -> Result<RunReport> {
    let started = std::time::Instant::now();
    let mut clock = StepClock::new();
    medinfra_store::validate_dataset_name(&opts.research)?;
    if opts.research.starts_with("provider-") || opts.research == stored::REGISTRY_DATASET {
        return Err(PipelineError::Delivery {
            path: opts.delivery.clone(),
            reason: format!("{:?} cannot be the research dataset's name", opts.research),
        });
    }
    // 1. Ingest.
    let delivery = crate::delivery::scan(&opts.delivery)?;
    let mut files = FileBooks {
        providers: delivery.groups.len() as u64,
        unplaced: delivery
            .unplaced
            .iter()
            .map(|p| relative(&opts.delivery, &p.display().to_string()))
            .collect(),
        ..FileBooks::default()
    };
    let mut groups = delivery.groups;
    if let Some(gate) = &opts.providers {
        groups.retain(|(id, paths)| match gate.refusal(id) {
            None => true,
            Some(reason) => {
                for f in files_under(paths) {
                    files.rejected += 1;
                    files.rejections.push((
                        relative(&opts.delivery, &f.display().to_string()),
                        reason.clone(),
                    ));
                }
                false
            }
        });
    }
    let outcomes: Vec<IngestOutcome> = if groups.is_empty() {
        Vec::new()
    } else {
        observer.begin("ingest", 1, "bytes");
        let out = medinfra_ingest::ingest_many(
            store,
            &opts.ingest,
            groups,
            opts.threads,
            &|done, total| {
                observer.begin("ingest", total, "bytes");
                observer.set(done);
            },
        )
        .await?;
        observer.end();
        out
    };
    clock.lap("ingest");
    let mut rows_in: BTreeMap<String, u64> = BTreeMap::new();
    let mut provider_versions = Vec::new();
    for o in &outcomes {
        if let Some(v) = o.version {
            provider_versions.push((o.dataset.clone(), v));
        }
        for f in &o.files {
            match f.status {
                FileStatus::Accepted => {
                    files.accepted += 1;
                    for (t, n) in &f.rows {
                        *rows_in.entry(t.clone()).or_default() += n;
                    }
                }
                FileStatus::Rejected => {
                    files.rejected += 1;
                    files.rejections.push((
                        relative(&opts.delivery, &f.file),
                        f.rejection.clone().unwrap_or_default(),
                    ));
                }
                FileStatus::Duplicate => files.duplicate += 1,
            }
            files.receipts_quarantined += f.receipts_quarantined;
        }
    }

    // 2. Registry: the identity rows of every provider part not read before.
    let loaded = stored::load(store).await?;
    let key_id = key.id().as_str().to_string();
    let linker = Linker::new(key);
    let (mut reg, prev_registry) = match loaded {
        Some((r, v)) => (r, Some(v)),
        None => (Registry::new(&key_id), None),
    };
    reg.rekey(&linker, &key_id);
    let providers = latest_provider_versions(store).await?;
    let run_no = reg.runs.len() as i64 + 1;
    let mut obs = Observations::new();
    let mut read_from: Vec<InputRef> = Vec::new();
    let mut parts = Vec::new();
    for info in &providers {
        let manifest = store.read_manifest(info)?;
        let mut any = false;
        for t in manifest
            .tables
            .iter()
            .filter(|t| IDENTITY_TABLES.contains(&t.name.as_str()))
        {
            for f in &t.files {
                if !reg.has_consumed(&f.sha256) {
                    parts.push((info, t.name.clone(), f.clone()));
                    any = true;
                }
            }
        }
        if any {
            read_from.push(Store::input_ref(info));
        }
    }
    observer.begin("registry: read", parts.len() as u64, "parts");
    for (n, (info, table, f)) in parts.iter().enumerate() {
        let path = info.dir.join(&f.path);
        for b in store.read_part(&path)? {
            let b = b.map_err(|e| PipelineError::Read {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            obs.add_batch(table, &b)?;
        }
        reg.add_source(medinfra_persons::registry::Source {
            dataset: info.dataset.clone(),
            version: info.version,
            table: table.clone(),
            sha256: f.sha256.clone(),
            run: run_no,
        });
        observer.set(n as u64 + 1);
    }
    observer.end();
    clock.lap("registry: read");
    observer.begin("registry: link", 1, "steps");
    let now = medinfra_store::now_rfc3339();
    let summary = reg.update(obs.finish(), &linker, &now);
    if !parts.is_empty() && reg.runs.last().map(|r| r.run) != Some(summary.run) {
        // Parts were read (empty ones, say) but held no observation: still a run, so the
        // parts are recorded as read under it.
        reg.runs.push(summary.clone());
    }
    observer.set(1);
    observer.end();
    clock.lap("registry: link");
    let registry_changed = summary.records_new > 0 || summary.variants_new > 0 || !parts.is_empty();

    // 3. Opt-outs → persons; persons newly withheld make their providers' parts rebuild.
    let mut optout_books = OptOutBooks {
        recorded: optouts.len() as u64,
        ..OptOutBooks::default()
    };
    let mut withheld: HashSet<i64> = HashSet::new();
    for (provider, chart) in optouts {
        match reg.person_of(&RecordKey::patient(provider, chart)) {
            Some(p) => {
                withheld.insert(p);
            }
            None => optout_books.unresolved += 1,
        }
    }
    optout_books.persons = withheld.len() as u64;
    let mut sorted: Vec<i64> = withheld.iter().copied().collect();
    sorted.sort_unstable();
    let digest = withheld_digest(&sorted);
    let prev_research = match store.version(&opts.research, None).await {
        Ok(v) => Some(v),
        Err(medinfra_store::StoreError::NoSuchDataset(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let prev_params = match &prev_research {
        Some(v) => store.read_manifest(v)?.lineage.parameters,
        None => serde_json::Value::Null,
    };
    let prev_digest = prev_params
        .get("withheld_digest")
        .and_then(|d| d.as_str())
        .map(str::to_string);
    // Records whose person changed since the research version was built (merges, splits,
    // overrides — in this run or by an operator since): their providers' parts are rebuilt.
    let built_from_run = prev_params
        .get("registry_run")
        .and_then(|r| r.as_i64())
        .unwrap_or(0);
    let affected = moved_providers(&reg, built_from_run);
    let mut affected = affected;
    if prev_digest.as_deref() != Some(digest.as_str()) {
        for r in &reg.records {
            if withheld.contains(&r.person_id) {
                affected.insert(r.key.provider_id.clone());
            }
        }
    }
    let research_stale = prev_research.is_none()
        || prev_digest.as_deref() != Some(digest.as_str())
        || !provider_versions.is_empty()
        || registry_changed
        || reg.runs.last().map_or(0, |r| r.run) != built_from_run
        || research_inputs_changed(store, prev_research.as_ref(), &providers)?;
    if !research_stale {
        let (books, person_keys) = current_books(store, prev_research.as_ref())?;
        return Ok(RunReport {
            delivery: opts.delivery.display().to_string(),
            registry: summary,
            registry_version: None,
            research_dataset: opts.research.clone(),
            research_version: None,
            pseudonymized: None,
            reconciliation: Reconciliation {
                files,
                rows_in,
                balanced: true,
                tables: books,
                person_keys,
                optouts: optout_books,
            },
            provider_versions,
            seconds: started.elapsed().as_secs_f64(),
            steps: clock.into_steps(),
            unchanged: Some("nothing new in the delivery: no new version written".into()),
            ingest: outcomes,
        });
    }

    // 4. Research database, then the books; both versions commit together.
    clock.lap("opt-outs and plan");
    let reg_writer = if registry_changed || prev_registry.is_none() {
        Some(stored::stage(
            store,
            &mut reg,
            prev_registry.as_ref(),
            read_from,
        )?)
    } else {
        None
    };
    let assignments: HashMap<RecordKey, i64> = reg
        .records
        .iter()
        .map(|r| (r.key.clone(), r.person_id))
        .collect();
    let mut inputs: Vec<InputRef> = providers.iter().map(Store::input_ref).collect();
    if let Some(p) = &prev_registry {
        inputs.push(Store::input_ref(p));
    }
    let lineage = Lineage {
        step: "research".into(),
        parameters: serde_json::json!({
            "registry_run": reg.runs.last().map_or(0, |r| r.run),
            "withheld_digest": digest,
            "withheld_persons": withheld.len(),
            "providers": providers.len(),
            "previous": prev_research.as_ref().map(|v| v.version),
        }),
        inputs,
    };
    clock.lap("registry: stage");
    let research_writer = store.begin(&opts.research, Tier::Identified, lineage)?;
    observer.begin("research database", providers.len() as u64, "providers");
    // The provider versions the previous research version was built from.
    let mut previous_inputs = Vec::new();
    if let Some(prev) = &prev_research {
        for input in store
            .read_manifest(prev)?
            .lineage
            .inputs
            .into_iter()
            .filter(|i| i.dataset.starts_with("provider-"))
        {
            match store.version(&input.dataset, Some(input.version)).await {
                Ok(v) => previous_inputs.push(v),
                // Gone from the store: that provider is rebuilt from its current version.
                Err(medinfra_store::StoreError::NoSuchVersion { .. })
                | Err(medinfra_store::StoreError::NoSuchDataset(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let plan = BuildPlan {
        previous_inputs: &previous_inputs,
        store,
        providers: &providers,
        persons: &assignments,
        withheld: &withheld,
        affected_providers: &affected,
        previous: prev_research.as_ref(),
    };
    let books = build(&plan, &research_writer)?;
    let person_keys = crate::person_keys::write(&reg, &withheld, &research_writer)?;
    observer.set(providers.len() as u64);
    observer.end();
    if person_keys.source_rows != person_keys.rows + person_keys.withheld {
        return Err(PipelineError::Unbalanced {
            table: "person_keys".into(),
            rows_in: person_keys.source_rows,
            rows_out: person_keys.rows,
            withheld: person_keys.withheld,
        });
    }
    for (table, b) in &books {
        if b.source_rows != b.rows + b.withheld || b.rows_read != b.rows_written + b.withheld_now {
            return Err(PipelineError::Unbalanced {
                table: table.clone(),
                rows_in: b.source_rows,
                rows_out: b.rows,
                withheld: b.withheld,
            });
        }
    }
    clock.lap("research database");
    let mut writers = Vec::new();
    let has_registry = reg_writer.is_some();
    if let Some(w) = reg_writer {
        writers.push(w);
    }
    writers.push(research_writer);
    let committed = store.commit_all(writers, &[]).await?;
    clock.lap("commit");
    let find = |name: &str| {
        committed
            .iter()
            .find(|v| v.dataset == name)
            .map(|v| v.version)
    };
    // 5. The pseudonymized research database from the new version.
    let pseudonymized = match (&opts.pseudonymized, find(&opts.research)) {
        (Some(output), Some(version)) => {
            let total: i64 = committed
                .iter()
                .filter(|v| v.dataset == opts.research)
                .flat_map(|v| v.tables.iter().map(|t| t.rows))
                .sum();
            observer.begin("pseudonymize", total.max(0) as u64, "rows");
            let request = medinfra_pseudonymize::Request {
                input: opts.research.clone(),
                input_version: Some(version),
                output: output.clone(),
                policy: medinfra_pseudonymize::Policy::research()?,
                policy_source: "builtin:research".into(),
                project: None,
                tables: None,
                keep_map: true,
                ndb: Default::default(),
            };
            let (info, _) =
                medinfra_pseudonymize::pseudonymize(store, keys, &request, &|done, _| {
                    observer.set(done)
                })
                .await?;
            observer.end();
            clock.lap("pseudonymize");
            Some((info.dataset, info.version))
        }
        _ => None,
    };
    Ok(RunReport {
        pseudonymized,
        delivery: opts.delivery.display().to_string(),
        registry: summary,
        registry_version: if has_registry {
            find(stored::REGISTRY_DATASET)
        } else {
            None
        },
        research_dataset: opts.research.clone(),
        research_version: find(&opts.research),
        reconciliation: Reconciliation {
            files,
            rows_in,
            tables: books,
            person_keys,
            optouts: optout_books,
            balanced: true,
        },
        provider_versions,
        seconds: started.elapsed().as_secs_f64(),
        steps: clock.into_steps(),
        unchanged: None,
        ingest: outcomes,
    })
}

/// A digest of the withheld persons (stored in the research lineage, so the next run knows
/// whether the set changed without the set itself being written there).
fn withheld_digest(ids: &[i64]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for i in ids {
        h.update(i.to_le_bytes());
    }
    hex::encode(h.finalize())
}

/// Providers holding a record whose person changed in a registry run after `after`: the
/// records of merged, split or overridden persons (new records are in new parts anyway).
fn moved_providers(reg: &Registry, after: i64) -> HashSet<String> {
    use medinfra_persons::EventKind;
    let mut persons: HashSet<i64> = HashSet::new();
    let mut out = HashSet::new();
    for e in reg.events.iter().filter(|e| e.run > after) {
        if matches!(
            e.kind,
            EventKind::Merged | EventKind::Split | EventKind::Override
        ) {
            persons.insert(e.person_id);
            persons.extend(e.other_person);
            if let Some(r) = e.record.and_then(|i| reg.records.get(i)) {
                out.insert(r.key.provider_id.clone());
            }
        }
    }
    if !persons.is_empty() {
        for r in &reg.records {
            if persons.contains(&r.person_id) {
                out.insert(r.key.provider_id.clone());
            }
        }
    }
    out
}

/// Latest non-superseded version of every `provider-*` dataset of the identified zone.
async fn latest_provider_versions(store: &Store) -> Result<Vec<VersionInfo>> {
    let mut out: Vec<VersionInfo> = store
        .list()
        .await?
        .into_iter()
        .filter(|d| d.name.starts_with("provider-") && d.tier == Tier::Identified)
        .map(|d| d.latest)
        .filter(|v| !v.superseded)
        .collect();
    out.sort_by(|a, b| a.dataset.cmp(&b.dataset));
    Ok(out)
}

/// Whether the previous research version was built from other provider versions than the
/// latest ones.
fn research_inputs_changed(
    store: &Store,
    prev: Option<&VersionInfo>,
    providers: &[VersionInfo],
) -> Result<bool> {
    let Some(prev) = prev else { return Ok(true) };
    let m = store.read_manifest(prev)?;
    let had: HashSet<(String, i64)> = m
        .lineage
        .inputs
        .iter()
        .filter(|i| i.dataset.starts_with("provider-"))
        .map(|i| (i.dataset.clone(), i.version))
        .collect();
    let now: HashSet<(String, i64)> = providers
        .iter()
        .map(|v| (v.dataset.clone(), v.version))
        .collect();
    Ok(had != now)
}

/// The books of the research version as it stands (per table, and `person_keys` apart).
fn current_books(
    store: &Store,
    prev: Option<&VersionInfo>,
) -> Result<(BTreeMap<String, TableBooks>, TableBooks)> {
    let mut out = BTreeMap::new();
    let mut person_keys = TableBooks::default();
    if let Some(prev) = prev {
        for t in store.read_manifest(prev)?.tables {
            let books = TableBooks {
                rows: t.rows,
                source_rows: t.rows,
                parts_carried: t.files.len() as u64,
                ..TableBooks::default()
            };
            if t.name == CanonicalTable::PersonKeys.name() {
                person_keys = books;
            } else {
                out.insert(t.name.clone(), books);
            }
        }
    }
    Ok((out, person_keys))
}
