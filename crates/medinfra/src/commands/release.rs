//! `medinfra release request|review|list|download`: output checking of result tables before
//! they leave the workspace (`medinfra-disclosure`), a reviewer's decision, and the released
//! statistics dataset with its provenance.
//!
//! A request lives in `DATA_DIR/workspaces/PROJECT/releases/N/` (request.json, the table and
//! its checks, the cleaned CSV); the project's release ledger (`ledger.json`) holds every table
//! released so far, so a new table is checked against them for differencing. Approval writes
//! the cleaned table as a version of dataset `release-PROJECT-N` at tier `statistics`, with
//! the query text, input versions, checks, parameters, reviewer and time in its lineage, and
//! records it in the ledger.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use arrow::array::{Array, AsArray, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use medinfra_disclosure::{
    CellState, DisclosureConfig, Mitigation, ReleaseLedger, Statistic, TableBuilder, TableSpec,
    check_release, render,
};
use medinfra_govern::{Action, Registry, Resource, Role, can, today};
use medinfra_model::Tier;
use medinfra_store::{Lineage, Store};
use serde::{Deserialize, Serialize};

use crate::cli::{ReleaseCommand, ReleaseRequestArgs};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Request {
    id: String,
    project: String,
    requested_by: String,
    requested_at: String,
    result: String,
    /// The result's SQL and the dataset versions it read (provenance).
    sql: String,
    inputs: Vec<String>,
    spec: TableSpec,
    mitigation: Mitigation,
    status: String,
    reviewer: Option<String>,
    reviewed_at: Option<String>,
    comment: Option<String>,
    released_dataset: Option<String>,
}

fn project_dir(store: &Store, project: &str) -> PathBuf {
    store.root().join("workspaces").join(project)
}

fn split_id(id: &str) -> anyhow::Result<(&str, u64)> {
    let (p, n) = id
        .rsplit_once('-')
        .with_context(|| format!("{id:?}: a request id is PROJECT-N"))?;
    Ok((
        p,
        n.parse()
            .with_context(|| format!("{id:?}: a request id is PROJECT-N"))?,
    ))
}

fn load_request(store: &Store, id: &str) -> anyhow::Result<(PathBuf, Request)> {
    let (project, n) = split_id(id)?;
    let dir = project_dir(store, project)
        .join("releases")
        .join(n.to_string());
    let path = dir.join("request.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("no release request {id}"))?;
    Ok((
        dir,
        serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?,
    ))
}

fn save_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

fn ledger_path(store: &Store, project: &str) -> PathBuf {
    project_dir(store, project).join("ledger.json")
}

fn load_ledger(store: &Store, project: &str) -> anyhow::Result<ReleaseLedger> {
    let path = ledger_path(store, project);
    if !path.exists() {
        return Ok(ReleaseLedger::new(project));
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    Ok(ReleaseLedger::from_json(
        &text,
        &path.display().to_string(),
    )?)
}

fn statistic(name: &str) -> anyhow::Result<Statistic> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).with_context(|| {
        format!("unknown statistic {name:?} (count, sum, mean, median, min, max, std, mode)")
    })
}

fn mitigation(name: &str) -> anyhow::Result<Mitigation> {
    Ok(match name {
        "suppress" => Mitigation::Suppress,
        "none" => Mitigation::None,
        n if n.starts_with("round") => Mitigation::Round {
            base: n
                .strip_prefix("round")
                .and_then(|b| b.trim_start_matches(':').parse().ok())
                .unwrap_or(5),
        },
        _ => bail!("unknown mitigation {name:?} (suppress, round, round:BASE, none)"),
    })
}

/// Text of column `c` at row `r` (the table's category labels).
fn label(batch: &RecordBatch, c: usize, r: usize) -> anyhow::Result<String> {
    let col = batch.column(c);
    if col.is_null(r) {
        return Ok(String::new());
    }
    let s = arrow::compute::cast(&col.slice(r, 1), &DataType::Utf8)?;
    Ok(s.as_string::<i32>().value(0).to_string())
}

fn number(batch: &RecordBatch, c: usize, r: usize) -> anyhow::Result<Option<f64>> {
    let col = batch.column(c);
    if col.is_null(r) {
        return Ok(None);
    }
    let v = arrow::compute::cast(&col.slice(r, 1), &DataType::Float64)?;
    Ok(Some(
        v.as_primitive::<arrow::datatypes::Float64Type>().value(0),
    ))
}

async fn request(store: &Store, args: &ReleaseRequestArgs) -> anyhow::Result<ExitCode> {
    let registry = Registry::new(store);
    let project = registry.project(&args.project).await?;
    let actor = registry.actor(&args.user, today()).await?;
    let decision = can(
        &actor,
        Action::Read,
        &Resource {
            tier: project.tier,
            project: Some(project.name.clone()),
        },
        today(),
    );
    medinfra_govern::AuditLog::new(store)
        .append(
            &actor.user,
            "release_request",
            &format!("project {} result {}", project.name, args.result),
            if decision.allowed {
                "allowed"
            } else {
                "denied"
            },
            &format!("rule {}", decision.rule),
        )
        .await?;
    if !decision.allowed {
        bail!(
            "access denied: {} may not work in project {} (rule {})",
            args.user,
            project.name,
            decision.rule
        );
    }
    let dir = project_dir(store, &project.name);
    let results = dir.join("results");
    let info_path = results.join(format!("{}.json", args.result));
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info_path).with_context(|| {
            format!(
                "no saved result {} in project {}",
                args.result, project.name
            )
        })?)?;
    let config = match &args.config {
        Some(p) => DisclosureConfig::from_toml_file(p)?,
        None => DisclosureConfig::default(),
    };
    let stat = statistic(&args.statistic)?;
    let inputs: Vec<String> = info["inputs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let spec = TableSpec {
        name: args.result.clone(),
        rows: args.rows.clone(),
        cols: args.cols.clone(),
        value: args.value.clone(),
        statistics: vec![stat],
        margins: args.margins,
        ndb: None,
        scope: inputs.join(";"),
        filters: Default::default(),
        clamp: None,
    };
    if args.rows.is_empty() {
        bail!("--rows names at least one row variable");
    }
    let mut builder = TableBuilder::for_config(spec.clone(), &config)?;
    let path = results.join(format!("{}.parquet", args.result));
    let file = std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?;
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    for batch in reader {
        let batch = batch?;
        let schema = batch.schema();
        let idx = |c: &str| {
            schema
                .index_of(c)
                .map_err(|_| anyhow::anyhow!("result {} has no column {c}", args.result))
        };
        let row_idx: Vec<usize> = args.rows.iter().map(|c| idx(c)).collect::<Result<_, _>>()?;
        let col_idx: Vec<usize> = args.cols.iter().map(|c| idx(c)).collect::<Result<_, _>>()?;
        let value_idx = args.value.as_deref().map(idx).transpose()?;
        let count_idx = args.count_column.as_deref().map(idx).transpose()?;
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
            match (count_idx, value_idx) {
                (Some(c), _) => {
                    let n = number(&batch, c, r)?.unwrap_or(0.0);
                    builder.push_count(&rr, &cc, n.max(0.0) as u64)?;
                }
                (None, Some(v)) => builder.push(&rr, &cc, number(&batch, v, r)?)?,
                (None, None) => builder.push(&rr, &cc, None)?,
            }
        }
    }
    let table = builder.finish();
    let ledger = load_ledger(store, &project.name)?;
    let mitigation = mitigation(&args.mitigation)?;
    let checked = check_release(&table, &config, Some(&ledger), mitigation)?;

    let releases = dir.join("releases");
    std::fs::create_dir_all(&releases)?;
    let n = std::fs::read_dir(&releases)?.count() as u64 + 1;
    let id = format!("{}-{n}", project.name);
    let rdir = releases.join(n.to_string());
    std::fs::create_dir_all(&rdir)?;
    let req = Request {
        id: id.clone(),
        project: project.name.clone(),
        requested_by: args.user.clone(),
        requested_at: medinfra_store::now_rfc3339(),
        result: args.result.clone(),
        sql: info["sql"].as_str().unwrap_or_default().to_string(),
        inputs,
        spec,
        mitigation,
        status: "pending".into(),
        reviewer: None,
        reviewed_at: None,
        comment: None,
        released_dataset: None,
    };
    save_json(&rdir.join("table.json"), &table)?;
    save_json(&rdir.join("check.json"), &checked)?;
    std::fs::write(
        rdir.join("assessment.txt"),
        render::assessment_text(&checked.assessment),
    )?;
    std::fs::write(
        rdir.join("cleaned.csv"),
        render::cleaned_csv(&checked.cleaned)?,
    )?;
    save_json(&rdir.join("request.json"), &req)?;
    print!("{}", render::assessment_text(&checked.assessment));
    let count = |s: CellState| checked.cleaned.state.iter().filter(|x| **x == s).count();
    println!(
        "release request {id}: {} cells, {} suppressed by the checks, {} by secondary suppression, {} differencing finding(s); status {:?} — waiting for a reviewer",
        checked.cleaned.state.len(),
        count(CellState::Primary),
        count(CellState::Secondary),
        checked.differencing.len(),
        checked.cleaned.status
    );
    println!("  -> {}", rdir.join("cleaned.csv").display());
    Ok(ExitCode::SUCCESS)
}

async fn review(
    store: &Store,
    id: &str,
    user: &str,
    approve: bool,
    comment: &str,
) -> anyhow::Result<ExitCode> {
    let (dir, mut req) = load_request(store, id)?;
    if req.status != "pending" {
        bail!("release request {id} is {} already", req.status);
    }
    let registry = Registry::new(store);
    let actor = registry.actor(user, today()).await?;
    let allowed =
        matches!(actor.role, Role::Reviewer | Role::Operator) && actor.user != req.requested_by;
    medinfra_govern::AuditLog::new(store)
        .append(
            &actor.user,
            "release_review",
            &format!("release {id}"),
            if allowed {
                if approve { "approved" } else { "rejected" }
            } else {
                "denied"
            },
            comment,
        )
        .await?;
    if !allowed {
        bail!("access denied: release requests are decided by a reviewer other than the requester");
    }
    req.reviewer = Some(actor.user.clone());
    req.reviewed_at = Some(medinfra_store::now_rfc3339());
    req.comment = Some(comment.to_string());
    if !approve {
        req.status = "rejected".into();
        save_json(&dir.join("request.json"), &req)?;
        println!("release request {id} rejected");
        return Ok(ExitCode::SUCCESS);
    }
    let checked: medinfra_disclosure::ReleaseCheck =
        serde_json::from_str(&std::fs::read_to_string(dir.join("check.json"))?)?;
    let table: medinfra_disclosure::Table =
        serde_json::from_str(&std::fs::read_to_string(dir.join("table.json"))?)?;
    if checked.cleaned.status == medinfra_disclosure::Status::Fail {
        bail!(
            "release request {id} still fails its checks; it cannot be approved (resubmit with suppression or rounding)"
        );
    }
    // The released table: one row per cell, blanks as nulls.
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
    std::fs::write(ledger_path(store, &req.project), ledger.to_json()?)?;
    req.status = "approved".into();
    req.released_dataset = Some(format!("{}@v{}", version.dataset, version.version));
    save_json(&dir.join("request.json"), &req)?;
    println!(
        "release request {id} approved: dataset {} v{} (statistics)",
        version.dataset, version.version
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn run(store: &Store, command: ReleaseCommand) -> anyhow::Result<ExitCode> {
    match command {
        ReleaseCommand::Request(args) => request(store, &args).await,
        ReleaseCommand::Review {
            id,
            user,
            approve,
            reject,
            comment,
        } => {
            if approve == reject {
                bail!("say --approve or --reject");
            }
            review(store, &id, &user, approve, &comment).await
        }
        ReleaseCommand::List { project } => {
            let releases = project_dir(store, &project).join("releases");
            if releases.exists() {
                let mut dirs: Vec<PathBuf> = std::fs::read_dir(&releases)?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .collect();
                dirs.sort();
                for d in dirs {
                    let r: Request =
                        serde_json::from_str(&std::fs::read_to_string(d.join("request.json"))?)?;
                    println!(
                        "{:<16} {:<9} result {:<16} by {:<12} {}",
                        r.id,
                        r.status,
                        r.result,
                        r.requested_by,
                        r.released_dataset.unwrap_or_default()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ReleaseCommand::Download { id, format, out } => {
            let (_, req) = load_request(store, &id)?;
            let Some(ds) = req.released_dataset else {
                bail!("release request {id} is {}: nothing released", req.status);
            };
            let name = ds.split('@').next().unwrap_or_default();
            let info = store.version(name, None).await?;
            super::audit::check(
                store,
                Action::Download,
                info.tier,
                &format!("dataset {} v{}", info.dataset, info.version),
            )
            .await?;
            let files = store.table_files(&info, "cells")?;
            match format.as_str() {
                "parquet" => {
                    let src = files.first().context("released table has no file")?;
                    std::fs::copy(src, &out)?;
                }
                "csv" => {
                    let mut w = arrow::csv::WriterBuilder::new()
                        .with_header(true)
                        .build(std::fs::File::create(&out)?);
                    for b in super::read_table(store, &info, "cells")? {
                        w.write(&b)?;
                    }
                }
                f => bail!("unknown format {f:?} (csv, parquet)"),
            }
            println!("wrote {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
