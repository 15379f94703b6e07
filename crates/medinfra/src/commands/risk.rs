//! `medinfra risk --input DATASET --qi a,b,c`: risk of any dataset table, read-only.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::{Context, bail};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use medinfra_anon::{PopulationUniqueness, ProsecutorRisk};
use medinfra_store::Store;

use crate::cli::RiskArgs;

pub async fn run(store: &Store, args: &RiskArgs) -> anyhow::Result<ExitCode> {
    let info = store.version(&args.input, args.version).await?;
    super::audit::check(
        store,
        medinfra_govern::Action::Read,
        info.tier,
        &format!(
            "dataset {} v{} table {}",
            info.dataset, info.version, args.table
        ),
    )
    .await?;
    let batches = super::read_table(store, &info, &args.table)?;
    if batches.is_empty() {
        bail!(
            "{} v{} has no table {:?}",
            info.dataset,
            info.version,
            args.table
        );
    }
    let mut classes: HashMap<Vec<String>, u64> = HashMap::new();
    let options = FormatOptions::default().with_null("");
    for b in &batches {
        let mut formatters = Vec::new();
        for q in &args.qi {
            let column = b
                .column_by_name(q)
                .with_context(|| format!("table {} has no column {q:?}", args.table))?;
            formatters.push(ArrayFormatter::try_new(column.as_ref(), &options)?);
        }
        for row in 0..b.num_rows() {
            let key: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            *classes.entry(key).or_default() += 1;
        }
    }
    let sizes: Vec<u64> = classes.values().copied().collect();
    let records: u64 = sizes.iter().sum();
    let prosecutor = ProsecutorRisk::from_class_sizes(sizes.iter().copied(), args.threshold);
    let uniqueness = PopulationUniqueness::from_class_sizes(
        sizes.iter().copied(),
        args.population.max(records),
    )?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "dataset": info.dataset, "version": info.version, "tier": info.tier, "table": args.table,
                "quasi_identifiers": args.qi, "records": records, "classes": sizes.len(),
                "prosecutor": prosecutor, "population_uniqueness": uniqueness,
            }))?
        );
    } else {
        println!(
            "{} v{} ({}) table {}: {} records in {} classes on ({})",
            info.dataset,
            info.version,
            info.tier,
            args.table,
            records,
            sizes.len(),
            args.qi.join(", ")
        );
        println!(
            "  prosecutor risk: highest {:.4}, average {:.4}, records above {:.2}: {:.2} %",
            prosecutor.max,
            prosecutor.average,
            args.threshold,
            prosecutor.records_at_risk * 100.0
        );
        println!("  marketer risk:   {:.4}", prosecutor.marketer);
        println!(
            "  sample uniques:  {}; population uniqueness ({:?}, N = {}): {:.6}",
            uniqueness.sample_uniques,
            uniqueness.dankar_model,
            uniqueness.population_size,
            uniqueness.population_uniqueness
        );
    }
    Ok(ExitCode::SUCCESS)
}
