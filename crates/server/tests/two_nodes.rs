//! Two server nodes on one data directory and one catalog — the embedded SQLite file, or
//! PostgreSQL when `MEDINFRA_CATALOG` names it (`.ci/run` runs this suite both ways): both
//! serve the same catalog, a token revoked through one stops working on the other at once,
//! and their concurrent audit appends form one unbroken, verifiable chain.

mod common;

use medinfra_govern::{AuditLog, NewUser, PasswordCost, Role};
use medinfra_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_catalog_the_registry_and_one_audit_chain() {
    let a = common::start().await;
    let mut cfg = ServerConfig::new(a.dir.path(), "127.0.0.1:0".parse().unwrap());
    cfg.password_cost = PasswordCost::TEST;
    let b = medinfra_server::spawn(cfg).await.unwrap();
    let base_b = format!("http://{}", b.addr);
    for (name, role) in [("olga", Role::Operator), ("aud", Role::Auditor)] {
        a.registry
            .create_user(&NewUser {
                username: name,
                role,
                organization: None,
                password: "a long enough password",
            })
            .await
            .unwrap();
    }
    let olga = a.registry.create_token("olga", "t").await.unwrap();
    let aud = a.registry.create_token("aud", "t").await.unwrap();

    // Both nodes at once: 2 × 40 catalog reads, each audited by the node that served it.
    let mut tasks = Vec::new();
    for i in 0..80 {
        let url = if i % 2 == 0 {
            a.url("/api/datasets")
        } else {
            format!("{base_b}/api/datasets")
        };
        let (http, tok) = (a.http.clone(), olga.clone());
        tasks.push(tokio::spawn(async move {
            let resp = http.get(url).bearer_auth(tok).send().await.unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            (status, body.as_array().map(|a| a.len()), text)
        }));
    }
    for t in tasks {
        let (status, n, text) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{text}");
        // The five datasets node A wrote, as both nodes see them.
        assert_eq!(n, Some(5));
    }

    // Revoked through node A's registry: node B refuses the very next request.
    let token_id: i64 = olga.split('_').nth(1).unwrap().parse().unwrap();
    a.registry.revoke_token(token_id).await.unwrap();
    let resp = a
        .http
        .get(format!("{base_b}/api/datasets"))
        .bearer_auth(&olga)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // One chain: every entry from both nodes, numbered without gaps, verified by node B.
    let resp = a
        .http
        .get(format!("{base_b}/api/audit/verify"))
        .bearer_auth(&aud)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["intact"], true, "{v}");
    assert!(v["entries_verified"].as_u64().unwrap() >= 80, "{v}");
    let entries = AuditLog::new(a.store()).entries(None).await.unwrap();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1);
    }
    let reads = entries
        .iter()
        .filter(|e| e.actor == "olga" && e.outcome == "allowed")
        .count();
    assert!(reads >= 80, "{reads} allowed entries for olga");
    b.stop().await.unwrap();
    a.server.stop().await.unwrap();
}
