//! The authorization matrix, generated from the rules table: every role × endpoint × tier ×
//! government authorization (none, valid type I, valid type II, expired, revoked) × project
//! membership (none, member of an active project, member of an expired project), sent to the
//! real server over HTTP on loopback. The expected outcome is `can` applied to an actor built
//! here from the scenario (not loaded from the registry), and the law's promises are asserted
//! independently of `can` as well.

mod common;

use common::{TIERS, ds, start};
use medinfra_govern::{
    Action, Actor, AuthorizationKind, GovernmentAuthorization, Membership, NewApplication, NewUser,
    Resource, ReviewDecision, Role, Via, can, today,
};
use medinfra_model::Tier;
use reqwest::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Auth {
    None,
    ValidI,
    ValidII,
    Expired,
    Revoked,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Member {
    No,
    Active,
    Expired,
}

const AUTHS: [Auth; 5] = [
    Auth::None,
    Auth::ValidI,
    Auth::ValidII,
    Auth::Expired,
    Auth::Revoked,
];
const MEMBERS: [Member; 3] = [Member::No, Member::Active, Member::Expired];

fn org(a: Auth) -> &'static str {
    match a {
        Auth::None => "org-none",
        Auth::ValidI => "org-valid-i",
        Auth::ValidII => "org-valid-ii",
        Auth::Expired => "org-expired",
        Auth::Revoked => "org-revoked",
    }
}

fn authorization(a: Auth, t: i32) -> Option<GovernmentAuthorization> {
    let (kind, from, to, revoked) = match a {
        Auth::None => return None,
        Auth::ValidI => (AuthorizationKind::TypeI, t - 10, t + 100, false),
        Auth::ValidII => (AuthorizationKind::TypeII, t - 10, t + 100, false),
        Auth::Expired => (AuthorizationKind::TypeI, t - 100, t - 1, false),
        Auth::Revoked => (AuthorizationKind::TypeI, t - 10, t + 100, true),
    };
    Some(GovernmentAuthorization {
        number: format!("N-{}", org(a)),
        kind,
        valid_from: from,
        valid_to: to,
        revoked,
    })
}

struct Projects {
    pseudo_active: String,
    pseudo_expired: String,
    anon_active: String,
    anon_expired: String,
}

impl Projects {
    fn for_tier(&self, tier: Tier, m: Member) -> &str {
        match (tier, m) {
            (Tier::Pseudonymized, Member::Expired) => &self.pseudo_expired,
            (Tier::Pseudonymized, _) => &self.pseudo_active,
            (_, Member::Expired) => &self.anon_expired,
            _ => &self.anon_active,
        }
    }

    fn memberships(&self, m: Member, t: i32) -> Vec<Membership> {
        let (p, a, expires) = match m {
            Member::No => return vec![],
            Member::Active => (&self.pseudo_active, &self.anon_active, t + 30),
            Member::Expired => (&self.pseudo_expired, &self.anon_expired, t - 1),
        };
        vec![
            Membership {
                project: p.clone(),
                tier: Tier::Pseudonymized,
                starts: 0,
                expires,
                active: true,
            },
            Membership {
                project: a.clone(),
                tier: Tier::Anonymized,
                starts: 0,
                expires,
                active: true,
            },
        ]
    }
}

struct Scenario {
    username: String,
    token: Option<String>,
    actor: Actor,
    auth: Auth,
    member: Member,
}

fn app(tier: Tier) -> NewApplication {
    NewApplication {
        title: "matrix".into(),
        datasets: vec![ds(tier)],
        tier,
        purpose: "p".into(),
        protocol: "q".into(),
        members: vec![],
        requested_from: today(),
        requested_to: today() + 30,
        ndb_linkage: false,
    }
}

/// The law's promises, stated without `can`.
fn promise_violated(s: &Scenario, action: Action, tier: Tier, allowed: bool) -> Option<String> {
    if !allowed {
        return None;
    }
    let role = s.actor.role;
    let data = matches!(
        action,
        Action::Read | Action::Download | Action::ReadCatalog
    );
    if data && tier == Tier::Identified && role != Role::Operator {
        return Some("identified zone reached by a non-operator".into());
    }
    if matches!(action, Action::Read | Action::Download) && role != Role::Operator {
        if tier == Tier::Pseudonymized {
            if role != Role::AuthorizedUser
                || !matches!(s.auth, Auth::ValidI | Auth::ValidII)
                || s.member != Member::Active
            {
                return Some(
                    "pseudonymized data without valid authorization and active project".into(),
                );
            }
            if action == Action::Download && s.auth == Auth::ValidII {
                return Some("type II user downloaded pseudonymized rows".into());
            }
        }
        if tier == Tier::Anonymized && s.member != Member::Active {
            return Some("anonymized data outside an active project".into());
        }
        // The rows and download endpoints read the stored files: stored tokens (the same in
        // every project) and every column. A project's rows are seen through its views only.
        if !tier.is_public() {
            return Some("stored files of a non-public tier reached a member".into());
        }
    }
    if role == Role::Public && !tier.is_public() && data {
        return Some("public reached a non-public tier".into());
    }
    if action == Action::ReadAudit && !matches!(role, Role::Auditor | Role::Operator) {
        return Some("audit log read by a non-auditor".into());
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_over_http() {
    let ts = start().await;
    let reg = &ts.registry;
    let t = today();
    for a in AUTHS {
        reg.create_org(org(a)).await.unwrap();
        if let Some(g) = authorization(a, t) {
            reg.grant_authorization(org(a), &g.number, g.kind, g.valid_from, g.valid_to)
                .await
                .unwrap();
            if g.revoked {
                reg.revoke_authorization(&g.number).await.unwrap();
            }
        }
    }
    let pw = "matrix password 123";
    for (u, role, o) in [
        ("setup-applicant", Role::AuthorizedUser, Some("org-valid-i")),
        ("setup-reviewer", Role::Reviewer, None),
    ] {
        reg.create_user(&NewUser {
            username: u,
            role,
            organization: o,
            password: pw,
        })
        .await
        .unwrap();
    }
    let approve = async |tier: Tier, expired: bool| -> String {
        let a = reg
            .submit_application("setup-applicant", &app(tier))
            .await
            .unwrap();
        let a = reg
            .review("setup-reviewer", a.id, ReviewDecision::Approve, "", t)
            .await
            .unwrap();
        let name = a.project.unwrap();
        if expired {
            reg.set_project_expiry(&name, t - 1).await.unwrap();
        }
        name
    };
    let projects = Projects {
        pseudo_active: approve(Tier::Pseudonymized, false).await,
        pseudo_expired: approve(Tier::Pseudonymized, true).await,
        anon_active: approve(Tier::Anonymized, false).await,
        anon_expired: approve(Tier::Anonymized, true).await,
    };
    // Scenarios: organization roles in every authorization state; the others without one.
    let mut scenarios = vec![Scenario {
        username: "public".into(),
        token: None,
        actor: medinfra_govern::Actor {
            user: "public".into(),
            role: Role::Public,
            authorization: None,
            memberships: vec![],
        },
        auth: Auth::None,
        member: Member::No,
    }];
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Public) {
        let in_org = matches!(
            role,
            Role::Provider | Role::AuthorizedUser | Role::Researcher
        );
        let auths: &[Auth] = if in_org { &AUTHS } else { &[Auth::None] };
        for &a in auths {
            for m in MEMBERS {
                let username = format!("{}-{:?}-{:?}", role.as_str(), a, m).to_lowercase();
                reg.create_user(&NewUser {
                    username: &username,
                    role,
                    organization: in_org.then(|| org(a)),
                    password: pw,
                })
                .await
                .unwrap();
                let ps: Vec<&str> = match m {
                    Member::No => vec![],
                    Member::Active => vec![&projects.pseudo_active, &projects.anon_active],
                    Member::Expired => vec![&projects.pseudo_expired, &projects.anon_expired],
                };
                // Memberships are written directly, so roles the registry would never admit to
                // a project (e.g. a researcher in a pseudonymized one) are tested too.
                for p in ps {
                    sqlx::query("INSERT INTO project_members (project_id, user_id) SELECT p.id, u.id FROM projects p, users u WHERE p.name = $1 AND u.username = $2")
                        .bind(p)
                        .bind(&username)
                        .execute(ts.store().pool())
                        .await
                        .unwrap();
                }
                let token = reg.create_token(&username, "matrix").await.unwrap();
                scenarios.push(Scenario {
                    actor: Actor {
                        user: username.clone(),
                        role,
                        authorization: if in_org { authorization(a, t) } else { None },
                        memberships: projects.memberships(m, t),
                    },
                    username,
                    token: Some(token),
                    auth: a,
                    member: m,
                });
            }
        }
    }

    let mut cases = 0;
    let mut allowed_cases = 0;
    let mut failures = Vec::new();
    for s in &scenarios {
        let send = |req: reqwest::RequestBuilder| {
            let req = match &s.token {
                Some(tok) => req.bearer_auth(tok),
                None => req,
            };
            async move { req.send().await.unwrap() }
        };
        let mut check = |what: String,
                         action: Action,
                         tier: Tier,
                         project: Option<&str>,
                         status: StatusCode| {
            cases += 1;
            // The rows and download endpoints hand out stored files.
            let via = if matches!(action, Action::Read | Action::Download) {
                Via::StoredFiles
            } else {
                Via::Workspace
            };
            let r = match project {
                Some(p) => Resource::in_project(tier, p),
                None => Resource::of(tier),
            }
            .via(via);
            let d = can(&s.actor, action, &r, t);
            let expected = if d.allowed {
                None
            } else if s.actor.role == Role::Public {
                Some(StatusCode::UNAUTHORIZED)
            } else {
                Some(StatusCode::FORBIDDEN)
            };
            let ok = match expected {
                None => status.is_success(),
                Some(e) => status == e,
            };
            if d.allowed {
                allowed_cases += 1;
            }
            if !ok {
                failures.push(format!(
                    "{} {what}: got {status}, rule {} says {}",
                    s.username,
                    d.rule,
                    if d.allowed { "allow" } else { "deny" }
                ));
            }
            if let Some(v) = promise_violated(s, action, tier, status.is_success()) {
                failures.push(format!("{} {what}: PROMISE BROKEN: {v}", s.username));
            }
        };
        for tier in TIERS {
            let name = ds(tier);
            let p = projects.for_tier(tier, s.member);
            let st = send(ts.http.get(ts.url(&format!("/api/datasets/{name}"))))
                .await
                .status();
            check(
                format!("catalog {name}"),
                Action::ReadCatalog,
                tier,
                None,
                st,
            );
            let st = send(ts.http.get(ts.url(&format!(
                "/api/datasets/{name}/versions/1/tables/t/rows?project={p}&limit=2"
            ))))
            .await
            .status();
            check(
                format!("rows {name} in {p}"),
                Action::Read,
                tier,
                Some(p),
                st,
            );
            let st = send(ts.http.get(ts.url(&format!(
                "/api/datasets/{name}/versions/1/tables/t/download?project={p}"
            ))))
            .await
            .status();
            check(
                format!("download {name} in {p}"),
                Action::Download,
                tier,
                Some(p),
                st,
            );
            // The access-check endpoint answers the same question without touching data.
            let resp = send(
                ts.http
                    .post(ts.url("/api/access/check"))
                    .json(&serde_json::json!({
                        "action": "download", "dataset": name, "project": p
                    })),
            )
            .await;
            if s.token.is_none() && !tier.is_public() {
                // No existence or tier oracle for the public.
                assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{name}");
            } else {
                assert_eq!(resp.status(), StatusCode::OK);
                let body: serde_json::Value = resp.json().await.unwrap();
                let allowed = body["allowed"].as_bool().unwrap();
                check(
                    format!("check download {name} in {p}"),
                    Action::Download,
                    tier,
                    Some(p),
                    if allowed {
                        StatusCode::OK
                    } else if s.token.is_none() {
                        StatusCode::UNAUTHORIZED
                    } else {
                        StatusCode::FORBIDDEN
                    },
                );
            }
            // Applications name only these two tiers (the API schema has no other).
            if matches!(tier, Tier::Pseudonymized | Tier::Anonymized) {
                let body = serde_json::json!({
                    "title": "m", "datasets": [name], "tier": tier.as_str(), "purpose": "p",
                    "protocol": "q", "requested_from": "2020-01-01", "requested_to": "2099-01-01"
                });
                let st = send(ts.http.post(ts.url("/api/applications")).json(&body))
                    .await
                    .status();
                check(format!("apply {name}"), Action::Apply, tier, None, st);
            }
        }
        let st = send(ts.http.get(ts.url("/api/audit?limit=1")))
            .await
            .status();
        check(
            "audit".into(),
            Action::ReadAudit,
            Tier::Statistics,
            None,
            st,
        );
        let st = send(ts.http.get(ts.url("/api/users"))).await.status();
        check(
            "admin users".into(),
            Action::Administer,
            Tier::Statistics,
            None,
            st,
        );
        let fresh = reg
            .submit_application("setup-applicant", &app(Tier::Anonymized))
            .await
            .unwrap();
        let st = send(
            ts.http
                .post(ts.url(&format!("/api/applications/{}/reviews", fresh.id)))
                .json(&serde_json::json!({"decision": "request_changes", "comment": "m"})),
        )
        .await
        .status();
        check("review".into(), Action::Review, Tier::Statistics, None, st);
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The matrix is not degenerate: both outcomes occur, and every allow rule was exercised.
    assert!(cases > 1300, "{cases} cases");
    assert!(
        allowed_cases > 100 && allowed_cases < cases - 100,
        "{allowed_cases} allowed"
    );
    println!(
        "authorization matrix: {cases} cases over HTTP, {allowed_cases} allowed, all as the rules table says"
    );

    // Every decision above was audited, and the log verifies.
    let log = medinfra_govern::AuditLog::new(ts.store());
    let (n, problem) = log.verify().await.unwrap();
    assert_eq!(problem, None);
    assert!(
        n as usize >= cases,
        "{n} audit entries for {cases} decisions"
    );
    let denied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE outcome = 'denied'")
        .fetch_one(ts.store().pool())
        .await
        .unwrap();
    assert!(denied as usize >= cases - allowed_cases - scenarios.len() * 5);
}
