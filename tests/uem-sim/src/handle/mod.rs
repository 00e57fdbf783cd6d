//! Starting the simulator, and everything tests do to it in-process: change faults, limits and
//! latency, expire tokens, read the call log (here); ask what UEM holds (`inspect.rs`); make
//! the changes a console admin makes (`admin.rs`); add users and enroll devices, which raises
//! event notifications (`people.rs`).

mod admin;
mod config;
mod inspect;
mod people;

pub use config::{BucketStart, Credentials, DEFAULT_CHECK_IN_DELAY, LatencyModel, SimConfig};
pub use inspect::GroupView;

use crate::events::{EventKind, EventSender, Notification};
use crate::faults::{Fault, FaultConfig, FaultState};
use crate::org::OrgGroup;
use crate::server::basic_credentials;
use crate::state::TenantState;
use crate::tenant::SimDevice;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// One recorded `/api` or token call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    /// The size of the request body (what the client sent, headers aside).
    pub request_bytes: usize,
    /// When the request arrived (tokio's clock, so simulated time under `pause()`).
    pub at: Instant,
    pub since_start: Duration,
}

impl CallRecord {
    /// The path with ids and uuids replaced by `{id}` and lower-cased module prefix, e.g.
    /// `/api/mdm/smartgroups/{id}`.
    pub fn template(&self) -> String {
        let mut out = String::new();
        for (i, seg) in self.path.split('/').filter(|s| !s.is_empty()).enumerate() {
            out.push('/');
            let is_id = seg.chars().all(|c| c.is_ascii_digit())
                || (seg.len() == 36 && seg.chars().filter(|c| *c == '-').count() == 4);
            if is_id {
                out.push_str("{id}");
            } else if i < 2 {
                out.push_str(&seg.to_ascii_lowercase());
            } else {
                out.push_str(seg);
            }
        }
        out
    }
}

#[derive(Debug)]
struct Bucket {
    rpm: u32,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rpm: u32, start: BucketStart) -> Self {
        Self {
            rpm,
            tokens: match start {
                BucketStart::Full => f64::from(rpm),
                BucketStart::Empty => 0.0,
            },
            last: Instant::now(),
        }
    }
}

#[derive(Debug)]
struct Latency {
    model: LatencyModel,
    rng: StdRng,
}

impl Latency {
    fn new(model: LatencyModel) -> Self {
        Self {
            rng: StdRng::seed_from_u64(model.seed),
            model,
        }
    }

    fn draw(&mut self) -> Duration {
        let (min, max) = (self.model.min.as_micros(), self.model.max.as_micros());
        let micros = if max > min {
            self.rng.random_range(min..=max)
        } else {
            min
        };
        Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }
}

#[derive(Debug)]
pub(crate) struct Control {
    faults: FaultState,
    tokens: HashMap<String, Instant>,
    token_lifetime: Duration,
    read_only: bool,
    bucket: Bucket,
    latency: Option<Latency>,
    token_counter: u64,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub state: Mutex<TenantState>,
    control: Mutex<Control>,
    calls: Mutex<Vec<CallRecord>>,
    credentials: Credentials,
    pub started: Instant,
    started_wall: DateTime<Utc>,
    pub(crate) events: EventSender,
    shutdown: watch::Receiver<bool>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn record(&self, call: CallRecord) {
        lock(&self.calls).push(call);
    }

    /// The simulated wall clock: the real time at start plus tokio's elapsed time.
    pub fn wall_now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().saturating_duration_since(self.started);
        self.started_wall + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }

    /// Sends UEM's notification of a device change (when a target is set).
    pub(crate) fn notify(&self, s: &TenantState, kind: EventKind, device: &SimDevice) {
        let user = s.user_by_number(device.user_id);
        let og = s
            .org_group(device.organization_group_id)
            .map(|g| g.name.clone())
            .unwrap_or_default();
        self.events
            .raise(Notification::new(kind, device, user, &og, self.wall_now()));
    }

    /// UEM's response time for one call, if a latency model is set.
    pub fn draw_latency(&self) -> Option<Duration> {
        lock(&self.control).latency.as_mut().map(Latency::draw)
    }

    /// Takes one token from the tenant's bucket, or says how long until one is available.
    pub fn take_rate_token(&self) -> Option<Duration> {
        let mut c = lock(&self.control);
        let b = &mut c.bucket;
        if b.rpm == 0 {
            return None;
        }
        let now = Instant::now();
        let per_sec = f64::from(b.rpm) / 60.0;
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_sec).min(f64::from(b.rpm));
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - b.tokens) / per_sec))
        }
    }

    pub fn draw_fault(&self, path: &str, mutating: bool) -> (Option<Duration>, Option<Fault>) {
        lock(&self.control).faults.draw(path, mutating)
    }

    pub fn read_only(&self) -> bool {
        lock(&self.control).read_only
    }

    /// Waits (or until shutdown), then answers 504.
    pub async fn hang(&self, d: Duration) -> Response {
        let mut rx = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = rx.wait_for(|stop| *stop) => {}
        }
        crate::respond::timed_out()
    }

    pub fn issue_token(&self, id: &str, secret: &str) -> Option<(String, Duration)> {
        if id != self.credentials.client_id || secret != self.credentials.client_secret {
            return None;
        }
        let mut c = lock(&self.control);
        c.token_counter += 1;
        let token = format!("sim.{}.{}", c.token_counter, uuid::Uuid::new_v4().simple());
        let lifetime = c.token_lifetime;
        c.tokens.insert(token.clone(), Instant::now() + lifetime);
        Some((token, lifetime))
    }

    /// Bearer (tenant code optional, checked when sent) or Basic + tenant code.
    /// The error is the message of the 401.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        let tenant_code = headers
            .get("aw-tenant-code")
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        if tenant_code.is_some_and(|t| t != self.credentials.tenant_code) {
            return Err("The aw-tenant-code is not valid.");
        }
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if let Some((scheme, token)) = auth.split_once(' ')
            && scheme.eq_ignore_ascii_case("bearer")
        {
            let c = lock(&self.control);
            return match c.tokens.get(token.trim()) {
                Some(exp) if *exp > Instant::now() => Ok(()),
                Some(_) => Err("The access token has expired."),
                None => Err("The access token is not valid."),
            };
        }
        if let Some((user, pass)) = basic_credentials(headers) {
            if tenant_code.is_none() {
                return Err("The aw-tenant-code header is required with Basic authentication.");
            }
            if user == self.credentials.username && pass == self.credentials.password {
                return Ok(());
            }
            return Err("User credentials are invalid.");
        }
        Err("Authorization is required.")
    }
}

/// The simulator.
pub struct UemSim;

impl UemSim {
    /// Binds (127.0.0.1:0 unless configured), serves in a background task and returns the handle.
    pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
        let addr = config
            .addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let now = Instant::now();
        let mut state = TenantState::new(config.tenant);
        state.check_in_delay = config.check_in_delay;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            control: Mutex::new(Control {
                faults: FaultState::new(config.faults),
                tokens: HashMap::new(),
                token_lifetime: config.token_lifetime,
                read_only: config.read_only,
                bucket: Bucket::new(config.requests_per_minute, config.bucket_start),
                latency: config.latency.map(Latency::new),
                token_counter: 0,
            }),
            calls: Mutex::new(Vec::new()),
            credentials: config.credentials.clone(),
            started: now,
            started_wall: Utc::now(),
            events: EventSender::start(config.events, rx.clone()),
            shutdown: rx.clone(),
        });
        let app = axum::Router::new()
            .fallback(crate::server::dispatch)
            .with_state(shared.clone());
        let mut stop = rx;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        });
        let base_url = format!("http://{addr}");
        Ok(SimHandle {
            token_url: format!("{base_url}/connect/token"),
            base_url,
            addr,
            credentials: config.credentials,
            shared,
            stop: tx,
            task: Some(task),
        })
    }
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    /// `http://127.0.0.1:<port>`: the API host (paths start with `/api/`).
    pub base_url: String,
    /// `http://127.0.0.1:<port>/connect/token`.
    pub token_url: String,
    pub addr: SocketAddr,
    pub credentials: Credentials,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// A few lines for a person: where the simulator listens, how to sign in, and the
    /// organization group to configure for new smart groups.
    pub fn describe(&self) -> String {
        let c = &self.credentials;
        let og = self.organization_group();
        format!(
            "UEM simulator at {base}\n  token URL:     {token}\n  OAuth client:  {id} / {secret}\n  Basic admin:   {user} / {pass}\n  tenant code:   {code} (header aw-tenant-code)\n  organization group: {og_id} ({og_name}, uuid {og_uuid})\n  try: curl -u '{user}:{pass}' -H 'aw-tenant-code: {code}' {base}/api/system/users/search",
            base = self.base_url,
            token = self.token_url,
            id = c.client_id,
            secret = c.client_secret,
            user = c.username,
            pass = c.password,
            code = c.tenant_code,
            og_id = og.id,
            og_name = og.name,
            og_uuid = og.uuid,
        )
    }

    /// The customer organization group the tenant's users and devices live in and the API
    /// admin belongs to: the `ManagedByOrganizationGroupId` a client should send.
    pub fn organization_group(&self) -> OrgGroup {
        let s = lock(&self.shared.state);
        s.org_group(s.admin_og)
            .cloned()
            .unwrap_or_else(|| crate::org::default_tree().remove(1))
    }

    // ---- control -------------------------------------------------------------------------

    /// Replaces the fault probabilities (and reseeds their RNG); scripted faults stay queued.
    pub fn set_faults(&self, faults: FaultConfig) {
        lock(&self.shared.control).faults.set(faults);
    }

    /// Queues faults for the next `/api` requests, in order, before any random ones.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.shared.control).faults.scripted.extend(faults);
    }

    /// No faults at all (random or scripted).
    pub fn clear_faults(&self) {
        let mut c = lock(&self.shared.control);
        c.faults.set(FaultConfig::default());
        c.faults.scripted.clear();
    }

    pub fn set_read_only(&self, read_only: bool) {
        lock(&self.shared.control).read_only = read_only;
    }

    /// Changes the rate limit (0 = unlimited) and refills the bucket.
    pub fn set_requests_per_minute(&self, rpm: u32) {
        self.set_rate_limit(rpm, BucketStart::Full);
    }

    /// Changes the rate limit (0 = unlimited) with the bucket starting full or empty.
    pub fn set_rate_limit(&self, rpm: u32, start: BucketStart) {
        lock(&self.shared.control).bucket = Bucket::new(rpm, start);
    }

    /// UEM's response time from now on (`None`: none).
    pub fn set_latency(&self, latency: Option<LatencyModel>) {
        lock(&self.shared.control).latency = latency.map(Latency::new);
    }

    /// How long an `Auto` assignment takes to show as installed, for assignments from now on.
    pub fn set_check_in_delay(&self, delay: Duration) {
        lock(&self.shared.state).check_in_delay = delay;
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.shared.control).token_lifetime = lifetime;
    }

    /// Makes every issued token invalid now (as if it had expired).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for exp in lock(&self.shared.control).tokens.values_mut() {
            *exp = now;
        }
    }

    // ---- call log ------------------------------------------------------------------------

    pub fn calls(&self) -> Vec<CallRecord> {
        lock(&self.shared.calls).clone()
    }

    pub fn clear_calls(&self) {
        lock(&self.shared.calls).clear();
    }

    /// Calls by `"METHOD /path/template"` (see [`CallRecord::template`]).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for c in lock(&self.shared.calls).iter() {
            *out.entry(format!("{} {}", c.method, c.template()))
                .or_insert(0) += 1;
        }
        out
    }

    /// Calls with this method whose path template is `template` (e.g. `/api/mdm/smartgroups/{id}`).
    pub fn count(&self, method: &str, template: &str) -> usize {
        lock(&self.shared.calls)
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method) && c.template() == template)
            .count()
    }

    /// Calls that changed (or tried to change) something: POST/PUT/DELETE on `/api`.
    pub fn mutation_count(&self) -> usize {
        lock(&self.shared.calls)
            .iter()
            .filter(|c| {
                matches!(c.method.as_str(), "POST" | "PUT" | "DELETE" | "PATCH")
                    && c.template().starts_with("/api/")
            })
            .count()
    }

    // ---- lifecycle -----------------------------------------------------------------------

    /// Stops accepting requests, ends hung ones and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Serves until Ctrl-C, then shuts down (for `loadout uem-sim`).
    pub async fn run_until_ctrl_c(self) -> std::io::Result<()> {
        tokio::signal::ctrl_c().await?;
        self.shutdown().await;
        Ok(())
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
