//! A demo server for manual use and the schemathesis run: `cargo run --example serve -- DIR
//! [ADDR]`. On a fresh directory it writes one small dataset per tier and the demo accounts
//! (one per role), then prints one JSON line with the address and an operator API token, and
//! serves until Ctrl-C. (The real entry point is `medinfra serve`, wired by the binary.)

use std::sync::Arc;

use arrow::array::{Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use medinfra_govern::{PasswordCost, Registry, create_demo_accounts};
use medinfra_model::Tier;
use medinfra_server::ServerConfig;
use medinfra_store::{Lineage, Store};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: serve DIR [ADDR]")?;
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8787".into());
    let store = Store::open(std::path::Path::new(&dir)).await?;
    let registry = Registry::with_password_cost(&store, PasswordCost::TEST);
    if registry.users().await?.is_empty() {
        for tier in [
            Tier::Identified,
            Tier::Pseudonymized,
            Tier::Anonymized,
            Tier::Statistics,
            Tier::Sample,
        ] {
            let schema = Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("code", DataType::Utf8, true),
            ]));
            let b = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(vec![1, 2])),
                    Arc::new(StringArray::from(vec![Some("E11"), None])),
                ],
            )?;
            let w = store.begin(
                &format!("demo-{}", tier.as_str()),
                tier,
                Lineage {
                    step: "demo".into(),
                    parameters: serde_json::json!({}),
                    inputs: vec![],
                },
            )?;
            w.write_table("t", schema, [&b])?;
            w.commit().await?;
        }
        for a in create_demo_accounts(&registry).await? {
            eprintln!(
                "demo account {} ({}): {}",
                a.username,
                a.role.as_str(),
                a.password
            );
        }
    }
    let token = registry.create_token("operator", "demo").await?;
    drop(store);
    let mut config = ServerConfig::new(&dir, addr.parse()?);
    config.password_cost = PasswordCost::TEST;
    config.login_attempts_per_minute = 100_000;
    let server = medinfra_server::spawn(config).await?;
    println!(
        "{}",
        serde_json::json!({"addr": server.addr.to_string(), "operator_token": token})
    );
    let _ = tokio::signal::ctrl_c().await;
    server.stop().await?;
    Ok(())
}
