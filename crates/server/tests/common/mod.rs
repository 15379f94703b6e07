//! A real server on loopback over a fresh data directory, with one small dataset per tier.

#![allow(dead_code)]

use std::sync::Arc;

use arrow::array::{Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use medinfra_govern::{PasswordCost, Registry};
use medinfra_model::Tier;
use medinfra_server::{RunningServer, ServerConfig};
use medinfra_store::{Lineage, Store};

pub const TIERS: [Tier; 5] = [
    Tier::Identified,
    Tier::Pseudonymized,
    Tier::Anonymized,
    Tier::Statistics,
    Tier::Sample,
];

pub fn ds(tier: Tier) -> String {
    format!("ds-{}", tier.as_str())
}

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub server: RunningServer,
    pub registry: Registry,
    pub base: String,
    pub http: reqwest::Client,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn store(&self) -> &Store {
        &self.server.store
    }
}

pub async fn write_dataset(store: &Store, name: &str, tier: Tier) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("code", DataType::Utf8, true),
    ]));
    let b = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec![Some("E11"), None, Some("I10")])),
        ],
    )
    .unwrap();
    let w = store
        .begin(
            name,
            tier,
            Lineage {
                step: "test".into(),
                parameters: serde_json::json!({"seed": 1}),
                inputs: vec![],
            },
        )
        .unwrap();
    w.write_table("t", schema, [&b]).unwrap();
    w.commit().await.unwrap();
}

pub async fn start_with(config: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    cfg.password_cost = PasswordCost::TEST;
    config(&mut cfg);
    let server = medinfra_server::spawn(cfg).await.unwrap();
    for tier in TIERS {
        write_dataset(&server.store, &ds(tier), tier).await;
    }
    let registry = Registry::with_password_cost(&server.store, PasswordCost::TEST);
    let base = format!("http://{}", server.addr);
    TestServer {
        dir,
        server,
        registry,
        base,
        http: reqwest::Client::new(),
    }
}

pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

/// An anonymized-tier application for `dataset` by the holder of `applicant`, approved by the
/// holder of `reviewer`; the new project's name.
pub async fn approved_anonymized_project(
    ts: &TestServer,
    applicant: &str,
    reviewer: &str,
    dataset: &str,
) -> String {
    let app: serde_json::Value = ts
        .http
        .post(ts.url("/api/applications"))
        .bearer_auth(applicant)
        .json(&serde_json::json!({
            "title": "t", "datasets": [dataset], "tier": "anonymized", "purpose": "p",
            "protocol": "q", "requested_from": "2020-01-01", "requested_to": "2099-12-31"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let approved: serde_json::Value = ts
        .http
        .post(ts.url(&format!("/api/applications/{}/reviews", app["id"])))
        .bearer_auth(reviewer)
        .json(&serde_json::json!({"decision": "approve", "comment": "ok"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    approved["project"].as_str().unwrap().to_string()
}
