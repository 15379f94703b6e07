//! Sign-in, sessions and CSRF, lock-out and rate limiting, tokens, the application flow, rows,
//! the OpenAPI document, and "no audit record, no action" — over HTTP on loopback.

mod common;

use common::{TestServer, ds, start, start_with};
use medinfra_govern::{AuthorizationKind, NewUser, Role, today};
use medinfra_model::Tier;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PW: &str = "a long enough password";

async fn user(ts: &TestServer, name: &str, role: Role, org: Option<&str>) {
    ts.registry
        .create_user(&NewUser {
            username: name,
            role,
            organization: org,
            password: PW,
        })
        .await
        .unwrap();
}

/// Sign in; returns (cookie header value, csrf token).
async fn login(ts: &TestServer, name: &str) -> (String, String) {
    let resp = ts
        .http
        .post(ts.url("/api/session"))
        .json(&json!({"username": name, "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let set = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains("Secure"), "no TLS in this test: {set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_needs_csrf_on_state_changes() {
    let ts = start().await;
    user(&ts, "olga", Role::Operator, None).await;
    let (cookie, csrf) = login(&ts, "olga").await;
    // Reads with the cookie alone.
    let me: Value = ts
        .http
        .get(ts.url("/api/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "operator");
    // A state-changing request without (or with a wrong) CSRF token is refused and does nothing.
    for header in [None, Some("forged")] {
        let mut req = ts
            .http
            .post(ts.url("/api/orgs"))
            .header("cookie", &cookie)
            .json(&json!({"name": "evil-org"}));
        if let Some(h) = header {
            req = req.header("x-csrf-token", h);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["rule"], "csrf-token-required");
    }
    assert!(ts.registry.orgs().await.unwrap().is_empty());
    let resp = ts
        .http
        .post(ts.url("/api/orgs"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "good-org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    // Sign out ends the session.
    let resp = ts
        .http
        .delete(ts.url("/api/session"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = ts
        .http
        .get(ts.url("/api/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookie_when_configured() {
    let ts = start_with(|c| c.secure_cookies = true).await;
    user(&ts, "olga", Role::Operator, None).await;
    let resp = ts
        .http
        .post(ts.url("/api/session"))
        .json(&json!({"username": "olga", "password": PW}))
        .send()
        .await
        .unwrap();
    let set = resp.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
}

/// Finding 8 of the attack on the served demo: anyone could lock any account by failing on
/// purpose, and a locked or unknown account answered differently from a wrong password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_is_throttled_at_the_guesser_and_locks_no_one_out() {
    let ts = start_with(|c| c.login_attempts_per_minute = 8).await;
    user(&ts, "bob", Role::Auditor, None).await;
    let attempt = |user: &'static str, pw: &'static str| {
        ts.http
            .post(ts.url("/api/session"))
            .json(&json!({"username": user, "password": pw}))
            .send()
    };
    let wrong = attempt("bob", "wrong").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong: Value = wrong.json().await.unwrap();
    // An unknown account answers exactly as a wrong password does.
    let unknown = attempt("nobody", "wrong").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.json::<Value>().await.unwrap(), wrong);
    for _ in 1..medinfra_govern::MAX_FAILED_LOGINS {
        assert_eq!(
            attempt("bob", "wrong").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // The guesser's address is throttled for bob, even with the right password …
    assert_eq!(
        attempt("bob", PW).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // … but bob, from his own address, is not locked out.
    let elsewhere = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let resp = elsewhere
        .post(ts.url("/api/session"))
        .json(&json!({"username": "bob", "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // And the guesser's address is over its per-minute budget for every account.
    let mut limited = false;
    for _ in 0..5 {
        if attempt("nobody", "x").await.unwrap().status() == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
        }
    }
    assert!(limited);
    // Every attempt was audited.
    let logins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'login'")
        .fetch_one(ts.store().pool())
        .await
        .unwrap();
    assert_eq!(logins, 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_shown_once_and_work_as_bearer() {
    let ts = start().await;
    ts.registry.create_org("lab").await.unwrap();
    user(&ts, "rex", Role::Researcher, Some("lab")).await;
    let (cookie, csrf) = login(&ts, "rex").await;
    let resp = ts
        .http
        .post(ts.url("/api/tokens"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"label": "script"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let token = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let me: Value = ts
        .http
        .get(ts.url("/api/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "rex");
    // A bad bearer token is refused, never treated as the public.
    let resp = ts
        .http
        .get(ts.url("/api/datasets"))
        .bearer_auth("mit_1_0000000000000000000000000000000000000000000000000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // Bearer requests need no CSRF token (no ambient credential).
    let resp = ts
        .http
        .post(ts.url("/api/tokens"))
        .bearer_auth(&token)
        .json(&json!({"label": "second"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_review_approve_then_read_rows() {
    let ts = start().await;
    let t = today();
    ts.registry.create_org("pharma").await.unwrap();
    ts.registry
        .grant_authorization("pharma", "AUTH-1", AuthorizationKind::TypeI, t - 1, t + 365)
        .await
        .unwrap();
    user(&ts, "alice", Role::AuthorizedUser, Some("pharma")).await;
    user(&ts, "rita", Role::Reviewer, None).await;
    let alice = ts.registry.create_token("alice", "t").await.unwrap();
    let rita = ts.registry.create_token("rita", "t").await.unwrap();
    let name = ds(Tier::Pseudonymized);
    let rows_url = |p: &str| {
        ts.url(&format!(
            "/api/datasets/{name}/versions/1/tables/t/rows?project={p}"
        ))
    };
    // Before approval: no project, no rows.
    let resp = ts
        .http
        .get(rows_url("prj-1"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = ts
        .http
        .post(ts.url("/api/applications"))
        .bearer_auth(&alice)
        .json(&json!({
            "title": "HbA1c trajectories", "datasets": [name], "tier": "pseudonymized",
            "purpose": "regulatory submission", "protocol": "v1",
            "requested_from": "2020-01-01", "requested_to": "2099-12-31"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let app: Value = resp.json().await.unwrap();
    let id = app["id"].as_i64().unwrap();
    // Alice cannot review her own application; Rita can.
    let review = |tok: &str, decision: &str| {
        ts.http
            .post(ts.url(&format!("/api/applications/{id}/reviews")))
            .bearer_auth(tok)
            .json(&json!({"decision": decision, "comment": "ok"}))
            .send()
    };
    assert_eq!(
        review(&alice, "approve").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let resp = review(&rita, "approve").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let app: Value = resp.json().await.unwrap();
    assert_eq!(app["status"], "approved");
    let project = app["project"].as_str().unwrap().to_string();
    let p: Value = ts
        .http
        .get(ts.url(&format!("/api/projects/{project}")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["grants"][0]["dataset"], name);
    assert_eq!(p["expires"], "2099-12-31");
    // Finding 1 of the attack on the served demo: the stored rows (stored tokens, every
    // column) and the stored Parquet reached project members. Now the stored files reach no
    // member, and a pseudonymized project's rows are not handed to a client program.
    let resp = ts
        .http
        .get(rows_url(&project))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["rule"],
        "stored-files-public-only"
    );
    let resp = ts
        .http
        .get(ts.url(&format!(
            "/api/datasets/{name}/versions/1/tables/t/download?project={project}"
        )))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = ts
        .http
        .post(ts.url(&format!("/api/projects/{project}/query")))
        .bearer_auth(&alice)
        .json(&json!({"sql": "SELECT 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["rule"],
        "pseudonymized-rows-stay-in-workspace"
    );
    // A version the project was not granted is refused even though `can` would allow.
    common::write_dataset(ts.store(), &name, Tier::Pseudonymized).await;
    let resp = ts
        .http
        .get(ts.url(&format!(
            "/api/datasets/{name}/versions/2/tables/t/rows?project={project}"
        )))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["rule"],
        "project-grant-missing"
    );
    // Revocation stops access at the next request.
    ts.registry.revoke_authorization("AUTH-1").await.unwrap();
    let resp = ts
        .http
        .get(rows_url(&project))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_audit_record_no_action() {
    let ts = start().await;
    user(&ts, "olga", Role::Operator, None).await;
    let tok = ts.registry.create_token("olga", "t").await.unwrap();
    let resp = ts
        .http
        .get(ts.url("/api/datasets"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Break the audit log's storage: every request that would be recorded now fails, and the
    // action it records does not happen.
    sqlx::query("ALTER TABLE audit_log RENAME TO audit_log_gone")
        .execute(ts.store().pool())
        .await
        .unwrap();
    let resp = ts
        .http
        .get(ts.url("/api/datasets"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("audit"));
    let resp = ts
        .http
        .post(ts.url("/api/orgs"))
        .bearer_auth(&tok)
        .json(&json!({"name": "not-created"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(ts.registry.orgs().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_endpoints_and_openapi() {
    let ts = start().await;
    user(&ts, "aud", Role::Auditor, None).await;
    let tok = ts.registry.create_token("aud", "t").await.unwrap();
    // The public reads public-tier metadata and nothing else.
    let list: Value = ts
        .http
        .get(ts.url("/api/datasets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["ds-sample", "ds-statistics"]);
    let lineage: Value = ts
        .http
        .get(ts.url("/api/datasets/ds-sample/versions/1/lineage"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lineage["parameters"]["seed"], 1);
    let v: Value = ts
        .http
        .get(ts.url("/api/audit/verify"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["intact"], true);
    assert!(v["entries_verified"].as_u64().unwrap() >= 2);
    let entries: Value = ts
        .http
        .get(ts.url("/api/audit?limit=2"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 2);
    // Tamper with the log: the verify endpoint names the entry.
    sqlx::query("UPDATE audit_log SET outcome = 'denied' WHERE seq = 1")
        .execute(ts.store().pool())
        .await
        .unwrap();
    let v: Value = ts
        .http
        .get(ts.url("/api/audit/verify"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["intact"], false);
    assert_eq!(v["first_bad_entry"], 1);

    let doc: Value = ts
        .http
        .get(ts.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/session",
        "/api/datasets/{name}/versions/{version}/tables/{table}/rows",
        "/api/applications/{id}/reviews",
        "/api/audit/verify",
        "/api/access/check",
        "/api/projects/{name}/query",
        "/api/projects/{name}/results",
        "/api/projects/{name}/privacy-budget",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert_eq!(paths.len(), 31);
    // Unknown paths answer in the API's error shape, with the security headers every answer
    // carries (finding 8: none were sent).
    let resp = ts.http.get(ts.url("/api/nope")).send().await.unwrap();
    for (h, v) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(resp.headers()[h], v, "{h}");
    }
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.json::<Value>().await.unwrap()["error"].is_string());
    ts.server.stop().await.unwrap();
}

/// Text with NUL characters is refused at the edge with 400 (PostgreSQL's text cannot hold
/// U+0000; Schemathesis found 500s there), on every catalog alike, and nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_in_requests_are_refused_with_400() {
    let ts = start().await;
    user(&ts, "olga", Role::Operator, None).await;
    let tok = ts.registry.create_token("olga", "t").await.unwrap();
    for (path, body) in [
        ("/api/orgs", json!({"name": "uni\u{0}v"})),
        ("/api/tokens", json!({"label": "a\u{0}b"})),
        (
            "/api/session",
            json!({"username": "ol\u{0}ga", "password": PW}),
        ),
        (
            "/api/access/check",
            json!({"action": "read_audit", "x\u{0}": 1}),
        ),
    ] {
        let resp = ts
            .http
            .post(ts.url(path))
            .bearer_auth(&tok)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("NUL"), "{path}");
    }
    let resp = ts
        .http
        .get(ts.url("/api/datasets/ds%00x"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(ts.registry.orgs().await.unwrap().is_empty());
}

/// An anonymized `persons` table as the anonymizer writes it (release number, generalized
/// quasi-identifiers).
async fn write_anonymized_persons(ts: &TestServer, name: &str) {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = Arc::new(Schema::new(vec![
        Field::new("release_id", DataType::Int64, false),
        Field::new("sex", DataType::Utf8, false),
        Field::new("age", DataType::Utf8, false),
    ]));
    let n = 30;
    let b = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from((1..=n).collect::<Vec<i64>>())),
            Arc::new(StringArray::from(
                (0..n)
                    .map(|i| if i % 3 == 0 { "F" } else { "M" })
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(vec!["40-49"; n as usize])),
        ],
    )
    .unwrap();
    let w = ts
        .store()
        .begin(
            name,
            Tier::Anonymized,
            medinfra_store::Lineage {
                step: "test".into(),
                parameters: json!({}),
                inputs: vec![],
            },
        )
        .unwrap();
    w.write_table("persons", schema, [&b]).unwrap();
    w.commit().await.unwrap();
}

/// A project's rows are read through its views — over the API too — and results are saved
/// inside its workspace; the stored files stay where they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymized_project_queries_its_views_and_saves_results() {
    let ts = start().await;
    ts.registry.create_org("uni").await.unwrap();
    user(&ts, "rob", Role::Researcher, Some("uni")).await;
    user(&ts, "rita", Role::Reviewer, None).await;
    let rob = ts.registry.create_token("rob", "t").await.unwrap();
    let rita = ts.registry.create_token("rita", "t").await.unwrap();
    write_anonymized_persons(&ts, "anon-persons").await;
    let resp = ts
        .http
        .post(ts.url("/api/applications"))
        .bearer_auth(&rob)
        .json(&json!({
            "title": "Sex ratio", "datasets": ["anon-persons"], "tier": "anonymized",
            "purpose": "teaching", "protocol": "v1",
            "requested_from": "2020-01-01", "requested_to": "2099-12-31"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let id = resp.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let resp = ts
        .http
        .post(ts.url(&format!("/api/applications/{id}/reviews")))
        .bearer_auth(&rita)
        .json(&json!({"decision": "approve", "comment": "ok"}))
        .send()
        .await
        .unwrap();
    let project = resp.json::<Value>().await.unwrap()["project"]
        .as_str()
        .unwrap()
        .to_string();
    let query = |tok: &str, sql: &str| {
        ts.http
            .post(ts.url(&format!("/api/projects/{project}/query")))
            .bearer_auth(tok)
            .json(&json!({"sql": sql}))
            .send()
    };
    let resp = query(
        &rob,
        "SELECT sex, count(*) AS n FROM persons GROUP BY sex ORDER BY sex",
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let out: Value = resp.json().await.unwrap();
    assert_eq!(out["columns"], json!(["sex", "n"]));
    assert_eq!(out["rows"], json!([["F", "10"], ["M", "20"]]));
    assert!(
        out["read"][0]
            .as_str()
            .unwrap()
            .starts_with("anon-persons@v1#")
    );
    // Bad SQL names the caller's own text; a reviewer is no member.
    assert_eq!(
        query(&rob, "SELECT nope FROM persons")
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        query(&rita, "SELECT 1").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // The stored files stay inside even for the project's own member.
    let resp = ts
        .http
        .get(ts.url(&format!(
            "/api/datasets/anon-persons/versions/1/tables/persons/rows?project={project}"
        )))
        .bearer_auth(&rob)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Saved results live in the workspace and are listed.
    let resp = ts
        .http
        .post(ts.url(&format!("/api/projects/{project}/results")))
        .bearer_auth(&rob)
        .json(&json!({"name": "by_sex", "sql": "SELECT release_id, sex FROM persons"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.json::<Value>().await.unwrap()["rows"], 30);
    let listed: Value = ts
        .http
        .get(ts.url(&format!("/api/projects/{project}/results")))
        .bearer_auth(&rob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["name"], "by_sex");
    let resp = query(&rob, "SELECT count(*) AS n FROM by_sex")
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["rows"], json!([["30"]]));

    // The release flow over the API: the member asks, the checks run on distinct persons
    // (20 men, 10 women: both cells publishable), a reviewer who is not the requester decides.
    let resp = ts
        .http
        .post(ts.url(&format!("/api/projects/{project}/releases")))
        .bearer_auth(&rob)
        .json(&json!({"result": "by_sex", "rows": ["sex"], "mitigation": "round:1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "round:1 accepted");
    let resp = ts
        .http
        .post(ts.url(&format!("/api/projects/{project}/releases")))
        .bearer_auth(&rob)
        .json(&json!({"result": "by_sex", "rows": ["sex"], "margins": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let checked: Value = resp.json().await.unwrap();
    assert_eq!(checked["primary"], 0, "{checked}");
    let id = checked["request"]["id"].as_str().unwrap().to_string();
    let listed: Value = ts
        .http
        .get(ts.url(&format!("/api/projects/{project}/releases")))
        .bearer_auth(&rita)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["status"], "pending");
    let review = |tok: &str| {
        ts.http
            .post(ts.url(&format!("/api/releases/{id}/review")))
            .bearer_auth(tok.to_string())
            .json(&json!({"approve": true, "comment": "ok"}))
            .send()
    };
    assert_eq!(review(&rob).await.unwrap().status(), StatusCode::FORBIDDEN);
    let resp = review(&rita).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let done: Value = resp.json().await.unwrap();
    assert_eq!(done["status"], "approved");
    let released = done["released_dataset"].as_str().unwrap();
    assert!(released.starts_with("release-"), "{released}");
}

/// Finding 4 of the attack on the served demo: credentials could not be taken back — tokens
/// never expired, nobody could list or revoke them, disable a user, reset a password or close
/// a project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_expire_and_are_taken_back() {
    let ts = start().await;
    ts.registry.create_org("lab").await.unwrap();
    user(&ts, "rex", Role::Researcher, Some("lab")).await;
    user(&ts, "eve", Role::Researcher, Some("lab")).await;
    user(&ts, "otto", Role::Operator, None).await;
    let otto = ts.registry.create_token("otto", "admin").await.unwrap();
    let me = |tok: &str| {
        ts.http
            .get(ts.url("/api/session"))
            .bearer_auth(tok.to_string())
            .send()
    };
    // A token is created with an expiry and listed (never with its secret).
    let (cookie, csrf) = login(&ts, "rex").await;
    let resp = ts
        .http
        .post(ts.url("/api/tokens"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"label": "script", "days": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.unwrap();
    let rex = created["token"].as_str().unwrap().to_string();
    assert!(created["expires_at"].as_str().unwrap().len() >= 20);
    assert_eq!(me(&rex).await.unwrap().status(), StatusCode::OK);
    let listed: Value = ts
        .http
        .get(ts.url("/api/tokens"))
        .bearer_auth(&rex)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mine: Vec<&Value> = listed.as_array().unwrap().iter().collect();
    assert_eq!(mine.len(), 1, "{listed}");
    assert!(
        !listed.to_string().contains(&rex[10..]),
        "a secret was listed"
    );
    let id = mine[0]["id"].as_i64().unwrap();
    // Another user can neither see nor revoke it.
    let eve = ts.registry.create_token("eve", "t").await.unwrap();
    let resp = ts
        .http
        .post(ts.url(&format!("/api/tokens/{id}/revoke")))
        .bearer_auth(&eve)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(me(&rex).await.unwrap().status(), StatusCode::OK);
    // Its owner revokes it: it stops at the next request.
    let resp = ts
        .http
        .post(ts.url(&format!("/api/tokens/{id}/revoke")))
        .bearer_auth(&rex)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&rex).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // An expired token is refused.
    let old = ts.registry.create_token("rex", "old").await.unwrap();
    assert_eq!(me(&old).await.unwrap().status(), StatusCode::OK);
    sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE label = 'old'")
        .execute(ts.store().pool())
        .await
        .unwrap();
    assert_eq!(me(&old).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // An operator disables eve: her token and session stop; enabling restores them; the
    // operator resets her password.
    let admin = |path: String, body: Value| {
        ts.http
            .post(ts.url(&path))
            .bearer_auth(&otto)
            .json(&body)
            .send()
    };
    let (eve_cookie, _) = login(&ts, "eve").await;
    let eve_session = || {
        ts.http
            .get(ts.url("/api/session"))
            .header("cookie", eve_cookie.clone())
            .send()
    };
    assert_eq!(eve_session().await.unwrap().status(), StatusCode::OK);
    let resp = admin("/api/users/eve/disable".into(), json!({}))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&eve).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        eve_session().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    admin("/api/users/eve/enable".into(), json!({}))
        .await
        .unwrap();
    assert_eq!(me(&eve).await.unwrap().status(), StatusCode::OK);
    let resp = admin(
        "/api/users/eve/password".into(),
        json!({"password": "a brand new password"}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = ts
        .http
        .post(ts.url("/api/session"))
        .json(&json!({"username": "eve", "password": "a brand new password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Only operators do these.
    let resp = ts
        .http
        .post(ts.url("/api/users/rex/disable"))
        .bearer_auth(&eve)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Closing a project takes its members' access away at once.
    write_anonymized_persons(&ts, "anon-c").await;
    user(&ts, "rita", Role::Reviewer, None).await;
    let rita = ts.registry.create_token("rita", "t").await.unwrap();
    let project = common::approved_anonymized_project(&ts, &eve, &rita, "anon-c").await;
    let query = || {
        ts.http
            .post(ts.url(&format!("/api/projects/{project}/query")))
            .bearer_auth(&eve)
            .json(&json!({"sql": "SELECT count(*) AS n FROM persons"}))
            .send()
    };
    assert_eq!(query().await.unwrap().status(), StatusCode::OK);
    let resp = admin(format!("/api/projects/{project}/close"), json!({}))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(query().await.unwrap().status(), StatusCode::FORBIDDEN);
}

/// The privacy budget over the API: the project's member sees what DP releases spent and
/// what is left, only an operator sets it, a stranger sees nothing, and a total below what is
/// spent would give privacy back, so it is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_privacy_budget_is_read_by_members_and_set_by_operators() {
    let ts = start().await;
    ts.registry.create_org("uni").await.unwrap();
    user(&ts, "rob", Role::Researcher, Some("uni")).await;
    user(&ts, "sam", Role::Researcher, Some("uni")).await;
    user(&ts, "rita", Role::Reviewer, None).await;
    user(&ts, "olga", Role::Operator, None).await;
    let rob = ts.registry.create_token("rob", "t").await.unwrap();
    let sam = ts.registry.create_token("sam", "t").await.unwrap();
    let rita = ts.registry.create_token("rita", "t").await.unwrap();
    let olga = ts.registry.create_token("olga", "t").await.unwrap();
    let project =
        common::approved_anonymized_project(&ts, &rob, &rita, &ds(Tier::Anonymized)).await;
    let url = ts.url(&format!("/api/projects/{project}/privacy-budget"));
    let get = |tok: &str| ts.http.get(&url).bearer_auth(tok).send();
    let put = |tok: &str, eps: f64| {
        ts.http
            .put(&url)
            .bearer_auth(tok)
            .json(&json!({ "epsilon": eps }))
            .send()
    };
    let none: Value = get(&rob).await.unwrap().json().await.unwrap();
    assert_eq!(none["set"], json!(false));
    // Neither the member nor the reviewer sets a budget; a stranger cannot read it.
    assert_eq!(
        put(&rob, 5.0).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(&rita, 5.0).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(get(&sam).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        ts.http.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let set = put(&olga, 2.0).await.unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let set: Value = set.json().await.unwrap();
    assert_eq!(set["epsilon_total"], json!(2.0));
    assert_eq!(set["set_by"], json!("olga"));
    let seen: Value = get(&rob).await.unwrap().json().await.unwrap();
    assert_eq!(seen["set"], json!(true));
    assert_eq!(seen["epsilon_remaining"], json!(2.0));
    // Spend some, then try to set the total below it.
    ts.registry
        .charge_dp(&project, "test release", 1_500_000, "rob")
        .await
        .unwrap();
    let seen: Value = get(&rob).await.unwrap().json().await.unwrap();
    assert_eq!(seen["epsilon_spent"], json!(1.5));
    assert_eq!(seen["epsilon_remaining"], json!(0.5));
    let lower = put(&olga, 1.0).await.unwrap();
    assert_eq!(
        lower.status(),
        StatusCode::BAD_REQUEST,
        "{:?}",
        lower.text().await
    );
    assert_eq!(
        put(&olga, -1.0).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    // The refusals are in the audit log, with their rule.
    let entries = medinfra_govern::AuditLog::new(ts.store())
        .entries(None)
        .await
        .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.actor == "rob" && e.action == "privacy_budget_set" && e.outcome == "denied")
    );
    assert!(
        entries
            .iter()
            .any(|e| e.actor == "sam" && e.action == "privacy_budget" && e.outcome == "denied")
    );
}
