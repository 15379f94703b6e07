//! `medinfra persons stats|explain|evaluate|export|split|merge`: the operator's view of the
//! person registry. Everything here is identified-zone data: each command asks `govern` and is
//! audited before it reads.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::{Context, bail};
use arrow::array::{Array, Int64Array, StringArray};
use medinfra_govern::Action;
use medinfra_model::Tier;
use medinfra_persons::{RecordKey, RecordKind, Registry, stored};
use medinfra_store::Store;
use serde::Serialize;

use crate::cli::PersonsCommand;

async fn load(store: &Store) -> anyhow::Result<(Registry, medinfra_store::VersionInfo)> {
    match stored::load(store).await? {
        Some(x) => Ok(x),
        None => bail!("the person registry is empty: run `medinfra run DELIVERY` first"),
    }
}

fn parse_key(s: &str) -> anyhow::Result<RecordKey> {
    RecordKey::parse(s).with_context(|| {
        "a record is PROVIDER:CHART, patient:PROVIDER:CHART or checkup:FACILITY:ID".to_string()
    })
}

#[derive(Serialize)]
struct Stats<'a> {
    version: i64,
    persons: usize,
    records: usize,
    variants: usize,
    aliases: usize,
    overrides: usize,
    /// The identity variants the model's saved parameters were trained on (retrained once
    /// the registry has grown by a quarter since).
    model_trained_on_variants: Option<usize>,
    runs: &'a [medinfra_persons::RunSummary],
}

#[derive(Serialize)]
struct Explained<'a> {
    record: String,
    person_id: i64,
    first_run: i64,
    records_of_person: usize,
    variants_of_record: usize,
    events: Vec<&'a medinfra_persons::Event>,
    aliases: Vec<&'a medinfra_persons::Alias>,
}

/// The registry's pairwise quality against a sample's truth dataset (record_kind, provider_id,
/// record_id, person_id). Checkups are scored only where the truth names them as ingest does.
pub async fn evaluate_against(
    store: &Store,
    truth: &str,
) -> anyhow::Result<medinfra_persons::Evaluation> {
    let (reg, _) = load(store).await?;
    let info = store.version(truth, None).await?;
    let mut map: HashMap<RecordKey, i64> = HashMap::new();
    for b in super::read_table(store, &info, "truth")? {
        let col = |n: &str| {
            b.column_by_name(n)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                .with_context(|| format!("{truth}: truth.{n} missing or not text"))
        };
        let (kind, prov, id) = (col("record_kind")?, col("provider_id")?, col("record_id")?);
        let person = b
            .column_by_name("person_id")
            .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
            .with_context(|| format!("{truth}: truth.person_id missing or not Int64"))?;
        for i in 0..b.num_rows() {
            let Some(kind) = RecordKind::parse(kind.value(i)) else {
                continue;
            };
            if person.is_valid(i) {
                map.insert(
                    RecordKey {
                        kind,
                        provider_id: prov.value(i).into(),
                        record_id: id.value(i).into(),
                    },
                    person.value(i),
                );
            }
        }
    }
    Ok(medinfra_persons::evaluate(&reg, &map))
}

/// Record → person of the latest registry (empty before the first run).
pub async fn assignments(store: &Store) -> anyhow::Result<HashMap<RecordKey, i64>> {
    Ok(stored::assignments(store).await?.unwrap_or_default())
}

pub async fn run(store: &Store, command: PersonsCommand) -> anyhow::Result<ExitCode> {
    let (action, what) = match &command {
        PersonsCommand::Stats { .. } => (Action::Read, "person registry statistics"),
        PersonsCommand::Explain { .. } => (Action::Read, "person registry: explain a record"),
        PersonsCommand::Evaluate { .. } => (Action::Read, "person registry: evaluate"),
        PersonsCommand::Export { .. } => {
            (Action::Read, "person registry: export (record → person)")
        }
        PersonsCommand::Split { .. } => (Action::Write, "person registry: split"),
        PersonsCommand::Merge { .. } => (Action::Write, "person registry: must-link"),
    };
    super::audit::check(store, action, Tier::Identified, what).await?;
    match command {
        PersonsCommand::Stats { json } => {
            let (reg, info) = load(store).await?;
            let stats = Stats {
                version: info.version,
                persons: reg.persons(),
                records: reg.records.len(),
                variants: reg.variants.len(),
                aliases: reg.aliases.len(),
                overrides: reg.overrides.len(),
                model_trained_on_variants: reg.model.as_ref().map(|m| m.variants),
                runs: &reg.runs,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                println!(
                    "person registry v{}: {} persons, {} records, {} identity variants, {} aliases, {} overrides",
                    stats.version,
                    stats.persons,
                    stats.records,
                    stats.variants,
                    stats.aliases,
                    stats.overrides
                );
                for r in &reg.runs {
                    println!(
                        "  run {:>3} {}: +{} records, +{} persons, {} joined, {} merged, {} split, {} moved",
                        r.run,
                        r.at,
                        r.records_new,
                        r.persons_new,
                        r.joined,
                        r.merged,
                        r.split,
                        r.records_moved
                    );
                }
            }
        }
        PersonsCommand::Explain { record, json } => {
            let (reg, _) = load(store).await?;
            let key = parse_key(&record)?;
            let Some(i) = reg.record_index(&key) else {
                bail!("the registry has no such record");
            };
            let rec = &reg.records[i];
            let retired: Vec<i64> = reg
                .aliases
                .iter()
                .filter(|a| reg.resolve_alias(a.retired) == rec.person_id)
                .map(|a| a.retired)
                .collect();
            let e = Explained {
                record: key.display(),
                person_id: rec.person_id,
                first_run: rec.first_run,
                records_of_person: reg
                    .records
                    .iter()
                    .filter(|r| r.person_id == rec.person_id)
                    .count(),
                variants_of_record: reg.variants.iter().filter(|v| v.record == i).count(),
                events: reg
                    .events
                    .iter()
                    .filter(|ev| {
                        ev.record == Some(i)
                            || (ev.record.is_none()
                                && (ev.person_id == rec.person_id
                                    || retired.contains(&ev.person_id)))
                    })
                    .collect(),
                aliases: reg
                    .aliases
                    .iter()
                    .filter(|a| retired.contains(&a.retired))
                    .collect(),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                println!(
                    "{} → person {} (first seen in run {}; {} record(s) of this person, {} identity variant(s) of this record)",
                    e.record, e.person_id, e.first_run, e.records_of_person, e.variants_of_record
                );
                for ev in &e.events {
                    println!(
                        "  run {:>3} {:<8} person {}{}: {}",
                        ev.run,
                        ev.kind.as_str(),
                        ev.person_id,
                        ev.other_person
                            .map(|o| format!(" (other: {o})"))
                            .unwrap_or_default(),
                        ev.evidence
                    );
                }
                for a in &e.aliases {
                    println!(
                        "  alias: person {} retired into {} in run {} ({})",
                        a.retired, a.survivor, a.run, a.evidence
                    );
                }
            }
        }
        PersonsCommand::Evaluate { truth, json } => {
            let e = evaluate_against(store, &truth).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                println!(
                    "pairwise precision {:.5}, recall {:.5}, F1 {:.5} over {} records ({} true persons, {} found; {} records without truth)",
                    e.precision,
                    e.recall,
                    e.f1,
                    e.records,
                    e.persons_true,
                    e.persons_found,
                    e.records_without_truth
                );
            }
        }
        PersonsCommand::Export { out } => {
            let (reg, _) = load(store).await?;
            let mut w = csv::Writer::from_path(&out)
                .with_context(|| format!("creating {}", out.display()))?;
            w.write_record(["record", "kind", "provider_id", "person_id"])?;
            for r in &reg.records {
                w.write_record([
                    r.key.display().as_str(),
                    r.key.kind.as_str(),
                    r.key.provider_id.as_str(),
                    r.person_id.to_string().as_str(),
                ])?;
            }
            w.flush()?;
            println!("{} records written to {}", reg.records.len(), out.display());
        }
        PersonsCommand::Split { record, reason } => {
            let (mut reg, info) = load(store).await?;
            let key = parse_key(&record)?;
            let s = reg.split(&key, &reason, &medinfra_store::now_rfc3339())?;
            let v = stored::save(store, &mut reg, Some(&info), vec![]).await?;
            println!(
                "split: the record is now person {} (registry v{}); run `medinfra run` to rebuild the research database",
                reg.person_of(&key).unwrap_or_default(),
                v.version
            );
            let _ = s;
        }
        PersonsCommand::Merge { a, b, reason } => {
            let (mut reg, info) = load(store).await?;
            let (ka, kb) = (parse_key(&a)?, parse_key(&b)?);
            let s = reg.must_link(&ka, &kb, &reason, &medinfra_store::now_rfc3339())?;
            let v = stored::save(store, &mut reg, Some(&info), vec![]).await?;
            println!(
                "must-link recorded: both records are person {} ({} merge(s); registry v{})",
                reg.person_of(&ka).unwrap_or_default(),
                s.merged,
                v.version
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
