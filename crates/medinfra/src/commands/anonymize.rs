//! `medinfra anonymize --csv ...`: the ARX-compatible entry point for users coming from ARX.
//! Same hierarchy files, same models and metric; output is the anonymized CSV (suppressed
//! records kept with `*` in every quasi-identifier, as ARX does), `report.json` and a
//! self-contained `report.html`.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use medinfra_anon::{
    AnonymizationConfig, Hierarchy, Metric, PopulationUniqueness, PrivacyModel, SearchMode, Table,
};

use crate::cli::AnonymizeArgs;

fn parse_l_diversity(spec: &str) -> anyhow::Result<PrivacyModel> {
    let parts: Vec<&str> = spec.split(':').collect();
    Ok(match parts.as_slice() {
        ["distinct", l] => PrivacyModel::DistinctLDiversity {
            l: l.parse().context("l of distinct:L")?,
        },
        ["entropy", l] => PrivacyModel::EntropyLDiversity {
            l: l.parse().context("l of entropy:L")?,
        },
        ["recursive", c, l] => PrivacyModel::RecursiveCLDiversity {
            c: c.parse().context("c of recursive:C:L")?,
            l: l.parse().context("l of recursive:C:L")?,
        },
        _ => bail!("--l-diversity {spec:?}: expected distinct:L, entropy:L or recursive:C:L"),
    })
}

fn parse_metric(name: &str) -> anyhow::Result<Metric> {
    Ok(match name {
        "loss" => Metric::loss(),
        "entropy" => Metric::NonUniformEntropy,
        "discernibility" => Metric::Discernibility,
        "aecs" => Metric::Aecs,
        "height" => Metric::Height,
        "precision" => Metric::Precision,
        _ => bail!(
            "--metric {name:?}: expected loss, entropy, discernibility, aecs, height or precision"
        ),
    })
}

pub fn run(args: &AnonymizeArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (Some(csv), Some(out)) = (&args.csv, &args.out) else {
        bail!("CSV mode needs --csv FILE and --out DIR (or use --input DATASET --output NAME)");
    };
    if args.hierarchies.is_empty() {
        bail!("name the quasi-identifiers with --hierarchy ATTRIBUTE=FILE");
    }
    let delimiter = match args.delimiter.as_bytes() {
        [b] => *b,
        _ => bail!("--delimiter must be exactly one ASCII character"),
    };
    let mut qis: Vec<(String, Hierarchy)> = Vec::new();
    for spec in &args.hierarchies {
        let Some((attr, file)) = spec.split_once('=') else {
            bail!("--hierarchy {spec:?}: expected ATTRIBUTE=FILE");
        };
        let hierarchy = Hierarchy::from_csv_path(PathBuf::from(file))?;
        qis.push((attr.to_string(), hierarchy));
    }
    let mut models = Vec::new();
    if let Some(k) = args.k {
        models.push(PrivacyModel::KAnonymity { k });
    }
    if let Some(spec) = &args.l_diversity {
        models.push(parse_l_diversity(spec)?);
    }
    if let Some(t) = args.t_closeness {
        models.push(PrivacyModel::TClosenessEqual { t });
    }
    if models.is_empty() {
        bail!("name at least one privacy model: --k, --l-diversity or --t-closeness");
    }
    if models.iter().any(|m| m.needs_sensitive()) && args.sensitive.is_none() {
        bail!("l-diversity and t-closeness need --sensitive ATTRIBUTE");
    }
    if !(0.0..=1.0).contains(&args.suppression) {
        bail!("--suppression must be a fraction within 0..1 (0.05 = 5 %)");
    }
    let table = Table::from_csv_path(csv, delimiter)?;
    let config = AnonymizationConfig {
        qis,
        sensitive: args.sensitive.clone(),
        models,
        suppression_limit: args.suppression,
        metric: parse_metric(&args.metric)?,
        risk_threshold: 0.2,
    };
    let mode = match args.heuristic {
        Some(max_evaluations) => SearchMode::Heuristic { max_evaluations },
        None => SearchMode::Optimal,
    };
    let outcome = medinfra_anon::anonymize_with(&table, &config, mode)?;

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let csv_path = out.join("anonymized.csv");
    let file =
        File::create(&csv_path).with_context(|| format!("creating {}", csv_path.display()))?;
    outcome.table.write_csv(BufWriter::new(file), delimiter)?;
    let mut report = serde_json::to_value(&outcome.report)?;
    report["elapsed_ms"] = serde_json::json!(started.elapsed().as_secs_f64() * 1000.0);
    report["input"] = serde_json::json!(csv.file_name().map(|f| f.to_string_lossy().into_owned()));
    if let Some(population) = args.population {
        let qi_names: Vec<&str> = config.qis.iter().map(|(n, _)| n.as_str()).collect();
        let before = class_sizes(&table, &qi_names, None);
        let after = class_sizes(&outcome.table, &qi_names, Some(&outcome.suppressed_rows));
        let n = table.len() as u64;
        report["population_uniqueness"] = serde_json::json!({
            "before": PopulationUniqueness::from_class_sizes(before, population.max(n))?,
            "after": PopulationUniqueness::from_class_sizes(after, population.max(n))?,
        });
    }
    let json_path = out.join("report.json");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    let html = medinfra_anon::render_html(
        &outcome.report,
        &table,
        &outcome.table,
        &outcome.suppressed_rows,
        "Anonymization report",
    );
    let html_path = out.join("report.html");
    std::fs::write(&html_path, html).with_context(|| format!("writing {}", html_path.display()))?;

    let r = &outcome.report;
    let levels: Vec<String> = r
        .attributes
        .iter()
        .map(|a| format!("{}={}", a.attribute, a.level))
        .collect();
    println!(
        "{}: {} ({}), {} = {:.4}, {} classes, {} of {} records suppressed, prosecutor risk max {:.4} -> {:.4}",
        if r.optimal {
            "optimal"
        } else {
            "heuristic (not proven optimal)"
        },
        levels.join(" "),
        r.models.join(", "),
        r.metric,
        r.loss,
        r.classes,
        r.suppressed,
        r.records,
        r.risk.before.max,
        r.risk.after.max
    );
    println!("  -> {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Equivalence class sizes of `table` over `columns`, skipping rows marked in `skip`.
fn class_sizes(table: &Table, columns: &[&str], skip: Option<&[bool]>) -> Vec<u64> {
    let cols: Vec<&medinfra_anon::Column> =
        columns.iter().filter_map(|c| table.column(c)).collect();
    let mut counts: std::collections::HashMap<Vec<u32>, u64> = std::collections::HashMap::new();
    for row in 0..table.len() {
        if skip.is_some_and(|s| s.get(row).copied().unwrap_or(false)) {
            continue;
        }
        let key: Vec<u32> = cols.iter().map(|c| c.codes()[row]).collect();
        *counts.entry(key).or_default() += 1;
    }
    counts.into_values().collect()
}
