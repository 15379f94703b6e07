//! Where workspace queries run: their own runtime (so a saturated query never starves the
//! API's threads — the attack on the served demo left `/api/openapi.json` unanswered for eight
//! minutes under three anonymous cross joins), a global number of slots plus a smaller one for
//! anonymous callers, a wait for a slot that is bounded, cancellation when the request goes
//! away (the task is aborted, which drops DataFusion's streams and stops their work), and
//! cancellation of everything still running when the server shuts down, and an allowance of
//! queries per minute for each client (a signed-in user, or an address for the public), so
//! one client cannot keep the slots to itself by asking again and again.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;

use crate::auth::LoginLimiter;
use crate::error::ApiError;

/// How many queries run at once, and how long a request waits for a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolLimits {
    /// Queries running at once, over all callers.
    pub slots: usize,
    /// Of those, at most this many for callers who are not signed in.
    pub public_slots: usize,
    /// A request that gets no slot within this time is answered 503.
    pub wait: Duration,
    /// Threads of the query runtime.
    pub threads: usize,
    /// Queries per minute for each signed-in user (0: no limit).
    pub per_user_per_minute: usize,
    /// Queries per minute for each address of callers who are not signed in (0: no limit).
    pub public_per_address_per_minute: usize,
}

/// Who a per-client allowance is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    User(String),
    Address(std::net::IpAddr),
    /// No address known (a server started without connection info): one shared allowance.
    Unknown,
}

impl Default for PoolLimits {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        PoolLimits {
            slots: cpus.max(2),
            public_slots: 1,
            wait: Duration::from_secs(5),
            threads: cpus,
            per_user_per_minute: 120,
            public_per_address_per_minute: 20,
        }
    }
}

/// The query runtime and its slots.
pub struct QueryPool {
    runtime: Option<tokio::runtime::Runtime>,
    slots: Arc<Semaphore>,
    public: Arc<Semaphore>,
    wait: Duration,
    stop: watch::Sender<bool>,
    per_user: Option<LoginLimiter<Client>>,
    per_address: Option<LoginLimiter<Client>>,
}

/// Aborts the task when dropped: a request that goes away takes its query with it.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl QueryPool {
    pub fn new(limits: &PoolLimits) -> std::io::Result<QueryPool> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(limits.threads.max(1))
            .thread_name("medinfra-query")
            .enable_all()
            .build()?;
        Ok(QueryPool {
            runtime: Some(runtime),
            slots: Arc::new(Semaphore::new(limits.slots.max(1))),
            public: Arc::new(Semaphore::new(limits.public_slots.max(1))),
            wait: limits.wait,
            stop: watch::channel(false).0,
            per_user: (limits.per_user_per_minute > 0)
                .then(|| LoginLimiter::new(limits.per_user_per_minute, Duration::from_secs(60))),
            per_address: (limits.public_per_address_per_minute > 0).then(|| {
                LoginLimiter::new(
                    limits.public_per_address_per_minute,
                    Duration::from_secs(60),
                )
            }),
        })
    }

    async fn slot(&self, sem: &Arc<Semaphore>) -> Result<OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.wait, sem.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(ApiError::Busy),
        }
    }

    /// Runs `work` on the query runtime once a slot is free (the public slot too for a caller
    /// who is not signed in); 503 when none frees up in time or the server is stopping. The
    /// work's own time limit should stop it first; `limit` (plus a second's grace) is the
    /// backstop, kept here where no query can starve the timer, and aborts the task.
    ///
    /// Before anything waits, the query is counted against `client`'s allowance for the
    /// minute: over it, 429 with the seconds until the allowance frees up.
    pub async fn run<T, F>(&self, client: &Client, limit: Duration, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let signed_in = matches!(client, Client::User(_));
        let allowance = if signed_in {
            &self.per_user
        } else {
            &self.per_address
        };
        if let Some(limiter) = allowance
            && let Err(wait) = limiter.admit(client.clone())
        {
            return Err(ApiError::RateLimited {
                retry_after: wait.as_secs().max(1),
            });
        }
        let public = if signed_in {
            None
        } else {
            Some(self.slot(&self.public).await?)
        };
        let permit = self.slot(&self.slots).await?;
        let Some(runtime) = &self.runtime else {
            return Err(ApiError::Busy);
        };
        let mut stopping = self.stop.subscribe();
        if *stopping.borrow() {
            return Err(ApiError::Busy);
        }
        let mut task = AbortOnDrop(runtime.spawn(async move {
            let out = work.await;
            drop((permit, public));
            out
        }));
        let backstop = tokio::time::sleep(limit + Duration::from_secs(1));
        tokio::select! {
            joined = &mut task.0 => joined.map_err(|e| ApiError::Internal(format!("query task: {e}"))),
            _ = stopping.wait_for(|s| *s) => Err(ApiError::Busy),
            _ = backstop => Err(ApiError::BadRequest(format!(
                "the query was stopped at its time limit ({} s)",
                limit.as_secs()
            ))),
        }
    }

    /// Cancels every running query and refuses new ones (graceful shutdown).
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

impl Drop for QueryPool {
    fn drop(&mut self) {
        // Dropping a runtime blocks until its threads finish, which panics inside another
        // runtime; shutting it down in the background does not wait.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
