//! The registry: accounts, credentials, authorizations, applications → projects, and the actor
//! `can` decides about.

use std::sync::Arc;

use arrow::array::Int64Array;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use medinfra_govern::{
    Action, ApplicationStatus, AuthorizationKind, NewApplication, NewUser, PasswordCost, Registry,
    RegistryError, Resource, ReviewDecision, Role, can, rules_markdown, today,
};
use medinfra_model::Tier;
use medinfra_store::{Lineage, Store};

async fn dataset(store: &Store, name: &str, tier: Tier) {
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let b =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2]))]).unwrap();
    let w = store
        .begin(
            name,
            tier,
            Lineage {
                step: "test".into(),
                parameters: serde_json::json!({}),
                inputs: vec![],
            },
        )
        .unwrap();
    w.write_table("t", schema, [&b]).unwrap();
    w.commit().await.unwrap();
}

async fn setup() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let reg = Registry::with_password_cost(&store, PasswordCost::TEST);
    reg.create_org("hospital-a").await.unwrap();
    reg.create_org("pharma-b").await.unwrap();
    for (u, role, org) in [
        ("alice", Role::AuthorizedUser, Some("pharma-b")),
        ("bob", Role::Researcher, Some("hospital-a")),
        ("rita", Role::Reviewer, None),
        ("olga", Role::Operator, None),
    ] {
        reg.create_user(&NewUser {
            username: u,
            role,
            organization: org,
            password: "a long enough password",
        })
        .await
        .unwrap();
    }
    dataset(&store, "pseudo-claims", Tier::Pseudonymized).await;
    dataset(&store, "anon-claims", Tier::Anonymized).await;
    (dir, reg)
}

fn application(tier: Tier, dataset: &str, members: &[&str]) -> NewApplication {
    NewApplication {
        title: "Diabetes outcomes".into(),
        datasets: vec![dataset.into()],
        tier,
        purpose: "drug safety".into(),
        protocol: "protocol text".into(),
        members: members.iter().map(|s| s.to_string()).collect(),
        requested_from: today(),
        requested_to: today() + 30,
        ndb_linkage: false,
    }
}

#[tokio::test]
async fn accounts_are_validated() {
    let (_d, reg) = setup().await;
    let weak = reg
        .create_user(&NewUser {
            username: "x",
            role: Role::Auditor,
            organization: None,
            password: "short",
        })
        .await;
    assert!(matches!(
        weak,
        Err(RegistryError::Invalid {
            field: "password",
            ..
        })
    ));
    let no_org = reg
        .create_user(&NewUser {
            username: "y",
            role: Role::Researcher,
            organization: None,
            password: "a long enough password",
        })
        .await;
    assert!(matches!(no_org, Err(RegistryError::Invalid { .. })));
    let dup = reg
        .create_user(&NewUser {
            username: "alice",
            role: Role::Auditor,
            organization: None,
            password: "a long enough password",
        })
        .await;
    assert!(matches!(dup, Err(RegistryError::Exists("user"))));
    // Passwords are stored as argon2id PHC strings, never as given.
    let stored: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'alice'")
            .fetch_one(reg.store().pool())
            .await
            .unwrap();
    assert!(stored.starts_with("$argon2id$"));
    assert!(!stored.contains("long enough"));
}

/// No lock-out in the registry: anyone could lock anyone's account by failing on purpose (the
/// server throttles per client address and account instead). Unknown and disabled accounts
/// fail exactly as a wrong password does.
#[tokio::test]
async fn failures_lock_no_account_and_every_failure_looks_the_same() {
    let (_d, reg) = setup().await;
    assert_eq!(
        reg.login("alice", "a long enough password")
            .await
            .unwrap()
            .username,
        "alice"
    );
    assert!(matches!(
        reg.login("nobody", "whatever").await,
        Err(RegistryError::BadCredentials)
    ));
    for _ in 0..medinfra_govern::MAX_FAILED_LOGINS {
        assert!(matches!(
            reg.login("alice", "wrong").await,
            Err(RegistryError::BadCredentials)
        ));
    }
    assert!(
        reg.login("alice", "a long enough password").await.is_ok(),
        "the owner was locked out by someone else's failures"
    );
    reg.set_password("alice", "another long password")
        .await
        .unwrap();
    assert!(reg.login("alice", "another long password").await.is_ok());
}

#[tokio::test]
async fn tokens_and_sessions_are_stored_hashed() {
    let (_d, reg) = setup().await;
    let token = reg.create_token("bob", "laptop").await.unwrap();
    assert_eq!(
        reg.token_user(&token).await.unwrap().as_deref(),
        Some("bob")
    );
    let stored: String = sqlx::query_scalar("SELECT secret_sha256 FROM api_tokens")
        .fetch_one(reg.store().pool())
        .await
        .unwrap();
    assert!(!token.contains(&stored));
    // A single changed character, a wrong prefix, garbage: all refused.
    let mut bad = token.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == '0' { '1' } else { '0' });
    assert_eq!(reg.token_user(&bad).await.unwrap(), None);
    assert_eq!(
        reg.token_user(&token.replacen("mit", "mis", 1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(reg.token_user("garbage").await.unwrap(), None);

    let s = reg.create_session("bob", 3600).await.unwrap();
    let live = reg.session(&s.token).await.unwrap().unwrap();
    assert_eq!(live.username, "bob");
    assert!(live.csrf_matches(&s.csrf));
    assert!(!live.csrf_matches("forged"));
    reg.end_session(live.id).await.unwrap();
    assert!(reg.session(&s.token).await.unwrap().is_none());
    let expired = reg.create_session("bob", -1).await.unwrap();
    assert!(reg.session(&expired.token).await.unwrap().is_none());
}

#[tokio::test]
async fn application_review_history_and_project() {
    let (_d, reg) = setup().await;
    let t = today();
    reg.grant_authorization(
        "pharma-b",
        "MHLW-2024-001",
        AuthorizationKind::TypeII,
        t - 10,
        t + 100,
    )
    .await
    .unwrap();
    let a = reg
        .submit_application(
            "alice",
            &application(Tier::Pseudonymized, "pseudo-claims", &[]),
        )
        .await
        .unwrap();
    assert_eq!(a.status, ApplicationStatus::Submitted);
    assert_eq!(a.members, vec!["alice"]);
    // Only reviewers review; only submitted applications can be decided.
    assert!(
        reg.review("bob", a.id, ReviewDecision::Approve, "", t)
            .await
            .is_err()
    );
    let a = reg
        .review(
            "rita",
            a.id,
            ReviewDecision::RequestChanges,
            "add the protocol version",
            t,
        )
        .await
        .unwrap();
    assert_eq!(a.status, ApplicationStatus::ChangesRequested);
    assert!(
        reg.review("rita", a.id, ReviewDecision::Approve, "", t)
            .await
            .is_err()
    );
    let mut revised = application(Tier::Pseudonymized, "pseudo-claims", &[]);
    revised.protocol = "protocol v2".into();
    assert!(reg.revise_application("bob", a.id, &revised).await.is_err());
    reg.revise_application("alice", a.id, &revised)
        .await
        .unwrap();
    let a = reg
        .review("rita", a.id, ReviewDecision::Approve, "ok", t)
        .await
        .unwrap();
    assert_eq!(a.status, ApplicationStatus::Approved);
    let events: Vec<_> = a.history.iter().map(|h| h.event.as_str()).collect();
    assert_eq!(
        events,
        ["submitted", "request_changes", "revised", "approve"]
    );
    let project = reg.project(a.project.as_deref().unwrap()).await.unwrap();
    assert_eq!(project.tier, Tier::Pseudonymized);
    assert_eq!(project.expires, t + 30);
    assert_eq!(project.members, vec!["alice"]);
    assert_eq!(project.grants.len(), 1);
    assert_eq!(project.grants[0].version, 1);
    assert!(
        reg.project_grants_version(&project.name, "pseudo-claims", 1)
            .await
            .unwrap()
    );

    // The actor now reads inside the project (type II: read, never download).
    let actor = reg.actor("alice", t).await.unwrap();
    let r = Resource::in_project(Tier::Pseudonymized, project.name.clone());
    assert!(can(&actor, Action::Read, &r, t).allowed);
    assert!(!can(&actor, Action::Download, &r, t).allowed);
    // Revocation stops access at the next decision.
    reg.revoke_authorization("MHLW-2024-001").await.unwrap();
    let actor = reg.actor("alice", t).await.unwrap();
    assert!(actor.authorization.as_ref().unwrap().revoked);
    assert!(!can(&actor, Action::Read, &r, t).allowed);
    // So does closing the project.
    reg.close_project(&project.name).await.unwrap();
    assert!(!reg.actor("alice", t).await.unwrap().memberships[0].active);
}

#[tokio::test]
async fn pseudonymized_approval_needs_a_valid_authorization() {
    let (_d, reg) = setup().await;
    let t = today();
    let a = reg
        .submit_application(
            "alice",
            &application(Tier::Pseudonymized, "pseudo-claims", &[]),
        )
        .await
        .unwrap();
    // None at all.
    assert!(matches!(
        reg.review("rita", a.id, ReviewDecision::Approve, "", t)
            .await,
        Err(RegistryError::State(_))
    ));
    // Expired.
    reg.grant_authorization(
        "pharma-b",
        "OLD-1",
        AuthorizationKind::TypeI,
        t - 400,
        t - 35,
    )
    .await
    .unwrap();
    assert!(
        reg.review("rita", a.id, ReviewDecision::Approve, "", t)
            .await
            .is_err()
    );
    // Revoked.
    reg.grant_authorization("pharma-b", "REV-1", AuthorizationKind::TypeI, t - 1, t + 10)
        .await
        .unwrap();
    reg.revoke_authorization("REV-1").await.unwrap();
    assert!(
        reg.review("rita", a.id, ReviewDecision::Approve, "", t)
            .await
            .is_err()
    );
    assert_eq!(
        reg.application(a.id).await.unwrap().status,
        ApplicationStatus::Submitted
    );
    // Valid: approved.
    reg.grant_authorization("pharma-b", "NEW-1", AuthorizationKind::TypeI, t - 1, t + 10)
        .await
        .unwrap();
    let a = reg
        .review("rita", a.id, ReviewDecision::Approve, "", t)
        .await
        .unwrap();
    assert_eq!(a.status, ApplicationStatus::Approved);
    // The actor carries the valid authorization, not the expired or revoked ones.
    let actor = reg.actor("alice", t).await.unwrap();
    assert_eq!(actor.authorization.unwrap().number, "NEW-1");
}

#[tokio::test]
async fn applications_are_validated() {
    let (_d, reg) = setup().await;
    // Researchers never apply for pseudonymized data; datasets must match the tier and exist;
    // pseudonymized members must be authorized users.
    assert!(
        reg.submit_application(
            "bob",
            &application(Tier::Pseudonymized, "pseudo-claims", &[])
        )
        .await
        .is_err()
    );
    assert!(
        reg.submit_application("bob", &application(Tier::Anonymized, "pseudo-claims", &[]))
            .await
            .is_err()
    );
    assert!(matches!(
        reg.submit_application("bob", &application(Tier::Anonymized, "nope", &[]))
            .await,
        Err(RegistryError::NotFound("dataset"))
    ));
    assert!(
        reg.submit_application(
            "alice",
            &application(Tier::Pseudonymized, "pseudo-claims", &["bob"])
        )
        .await
        .is_err()
    );
    let a = reg
        .submit_application(
            "bob",
            &application(Tier::Anonymized, "anon-claims", &["alice"]),
        )
        .await
        .unwrap();
    assert_eq!(a.members, vec!["alice", "bob"]);
    // Anonymized approval needs no authorization.
    let a = reg
        .review("rita", a.id, ReviewDecision::Approve, "", today())
        .await
        .unwrap();
    assert_eq!(reg.projects(Some("alice")).await.unwrap().len(), 1);
    assert_eq!(reg.projects(Some("olga")).await.unwrap().len(), 0);
    assert_eq!(reg.applications(Some("alice")).await.unwrap()[0].id, a.id);
}

#[test]
fn the_rules_table_lists_every_rule() {
    let md = rules_markdown();
    for r in medinfra_govern::RULES {
        assert!(md.contains(r.name));
    }
    assert!(md.ends_with("| deny-by-default | **no** | everything else |\n"));
}

/// ARCHITECTURE.md prints the rules table; it must name every rule the code has, in order.
#[test]
fn architecture_md_lists_the_rules_in_order() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ARCHITECTURE.md"),
    )
    .unwrap();
    let mut at = 0;
    for r in medinfra_govern::RULES {
        let needle = format!("| {} |", r.name);
        let found = doc[at..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{} missing or out of order", r.name));
        at += found + needle.len();
    }
}

#[tokio::test]
async fn recipient_keys_are_registered_per_organization_and_audited() {
    let (_dir, reg) = setup().await;
    assert_eq!(reg.recipient_key("pharma-b").await.unwrap(), None);
    let key = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
    medinfra_govern::set_recipient_key(reg.store(), "pharma-b", key)
        .await
        .unwrap();
    assert_eq!(
        reg.recipient_key("pharma-b").await.unwrap().as_deref(),
        Some(key)
    );
    assert_eq!(reg.recipient_key("hospital-a").await.unwrap(), None);
    // Replaced, not added.
    reg.set_recipient_key("pharma-b", "age1other")
        .await
        .unwrap();
    assert_eq!(
        reg.recipient_key("pharma-b").await.unwrap().as_deref(),
        Some("age1other")
    );
    assert!(matches!(
        reg.set_recipient_key("nobody", key).await,
        Err(RegistryError::NotFound("organization"))
    ));
    assert!(matches!(
        reg.recipient_key("nobody").await,
        Err(RegistryError::NotFound("organization"))
    ));
    for bad in ["", "age1 with spaces", &"a".repeat(513)] {
        assert!(matches!(
            reg.set_recipient_key("pharma-b", bad).await,
            Err(RegistryError::Invalid { .. })
        ));
    }
    // The admin path wrote an audit record (decision + done).
    let entries = medinfra_govern::AuditLog::new(reg.store())
        .entries(None)
        .await
        .unwrap();
    let ours: Vec<_> = entries
        .iter()
        .filter(|e| e.resource == "set recipient key of pharma-b")
        .map(|e| e.outcome.as_str())
        .collect();
    assert_eq!(ours, ["allowed", "done"]);
}

/// The per-user volume of pseudonymized rows shown: counted per user, project and day; a
/// charge that would pass the limit counts nothing; many charges at once never pass it
/// together (the catalog's conditional UPDATE decides, not a read-then-write).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_shown_stay_within_the_daily_volume_even_when_asked_at_once() {
    let (_dir, reg) = setup().await;
    let day = today();
    let first = reg
        .charge_row_views("alice", "prj-1", day, 100, 150)
        .await
        .unwrap();
    assert!(first.allowed);
    assert_eq!(first.shown_today, 100);
    let over = reg
        .charge_row_views("alice", "prj-1", day, 100, 150)
        .await
        .unwrap();
    assert!(!over.allowed);
    assert_eq!(over.shown_today, 100, "a refused charge counts nothing");
    // Another project, another user and another day each have their own count.
    for (user, project, d) in [
        ("alice", "prj-2", day),
        ("bob", "prj-1", day),
        ("alice", "prj-1", day + 1),
    ] {
        assert!(
            reg.charge_row_views(user, project, d, 100, 150)
                .await
                .unwrap()
                .allowed
        );
    }
    // Twenty pages of 10 rows at once against a limit of 55: exactly five pass.
    let reg = Arc::new(reg);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let reg = reg.clone();
            tokio::spawn(async move {
                reg.charge_row_views("carol", "prj-1", day, 10, 55)
                    .await
                    .unwrap()
                    .allowed
            })
        })
        .collect();
    let mut passed = 0;
    for t in tasks {
        if t.await.unwrap() {
            passed += 1;
        }
    }
    assert_eq!(passed, 5);
    let after = reg
        .charge_row_views("carol", "prj-1", day, 0, 55)
        .await
        .unwrap();
    assert_eq!(after.shown_today, 50);
}
