//! `medinfra link`: Fellegi–Sunter linkage of identity CSVs (`medinfra-link`), optionally
//! stored as a linkage dataset version; `link encode` / `link match-clk` for privacy-preserving
//! linkage between parties that may not exchange identifiers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use arrow::array::{Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use medinfra_govern::Action;
use medinfra_model::Tier;
use medinfra_pseudo::keys::KeyStore;
use medinfra_store::{Lineage, Store};

use crate::cli::{LinkArgs, LinkCommand};

/// Commands that need no catalog (files in, files out) run without opening the store.
pub fn needs_store(args: &LinkArgs) -> bool {
    args.command.is_none() && args.run.dataset.is_some()
}

pub async fn run(
    store: Option<&Store>,
    key_dir: &Path,
    args: &LinkArgs,
) -> anyhow::Result<ExitCode> {
    match &args.command {
        Some(LinkCommand::Encode {
            model,
            input,
            out,
            key_purpose,
        }) => {
            let keys = KeyStore::open(key_dir)
                .with_context(|| format!("opening key directory {}", key_dir.display()))?;
            let key = keys.active(key_purpose).with_context(|| {
                format!(
                    "no active key for purpose {key_purpose:?}: the parties share one (`medinfra keys new --purpose {key_purpose}`, then copy the key file over a secure channel)"
                )
            })?;
            let n = medinfra_link::clk::encode_csv(model, input, &key, out)?;
            println!(
                "encoded {n} records of {} as keyed Bloom filters (key {}) -> {}",
                input.display(),
                key.id(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(LinkCommand::MatchClk {
            left,
            right,
            out,
            threshold,
            truth,
        }) => {
            let report = medinfra_link::clk::link_files(&medinfra_link::clk::ClkLinkRequest {
                left: left.clone(),
                right: right.clone(),
                out_dir: out.clone(),
                threshold: *threshold,
                truth: truth.clone(),
            })?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        None => run_fs(store, args).await,
    }
}

async fn run_fs(store: Option<&Store>, args: &LinkArgs) -> anyhow::Result<ExitCode> {
    let a = &args.run;
    let Some(out) = &a.out else {
        bail!("link needs --out DIR");
    };
    let (left, right): (PathBuf, Option<PathBuf>) = match (&a.left, &a.right, &a.dedupe) {
        (Some(l), Some(r), None) => (l.clone(), Some(r.clone())),
        (None, None, Some(d)) => (d.clone(), None),
        _ => bail!("link needs --left A.csv --right B.csv, or --dedupe FILE"),
    };
    if let (Some(store), Some(name)) = (store, &a.dataset) {
        super::audit::check(
            store,
            Action::Write,
            Tier::Identified,
            &format!("dataset {name}"),
        )
        .await?;
    }
    let mut req = medinfra_link::LinkRequest::new(&a.model, &left, out);
    req.right = right;
    req.threshold = a.threshold;
    req.truth = a.truth.clone();
    let report = medinfra_link::run_csv(&req)?;
    println!(
        "link ({}, {}): {} candidate pairs from {} blocking rules, {} links at p >= {}, {} persons, {} ms",
        report.model,
        report.mode,
        report.candidate_pairs,
        report.blocking.len(),
        report.links,
        report.threshold,
        report.persons,
        report.elapsed_ms
    );
    if let Some(e) = &report.evaluation {
        println!(
            "  against truth ({} true pairs): precision {:.4}, recall {:.4}, F1 {:.4}",
            e.true_pairs, e.precision, e.recall, e.f1
        );
    }
    println!("  -> {}", out.join("report.json").display());
    if let (Some(store), Some(name)) = (store, &a.dataset) {
        let version = store_linkage(store, name, out, &report).await?;
        println!(
            "  -> dataset {} v{} (identified): links and clusters",
            version.dataset, version.version
        );
        // The operators' copy of the reports, beside the other pipeline reports (the web UI's
        // "pipeline runs" page lists DATA_DIR/reports).
        let reports = store
            .root()
            .join("reports")
            .join(format!("link-{}-v{}", version.dataset, version.version));
        std::fs::create_dir_all(&reports)
            .with_context(|| format!("creating {}", reports.display()))?;
        for f in ["report.json", "report.html"] {
            if out.join(f).exists() {
                std::fs::copy(out.join(f), reports.join(f))
                    .with_context(|| format!("copying {f} to {}", reports.display()))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The run's pairs and clusters as a dataset version (tables `links`, `clusters`), with the
/// input files' hashes and the model in the lineage.
async fn store_linkage(
    store: &Store,
    name: &str,
    out: &Path,
    report: &medinfra_link::Report,
) -> anyhow::Result<medinfra_store::VersionInfo> {
    let read = |file: &str| -> anyhow::Result<Vec<csv::StringRecord>> {
        let path = out.join(file);
        let mut r =
            csv::Reader::from_path(&path).with_context(|| format!("reading {}", path.display()))?;
        r.records()
            .map(|rec| rec.with_context(|| format!("reading {}", path.display())))
            .collect()
    };
    let pairs = read("pairs.csv")?;
    let clusters = read("clusters.csv")?;
    let field = |r: &csv::StringRecord, i: usize| r.get(i).unwrap_or_default().to_string();
    let links_schema = Arc::new(Schema::new(vec![
        Field::new("rec_id_l", DataType::Utf8, false),
        Field::new("rec_id_r", DataType::Utf8, false),
        Field::new("match_probability", DataType::Float64, false),
    ]));
    let links = RecordBatch::try_new(
        links_schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                pairs.iter().map(|r| field(r, 0)),
            )),
            Arc::new(StringArray::from_iter_values(
                pairs.iter().map(|r| field(r, 1)),
            )),
            Arc::new(Float64Array::from_iter_values(
                pairs
                    .iter()
                    .map(|r| field(r, 2).parse::<f64>().unwrap_or(f64::NAN)),
            )),
        ],
    )?;
    let clusters_schema = Arc::new(Schema::new(vec![
        Field::new("rec_id", DataType::Utf8, false),
        Field::new("side", DataType::Utf8, false),
        Field::new("person_key", DataType::Utf8, false),
    ]));
    let cluster_batch = RecordBatch::try_new(
        clusters_schema.clone(),
        (0..3)
            .map(|i| {
                Arc::new(StringArray::from_iter_values(
                    clusters.iter().map(|r| field(r, i)),
                )) as arrow::array::ArrayRef
            })
            .collect(),
    )?;
    let lineage = Lineage {
        step: "link".into(),
        parameters: serde_json::json!({
            "model": report.model,
            "mode": report.mode,
            "threshold": report.threshold,
            "inputs": report.inputs,
            "engine": report.engine,
        }),
        inputs: vec![],
    };
    let w = store.begin(name, Tier::Identified, lineage)?;
    w.write_table("links", links_schema, [&links])?;
    w.write_table("clusters", clusters_schema, [&cluster_batch])?;
    Ok(w.commit().await?)
}
