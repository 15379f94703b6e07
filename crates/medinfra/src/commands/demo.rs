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
    // Five years of care, delivered as a certified producer receives it: the back-load up to
    // November of the last year, then December as the first monthly delivery.
    let (start_year, years) = (2020, 5);
    let last = start_year + years as i32 - 1;
    let (month1, month2) = (format!("{last}11"), format!("{last}12"));
    println!(
        "[1/5] sample data: synthetic population of {} persons, {years} years, written as the providers' own files and cut into two deliveries ({month1}: everything up to it; {month2}: one month)",
        args.persons
    );
    let synth = SynthArgs {
        persons: args.persons,
        years,
        start_year,
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
    let deliveries =
        super::synth::cut_deliveries(store, &outcome.main.dataset, &[month1.clone(), month2])?;
    super::synth::print_deliveries(&deliveries);
    let report = store
        .verify(&outcome.main.dataset, Some(outcome.main.version))
        .await?;
    println!(
        "  -> verified {} files against the manifest: {}",
        report.files_checked,
        if report.ok() { "ok" } else { "MISMATCH" }
    );
    if let Some(register) = &outcome.provider_register {
        let (listed, added) = super::providers::import(store, register).await?;
        println!(
            "  -> {added} of {listed} providers registered as notified (the monthly run reads registered providers' files only)"
        );
    }
    let truth = outcome.truth.dataset.clone();
    let run_args = |delivery: &std::path::Path| crate::cli::RunArgs {
        delivery: delivery.to_path_buf(),
        research: medinfra_pipeline::DEFAULT_RESEARCH.into(),
        json: false,
        max_quarantined_share: 0.5,
        extracts: vec!["sampling".into()],
    };

    println!();
    println!(
        "[2/5] monthly run, delivery {month1}: ingest every provider's files, resolve persons across providers (person registry), build the linked research database, its pseudonymized copy and the anonymized product (one row per person across providers)"
    );
    super::monthly::print_monthly(
        &super::monthly::run_delivery(store, key_dir, &run_args(&deliveries[0].dir)).await?,
    );
    let e = super::persons::evaluate_against(store, &truth).await?;
    println!(
        "  -> person registry against the sample's truth: pairwise precision {:.4}, recall {:.4}, F1 {:.4}",
        e.precision, e.recall, e.f1
    );
    let before = super::persons::assignments(store).await?;

    println!();
    println!(
        "[3/5] monthly run, delivery {}: only what is new is linked and built",
        deliveries[1].month
    );
    super::monthly::print_monthly(
        &super::monthly::run_delivery(store, key_dir, &run_args(&deliveries[1].dir)).await?,
    );
    let after = super::persons::assignments(store).await?;
    let changed = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(*v))
        .count();
    let e = super::persons::evaluate_against(store, &truth).await?;
    println!(
        "  -> {changed} of {} records already registered changed person ID between the runs; registry F1 {:.4}",
        before.len(),
        e.f1
    );

    println!();
    println!(
        "[4/5] opt-out: a patient's refusal, reported by one provider, withholds the person everywhere"
    );
    let registry = medinfra_govern::Registry::new(store);
    let mut by_person: std::collections::BTreeMap<i64, Vec<&medinfra_persons::RecordKey>> =
        Default::default();
    for (k, p) in &after {
        if k.kind == medinfra_persons::RecordKind::Patient {
            by_person.entry(*p).or_default().push(k);
        }
    }
    let chosen = by_person
        .iter()
        .filter(|(_, ks)| {
            ks.iter()
                .map(|k| &k.provider_id)
                .collect::<std::collections::HashSet<_>>()
                .len()
                >= 2
        })
        .map(|(p, ks)| (*p, ks[0].clone()))
        .next();
    if let Some((person, key)) = chosen {
        super::audit::check(
            store,
            medinfra_govern::Action::Write,
            medinfra_model::Tier::Identified,
            &format!("opt-out from provider {}", key.provider_id),
        )
        .await?;
        registry
            .record_optout(&key.provider_id, &key.record_id)
            .await?;
        println!(
            "  opt-out recorded by provider {} for one of its patients (a person with records at {} providers)",
            key.provider_id,
            by_person[&person].len()
        );
        let r = super::monthly::run_delivery(store, key_dir, &run_args(&deliveries[1].dir)).await?;
        super::monthly::print_monthly(&r);
        let research = store
            .version(medinfra_pipeline::DEFAULT_RESEARCH, None)
            .await?;
        let mut left = 0u64;
        for b in super::read_table(store, &research, "claims")? {
            if let Some(p) = b
                .column_by_name("person_id")
                .and_then(|c| c.as_any().downcast_ref::<arrow::array::Int64Array>())
            {
                left += p.values().iter().filter(|v| **v == person).count() as u64;
            }
        }
        println!(
            "  -> claims rows of that person left in research v{}: {left}",
            research.version
        );
    }

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
                queries_per_minute: 120,
                public_queries_per_minute: 20,
                pseudonymized_rows_per_day: 5_000,
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
