//! Starting the webhook receiver, scripting its answers and reading what was posted.

use crate::receive::receive;
use axum::Router;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A scripted answer instead of `200 ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlackFault {
    /// 400 `invalid_payload`.
    InvalidPayload,
    /// 403 `action_prohibited`.
    ActionProhibited,
    /// 404 `channel_not_found`.
    ChannelNotFound,
    /// 404 `no_service`.
    NoService,
    /// 410 `channel_is_archived`.
    ChannelIsArchived,
    /// 429 `rate_limited` with `Retry-After`.
    RateLimited { retry_after_secs: u64 },
    /// 500 `rollup_error`.
    ServerError,
    /// 503 `service_unavailable`.
    Unavailable,
    /// No answer until the simulator stops.
    Hang,
}

impl SlackFault {
    pub(crate) fn answer(self) -> (u16, &'static str) {
        match self {
            SlackFault::InvalidPayload => (400, "invalid_payload"),
            SlackFault::ActionProhibited => (403, "action_prohibited"),
            SlackFault::ChannelNotFound => (404, "channel_not_found"),
            SlackFault::NoService => (404, "no_service"),
            SlackFault::ChannelIsArchived => (410, "channel_is_archived"),
            SlackFault::RateLimited { .. } => (429, "rate_limited"),
            SlackFault::ServerError => (500, "rollup_error"),
            SlackFault::Unavailable | SlackFault::Hang => (503, "service_unavailable"),
        }
    }
}

/// One request the webhook received and what it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub path: String,
    pub content_type: String,
    /// The message (`Null` when the body was not JSON).
    pub payload: Value,
    pub status: u16,
    pub answer: String,
}

pub(crate) struct Shared {
    /// `/services/T.../B.../<secret>`
    pub path: String,
    pub posts: Mutex<Vec<Post>>,
    pub faults: Mutex<VecDeque<SlackFault>>,
    pub retry_after: Mutex<u64>,
    pub revoked: Mutex<bool>,
    pub archived: Mutex<bool>,
    pub stops: watch::Sender<bool>,
}

impl Shared {
    pub async fn hang(&self) {
        let mut stops = self.stops.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(600), stops.wait_for(|s| *s)).await;
    }
}

/// A Slack incoming webhook on 127.0.0.1.
pub struct SlackSim {
    /// The webhook URL to configure (a secret, as a real one is).
    pub webhook_url: String,
    /// `http://127.0.0.1:P`
    pub base_url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl SlackSim {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let secret = uuid::Uuid::new_v4().simple().to_string();
        let path = format!("/services/T0LOADOUT/B0APPROVALS/{}", &secret[..24]);
        let (stops, mut stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            path: path.clone(),
            posts: Mutex::default(),
            faults: Mutex::default(),
            retry_after: Mutex::new(1),
            revoked: Mutex::new(false),
            archived: Mutex::new(false),
            stops,
        });
        let app = Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "Slack simulator listener failed");
            }
        });
        Ok(Self {
            webhook_url: format!("{base_url}{path}"),
            base_url,
            shared,
            task,
        })
    }

    /// The next `n` posts get `fault` instead of `200 ok`.
    pub fn fail_next(&self, n: usize, fault: SlackFault) {
        lock(&self.shared.faults).extend(std::iter::repeat_n(fault, n));
    }

    /// The webhook was removed: 404 `no_service` from now on.
    pub fn revoke(&self) {
        *lock(&self.shared.revoked) = true;
    }

    /// Its channel was archived: 410 `channel_is_archived` from now on.
    pub fn archive_channel(&self) {
        *lock(&self.shared.archived) = true;
    }

    /// Every request received, in order.
    pub fn posts(&self) -> Vec<Post> {
        lock(&self.shared.posts).clone()
    }

    /// The messages Slack accepted (answered `200 ok`).
    pub fn delivered(&self) -> Vec<Post> {
        self.posts()
            .into_iter()
            .filter(|p| p.status == 200)
            .collect()
    }

    pub async fn shutdown(self) {
        let _ = self.shared.stops.send(true);
        let _ = self.task.await;
    }
}
