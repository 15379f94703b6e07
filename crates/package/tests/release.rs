//! The governed release: only a type I member with a registered key gets a package; every
//! attempt is audited; the package holds exactly the granted version's files.

use std::sync::Arc;

use arrow::array::Int64Array;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use medinfra_govern::{
    AuditLog, AuthorizationKind, NewApplication, NewUser, PasswordCost, Registry, ReviewDecision,
    Role, today,
};
use medinfra_model::Tier;
use medinfra_package::{
    Contents, Identity, ReleaseError, ReleaseRequest, open_package, register_recipient_key,
    release_package,
};
use medinfra_store::{Lineage, Store};

async fn dataset(store: &Store, name: &str, tier: Tier) {
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let w = store
        .begin(
            name,
            tier,
            Lineage {
                step: "pseudonymize".into(),
                parameters: serde_json::json!({}),
                inputs: vec![],
            },
        )
        .unwrap();
    for table in ["claims", "lab_results"] {
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from((0..1000).collect::<Vec<i64>>()))],
        )
        .unwrap();
        w.write_table(table, schema.clone(), [&b]).unwrap();
    }
    w.commit().await.unwrap();
}

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    reg: Registry,
    /// Project of alice (type I org), project of carol (type II org).
    p1: String,
    p2: String,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let reg = Registry::with_password_cost(&store, PasswordCost::TEST);
    let t = today();
    reg.create_org("pharma-b").await.unwrap();
    reg.create_org("clinic-c").await.unwrap();
    reg.grant_authorization(
        "pharma-b",
        "MHLW-I-1",
        AuthorizationKind::TypeI,
        t - 1,
        t + 100,
    )
    .await
    .unwrap();
    reg.grant_authorization(
        "clinic-c",
        "MHLW-II-1",
        AuthorizationKind::TypeII,
        t - 1,
        t + 100,
    )
    .await
    .unwrap();
    for (u, role, org) in [
        ("alice", Role::AuthorizedUser, Some("pharma-b")),
        ("carol", Role::AuthorizedUser, Some("clinic-c")),
        ("rita", Role::Reviewer, None),
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
    dataset(&store, "claims-pseudo", Tier::Pseudonymized).await;
    let mut projects = Vec::new();
    for applicant in ["alice", "carol"] {
        let a = reg
            .submit_application(
                applicant,
                &NewApplication {
                    title: "Outcomes".into(),
                    datasets: vec!["claims-pseudo".into()],
                    tier: Tier::Pseudonymized,
                    purpose: "drug safety".into(),
                    protocol: "protocol".into(),
                    members: vec![],
                    requested_from: t,
                    requested_to: t + 30,
                    ndb_linkage: false,
                },
            )
            .await
            .unwrap();
        let a = reg
            .review("rita", a.id, ReviewDecision::Approve, "", t)
            .await
            .unwrap();
        projects.push(a.project.unwrap());
    }
    World {
        _dir: dir,
        p2: projects.pop().unwrap(),
        p1: projects.pop().unwrap(),
        store,
        reg,
    }
}

fn request<'a>(project: &'a str, user: &'a str, out: &'a std::path::Path) -> ReleaseRequest<'a> {
    ReleaseRequest {
        project,
        recipient_user: user,
        released_by: "cli:operator",
        producer: "test producer",
        out,
        contents: Contents::StoredVersions,
    }
}

async fn outcomes(store: &Store, resource: &str) -> Vec<(String, String)> {
    AuditLog::new(store)
        .entries(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.resource == resource)
        .map(|e| (e.actor, e.outcome))
        .collect()
}

#[tokio::test]
async fn type_i_member_with_a_key_gets_the_granted_files() {
    let w = world().await;
    let out_dir = tempfile::tempdir().unwrap();
    let pkg = out_dir.path().join("p1.age");

    // No key registered yet: refused, audited as allowed-then-failed, no file.
    let e = release_package(&w.store, request(&w.p1, "alice", &pkg))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ReleaseError::NoRecipientKey(o) if o == "pharma-b"),
        "{e:?}"
    );
    assert!(!pkg.exists());
    let what = format!("package of project {} for alice", w.p1);
    assert_eq!(
        outcomes(&w.store, &what).await,
        [
            ("alice".to_string(), "allowed".to_string()),
            ("cli:operator".to_string(), "failed".to_string())
        ]
    );

    // A malformed key is not registered.
    assert!(
        register_recipient_key(&w.store, "pharma-b", "age1bogus")
            .await
            .is_err()
    );
    let id = Identity::generate();
    let key = register_recipient_key(&w.store, "pharma-b", id.recipient().as_str())
        .await
        .unwrap();
    assert_eq!(
        w.reg.recipient_key("pharma-b").await.unwrap().as_deref(),
        Some(key.as_str())
    );

    let done = release_package(&w.store, request(&w.p1, "alice", &pkg))
        .await
        .unwrap();
    assert!(done.bytes > 0);
    let m = &done.manifest;
    assert_eq!(m.recipient.authorization_number, "MHLW-I-1");
    assert_eq!(m.recipient.authorization_kind, "type_i");
    assert_eq!(m.recipient.user, "alice");
    // Expiry: the project's (t + 30) comes before the authorization's (t + 100).
    let project = w.reg.project(&w.p1).await.unwrap();
    let expires = medinfra_model::days::date_of(project.expires).unwrap();
    assert_eq!(
        m.expires,
        format!(
            "{:04}-{:02}-{:02}",
            expires.year(),
            u8::from(expires.month()),
            expires.day()
        )
    );
    let info = w.store.version("claims-pseudo", None).await.unwrap();
    assert_eq!(m.datasets.len(), 1);
    assert_eq!(m.datasets[0].manifest_sha256, info.manifest_sha256);
    assert_eq!(m.datasets[0].tier, "pseudonymized");
    let stored = w.store.read_manifest(&info).unwrap();
    let stored_files: Vec<_> = stored.tables.iter().flat_map(|t| &t.files).collect();
    assert_eq!(m.files.len(), stored_files.len());
    assert_eq!(m.files.len(), 2);

    // The recipient opens it; every file equals the stored one.
    let opened = out_dir.path().join("opened");
    let got = open_package(&pkg, &id, &opened).unwrap();
    assert_eq!(&got, m);
    for f in stored_files {
        let inside = opened.join(format!("data/claims-pseudo/v{}/{}", info.version, f.path));
        assert_eq!(
            std::fs::read(inside).unwrap(),
            std::fs::read(info.dir.join(&f.path)).unwrap()
        );
    }
    let entries = outcomes(&w.store, &what).await;
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[3], ("cli:operator".to_string(), "done".to_string()));

    // Never overwrites an existing package.
    assert!(
        release_package(&w.store, request(&w.p1, "alice", &pkg))
            .await
            .is_err()
    );

    // Once the authorization is revoked, no more packages.
    w.reg.revoke_authorization("MHLW-I-1").await.unwrap();
    let again = out_dir.path().join("again.age");
    let e = release_package(&w.store, request(&w.p1, "alice", &again))
        .await
        .unwrap_err();
    assert!(matches!(e, ReleaseError::Denied(_)), "{e:?}");
    assert!(!again.exists());
}

#[tokio::test]
async fn type_ii_users_and_non_members_get_nothing() {
    let w = world().await;
    let id = Identity::generate();
    register_recipient_key(&w.store, "clinic-c", id.recipient().as_str())
        .await
        .unwrap();
    register_recipient_key(&w.store, "pharma-b", id.recipient().as_str())
        .await
        .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let pkg = out_dir.path().join("p.age");

    // Type II: the workspace only.
    let e = release_package(&w.store, request(&w.p2, "carol", &pkg))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ReleaseError::Denied("pseudonymized-type-ii-no-download")),
        "{e:?}"
    );
    assert_eq!(
        outcomes(&w.store, &format!("package of project {} for carol", w.p2)).await,
        [("carol".to_string(), "denied".to_string())]
    );
    // Type I, but not a member of that project.
    let e = release_package(&w.store, request(&w.p2, "alice", &pkg))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ReleaseError::Denied("deny-by-default")),
        "{e:?}"
    );
    // Files the caller prepared must come from a granted version.
    let mut req = request(&w.p1, "alice", &pkg);
    req.contents = Contents::Files {
        datasets: vec![medinfra_package::DatasetRef {
            dataset: "claims-pseudo".into(),
            version: 99,
            tier: "pseudonymized".into(),
            manifest_sha256: "00".repeat(32),
            step: "x".into(),
        }],
        files: vec![],
    };
    let e = release_package(&w.store, req).await.unwrap_err();
    assert!(e.to_string().contains("not granted"), "{e}");
    assert!(!pkg.exists());
}
