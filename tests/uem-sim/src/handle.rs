//! Starting the simulator, and everything tests do to it in-process: change faults and limits,
//! expire tokens, read the call log and ask what UEM now holds.

use crate::faults::{Fault, FaultConfig, FaultState};
use crate::server::basic_credentials;
use crate::state::TenantState;
use crate::tenant::{PushMode, Tenant};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// What a client needs to sign in: an OAuth client, a Basic admin and the tenant code (API key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub username: String,
    pub password: String,
    pub tenant_code: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            client_id: "loadout-sim-client".into(),
            client_secret: "sim-secret-8c1f2b".into(),
            username: "loadout-api".into(),
            password: "sim-password-5e7a".into(),
            tenant_code: "SIMTENANTCODE0570".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; `None` = 127.0.0.1 on a free port.
    pub addr: Option<SocketAddr>,
    pub tenant: Tenant,
    pub credentials: Credentials,
    /// Lifetime of issued OAuth tokens (UEM: one hour).
    pub token_lifetime: Duration,
    /// The tenant's rate limit, as a token bucket of this size refilled over a minute.
    pub requests_per_minute: u32,
    pub faults: FaultConfig,
    /// Every admin is read-only: mutations answer 403.
    pub read_only: bool,
}

impl SimConfig {
    pub fn new(tenant: Tenant) -> Self {
        Self {
            addr: None,
            tenant,
            credentials: Credentials::default(),
            token_lifetime: Duration::from_secs(3600),
            requests_per_minute: 120,
            faults: FaultConfig::default(),
            read_only: false,
        }
    }

    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = Some(addr);
        self
    }

    pub fn requests_per_minute(mut self, rpm: u32) -> Self {
        self.requests_per_minute = rpm;
        self
    }

    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }
}

/// One recorded `/api` or token call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
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

#[derive(Debug)]
pub(crate) struct Control {
    faults: FaultState,
    tokens: HashMap<String, Instant>,
    token_lifetime: Duration,
    read_only: bool,
    bucket: Bucket,
    token_counter: u64,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub state: Mutex<TenantState>,
    control: Mutex<Control>,
    calls: Mutex<Vec<CallRecord>>,
    credentials: Credentials,
    pub started: Instant,
    shutdown: watch::Receiver<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn record(&self, call: CallRecord) {
        lock(&self.calls).push(call);
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
        let shared = Arc::new(Shared {
            state: Mutex::new(TenantState::new(config.tenant)),
            control: Mutex::new(Control {
                faults: FaultState::new(config.faults),
                tokens: HashMap::new(),
                token_lifetime: config.token_lifetime,
                read_only: config.read_only,
                bucket: Bucket {
                    rpm: config.requests_per_minute,
                    tokens: f64::from(config.requests_per_minute),
                    last: now,
                },
                token_counter: 0,
            }),
            calls: Mutex::new(Vec::new()),
            credentials: config.credentials.clone(),
            started: now,
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

/// A group as UEM holds it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub criteria_type: String,
    /// User names in `UserAdditions`, in list order.
    pub users: Vec<String>,
    /// Device ids in `DeviceAdditions`.
    pub devices: Vec<i64>,
    /// Apps (console id) assigned to this group, with the push mode.
    pub apps: BTreeMap<i64, PushMode>,
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
    /// A few lines for a person: where the simulator listens and how to sign in.
    pub fn describe(&self) -> String {
        let c = &self.credentials;
        format!(
            "UEM simulator at {base}\n  token URL:     {token}\n  OAuth client:  {id} / {secret}\n  Basic admin:   {user} / {pass}\n  tenant code:   {code} (header aw-tenant-code)\n  try: curl -u '{user}:{pass}' -H 'aw-tenant-code: {code}' {base}/api/system/users/search",
            base = self.base_url,
            token = self.token_url,
            id = c.client_id,
            secret = c.client_secret,
            user = c.username,
            pass = c.password,
            code = c.tenant_code,
        )
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
        let mut c = lock(&self.shared.control);
        c.bucket = Bucket {
            rpm,
            tokens: f64::from(rpm),
            last: Instant::now(),
        };
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
                matches!(c.method.as_str(), "POST" | "PUT" | "DELETE")
                    && c.template().starts_with("/api/")
            })
            .count()
    }

    // ---- state ---------------------------------------------------------------------------

    /// Apps (console id as a string, i.e. the catalog's `uem_app_id`) the user is entitled to
    /// through smart-group membership and assignments, with the push mode. Device platforms are
    /// not considered here (see [`SimHandle::device_apps`]).
    pub fn effective_apps(&self, username: &str) -> BTreeMap<String, PushMode> {
        let s = lock(&self.shared.state);
        s.effective_apps(username)
            .into_iter()
            .map(|(id, m)| (id.to_string(), m))
            .collect()
    }

    /// As [`SimHandle::effective_apps`], keyed by app name.
    pub fn effective_app_names(&self, username: &str) -> BTreeMap<String, PushMode> {
        let s = lock(&self.shared.state);
        s.effective_apps(username)
            .into_iter()
            .filter_map(|(id, m)| s.app_by_id(&id.to_string()).map(|a| (a.name.clone(), m)))
            .collect()
    }

    /// Names of the apps UEM reports on the device with this serial number (Auto-assigned ones
    /// count as installed).
    pub fn device_apps(&self, serial: &str) -> Vec<String> {
        let s = lock(&self.shared.state);
        s.devices
            .iter()
            .find(|d| d.serial_number == serial)
            .map(|d| s.device_apps(d).into_iter().map(|a| a.0).collect())
            .unwrap_or_default()
    }

    /// User names in the `UserAdditions` of the group with exactly this name.
    pub fn smart_group_members(&self, name: &str) -> Option<Vec<String>> {
        self.groups()
            .into_iter()
            .find(|g| g.name == name)
            .map(|g| g.users)
    }

    pub fn groups(&self) -> Vec<GroupView> {
        let s = lock(&self.shared.state);
        s.groups
            .values()
            .map(|g| GroupView {
                id: g.id,
                uuid: g.uuid.clone(),
                name: g.name.clone(),
                criteria_type: g.criteria_type.clone(),
                users: g
                    .member_ids("UserAdditions")
                    .iter()
                    .map(|id| {
                        s.user_by_id(id)
                            .map(|u| u.username.clone())
                            .unwrap_or_else(|| id.clone())
                    })
                    .collect(),
                devices: g
                    .member_ids("DeviceAdditions")
                    .iter()
                    .filter_map(|id| id.parse().ok())
                    .collect(),
                apps: s
                    .assignments
                    .iter()
                    .filter_map(|(app, a)| {
                        a.rules
                            .iter()
                            .find(|r| {
                                r.smart_groups
                                    .iter()
                                    .any(|u| u.eq_ignore_ascii_case(&g.uuid))
                            })
                            .map(|r| (*app, r.mode))
                    })
                    .collect(),
            })
            .collect()
    }

    /// Problems a careful client never causes: a member listed twice in a group, two groups with
    /// the same name, a group in two rules of one app. Empty when all is well.
    pub fn duplicates(&self) -> Vec<String> {
        let mut out = Vec::new();
        let groups = self.groups();
        for g in &groups {
            let mut seen = std::collections::BTreeSet::new();
            for u in &g.users {
                if !seen.insert(u) {
                    out.push(format!("user {u} is listed twice in group {}", g.name));
                }
            }
        }
        for (i, a) in groups.iter().enumerate() {
            if groups[..i]
                .iter()
                .any(|b| b.name.eq_ignore_ascii_case(&a.name))
            {
                out.push(format!("two groups are named {}", a.name));
            }
        }
        let s = lock(&self.shared.state);
        for (app, a) in &s.assignments {
            let mut seen = std::collections::BTreeSet::new();
            for g in a.rules.iter().flat_map(|r| &r.smart_groups) {
                if !seen.insert(g.to_ascii_lowercase()) {
                    out.push(format!("app {app} is assigned to group {g} twice"));
                }
            }
        }
        out
    }

    /// Reads anything else of the state.
    pub fn with_state<T>(&self, f: impl FnOnce(&TenantState) -> T) -> T {
        f(&lock(&self.shared.state))
    }

    /// Changes the state directly (e.g. to plant a group Loadout did not create).
    pub fn with_state_mut<T>(&self, f: impl FnOnce(&mut TenantState) -> T) -> T {
        f(&mut lock(&self.shared.state))
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
