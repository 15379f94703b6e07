//! `medinfra demo`: the main job on the embedded default. Runs every pipeline step that
//! exists on a synthetic population, shows progress, and prints where the outputs are.

use std::process::ExitCode;

use medinfra_store::Store;

use crate::cli::{DemoArgs, SynthArgs};

pub async fn run(
    store: &Store,
    key_dir: &std::path::Path,
    args: DemoArgs,
) -> anyhow::Result<ExitCode> {
    println!("medinfra demo — data directory {}", store.root().display());
    println!();
    println!(
        "[1/5] sample data: synthetic population of {} persons, 5 years",
        args.persons
    );
    let synth = SynthArgs {
        persons: args.persons,
        years: 5,
        start_year: 2020,
        seed: args.seed,
        output: "demo-claims".into(),
        tier: "identified".into(),
        format: "provider".into(),
        receipts_only: false,
        noise: None,
        deliveries: vec![],
        json: false,
    };
    let outcome = super::synth::generate(store, &synth).await?;
    super::synth::print_outcome(store, &outcome);
    let report = store
        .verify(&outcome.main.dataset, Some(outcome.main.version))
        .await?;
    println!(
        "  -> verified {} files against the manifest: {}",
        report.files_checked,
        if report.ok() { "ok" } else { "MISMATCH" }
    );
    println!();
    println!(
        "[2/5] ingest: every provider's files (medical, DPC and pharmacy receipts, DPC survey files, SS-MIX2 lab results, checkup archives) into the identified zone"
    );
    let root = super::synth::provider_files_dir(store, &outcome.main.dataset);
    let ingested = ingest_all(store, &root, outcome.summary.provider_files).await?;
    let s = &outcome.summary;
    println!(
        "  -> {} providers, {} files accepted ({} DPC survey files), {} rejected, {} units quarantined",
        ingested.providers,
        ingested.accepted,
        ingested.dpc_files,
        ingested.rejected,
        ingested.quarantined,
    );
    println!(
        "  -> reconciled: {} of {} receipts (UKE), {} of {} lab messages (SS-MIX2), {} of {} checkups (CDA)",
        ingested.receipts,
        s.provider_receipts + s.provider_pharmacy_receipts,
        ingested.lab_messages,
        s.provider_lab_messages,
        ingested.checkups,
        s.provider_checkups
    );
    println!(
        "  -> datasets provider-<ID> (identified), reports under {}",
        store.root().join("reports").display()
    );
    println!();
    println!("[3/5] pseudonymize: the sample claims with the built-in policy (仮名加工医療情報)");
    let keys = medinfra_pseudo::keys::KeyStore::open(key_dir)?;
    if keys.active("pseudonym").is_err() {
        let meta = keys.new_key("pseudonym")?;
        println!("  created key {} in {}", meta.id, key_dir.display());
    }
    let pseudo = crate::cli::PseudonymizeArgs {
        input: Some(outcome.main.dataset.clone()),
        version: None,
        output: Some(format!("{}-pseudonymized", outcome.main.dataset)),
        policy: None,
        project: None,
        tables: None,
        no_map: false,
        print_default_policy: false,
        json: false,
    };
    super::pseudonymize::run(store, key_dir, &pseudo).await?;
    println!();
    println!(
        "[4/5] anonymize: the sample claims with the built-in claims configuration (匿名加工医療情報)"
    );
    let anon = crate::cli::AnonymizeArgs {
        csv: None,
        input: Some(outcome.main.dataset.clone()),
        output: Some(format!("{}-anonymized", outcome.main.dataset)),
        config: None,
        delimiter: ";".into(),
        hierarchies: vec![],
        sensitive: None,
        k: None,
        l_diversity: None,
        t_closeness: None,
        suppression: 0.0,
        metric: "loss".into(),
        heuristic: None,
        population: None,
        out: None,
    };
    super::anonymize_dataset::run(store, &anon).await?;
    println!();
    let sample_persons = args.persons.min(2_000);
    println!(
        "[5/5] open sample data: {sample_persons} other synthetic persons at tier sample (demo-sample), for everyone to develop SQL on before approval"
    );
    let sample = SynthArgs {
        persons: sample_persons,
        years: 2,
        start_year: 2022,
        seed: args.seed.wrapping_add(1),
        output: "demo-sample".into(),
        tier: "sample".into(),
        format: "parquet".into(),
        receipts_only: false,
        noise: None,
        deliveries: vec![],
        json: false,
    };
    let sample_outcome = super::synth::generate(store, &sample).await?;
    super::synth::print_outcome(store, &sample_outcome);
    println!();
    println!("Outputs:");
    match store.backend() {
        medinfra_store::Backend::Sqlite => println!(
            "  catalog   {}",
            store.root().join("catalog.sqlite").display()
        ),
        medinfra_store::Backend::Postgres => println!(
            "  catalog   PostgreSQL (the schema named in {})",
            store.root().join("catalog.json").display()
        ),
    }
    println!("  datasets  {}", store.root().join("datasets").display());
    println!(
        "  inspect   medinfra --data-dir {} datasets list",
        store.root().display()
    );
    println!();
    let registry = medinfra_govern::Registry::new(store);
    if registry.users().await?.is_empty() {
        println!("Demo accounts (one per role; passwords shown once, here):");
        for a in medinfra_govern::create_demo_accounts(&registry).await? {
            println!(
                "  {:<12} {:<16} {}",
                a.username,
                a.role.as_str(),
                a.password
            );
        }
    } else {
        println!("Demo accounts exist already (medinfra admin list).");
    }
    if !args.no_serve {
        println!();
        super::serve::serve(
            store.root(),
            store.catalog().clone(),
            key_dir,
            &crate::cli::ServeArgs {
                addr: args.addr,
                secure_cookies: false,
                tls_cert: None,
                tls_key: None,
                masters: None,
            },
        )
        .await?;
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[derive(Default)]
struct IngestTotals {
    providers: usize,
    accepted: usize,
    rejected: usize,
    /// Accepted units by input kind: UKE receipts, SS-MIX2 lab messages, checkup documents.
    receipts: u64,
    lab_messages: u64,
    checkups: u64,
    quarantined: u64,
    dpc_files: usize,
}

/// Ingest each provider's directory under `root` (one directory per provider id).
async fn ingest_all(
    store: &Store,
    root: &std::path::Path,
    files: u64,
) -> anyhow::Result<IngestTotals> {
    let mut dirs: Vec<_> = std::fs::read_dir(root)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let progress = crate::progress::Progress::new("ingest", files, "files");
    let mut totals = IngestTotals::default();
    let mut done = 0u64;
    for dir in dirs {
        let Some(provider) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let opts = medinfra_ingest::IngestOptions::new(&provider);
        let out =
            medinfra_ingest::ingest(store, &opts, std::slice::from_ref(&dir), &|_, _| {}).await?;
        totals.providers += 1;
        for f in &out.files {
            match f.status {
                medinfra_ingest::FileStatus::Accepted => totals.accepted += 1,
                medinfra_ingest::FileStatus::Rejected => totals.rejected += 1,
                medinfra_ingest::FileStatus::Duplicate => {}
            }
            if f.kind.starts_with("uke") {
                totals.receipts += f.receipts_accepted;
            } else if f.kind == "ssmix2" || f.kind == "hl7-message" {
                totals.lab_messages += f.receipts_accepted;
            } else if f.kind.starts_with("checkup") {
                totals.checkups += f.receipts_accepted;
            }
            if f.kind.starts_with("dpc-") && f.status == medinfra_ingest::FileStatus::Accepted {
                totals.dpc_files += 1;
            }
            totals.quarantined += f.receipts_quarantined;
        }
        super::ingest::write_report(store, &provider, &out)?;
        done += out.files.len() as u64;
        progress.set(done);
    }
    progress.finish();
    Ok(totals)
}
