//! Starting the simulator, and everything a test does to it in-process: seed and change the
//! tenant's data, script failures, change limits and timings, read the call log.

use crate::api;
use crate::data::{ForegroundEvent, SeedDevice, SeedUser, SyntheticUsage, Usage, UserColumn};
use crate::downloads::status;
use crate::rate::{RateLimits, RateWindows};
use crate::state::{Behaviour, Call, Host, Origins, Shared, Tenant, lock};
use axum::Router;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What the simulator starts with.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    pub users: Vec<SeedUser>,
    pub devices: Vec<SeedDevice>,
    pub events: Vec<ForegroundEvent>,
    pub synthetic: Option<SyntheticUsage>,
    pub user_column: UserColumn,
    pub behaviour: Behaviour,
}

impl Seed {
    pub fn user(mut self, user_name: &str, email: &str) -> Self {
        self.users.push(SeedUser {
            user_name: user_name.into(),
            email: email.into(),
        });
        self
    }

    pub fn device(mut self, name: &str, user_name: &str) -> Self {
        self.devices.push(SeedDevice {
            name: name.into(),
            user_name: user_name.into(),
            platform: "Windows Desktop".into(),
        });
        self
    }

    pub fn foreground(
        mut self,
        device: &str,
        app: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        self.events.push(ForegroundEvent::new(device, app, at));
        self
    }
}

/// How a client reaches the simulated Intelligence: three hosts, as in production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `http://127.0.0.1:A/oauth/token` (the `auth.<env>` host).
    pub token_url: String,
    /// `http://127.0.0.1:B` (the `api.<env>` host); paths start `/v2/`.
    pub base_url: String,
    /// `http://127.0.0.1:C` (the `storage.<env>` host the 302s point at).
    pub storage_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub org_id: String,
}

/// A run as the simulator holds it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunView {
    pub report_id: String,
    pub schedule_id: String,
    pub tracking_id: String,
    pub status: String,
}

#[derive(Debug)]
pub struct IntelligenceSim {
    pub endpoints: Endpoints,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
}

impl IntelligenceSim {
    /// Binds three listeners on 127.0.0.1 (free ports) and serves `seed`.
    pub async fn start(seed: Seed) -> std::io::Result<Self> {
        let auth = TcpListener::bind("127.0.0.1:0").await?;
        let api = TcpListener::bind("127.0.0.1:0").await?;
        let storage = TcpListener::bind("127.0.0.1:0").await?;
        let org_id = "538f619e-2db4-4f07-974b-efb3e5326116".to_owned();
        let client_id = format!("loadout@{org_id}.data.workspaceone.com");
        let client_secret =
            "5b3b835b2adedd28b1862b3bb714e48f03423010903f2ec7159031ba1995ad0e".to_owned();
        let endpoints = Endpoints {
            token_url: format!("http://{}/oauth/token", auth.local_addr()?),
            base_url: format!("http://{}", api.local_addr()?),
            storage_url: format!("http://{}", storage.local_addr()?),
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            org_id: org_id.clone(),
        };
        let usage = Usage {
            users: seed
                .users
                .into_iter()
                .map(|u| (u.user_name.clone(), u))
                .collect(),
            devices: seed
                .devices
                .into_iter()
                .map(|d| (d.name.clone(), d))
                .collect(),
            events: seed.events,
            synthetic: seed.synthetic,
            user_column: seed.user_column,
        };
        let shared = Arc::new(Shared {
            org_id,
            client_id,
            origins: Origins {
                storage: endpoints.storage_url.clone(),
            },
            tenant: Mutex::new(Tenant {
                reports: BTreeMap::new(),
                runs: Vec::new(),
                signed: HashMap::new(),
                tokens: HashMap::new(),
                client_secret,
                usage,
                counter: 0,
            }),
            behaviour: Mutex::new(seed.behaviour),
            faults: Mutex::default(),
            rate: Mutex::new(RateWindows::default()),
            calls: Mutex::default(),
            start_wall: chrono::Utc::now(),
            start: Instant::now(),
        });
        let (stop, stopped) = watch::channel(false);
        let auth_app = Router::new()
            .fallback(api::auth_host)
            .with_state(Arc::clone(&shared));
        let api_app = Router::new()
            .fallback(api::api_host)
            .with_state(Arc::clone(&shared));
        let storage_app = Router::new()
            .fallback(api::storage_host)
            .with_state(Arc::clone(&shared));
        let servers = vec![
            serve(auth, auth_app, stopped.clone()),
            serve(api, api_app, stopped.clone()),
            serve(storage, storage_app, stopped),
        ];
        Ok(Self {
            endpoints,
            shared,
            stop,
            servers,
        })
    }

    // --- data ------------------------------------------------------------------------------

    pub fn add_user(&self, user_name: &str, email: &str) {
        lock(&self.shared.tenant).usage.users.insert(
            user_name.into(),
            SeedUser {
                user_name: user_name.into(),
                email: email.into(),
            },
        );
    }

    pub fn add_device(&self, name: &str, user_name: &str) {
        lock(&self.shared.tenant).usage.devices.insert(
            name.into(),
            SeedDevice {
                name: name.into(),
                user_name: user_name.into(),
                platform: "Windows Desktop".into(),
            },
        );
    }

    /// Adds foreground events (usage) to the tenant's data.
    pub fn add_usage(&self, events: impl IntoIterator<Item = ForegroundEvent>) {
        lock(&self.shared.tenant).usage.events.extend(events);
    }

    /// Replaces the synthetic fleet (or removes it).
    pub fn set_synthetic(&self, synthetic: Option<SyntheticUsage>) {
        lock(&self.shared.tenant).usage.synthetic = synthetic;
    }

    pub fn set_user_column(&self, column: UserColumn) {
        lock(&self.shared.tenant).usage.user_column = column;
    }

    // --- faults and behaviour ---------------------------------------------------------------

    /// The next `n` API-host calls answer `status` (a 5xx, or 429 with the throttling body).
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut f = lock(&self.shared.faults);
        f.fail_next.clear();
        f.fail_next.extend(std::iter::repeat_n(status, n));
    }

    /// Runs started from now on (and, with `false`, every held run) stay PENDING / go on.
    pub fn hold_runs(&self, hold: bool) {
        lock(&self.shared.faults).hold_runs = hold;
        if !hold {
            for run in &mut lock(&self.shared.tenant).runs {
                run.held = false;
            }
        }
    }

    /// The next `n` runs end with status FAILED.
    pub fn fail_next_runs(&self, n: usize) {
        lock(&self.shared.faults).fail_runs = n;
    }

    /// The next `n` download requests answer 404.
    pub fn lose_next_downloads(&self, n: usize) {
        lock(&self.shared.faults).lose_next_downloads = n;
    }

    /// Every token issued so far is expired from now on.
    pub fn expire_tokens(&self) {
        let past = Instant::now();
        for exp in lock(&self.shared.tenant).tokens.values_mut() {
            *exp = past;
        }
    }

    /// The service account's secret is regenerated: the old one stops working, tokens issued
    /// before stay valid until they expire.
    pub fn rotate_secret(&self, new_secret: &str) {
        lock(&self.shared.tenant).client_secret = new_secret.into();
    }

    pub fn set_limits(&self, limits: RateLimits) {
        lock(&self.shared.behaviour).limits = limits;
    }

    pub fn set_processing(&self, processing: Duration) {
        lock(&self.shared.behaviour).processing = processing;
    }

    pub fn set_url_lifetime(&self, lifetime: Duration) {
        lock(&self.shared.behaviour).url_lifetime = lifetime;
    }

    pub fn set_qualified_headers(&self, qualified: bool) {
        lock(&self.shared.behaviour).qualified_headers = qualified;
    }

    pub fn set_create_status_201(&self, on: bool) {
        lock(&self.shared.behaviour).create_status_201 = on;
    }

    // --- inspection -------------------------------------------------------------------------

    /// Every request to any of the three hosts, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.shared.calls).clone()
    }

    /// Calls to one host.
    pub fn calls_to(&self, host: Host) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.host == host)
            .collect()
    }

    /// API calls the rate limit counted in the last hour.
    pub fn counted_in_last_hour(&self) -> usize {
        lock(&self.shared.rate).used_in_last_hour(Instant::now())
    }

    /// Report ids and names.
    pub fn reports(&self) -> Vec<(String, String)> {
        lock(&self.shared.tenant)
            .reports
            .values()
            .map(|r| (r.id.clone(), r.name.clone()))
            .collect()
    }

    /// The create request body a report was made from.
    pub fn report_body(&self, id: &str) -> Option<Value> {
        lock(&self.shared.tenant)
            .reports
            .get(id)
            .map(|r| r.body.clone())
    }

    pub fn runs(&self) -> Vec<RunView> {
        let now = Instant::now();
        lock(&self.shared.tenant)
            .runs
            .iter()
            .map(|r| RunView {
                report_id: r.report_id.clone(),
                schedule_id: r.schedule_id.clone(),
                tracking_id: r.tracking_id.clone(),
                status: status(r, now).to_owned(),
            })
            .collect()
    }

    /// Stops the listeners and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for s in self.servers {
            let _ = s.await;
        }
    }
}

fn serve(listener: TcpListener, app: Router, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "intelligence simulator listener failed");
        }
    })
}
