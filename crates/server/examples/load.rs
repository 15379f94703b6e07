//! Load test on loopback: 200 concurrent clients (LOAD_CLIENTS) mixing catalog reads and access
//! an in-process server, bounded in time (LOAD_SECONDS, default 10) and count
//! (LOAD_MAX_REQUESTS, default 2,000,000). Prints requests/s and p50/p99 latency per kind.
//! LOAD_RATE=N paces each client at N requests/s (open model) instead of a closed loop.
//!
//! `cargo run --release --example load` (client and server share the machine's cores).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow::array::Int64Array;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use medinfra_govern::{
    AuthorizationKind, NewApplication, NewUser, PasswordCost, Registry, ReviewDecision, Role, today,
};
use medinfra_model::Tier;
use medinfra_server::ServerConfig;
use medinfra_store::Lineage;

const DATASETS: usize = 20;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = env("LOAD_SECONDS", 10);
    let max_requests = env("LOAD_MAX_REQUESTS", 2_000_000);
    let clients = env("LOAD_CLIENTS", 200) as usize;
    // Requests per second per client; 0 = closed loop (each client sends as soon as its last
    // answer arrives). With a rate, latency is measured from the scheduled send time, so a
    // server that falls behind is charged for the wait (no coordinated omission).
    let rate = env("LOAD_RATE", 0);
    let dir = tempfile::tempdir()?;
    let mut config = ServerConfig::new(dir.path(), "127.0.0.1:0".parse()?);
    config.password_cost = PasswordCost::TEST;
    let server = medinfra_server::spawn(config).await?;
    let store = server.store.clone();
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int64Array::from(vec![1, 2, 3]))],
    )?;
    let tiers = [
        Tier::Pseudonymized,
        Tier::Anonymized,
        Tier::Statistics,
        Tier::Sample,
    ];
    for i in 0..DATASETS {
        let w = store.begin(
            &format!("ds{i:02}"),
            tiers[i % tiers.len()],
            Lineage {
                step: "load".into(),
                parameters: serde_json::json!({}),
                inputs: vec![],
            },
        )?;
        w.write_table("t", schema.clone(), [&batch])?;
        w.commit().await?;
    }
    let reg = Registry::with_password_cost(&store, PasswordCost::TEST);
    let t = today();
    reg.create_org("org").await?;
    reg.grant_authorization("org", "A-1", AuthorizationKind::TypeI, t - 1, t + 100)
        .await?;
    for (u, role, org) in [
        ("au", Role::AuthorizedUser, Some("org")),
        ("rev", Role::Reviewer, None),
    ] {
        reg.create_user(&NewUser {
            username: u,
            role,
            organization: org,
            password: "load test password",
        })
        .await?;
    }
    let app = reg
        .submit_application(
            "au",
            &NewApplication {
                title: "load".into(),
                datasets: vec!["ds00".into()],
                tier: Tier::Pseudonymized,
                purpose: "p".into(),
                protocol: "q".into(),
                members: vec![],
                requested_from: t,
                requested_to: t + 30,
                ndb_linkage: false,
            },
        )
        .await?;
    let project = reg
        .review("rev", app.id, ReviewDecision::Approve, "", t)
        .await?
        .project
        .ok_or("no project")?;
    let token = reg.create_token("au", "load").await?;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let sent = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base, token, project, sent) = (
            client.clone(),
            base.clone(),
            token.clone(),
            project.clone(),
            sent.clone(),
        );
        tasks.push(tokio::spawn(async move {
            // (kind, latency µs, ok)
            let mut out: Vec<(u8, u32, bool)> = Vec::new();
            let mut i = c;
            let interval = (rate > 0).then(|| Duration::from_micros(1_000_000 / rate));
            // Spread the clients' schedules over one interval.
            let mut next = Instant::now()
                + interval.map_or(Duration::ZERO, |d| d * c as u32 / clients.max(1) as u32);
            while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < max_requests {
                let scheduled = match interval {
                    Some(d) => {
                        tokio::time::sleep_until(next.into()).await;
                        let at = next;
                        next += d;
                        at
                    }
                    None => Instant::now(),
                };
                i = i.wrapping_mul(31).wrapping_add(7);
                let kind = (i % 10) as u8;
                let ds = format!("ds{:02}", i % DATASETS);
                let req = match kind {
                    0..=5 => client.get(format!("{base}/api/datasets/{ds}")),
                    6 => client.get(format!("{base}/api/datasets")),
                    _ => client
                        .post(format!("{base}/api/access/check"))
                        .json(&serde_json::json!({
                            "action": "read", "dataset": ds, "project": project
                        })),
                };
                let t0 = scheduled;
                let ok = match req.bearer_auth(&token).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let kind = match kind {
                    0..=5 => 0,
                    6 => 1,
                    _ => 2,
                };
                out.push((
                    kind,
                    t0.elapsed().as_micros().min(u32::MAX as u128) as u32,
                    ok,
                ));
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{clients} clients ({}), {elapsed:.1} s, {} requests, {:.0} req/s, {} errors",
        if rate > 0 {
            format!("{rate} req/s each")
        } else {
            "closed loop".to_string()
        },
        all.len(),
        all.len() as f64 / elapsed,
        all.iter().filter(|r| !r.2).count()
    );
    for (k, name) in [
        (0, "catalog read (one dataset)"),
        (1, "catalog list (20 datasets)"),
        (2, "access check"),
    ] {
        let mut lat: Vec<u32> = all.iter().filter(|r| r.0 == k).map(|r| r.1).collect();
        lat.sort_unstable();
        println!(
            "{name:28} {:>8} req  {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
            lat.len(),
            lat.len() as f64 / elapsed,
            pct(&lat, 0.50),
            pct(&lat, 0.99),
            all.iter().filter(|r| r.0 == k && !r.2).count()
        );
    }
    let log = medinfra_govern::AuditLog::new(&store);
    let (n, problem) = log.verify().await?;
    println!(
        "audit: {n} entries, chain {}",
        if problem.is_none() {
            "intact"
        } else {
            "BROKEN"
        }
    );
    server.stop().await?;
    Ok(())
}
