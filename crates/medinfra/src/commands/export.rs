//! `medinfra export fhir --input DATASET --output DIR`: the FHIR Bulk Data export of a
//! pseudonymized or anonymized dataset (`medinfra_export`).

use std::process::ExitCode;

use anyhow::bail;
use medinfra_model::Tier;
use medinfra_store::Store;

use crate::cli::ExportCommand;
use crate::commands::extract::StoreSource;

pub async fn run(store: &Store, command: ExportCommand) -> anyhow::Result<ExitCode> {
    let ExportCommand::Fhir {
        input,
        version,
        output,
        json,
    } = command;
    let info = store.version(&input, version).await?;
    if !matches!(info.tier, Tier::Pseudonymized | Tier::Anonymized) {
        bail!(
            "{input} is {}: only pseudonymized or anonymized datasets are exported",
            info.tier
        );
    }
    super::audit::check(
        store,
        medinfra_govern::Action::Read,
        info.tier,
        &format!("dataset {} v{} (export fhir)", info.dataset, info.version),
    )
    .await?;
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let request = format!(
        "medinfra export fhir --input {} --version {}",
        info.dataset, info.version
    );
    let source = StoreSource { store, info: &info };
    let manifest = medinfra_export::export_fhir(&source, info.tier, &output, &request, &now)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        println!(
            "export fhir {} v{} ({}) -> {}",
            info.dataset,
            info.version,
            info.tier,
            output.display()
        );
        for o in &manifest.output {
            println!(
                "  {:<18} {:>10} resources  {}",
                o.resource_type, o.count, o.url
            );
        }
        println!("  -> manifest {}", output.join("manifest.json").display());
    }
    Ok(ExitCode::SUCCESS)
}
