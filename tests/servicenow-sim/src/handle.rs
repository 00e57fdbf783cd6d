//! Starting the instance and everything a test does to it in-process: decide requests as an
//! approver (which fires the callback), hold, delay, repeat or reorder callbacks, script
//! failures, take the instance down and up, and read what it holds and sent.

use crate::callback::{self, Decision};
use crate::config::{Credentials, SimConfig};
use crate::faults::{Fault, FaultScript};
use crate::routes::dispatch;
use crate::state::{CallbackDelivery, ReceivedCall, Shared, Ticket, glide_time, lock};
use axum::Router;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("no ticket has u_uem_request_id {0:?}")]
    UnknownRequest(String),
    #[error("no callback was sent for {0:?} yet")]
    NoCallback(String),
    #[error("the instance cannot listen again on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// How held callbacks go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    AsDecided,
    Reversed,
}

struct Server {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// A simulated ServiceNow instance on 127.0.0.1.
pub struct ServiceNowSim {
    /// The instance URL, `http://127.0.0.1:P` (the `https://<instance>.service-now.com` of a
    /// real one).
    pub base_url: String,
    pub namespace: String,
    pub credentials: Credentials,
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::sync::Mutex<Option<Server>>,
}

impl std::fmt::Debug for ServiceNowSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceNowSim")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ServiceNowSim {
    /// Binds a free port on 127.0.0.1.
    pub async fn start(config: SimConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let (stops, _) = watch::channel(0u64);
        let faults = FaultScript::new();
        let shared = Arc::new(Shared {
            next_number: Mutex::new(config.first_number),
            tickets: Mutex::default(),
            tokens: Mutex::default(),
            faults: Mutex::new(faults),
            calls: Mutex::default(),
            callbacks: Mutex::default(),
            held: Mutex::default(),
            holding: Mutex::new(false),
            callback_delay: Mutex::new(Duration::ZERO),
            http,
            stops,
            config: config.clone(),
        });
        let server = serve(listener, Arc::clone(&shared));
        Ok(Self {
            base_url: format!("http://{addr}"),
            namespace: config.namespace,
            credentials: config.credentials,
            addr,
            shared,
            server: tokio::sync::Mutex::new(Some(server)),
        })
    }

    /// `POST` here to open an approval request.
    pub fn approval_url(&self) -> String {
        format!(
            "{}/api/{}/appapproval/request",
            self.base_url, self.namespace
        )
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth_token.do", self.base_url)
    }

    // ---- faults ---------------------------------------------------------------------------

    /// The next `n` REST calls answer `status` (429 with `Retry-After`, or a 5xx) and do nothing.
    pub fn fail_next(&self, n: usize, status: u16) {
        lock(&self.shared.faults).push(n, Fault::Status(status));
    }

    /// The next `n` REST calls do their work (an approval request is inserted) and then answer
    /// `status`: the caller cannot tell that it worked.
    pub fn fail_after_insert_next(&self, n: usize, status: u16) {
        lock(&self.shared.faults).push(n, Fault::StatusAfterInsert(status));
    }

    /// The next `n` REST calls are never answered (the caller's timeout ends them).
    pub fn hang_next(&self, n: usize) {
        lock(&self.shared.faults).push(n, Fault::Hang);
    }

    /// The next `n` REST calls do their work and are then never answered.
    pub fn hang_after_insert_next(&self, n: usize) {
        lock(&self.shared.faults).push(n, Fault::HangAfterInsert);
    }

    /// How long scripted 429s ask callers to wait (default one second).
    pub fn set_retry_after(&self, wait: Duration) {
        lock(&self.shared.faults).retry_after = wait;
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Every access token issued so far stops working.
    pub fn expire_tokens(&self) {
        lock(&self.shared.tokens).clear();
    }

    /// Stops listening: connections are refused until [`Self::come_up`]. Hung requests end.
    pub async fn go_down(&self) {
        let mut server = self.server.lock().await;
        if let Some(s) = server.take() {
            self.shared.stops.send_modify(|n| *n += 1);
            let _ = s.stop.send(true);
            let _ = s.task.await;
        }
    }

    /// Listens again on the same address.
    pub async fn come_up(&self) -> Result<(), SimError> {
        let mut server = self.server.lock().await;
        if server.is_none() {
            let listener =
                TcpListener::bind(self.addr)
                    .await
                    .map_err(|source| SimError::Listen {
                        addr: self.addr,
                        source,
                    })?;
            *server = Some(serve(listener, Arc::clone(&self.shared)));
        }
        Ok(())
    }

    // ---- the approver and the Flow Designer action -------------------------------------------

    /// An approver approves the newest ticket of `request_id`; the flow then calls back (now,
    /// after the set delay, or when released if callbacks are held).
    pub async fn approve(
        &self,
        request_id: &str,
        approver: &str,
    ) -> Result<Option<CallbackDelivery>, SimError> {
        self.decide(request_id, Decision::Approved, approver).await
    }

    pub async fn reject(
        &self,
        request_id: &str,
        approver: &str,
    ) -> Result<Option<CallbackDelivery>, SimError> {
        self.decide(request_id, Decision::Rejected, approver).await
    }

    async fn decide(
        &self,
        request_id: &str,
        decision: Decision,
        approver: &str,
    ) -> Result<Option<CallbackDelivery>, SimError> {
        let row = {
            let mut tickets = lock(&self.shared.tickets);
            let ticket = tickets
                .iter_mut()
                .rev()
                .find(|t| t.fields.request_id == request_id)
                .ok_or_else(|| SimError::UnknownRequest(request_id.to_owned()))?;
            ticket.approval = decision.approval().to_owned();
            ticket.sys_updated_by = approver.to_owned();
            ticket.sys_updated_on = glide_time(chrono::Utc::now());
            ticket.table_row()
        };
        let body = callback::body(
            &row,
            decision,
            approver,
            &format!("{} by {approver}", decision.approval()),
        );
        if *lock(&self.shared.holding) {
            lock(&self.shared.held).push((request_id.to_owned(), body));
            return Ok(None);
        }
        let delay = *lock(&self.shared.callback_delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(Some(self.send(request_id, body).await?))
    }

    async fn send(&self, request_id: &str, body: Value) -> Result<CallbackDelivery, SimError> {
        let url = lock(&self.shared.tickets)
            .iter()
            .rev()
            .find(|t| t.fields.request_id == request_id)
            .map(|t| t.fields.callback_url.clone())
            .ok_or_else(|| SimError::UnknownRequest(request_id.to_owned()))?;
        Ok(callback::deliver(&self.shared, request_id, &url, body).await)
    }

    /// Callbacks wait from now on until [`Self::release_callbacks`].
    pub fn hold_callbacks(&self) {
        *lock(&self.shared.holding) = true;
    }

    /// Sends every held callback in the given order, and stops holding.
    pub async fn release_callbacks(&self, order: Order) -> Vec<CallbackDelivery> {
        *lock(&self.shared.holding) = false;
        let mut held = std::mem::take(&mut *lock(&self.shared.held));
        if order == Order::Reversed {
            held.reverse();
        }
        let mut out = Vec::new();
        for (request_id, body) in held {
            if let Ok(d) = self.send(&request_id, body).await {
                out.push(d);
            }
        }
        out
    }

    /// Every callback waits this long before it is sent.
    pub fn set_callback_delay(&self, delay: Duration) {
        *lock(&self.shared.callback_delay) = delay;
    }

    /// Sends the last callback of `request_id` again, unchanged (a flow re-run).
    pub async fn repeat_callback(&self, request_id: &str) -> Result<CallbackDelivery, SimError> {
        let body = lock(&self.shared.callbacks)
            .iter()
            .rev()
            .find(|c| c.request_id == request_id)
            .map(|c| c.body.clone())
            .ok_or_else(|| SimError::NoCallback(request_id.to_owned()))?;
        self.send(request_id, body).await
    }

    /// Sends the callback a decision on `request_id` would send, changed by `edit` first (a
    /// flow mapped to the wrong column, a lower-case status, a tampered body).
    pub async fn send_edited_callback(
        &self,
        request_id: &str,
        decision: Decision,
        approver: &str,
        edit: impl FnOnce(&mut Value),
    ) -> Result<CallbackDelivery, SimError> {
        let row = self
            .ticket(request_id)
            .map(|t| t.table_row())
            .ok_or_else(|| SimError::UnknownRequest(request_id.to_owned()))?;
        let mut body = callback::body(&row, decision, approver, "");
        edit(&mut body);
        self.send(request_id, body).await
    }

    // ---- inspection -----------------------------------------------------------------------

    /// Every `sc_request` record, oldest first.
    pub fn tickets(&self) -> Vec<Ticket> {
        lock(&self.shared.tickets).clone()
    }

    /// The newest ticket of a request id.
    pub fn ticket(&self, request_id: &str) -> Option<Ticket> {
        lock(&self.shared.tickets)
            .iter()
            .rev()
            .find(|t| t.fields.request_id == request_id)
            .cloned()
    }

    /// How many tickets carry this request id (more than one is a duplicate).
    pub fn ticket_count(&self, request_id: &str) -> usize {
        lock(&self.shared.tickets)
            .iter()
            .filter(|t| t.fields.request_id == request_id)
            .count()
    }

    /// Every request id with more than one ticket.
    pub fn duplicates(&self) -> Vec<String> {
        let tickets = lock(&self.shared.tickets);
        let mut ids: Vec<String> = tickets
            .iter()
            .map(|t| t.fields.request_id.clone())
            .collect();
        ids.sort();
        let mut dupes: Vec<String> = ids
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0].clone())
            .collect();
        dupes.dedup();
        dupes
    }

    /// Every call received, in order.
    pub fn calls(&self) -> Vec<ReceivedCall> {
        lock(&self.shared.calls).clone()
    }

    /// Every callback sent, in order, with its answer.
    pub fn callbacks(&self) -> Vec<CallbackDelivery> {
        lock(&self.shared.callbacks).clone()
    }

    pub async fn shutdown(self) {
        self.go_down().await;
    }
}

fn serve(listener: TcpListener, shared: Arc<Shared>) -> Server {
    let (stop, mut stopped) = watch::channel(false);
    let app = Router::new().fallback(dispatch).with_state(shared);
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "ServiceNow simulator listener failed");
        }
    });
    Server { stop, task }
}
