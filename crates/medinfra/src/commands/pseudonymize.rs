//! `medinfra pseudonymize --input DATASET --output NAME [--policy POLICY.toml]`: an
//! identified-zone version through a per-column policy into a pseudonymized-tier version
//! (`medinfra-pseudonymize`), with the access check, the audit records (data read, key use,
//! dataset write) and a report under DATA_DIR/reports/.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use medinfra_govern::Action;
use medinfra_model::Tier;
use medinfra_pseudo::keys::KeyStore;
use medinfra_pseudonymize::{Policy, Request, keeps_map, pseudonymize};
use medinfra_store::Store;

use crate::cli::PseudonymizeArgs;
use crate::progress::Progress;

pub async fn run(
    store: &Store,
    key_dir: &Path,
    args: &PseudonymizeArgs,
) -> anyhow::Result<ExitCode> {
    let (Some(input), Some(output)) = (&args.input, &args.output) else {
        anyhow::bail!("pseudonymize needs --input DATASET and --output NAME");
    };
    let (policy, policy_source) = match &args.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading policy {}", path.display()))?;
            (
                Policy::from_toml(&text, &path.display().to_string())?,
                path.display().to_string(),
            )
        }
        None => (Policy::builtin()?, "builtin:default".to_string()),
    };
    let info = store.version(input, args.version).await?;
    super::audit::check(
        store,
        Action::Read,
        info.tier,
        &format!("dataset {} v{}", info.dataset, info.version),
    )
    .await?;
    super::audit::check(
        store,
        Action::Write,
        Tier::Pseudonymized,
        &format!("dataset {output}"),
    )
    .await?;
    let keys = KeyStore::open(key_dir)
        .with_context(|| format!("opening key directory {}", key_dir.display()))?;
    // Key use is audited by id (never material) before the key is loaded.
    let key_id = keys
        .active(&policy.key_purpose)
        .with_context(|| {
            format!(
                "no usable key for purpose {:?}: create one with `medinfra keys new --purpose {}`",
                policy.key_purpose, policy.key_purpose
            )
        })?
        .id()
        .clone();
    super::audit::check(
        store,
        Action::Write,
        Tier::Identified,
        &format!("key {key_id} (use: pseudonymize {input} -> {output})"),
    )
    .await?;

    let request = Request {
        input: input.clone(),
        input_version: Some(info.version),
        output: output.clone(),
        keep_map: keeps_map(&policy) && !args.no_map,
        policy,
        policy_source,
        project: args.project.clone(),
        tables: args.tables.clone(),
        ndb: Default::default(),
    };
    let total: i64 = info.tables.iter().map(|t| t.rows).sum();
    let bar = Progress::new("pseudonymize", total.max(0) as u64, "rows");
    let (version, report) = pseudonymize(store, &keys, &request, &|done, _| bar.set(done)).await?;
    bar.finish();

    let dir = store.root().join("reports").join(format!(
        "pseudonymize-{}-v{}",
        version.dataset, version.version
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(dir.join("report.json"), &json)
        .with_context(|| format!("writing {}", dir.join("report.json").display()))?;
    if args.json {
        println!("{json}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "pseudonymize {} v{} -> {} v{} (pseudonymized): {} rows in {:.1} s ({:.0} rows/s), key {}, policy {} (sha256 {})",
        report.input.dataset,
        report.input.version,
        report.output.dataset,
        report.output.version,
        report.rows,
        report.elapsed_ms / 1000.0,
        report.rows_per_second,
        report.key_id,
        report.policy_source,
        &report.policy_sha256[..12],
    );
    for (table, t) in &report.tables {
        let dropped = t.columns.values().filter(|a| *a == "drop").count();
        let tokens = t.columns.values().filter(|a| a.contains("token")).count();
        let scrubbed: u64 = t.stats.scrubbed.values().sum();
        let nulls: u64 = t.stats.nulls.values().flat_map(|m| m.values()).sum();
        println!(
            "  {table:<18} {:>10} rows  {dropped} dropped, {tokens} tokenized{}{}",
            t.stats.rows,
            if scrubbed > 0 {
                format!(", {scrubbed} identifiers scrubbed from free text")
            } else {
                String::new()
            },
            if nulls > 0 {
                format!(", {nulls} derived values left empty (see report)")
            } else {
                String::new()
            }
        );
    }
    if !report.omitted_tables.is_empty() {
        println!("  omitted: {}", report.omitted_tables.join(", "));
    }
    if let Some(p) = &report.reverse_map {
        println!("  reverse map (operator only, encrypted): {}", p.display());
    }
    println!("  -> report {}", dir.join("report.json").display());
    Ok(ExitCode::SUCCESS)
}
