//! Who is calling: a bearer API token (`Authorization: Bearer mit_...`), a session cookie
//! (`medinfra_session=mis_...`, with `X-CSRF-Token` required on every state-changing request),
//! or nobody (the public). Invalid credentials are refused, never downgraded to the public.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

use medinfra_govern::{Actor, RegistryError, Role, Session, now_unix, today};

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "medinfra_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller of a request and the actor `can` decides about.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    /// Signed in through a session cookie (the login session's id).
    pub session: Option<i64>,
    pub today: i32,
    /// The client's address (the connection's peer; `None` where the server was not started
    /// with connection info, as in some tests).
    pub peer: Option<IpAddr>,
}

impl Caller {
    /// Who a per-client limit counts against: the signed-in user (wherever they connect
    /// from), else the address.
    pub fn client(&self) -> crate::pool::Client {
        if self.signed_in() {
            crate::pool::Client::User(self.actor.user.clone())
        } else {
            match self.peer {
                Some(ip) => crate::pool::Client::Address(ip),
                None => crate::pool::Client::Unknown,
            }
        }
    }

    pub fn signed_in(&self) -> bool {
        self.actor.role != Role::Public
    }

    /// 401 for the public, else nothing.
    pub fn require_signed_in(&self) -> Result<(), ApiError> {
        if self.signed_in() {
            Ok(())
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

pub fn public_actor() -> Actor {
    Actor {
        user: "public".into(),
        role: Role::Public,
        authorization: None,
        memberships: vec![],
    }
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Actors by credential, valid while the registry generation is unchanged (see
/// `Registry::generation`): one small query per request instead of loading the account, the
/// organization's authorizations and the memberships every time, and still exact — any
/// registry change, from any process, invalidates every entry.
#[derive(Debug, Default)]
pub struct ActorCache {
    map: Mutex<HashMap<String, Cached>>,
}

#[derive(Debug, Clone)]
struct Cached {
    generation: i64,
    today: i32,
    actor: Actor,
    session: Option<Session>,
    /// When the credential (a session or an API token) stops working, Unix seconds.
    expires_at: i64,
}

/// Bound on cached credentials (cleared wholesale when reached).
const CACHE_MAX: usize = 10_000;

impl ActorCache {
    fn get(&self, credential: &str, generation: i64, today: i32) -> Option<Cached> {
        let map = self.map.lock().ok()?;
        let c = map.get(credential)?;
        let live = c.generation == generation && c.today == today && c.expires_at > now_unix();
        live.then(|| c.clone())
    }

    fn put(&self, credential: &str, c: Cached) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= CACHE_MAX {
                map.clear();
            }
            map.insert(credential.to_string(), c);
        }
    }
}

async fn load(
    state: &AppState,
    credential: &str,
    bearer: bool,
    generation: i64,
    today: i32,
) -> Result<Cached, ApiError> {
    let (username, session, expires_at) = if bearer {
        match state.registry.token_owner(credential).await? {
            Some((u, expires_at)) => (u, None, expires_at),
            None => return Err(ApiError::Unauthorized),
        }
    } else {
        match state.registry.session(credential).await? {
            Some(s) => (s.username.clone(), Some(s.clone()), s.expires_at),
            None => return Err(ApiError::Unauthorized),
        }
    };
    let actor = match state.registry.actor(&username, today).await {
        // A disabled account's actor is the public: its credentials stop working altogether.
        Ok(a) if a.role == Role::Public => return Err(ApiError::Unauthorized),
        Ok(a) => a,
        Err(RegistryError::NotFound(_)) => return Err(ApiError::Unauthorized),
        Err(e) => return Err(e.into()),
    };
    Ok(Cached {
        generation,
        today,
        actor,
        session,
        expires_at,
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let today = today();
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let bearer = parts.headers.get(header::AUTHORIZATION).map(|v| {
            v.to_str()
                .unwrap_or("")
                .strip_prefix("Bearer ")
                .unwrap_or("")
                .trim()
        });
        let (credential, is_bearer) = match bearer {
            Some(b) => (b, true),
            None => match cookie(&parts.headers, SESSION_COOKIE) {
                Some(c) => (c, false),
                None => {
                    return Ok(Caller {
                        actor: public_actor(),
                        session: None,
                        today,
                        peer,
                    });
                }
            },
        };
        // Read the generation before loading: a change made while loading leaves the entry
        // stale, never wrong.
        let generation = state.registry.generation().await?;
        let cached = match state.actors.get(credential, generation, today) {
            Some(c) => c,
            None => {
                let c = load(state, credential, is_bearer, generation, today).await?;
                state.actors.put(credential, c.clone());
                c
            }
        };
        if let Some(s) = &cached.session
            && !is_safe(&parts.method)
        {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !s.csrf_matches(presented) {
                return Err(ApiError::Forbidden("csrf-token-required"));
            }
        }
        Ok(Caller {
            actor: cached.actor,
            session: cached.session.map(|s| s.id),
            today,
            peer,
        })
    }
}

/// Attempts per key (a client address; or an address and an account, for failures) in a
/// sliding window.
#[derive(Debug)]
pub struct LoginLimiter<K = IpAddr> {
    max: usize,
    window: Duration,
    seen: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: std::hash::Hash + Eq + Clone> LoginLimiter<K> {
    pub fn new(max: usize, window: Duration) -> Self {
        LoginLimiter {
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` has used up its window, without counting anything.
    pub fn exhausted(&self, key: &K) -> bool {
        let now = Instant::now();
        let Ok(seen) = self.seen.lock() else {
            return true;
        };
        seen.get(key).is_some_and(|q| {
            q.iter()
                .filter(|t| now.duration_since(**t) < self.window)
                .count()
                >= self.max
        })
    }

    /// Count an attempt; false when `key` is over its limit.
    pub fn allow(&self, key: K) -> bool {
        self.admit(key).is_ok()
    }

    /// Count an attempt; when `key` is over its limit, how long until its oldest attempt
    /// leaves the window (nothing is counted then).
    pub fn admit(&self, ip: K) -> Result<(), Duration> {
        let now = Instant::now();
        let Ok(mut seen) = self.seen.lock() else {
            return Err(self.window);
        };
        if seen.len() > 100_000 {
            // Bounded memory under a spray of addresses: forget windows that have passed.
            seen.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let q = seen.entry(ip).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= self.max {
            let oldest = q.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        q.push_back(now);
        Ok(())
    }
}
