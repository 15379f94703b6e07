//! Opt-out: the person is gone from every readable version of every derived dataset, older
//! versions are superseded, and projects move to the new version.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use medinfra_govern::{
    NewApplication, NewUser, PasswordCost, Registry, ReviewDecision, Role, today,
};
use medinfra_model::Tier;
use medinfra_store::{Lineage, Store};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

async fn derived(store: &Store, name: &str, tier: Tier) {
    let claims = Arc::new(Schema::new(vec![
        Field::new("person", DataType::Utf8, true),
        Field::new("amount", DataType::Int64, false),
    ]));
    let b = RecordBatch::try_new(
        claims.clone(),
        vec![
            Arc::new(StringArray::from(vec![
                Some("P1"),
                Some("P2"),
                None,
                Some("P2"),
                Some("P3"),
            ])),
            Arc::new(Int64Array::from(vec![10, 20, 30, 40, 50])),
        ],
    )
    .unwrap();
    let codes = Arc::new(Schema::new(vec![Field::new("code", DataType::Utf8, false)]));
    let c = RecordBatch::try_new(
        codes.clone(),
        vec![Arc::new(StringArray::from(vec!["E11"]))],
    )
    .unwrap();
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
    // Two parts, so the rewrite keeps the part structure.
    w.write_table("claims", claims.clone(), [&b]).unwrap();
    let mut p = w.part_writer("claims", 1, claims).unwrap();
    p.write(&b).unwrap();
    w.finish_part(p).unwrap();
    w.write_table("codes", codes, [&c]).unwrap();
    w.commit().await.unwrap();
}

fn persons(store: &Store, v: &medinfra_store::VersionInfo) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for f in store.table_files(v, "claims").unwrap() {
        let r = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for b in r {
            let b = b.unwrap();
            let col = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            out.extend((0..col.len()).map(|i| col.is_valid(i).then(|| col.value(i).to_string())));
        }
    }
    out
}

#[tokio::test]
async fn opted_out_person_is_gone_from_every_readable_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let reg = Registry::with_password_cost(&store, PasswordCost::TEST);
    derived(&store, "anon-a", Tier::Anonymized).await;
    derived(&store, "anon-a", Tier::Anonymized).await; // a second, older-style version
    derived(&store, "pseudo-b", Tier::Pseudonymized).await;
    reg.create_org("lab").await.unwrap();
    for (u, role, org) in [
        ("res", Role::Researcher, Some("lab")),
        ("rev", Role::Reviewer, None),
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
    let a = reg
        .submit_application(
            "res",
            &NewApplication {
                title: "t".into(),
                datasets: vec!["anon-a".into()],
                tier: Tier::Anonymized,
                purpose: "p".into(),
                protocol: "q".into(),
                members: vec![],
                requested_from: today(),
                requested_to: today() + 10,
                ndb_linkage: false,
            },
        )
        .await
        .unwrap();
    let project = reg
        .review("rev", a.id, ReviewDecision::Approve, "", today())
        .await
        .unwrap()
        .project
        .unwrap();
    assert!(
        reg.project_grants_version(&project, "anon-a", 2)
            .await
            .unwrap()
    );

    let id = reg.record_optout("clinic-1", "P2").await.unwrap();
    assert_eq!(reg.record_optout("clinic-1", "P2").await.unwrap(), id);
    // The same chart number at another provider is another patient: its own opt-out, not a
    // collision with the first (the key was the chart number alone).
    let other = reg.record_optout("clinic-2", "P2").await.unwrap();
    assert_ne!(other, id);
    let all = reg.optouts(true).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|o| o.provider == "clinic-2"));
    reg.mark_optouts_applied(&[other]).await.unwrap();
    let pending = reg.optouts(true).await.unwrap();
    assert_eq!(pending.len(), 1);
    let remove: HashSet<String> = pending.iter().map(|o| o.person_key.clone()).collect();
    for ds in ["anon-a", "pseudo-b"] {
        let r = reg.apply_optout(ds, "person", &remove).await.unwrap();
        assert_eq!(r.rows_removed, 4, "{ds}: two parts × two rows");
    }
    reg.mark_optouts_applied(&[id]).await.unwrap();
    assert!(reg.optouts(true).await.unwrap().is_empty());

    for ds in ["anon-a", "pseudo-b"] {
        let versions = store.versions(ds).await.unwrap();
        let readable: Vec<_> = versions.iter().filter(|v| !v.superseded).collect();
        assert_eq!(readable.len(), 1, "{ds}: only the new version is readable");
        for v in &versions {
            let ps = persons(&store, v);
            if v.superseded {
                assert!(ps.contains(&Some("P2".into())));
            } else {
                assert!(
                    !ps.contains(&Some("P2".into())),
                    "{ds} v{} still holds P2",
                    v.version
                );
                // Everyone else (and the null) is still there.
                assert_eq!(ps.len(), 6);
                assert_eq!(v.step, "optout");
                let codes = v.tables.iter().find(|t| t.name == "codes").unwrap();
                assert_eq!(codes.rows, 1);
            }
        }
    }
    // The project now holds the new version only.
    let p = reg.project(&project).await.unwrap();
    assert_eq!(p.grants.len(), 1);
    assert_eq!(p.grants[0].version, 3);
    // Re-running removes nothing more.
    let again = reg.apply_optout("anon-a", "person", &remove).await.unwrap();
    assert_eq!(again.rows_removed, 0);
    // A dataset without the column is refused rather than copied unchanged.
    assert!(
        reg.apply_optout("anon-a", "no_such", &remove)
            .await
            .is_err()
    );
}
