//! HTTPS inside the server: a real TLS handshake against a self-signed certificate made in the
//! test, the `Secure` flag on session cookies, no plain HTTP on the TLS port, and errors that
//! name the file and the reason for a missing, malformed or mismatched certificate or key.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::start_with;
use medinfra_govern::{NewUser, Role};
use medinfra_server::{ServerConfig, ServerError, TlsConfig, TlsError};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PW: &str = "a long enough password";

struct Pki {
    cert_pem: String,
    cert_der: rustls::pki_types::CertificateDer<'static>,
    key_pem: String,
}

fn self_signed() -> Pki {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    Pki {
        cert_pem: ck.cert.pem(),
        cert_der: ck.cert.der().clone(),
        key_pem: ck.signing_key.serialize_pem(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A client that trusts exactly this certificate, through the ring provider.
fn client_trusting(pki: &Pki, addr: std::net::SocketAddr) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.cert_der.clone()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .resolve("localhost", addr)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_login_sets_a_secure_cookie_and_plain_http_is_refused() {
    let pki = self_signed();
    let keys = tempfile::tempdir().unwrap();
    let cert = write(keys.path(), "chain.pem", &pki.cert_pem);
    let key = write(keys.path(), "key.pem", &pki.key_pem);
    let ts = start_with(|c| c.tls = Some(TlsConfig::new(&cert, &key))).await;
    ts.registry
        .create_user(&NewUser {
            username: "olga",
            role: Role::Operator,
            organization: None,
            password: PW,
        })
        .await
        .unwrap();
    let https = client_trusting(&pki, ts.server.addr);
    let base = format!("https://localhost:{}", ts.server.addr.port());

    let resp = https
        .post(format!("{base}/api/session"))
        .json(&json!({"username": "olga", "password": PW}))
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
    let attributes: Vec<&str> = set.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"Secure"), "{set}");
    assert!(attributes.contains(&"HttpOnly"), "{set}");
    assert!(attributes.contains(&"SameSite=Strict"), "{set}");
    let cookie = attributes[0].to_string();

    // The session works over the same TLS connection pool.
    let me: Value = https
        .get(format!("{base}/api/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "olga");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = ts
        .http
        .get(format!("http://{}/api/openapi.json", ts.server.addr))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP answered: {plain:?}");

    // A client that does not trust the certificate cannot connect.
    let other = self_signed();
    let untrusting = client_trusting(&other, ts.server.addr);
    assert!(
        untrusting
            .get(format!("{base}/api/openapi.json"))
            .send()
            .await
            .is_err()
    );

    // The server still answers after the failed handshakes.
    let resp = https
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    ts.server.stop().await.unwrap();
}

fn tls_error(tls: TlsConfig) -> TlsError {
    medinfra_server::tls::server_config(&tls).unwrap_err()
}

#[test]
fn bad_certificates_and_keys_are_named_with_the_reason() {
    let pki = self_signed();
    let dir = tempfile::tempdir().unwrap();
    let cert = write(dir.path(), "chain.pem", &pki.cert_pem);
    let key = write(dir.path(), "key.pem", &pki.key_pem);
    assert!(medinfra_server::tls::server_config(&TlsConfig::new(&cert, &key)).is_ok());

    // Missing certificate file.
    let missing = dir.path().join("nope.pem");
    let e = tls_error(TlsConfig::new(&missing, &key));
    assert!(matches!(e, TlsError::Certificate { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("nope.pem") && msg.contains("No such file"),
        "{msg}"
    );

    // A file with no certificate in it (the key given as the chain).
    let e = tls_error(TlsConfig::new(&key, &key));
    let msg = e.to_string();
    assert!(matches!(e, TlsError::Certificate { .. }), "{e:?}");
    assert!(
        msg.contains("key.pem") && msg.contains("no CERTIFICATE block"),
        "{msg}"
    );

    // A key file with no key in it (the certificate given as the key).
    let e = tls_error(TlsConfig::new(&cert, &cert));
    let msg = e.to_string();
    assert!(matches!(e, TlsError::Key { .. }), "{e:?}");
    assert!(
        msg.contains("chain.pem") && msg.contains("private key"),
        "{msg}"
    );

    // Damaged base64 inside a certificate block.
    let broken = write(
        dir.path(),
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
    );
    let e = tls_error(TlsConfig::new(&broken, &key));
    let msg = e.to_string();
    assert!(
        msg.contains("broken.pem") && msg.contains("not valid PEM"),
        "{msg}"
    );

    // A key that does not belong to the certificate.
    let other = self_signed();
    let other_key = write(dir.path(), "other-key.pem", &other.key_pem);
    let e = tls_error(TlsConfig::new(&cert, &other_key));
    let msg = e.to_string();
    assert!(matches!(e, TlsError::Config { .. }), "{e:?}");
    assert!(
        msg.contains("chain.pem") && msg.contains("other-key.pem"),
        "{msg}"
    );
    // No key material in any message.
    let body: String = other
        .key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(!msg.contains(&body[..20]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_stops_the_server_before_it_binds() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    cfg.tls = Some(TlsConfig::new(
        dir.path().join("chain.pem"),
        dir.path().join("key.pem"),
    ));
    let Err(e) = medinfra_server::spawn(cfg).await else {
        panic!("server started without a certificate");
    };
    assert!(matches!(e, ServerError::Tls(_)), "{e:?}");
    assert!(e.to_string().contains("chain.pem"), "{e}");
    // Nothing was created in the data directory.
    assert!(!dir.path().join("catalog.sqlite").exists());
    assert!(!dir.path().join("catalog.json").exists());
}
