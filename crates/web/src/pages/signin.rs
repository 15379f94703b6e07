//! Sign-in and sign-out through the registry (argon2id, lock-out, the per-address limit),
//! audited like the API's; the language switch.

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use medinfra_server::ApiError;
use medinfra_server::SESSION_COOKIE;

use crate::ctx::{CSRF_COOKIE, Ctx, PageError, PageResult, Web, WebError};
use crate::i18n::{LANG_COOKIE, Lang, Tr};

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    t: &'static Tr,
    lang: &'a str,
    switch_href: String,
    other_lang: &'a str,
    message: Option<&'a str>,
    username: &'a str,
}

fn sign_in_page(lang: Lang, message: Option<&str>, username: &str, status: u16) -> Response {
    let page = SignInPage {
        t: lang.tr(),
        lang: lang.code(),
        switch_href: format!("/ui/lang/{}?back=/ui/login", lang.other().code()),
        other_lang: lang.other().code(),
        message,
        username,
    };
    match page.render() {
        Ok(html) => (
            axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK),
            [(header::CACHE_CONTROL, "no-store")],
            axum::response::Html(html),
        )
            .into_response(),
        Err(e) => PageError {
            lang,
            error: WebError::Internal(e.to_string()),
            signed_in: false,
        }
        .into_response(),
    }
}

pub async fn form(headers: HeaderMap) -> Response {
    sign_in_page(Lang::of(&headers), None, "", 200)
}

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

pub async fn submit(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let lang = Lang::of(&headers);
    let t = lang.tr();
    let state = &web.app;
    // Login CSRF: another site must not sign a victim's browser into the attacker's account
    // (there is no session yet, so no token to check; the browser says where the form came
    // from).
    if cross_site(&headers) {
        return PageError {
            lang,
            error: WebError::Denied("same-origin-sign-in".into()),
            signed_in: false,
        }
        .into_response();
    }
    let (_, session) = match state
        .sign_in(peer.ip(), &c.username, &c.password, " (web)")
        .await
    {
        Ok(s) => s,
        Err(ApiError::TooMany) => return sign_in_page(lang, Some(t.too_many), &c.username, 429),
        Err(ApiError::Unauthorized) => {
            return sign_in_page(lang, Some(t.wrong_login), &c.username, 401);
        }
        Err(e) => {
            return PageError {
                lang,
                error: e.into(),
                signed_in: false,
            }
            .into_response();
        }
    };
    let ttl = state.session_ttl().as_secs();
    let secure = if state.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let mut response = crate::pages::see_other("/ui");
    for cookie in [
        state.session_cookie(&session.token),
        format!(
            "{CSRF_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/ui; Max-Age={ttl}{secure}",
            session.csrf
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// Whether a form post came from another site: `Sec-Fetch-Site: cross-site`, or an `Origin`
/// whose host is not this request's `Host`.
fn cross_site(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if text("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    match (text("origin"), text("host")) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split("://").nth(1).unwrap_or("");
            origin != "null" && origin_host != host
        }
        (Some("null"), None) => true,
        _ => false,
    }
}

pub async fn logout(State(web): State<Web>, ctx: Ctx) -> PageResult {
    if let Some(id) = ctx.caller.session {
        web.app
            .registry()
            .end_session(id)
            .await
            .map_err(|e| ctx.fail(medinfra_server::ApiError::from(e)))?;
        web.app
            .record(ctx.username(), "logout", "session", "allowed", "web".into())
            .await
            .map_err(|e| ctx.fail(e))?;
    }
    let mut response = crate::pages::see_other("/ui");
    for cookie in [
        format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        format!("{CSRF_COOKIE}=; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=0"),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// Remember the language and go back to the page (only to a UI page of this site).
pub async fn switch_language(Path(lang): Path<String>, Query(q): Query<Back>) -> Response {
    let lang = Lang::parse(&lang).unwrap_or(Lang::Ja);
    let back = q
        .back
        .filter(|b| b.starts_with("/ui") && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/ui".into());
    let mut response = crate::pages::see_other(&back);
    let cookie = format!(
        "{LANG_COOKIE}={}; SameSite=Strict; Path=/; Max-Age=31536000",
        lang.code()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn sign_in_posts_from_other_sites_are_recognized() {
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "medinfra.example:8080"),
        ])));
        assert!(!cross_site(&headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ])));
        // Programs without browser headers (curl) are not refused.
        assert!(!cross_site(&headers(&[("host", "127.0.0.1:8080")])));
    }
}
