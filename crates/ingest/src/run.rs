//! The ingest run: expand paths, hash, deduplicate, stream each file through the format
//! reader and the canonical mapping into part files, apply the rejection policy, carry the
//! provider's still-current earlier files forward, and commit one version.
//!
//! [`ingest`] does this for one provider; [`ingest_many`] for a bulk delivery of many
//! providers: each provider still gets its own version of its own dataset and its own
//! submission records, but the providers are read on all cores and their versions are
//! committed together, many per catalog transaction ([`Store::commit_all`]), so a delivery of
//! a thousand small files does not pay a thousand commits.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::inputs::{Input, InputKind, discover, expand, hash_input, io_err};
use std::path::{Path, PathBuf};

use medinfra_model::{CanonicalTable, Tier};
use medinfra_store::{Lineage, Store, Submission, VersionWriter};

use crate::IngestError;
use crate::report::{FileOutcome, FileStatus, IngestOutcome};
use crate::unit::{IngestOptions, UnitCx, map_unit};

/// The dataset that holds a provider's ingested data.
pub fn dataset_name(provider_id: &str) -> String {
    format!("provider-{provider_id}")
}

/// Files per provider id, and the files whose provider could not be read.
pub type ProviderGroups = (BTreeMap<String, Vec<PathBuf>>, Vec<PathBuf>);

/// Group files by the provider their header names (IR/YK: prefecture + fee schedule +
/// facility code), for bulk submissions that mix providers. Files without a readable header
/// are returned separately.
pub fn group_by_provider(paths: &[PathBuf]) -> Result<ProviderGroups, IngestError> {
    use std::io::BufRead;
    let mut groups: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let mut unknown = Vec::new();
    for f in expand(paths)? {
        let file = File::open(&f).map_err(|e| io_err(&f, e))?;
        let mut line = Vec::new();
        std::io::BufReader::new(file)
            .take(4096)
            .read_until(b'\n', &mut line)
            .map_err(|e| io_err(&f, e))?;
        let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&line);
        let fields: Vec<&str> = text.trim_end().split(',').collect();
        match fields.as_slice() {
            [rec, _, pref, table, facility, ..]
                if (*rec == "IR" || *rec == "YK")
                    && pref.len() == 2
                    && table.len() == 1
                    && facility.len() == 7
                    && pref
                        .bytes()
                        .chain(table.bytes())
                        .chain(facility.bytes())
                        .all(|b| b.is_ascii_digit()) =>
            {
                groups
                    .entry(format!("{pref}{table}{facility}"))
                    .or_default()
                    .push(f);
            }
            _ => unknown.push(f),
        }
    }
    Ok((groups, unknown))
}

/// Stream one unit through the reader of its kind.
pub(crate) fn ingest_input(
    writer: &VersionWriter,
    opts: &IngestOptions,
    input: &Input,
    sha256: &str,
    bytes: u64,
    patients: &crate::fhir_map::PatientIndex,
    progress: &dyn Fn(u64),
) -> Result<FileOutcome, IngestError> {
    let cx = UnitCx {
        writer,
        opts,
        key: &sha256[..16],
    };
    let unit = crate::unit::Unit {
        input,
        sha256,
        bytes,
        progress,
    };
    match input.kind {
        InputKind::FhirBundle | InputKind::FhirNdjson => {
            map_unit(crate::fhir_map::FhirUnit { unit, patients }, &cx)
        }
        InputKind::DpcEf | InputKind::DpcFf1 | InputKind::DpcD => {
            map_unit(crate::dpc_map::DpcUnit(unit), &cx)
        }
        InputKind::MappedCsv | InputKind::MappedParquet => {
            map_unit(crate::table_map::TableUnit(unit), &cx)
        }
        InputKind::Uke => map_unit(crate::uke_file::UkeFile(unit), &cx),
        InputKind::Ssmix2Tree | InputKind::Hl7Message => {
            map_unit(crate::ssmix2_map::Ssmix2Unit(unit), &cx)
        }
        InputKind::CheckupArchiveDir | InputKind::CheckupZip | InputKind::CheckupDocument => {
            map_unit(crate::checkup_map::CheckupUnit(unit), &cx)
        }
    }
}

fn submission(opts: &IngestOptions, f: &FileOutcome, now: &str) -> Submission {
    Submission {
        provider_id: opts.provider_id.clone(),
        file_name: Path::new(&f.file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        file_sha256: f.sha256.clone(),
        bytes: f.bytes,
        kind: f.kind.clone(),
        billing_month: f.billing_month.clone(),
        status: match f.status {
            FileStatus::Accepted => "accepted",
            _ => "rejected",
        }
        .into(),
        receipts_accepted: f.receipts_accepted,
        receipts_quarantined: f.receipts_quarantined,
        findings: (f.findings.len() + f.problems.len()) as u64,
        dataset: None,
        version: None,
        submitted_at: now.to_string(),
    }
}

/// One provider's submission between reading and commit.
struct Prepared {
    opts: IngestOptions,
    dataset: String,
    files: Vec<Input>,
    previous: Option<medinfra_store::VersionInfo>,
    earlier: Vec<Submission>,
    writer: VersionWriter,
}

/// What a provider's submission comes to: a version to commit, or only submission records.
enum Finished {
    Version(Box<VersionWriter>),
    Rejected(Vec<Submission>),
}

fn check_provider_id(id: &str) -> Result<(), IngestError> {
    if id.len() != 10 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IngestError::BadProviderId);
    }
    Ok(())
}

/// Find the units, look up the provider's dataset and earlier submissions, open a writer.
async fn prepare(
    store: &Store,
    opts: IngestOptions,
    paths: &[PathBuf],
) -> Result<Prepared, IngestError> {
    check_provider_id(&opts.provider_id)?;
    let files = discover(paths, opts.mapping.as_ref().map(|m| &m.mapping))?;
    if files.is_empty() {
        return Err(IngestError::NoFiles);
    }
    let dataset = dataset_name(&opts.provider_id);
    let previous = match store.version(&dataset, None).await {
        Ok(v) => Some(v),
        Err(medinfra_store::StoreError::NoSuchDataset(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let earlier = store.submissions(&opts.provider_id).await?;
    let mut lineage = Lineage {
        step: "ingest".into(),
        parameters: serde_json::json!({
            "provider_id": opts.provider_id,
            "strict": opts.strict,
            "max_quarantined_share": opts.max_quarantined_share,
        }),
        inputs: vec![],
    };
    if let Some(p) = &previous {
        lineage.inputs.push(Store::input_ref(p));
    }
    let writer = store.begin(&dataset, Tier::Identified, lineage)?;
    Ok(Prepared {
        opts,
        dataset,
        files,
        previous,
        earlier,
        writer,
    })
}

/// Hash and read every unit of a prepared submission into part files (blocking: file I/O and
/// CPU). `report(bytes)` is called as bytes are read.
fn read_units(p: &Prepared, report: &dyn Fn(u64)) -> Result<Vec<FileOutcome>, IngestError> {
    let mut hashed = Vec::new();
    for f in &p.files {
        let (sha, bytes) = hash_input(f)?;
        hashed.push((f, sha, bytes));
    }
    let fhir: Vec<&Input> = p
        .files
        .iter()
        .filter(|f| matches!(f.kind, InputKind::FhirBundle | InputKind::FhirNdjson))
        .collect();
    let patients = crate::fhir_map::patient_index(&fhir)?;
    let mut outcomes: Vec<FileOutcome> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (input, sha, bytes) in &hashed {
        let path = &input.path;
        let already = p
            .earlier
            .iter()
            .any(|s| &s.file_sha256 == sha && s.status == "accepted")
            || seen.contains_key(sha);
        if already {
            report(*bytes);
            outcomes.push(FileOutcome {
                status: FileStatus::Duplicate,
                ..FileOutcome::new(&path.display().to_string(), sha, *bytes, "duplicate")
            });
            continue;
        }
        seen.insert(sha.clone(), outcomes.len());
        let outcome = ingest_input(&p.writer, &p.opts, input, sha, *bytes, &patients, report)?;
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Carry the still-current earlier files forward and attach the submission records, or, when
/// nothing was accepted, give back the records of the rejected files alone.
fn finish(
    store: &Store,
    p: Prepared,
    outcomes: &[FileOutcome],
    now: &str,
) -> Result<Finished, IngestError> {
    let Prepared {
        opts,
        previous,
        earlier,
        mut writer,
        ..
    } = p;
    let accepted: Vec<&FileOutcome> = outcomes
        .iter()
        .filter(|o| o.status == FileStatus::Accepted)
        .collect();
    if accepted.is_empty() {
        // Dropping the writer removes its staging directory.
        drop(writer);
        return Ok(Finished::Rejected(
            outcomes
                .iter()
                .filter(|o| o.status == FileStatus::Rejected)
                .map(|o| submission(&opts, o, now))
                .collect(),
        ));
    }
    // Carry forward the earlier files still current: accepted before, and not replaced by a
    // newly accepted file for the same billing month.
    if let Some(prev) = &previous {
        let replaced: Vec<&str> = accepted
            .iter()
            .filter_map(|o| o.billing_month.as_deref())
            .collect();
        let keep: std::collections::HashSet<String> = earlier
            .iter()
            .filter(|s| s.status == "accepted")
            .filter(|s| {
                !s.billing_month.as_deref().is_some_and(|m| {
                    if m.starts_with("ssmix2") {
                        replaced
                            .iter()
                            .any(|r| crate::ssmix2_map::ssmix2_covers(r, m))
                    } else {
                        replaced.contains(&m)
                    }
                })
            })
            .map(|s| s.file_sha256[..16].to_string())
            .collect();
        let manifest = store.read_manifest(prev)?;
        for table in &manifest.tables {
            let Some(canonical) = CanonicalTable::from_name(&table.name) else {
                continue;
            };
            for f in &table.files {
                // A part is named after its file's SHA-256 (`…part-SHA16.parquet`); a set
                // lookup, since a provider's history holds hundreds of files and parts.
                let carried = f
                    .path
                    .strip_suffix(".parquet")
                    .and_then(|p| p.rsplit_once("part-"))
                    .is_some_and(|(_, name)| keep.contains(name));
                if carried {
                    writer.carry_part(&table.name, canonical.schema(), &prev.dir, f)?;
                }
            }
        }
    }
    for o in outcomes {
        if o.status != FileStatus::Duplicate {
            writer.add_submission(submission(&opts, o, now));
        }
    }
    Ok(Finished::Version(Box::new(writer)))
}

fn outcome_of(
    provider_id: String,
    dataset: String,
    files: Vec<FileOutcome>,
    info: Option<&medinfra_store::VersionInfo>,
) -> IngestOutcome {
    IngestOutcome {
        provider_id,
        dataset,
        version: info.map(|i| i.version),
        version_rows: info
            .map(|i| i.tables.iter().map(|t| (t.name.clone(), t.rows)).collect())
            .unwrap_or_default(),
        files,
    }
}

/// Ingest files for one provider. `progress(bytes_done, bytes_total)` is called as files are read.
pub async fn ingest(
    store: &Store,
    opts: &IngestOptions,
    paths: &[PathBuf],
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<IngestOutcome, IngestError> {
    let prepared = prepare(store, opts.clone(), paths).await?;
    let total = prepared
        .files
        .iter()
        .map(input_len)
        .sum::<Result<u64, IngestError>>()?;
    let done = AtomicU64::new(0);
    let report = |n: u64| {
        let d = done.fetch_add(n, Ordering::Relaxed) + n;
        progress(d.min(total), total);
    };
    let outcomes = read_units(&prepared, &report)?;
    let dataset = prepared.dataset.clone();
    let now = medinfra_store::now_rfc3339();
    match finish(store, prepared, &outcomes, &now)? {
        Finished::Rejected(subs) => {
            store.record_submissions(&subs).await?;
            Ok(outcome_of(
                opts.provider_id.clone(),
                dataset,
                outcomes,
                None,
            ))
        }
        Finished::Version(writer) => {
            let info = writer.commit().await?;
            Ok(outcome_of(
                opts.provider_id.clone(),
                dataset,
                outcomes,
                Some(&info),
            ))
        }
    }
}

/// Bytes of a unit (a folder unit: all its files), for progress totals.
fn input_len(input: &Input) -> Result<u64, IngestError> {
    expand(std::slice::from_ref(&input.path))?
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .map(|m| m.len())
                .map_err(|e| io_err(f, e))
        })
        .sum()
}

/// How many providers' versions [`ingest_many`] commits in one catalog transaction at most,
/// and how many input bytes at most. Bounded so that the files waiting for one commit, and
/// the work a failure throws away, stay moderate; large enough that the per-commit cost
/// (fsyncs, one SQLite transaction) is shared by many small providers.
pub const BATCH_PROVIDERS: usize = 256;
pub const BATCH_BYTES: u64 = 1 << 30;

/// Ingest a bulk delivery: `groups` are (provider id, that provider's paths), e.g. from
/// [`group_by_provider`]. `opts` applies to every provider (its `provider_id` is ignored).
///
/// Each provider is its own submission exactly as with [`ingest`]: its own version of
/// `provider-<ID>`, its own submission records, its files accepted, quarantined or rejected
/// on their own (one provider's bad file costs the others nothing). What is shared is the
/// work: providers are read on `threads` threads at once (0: all cores), and up to
/// [`BATCH_PROVIDERS`] providers' versions (or [`BATCH_BYTES`] of input) are committed in one
/// catalog transaction, with the submission records of providers whose files were all
/// rejected. A batch is all or nothing: an error (I/O, store) stops the run, and nothing of
/// the batch it happened in becomes visible; batches committed before it stay (each is a
/// complete set of providers' submissions, and re-running the delivery skips them as
/// duplicates).
///
/// Blocking: the reading runs on scoped threads inside this future, while the previous
/// batch commits on a tokio task (needs a multi-threaded runtime to overlap). Outcomes come
/// back in provider order.
pub async fn ingest_many(
    store: &Store,
    opts: &IngestOptions,
    groups: Vec<(String, Vec<PathBuf>)>,
    threads: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Vec<IngestOutcome>, IngestError> {
    for (id, _) in &groups {
        check_provider_id(id)?;
    }
    let mut groups = groups;
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = groups.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(medinfra_store::StoreError::DuplicateInBatch(dataset_name(&w[0].0)).into());
    }
    let threads = match threads {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        n => n,
    };
    // Sizes first: the progress total, and the batch boundaries.
    let mut sized = Vec::with_capacity(groups.len());
    let mut total = 0u64;
    for (id, paths) in groups {
        let bytes = expand(&paths)?
            .iter()
            .map(|f| {
                std::fs::metadata(f)
                    .map(|m| m.len())
                    .map_err(|e| io_err(f, e))
            })
            .sum::<Result<u64, IngestError>>()?;
        total += bytes;
        sized.push((id, paths, bytes));
    }
    let done = AtomicU64::new(0);
    let report = |n: u64| {
        let d = done.fetch_add(n, Ordering::Relaxed) + n;
        progress(d.min(total), total);
    };
    let mut out = Vec::with_capacity(sized.len());
    // The batch being committed while the next one is read: a commit mostly waits for fsyncs
    // and the catalog, so it overlaps the next batch's CPU-bound reading. One at a time, in
    // order, so outcomes and versions keep provider order.
    let mut in_flight: Option<InFlight> = None;
    let mut rest = sized.as_slice();
    let result = async {
        while !rest.is_empty() {
            let mut n = 0;
            let mut bytes = 0u64;
            while n < rest.len()
                && n < BATCH_PROVIDERS
                && (n == 0 || bytes + rest[n].2 <= BATCH_BYTES)
            {
                bytes += rest[n].2;
                n += 1;
            }
            let (batch, tail) = rest.split_at(n);
            rest = tail;
            let mut prepared = Vec::with_capacity(batch.len());
            for (id, paths, _) in batch {
                let mut o = opts.clone();
                o.provider_id = id.clone();
                prepared.push(prepare(store, o, paths).await?);
            }
            let outcomes = read_in_parallel(&prepared, threads, &report)?;
            let now = medinfra_store::now_rfc3339();
            let mut writers = Vec::new();
            let mut rejected = Vec::new();
            let mut pending = Vec::with_capacity(prepared.len());
            for (p, files) in prepared.into_iter().zip(outcomes) {
                let (id, dataset) = (p.opts.provider_id.clone(), p.dataset.clone());
                match finish(store, p, &files, &now)? {
                    Finished::Version(w) => {
                        writers.push(*w);
                        pending.push((id, dataset, files, true));
                    }
                    Finished::Rejected(subs) => {
                        rejected.extend(subs);
                        pending.push((id, dataset, files, false));
                    }
                }
            }
            if let Some(previous) = in_flight.take() {
                previous.land(&mut out).await?;
            }
            let committer = store.clone();
            in_flight = Some(InFlight {
                task: tokio::spawn(async move { committer.commit_all(writers, &rejected).await }),
                pending,
            });
        }
        Ok::<(), IngestError>(())
    }
    .await;
    // Whatever happened, the batch in flight finishes (or fails) before this returns, so
    // its outcome is known and nothing commits after the caller has been told of an error.
    let landed = match in_flight.take() {
        Some(last) => last.land(&mut out).await,
        None => Ok(()),
    };
    result?;
    landed?;
    Ok(out)
}

/// A batch handed to the store: its commit task and the outcomes waiting for its versions.
struct InFlight {
    task: tokio::task::JoinHandle<
        Result<Vec<medinfra_store::VersionInfo>, medinfra_store::StoreError>,
    >,
    pending: Vec<(String, String, Vec<FileOutcome>, bool)>,
}

impl InFlight {
    async fn land(self, out: &mut Vec<IngestOutcome>) -> Result<(), IngestError> {
        let infos = self
            .task
            .await
            .map_err(|e| IngestError::Task(e.to_string()))??;
        let mut infos = infos.iter();
        for (id, dataset, files, committed) in self.pending {
            let info = if committed { infos.next() } else { None };
            out.push(outcome_of(id, dataset, files, info));
        }
        Ok(())
    }
}

/// Read the prepared submissions on `threads` threads, each taking the next provider.
fn read_in_parallel(
    prepared: &[Prepared],
    threads: usize,
    report: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Vec<FileOutcome>>, IngestError> {
    let next = AtomicUsize::new(0);
    type Slot = std::sync::Mutex<Option<Result<Vec<FileOutcome>, IngestError>>>;
    let results: Vec<Slot> = prepared.iter().map(|_| Slot::new(None)).collect();
    let failed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, prepared.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= prepared.len() || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = read_units(&prepared[i], report);
                    if r.is_err() {
                        // The batch is lost anyway: stop the other threads early.
                        failed.store(true, Ordering::Relaxed);
                    }
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    let mut out = Vec::with_capacity(prepared.len());
    for slot in results {
        match slot.into_inner() {
            Ok(Some(r)) => out.push(r?),
            // Not read because another provider failed first; that error is returned.
            Ok(None) => continue,
            Err(_) => return Err(IngestError::Worker),
        }
    }
    if out.len() != prepared.len() {
        return Err(IngestError::Worker);
    }
    Ok(out)
}
