//! Local mode: the HTTP routes on 127.0.0.1, a worker per queue over the durable local queue, the
//! embedded store under the data directory, and UEM either real or the simulator in-process.

mod directories;
mod http;
pub mod runtime;
pub mod schedule;
pub mod secrets;
mod seed;
mod servicenow;
pub mod workers;

pub use seed::{ExampleData, SeedError, load_policy_set, load_policy_set_for_check};
pub use servicenow::ServiceNowTarget;

use directory_sim::DirectorySim;
use loadout::adapters::local::{
    LocalDb, LocalDbError, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
};
use loadout::config::{ConfigError, Settings};
use loadout::governance::Mode;
use loadout::notify::Notifier;
use loadout::ports::queue::names;
use loadout::ports::{Clock, SystemClock};
use loadout::stages::Services;
use loadout::stages::approval_callback::ApprovalCallback;
use loadout::stages::decide::Decider;
use loadout::stages::enrich::Enricher;
use loadout::stages::execute::Executor;
use loadout::stages::intake::Intake;
use loadout::stages::policy_repo::PolicyCache;
use loadout::stages::sweep::{SweepOptions, SweepReport, Sweeper};
use loadout::uem::{CredentialSource, UemApi, UemClient, UemConfig, UemError};
use servicenow_sim::ServiceNowSim;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uem_sim::{SimConfig, SimHandle, Tenant, UemSim};

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(transparent)]
    Db(#[from] LocalDbError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("UEM: {0}")]
    Uem(#[from] UemError),
    #[error("cannot start the UEM simulator: {0}")]
    Simulator(String),
    #[error("cannot start the directory simulator: {0}")]
    DirectorySimulator(#[source] std::io::Error),
    /// A directory reader's settings (Graph, BambooHR, Okta) are incomplete or invalid.
    #[error("directory source: {0}")]
    Source(#[from] loadout::sources::SourceError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("secrets file {path}: {message}")]
    Secrets { path: String, message: String },
    #[error(transparent)]
    Stage(#[from] loadout::stages::StageError),
    #[error("runtime file {path}: {message}")]
    Runtime { path: String, message: String },
    /// An inbound secret is too weak to use; the message names the setting.
    #[error(transparent)]
    WeakSecret(#[from] loadout::stages::inbound_secrets::InboundSecretError),
    #[error("ServiceNow: {0}")]
    ServiceNow(#[from] loadout::servicenow::ServiceNowError),
    #[error("cannot start the ServiceNow simulator: {0}")]
    ServiceNowSimulator(#[source] std::io::Error),
    #[error("notifications: {0}")]
    Notify(#[from] loadout::notify::NotifyError),
}

/// Which UEM local mode changes.
#[derive(Debug, Clone)]
pub enum UemTarget {
    /// The simulator, started in-process and seeded from the examples.
    Simulator,
    /// A real tenant at this URL; credentials from `LOADOUT_UEM_*` (see README).
    Url(String),
    /// A fully built client configuration (tests pointing at a simulator they own).
    Config(Box<UemConfig>),
}

/// How to start local mode.
#[derive(Clone)]
pub struct LocalOptions {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The sample tenant, policies and catalog (examples/).
    pub examples_dir: PathBuf,
    /// Which UEM to talk to.
    pub uem: UemTarget,
    /// Overrides `LOADOUT_MODE`.
    pub mode: Option<Mode>,
    /// How often an idle worker polls its queue.
    pub poll_interval: Duration,
    /// Visibility timeout of received messages (how long before a crashed batch is redelivered).
    pub visibility: Duration,
    /// Overrides `LOADOUT_UEM_REQUESTS_PER_MINUTE` (and the simulator's limit).
    pub uem_requests_per_minute: Option<u32>,
    /// Concurrent execute workers (the template's executor concurrency): while one writes an
    /// app's groups, the other keeps recording changes for it to pick up.
    pub execute_workers: usize,
    /// Overrides `LOADOUT_EXECUTE_DEBOUNCE_MS`.
    pub execute_debounce: Option<Duration>,
    /// How often changes left pending are applied (the deployed schedule's nudge).
    pub nudge_interval: Duration,
    /// How long one batch may take (the deployed functions' timeout).
    pub batch_deadline: Duration,
    /// Sweep once at start-up (reads the UEM inventory and Loadout's groups).
    pub sweep_at_start: bool,
    /// How often the sweep runs on its own; `None`: only when asked (`loadout sweep`, tests).
    pub sweep_interval: Option<Duration>,
    /// How often license reclamation runs on its own (the deployed daily schedule); `None`: only
    /// when asked (`loadout reclaim`, tests).
    pub reclaim_interval: Option<Duration>,
    /// Changes the settings read from the environment (tests: a breaker, a review window,
    /// without touching the process environment other tests share).
    pub adjust_settings: Option<fn(&mut Settings)>,
    /// Where approval requests go (App Approvals): ServiceNow as configured, or the simulator.
    pub servicenow: ServiceNowTarget,
    /// Where notices go; Slack as `LOADOUT_SLACK_WEBHOOK_URL` says without one.
    pub notifier: Option<Arc<dyn Notifier>>,
    /// The clock of every stage (tests move it forward, e.g. past an approval's 14 days).
    pub clock: Option<Arc<dyn Clock>>,
}

impl LocalOptions {
    pub fn new(data_dir: PathBuf, examples_dir: PathBuf) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir,
            examples_dir,
            uem: UemTarget::Simulator,
            mode: None,
            poll_interval: Duration::from_millis(50),
            visibility: Duration::from_secs(30),
            uem_requests_per_minute: None,
            execute_workers: 2,
            execute_debounce: None,
            nudge_interval: Duration::from_secs(5),
            batch_deadline: Duration::from_secs(60),
            sweep_at_start: true,
            sweep_interval: Some(Duration::from_secs(15 * 60)),
            reclaim_interval: Some(Duration::from_secs(24 * 3600)),
            adjust_settings: None,
            servicenow: ServiceNowTarget::FromEnv,
            notifier: None,
            clock: None,
        }
    }
}

impl std::fmt::Debug for LocalOptions {
    // The notifier and the clock are trait objects without a useful Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalOptions")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("examples_dir", &self.examples_dir)
            .field("uem", &self.uem)
            .field("mode", &self.mode)
            .field("servicenow", &self.servicenow)
            .finish_non_exhaustive()
    }
}

async fn clear_stale_leases(services: &Services) -> Result<(), LocalError> {
    loadout::stages::app_lease::clear_all(services.store.as_ref())
        .await
        .map_err(|e| LocalError::Seed(SeedError::Store(e)))?;
    Ok(())
}

/// A running local mode.
pub struct LocalMode {
    pub base_url: String,
    pub services: Services,
    /// The in-process UEM simulator, when no real tenant was given.
    pub sim: Option<SimHandle>,
    /// The Graph, BambooHR and Okta simulators that go with the UEM simulator.
    pub directory_sim: Option<DirectorySim>,
    /// The ServiceNow simulator, when approvals go to it.
    pub servicenow_sim: Option<ServiceNowSim>,
    /// Secrets generated on first start (printed once; kept in the data directory).
    pub generated_secrets: Vec<(String, String)>,
    pub policy_version: String,
    /// The sample tenant local mode was seeded with.
    pub examples: ExampleData,
    executor: Arc<Executor>,
    sweeper: Arc<Sweeper>,
    reclaimer: Arc<loadout::stages::reclaim::Reclaimer>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl LocalMode {
    pub async fn start(options: LocalOptions) -> Result<Self, LocalError> {
        let mut settings = Settings::from_env()?;
        if let Some(adjust) = options.adjust_settings {
            adjust(&mut settings);
        }
        if let Some(mode) = options.mode {
            settings.mode = mode;
        }
        if let Some(rpm) = options.uem_requests_per_minute {
            settings.uem_requests_per_minute = rpm;
        }
        let db = LocalDb::open_dir(&options.data_dir)?;
        let clock: Arc<dyn Clock> = options
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(SystemClock));
        let secrets = Arc::new(LocalSecrets::from_env());
        let generated = secrets::ensure_local_secrets(&secrets, &options.data_dir)?;
        loadout::stages::inbound_secrets::check_all(secrets.as_ref()).await?;
        let store = Arc::new(SqliteStateStore::new(db.clone(), clock.clone()));
        let services = Services {
            store: store.clone(),
            audit: Arc::new(SqliteAuditLog::new(db.clone())),
            queue: Arc::new(SqliteQueue::new(
                db,
                clock.clone(),
                QueueSpec::pipeline(settings.max_receives),
            )),
            secrets: secrets.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
        };
        let examples = ExampleData::load(&options.examples_dir)?;
        let (uem_config, sim) = match &options.uem {
            UemTarget::Config(config) => {
                let mut config = (**config).clone();
                if let Some(rpm) = options.uem_requests_per_minute {
                    config = config.requests_per_minute(rpm);
                }
                (config, None)
            }
            UemTarget::Url(url) => (
                UemConfig::from_secrets(
                    secrets.as_ref(),
                    url,
                    std::env::var("LOADOUT_UEM_TOKEN_URL").ok().as_deref(),
                )
                .await?
                .requests_per_minute(settings.uem_requests_per_minute)
                .organization_group_id(settings.uem_organization_group_id.as_deref()),
                None,
            ),
            UemTarget::Simulator => {
                let tenant = Tenant::from_dir(&options.examples_dir)
                    .map_err(|e| LocalError::Simulator(e.to_string()))?;
                let sim = UemSim::start(
                    SimConfig::new(tenant).requests_per_minute(settings.uem_requests_per_minute),
                )
                .await
                .map_err(|e| LocalError::Simulator(e.to_string()))?;
                let config = UemConfig::oauth(
                    &sim.base_url,
                    &sim.token_url,
                    &sim.credentials.client_id,
                    loadout::ports::SecretString::new(&sim.credentials.client_secret),
                )
                .requests_per_minute(settings.uem_requests_per_minute)
                // New smart groups go where the simulated tenant's users and devices are.
                .organization_group_id(Some(&sim.organization_group().id.to_string()));
                (config, Some(sim))
            }
        };
        let uem_config_for_file = uem_config.clone();
        let mut client = UemClient::new(uem_config, store, clock.clone())?;
        if let UemTarget::Url(url) = &options.uem {
            // A real tenant's credentials come from the secrets: a rotation there reaches the
            // client at its next refusal.
            client = client.with_credential_source(CredentialSource {
                secrets: secrets.clone(),
                base_url: url.clone(),
                token_url: std::env::var("LOADOUT_UEM_TOKEN_URL").ok(),
            });
        }
        let uem: Arc<dyn UemApi> = Arc::new(client);
        let policy_version = examples.seed(&services).await?;
        // Local mode is the only executor of its data directory: leases left in it belong to a
        // process that stopped mid-flush, and waiting for them to run out would only delay.
        clear_stale_leases(&services).await?;

        let listener = tokio::net::TcpListener::bind(options.addr)
            .await
            .map_err(|source| LocalError::Listen {
                addr: options.addr,
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| LocalError::Listen {
            addr: options.addr,
            source,
        })?;
        let (stop, stopped) = watch::channel(false);
        let routes = http::Routes {
            intake: Arc::new(Intake::new(services.clone())),
            approvals: Arc::new(ApprovalCallback::new(services.clone())),
        };
        let mut tasks = vec![http::serve(listener, routes, stopped.clone())];
        let cache = || {
            PolicyCache::new(
                loadout::stages::policy_repo::engine_from_record,
                Duration::from_secs(5),
            )
        };
        let (sources, directory_sim) = match &options.uem {
            UemTarget::Simulator => {
                let (sources, sim) = directories::simulated(&examples.org).await?;
                (sources, Some(sim))
            }
            _ => {
                let secrets: Arc<dyn loadout::ports::Secrets> = secrets.clone();
                (directories::configured(&secrets).await?, None)
            }
        };
        // The enricher's directory reads have their own budget, as in AWS.
        let sources = sources.with_read_budget(loadout::sources::ReadBudget::new(
            services.store.clone(),
            services.clock.clone(),
            settings.directory_requests_per_minute,
        ));
        let enricher = Arc::new(Enricher::new(services.clone(), uem.clone()).with_sources(sources));
        let (approvals, servicenow_sim) = servicenow::approvals(
            &options,
            &services,
            secrets.clone(),
            &format!("http://{bound}"),
        )
        .await?;
        let decider = Arc::new(
            Decider::new(services.clone(), cache())
                .with_approval_requests(approvals.servicenow_configured()),
        );
        let notifier = approvals.notifier();
        let mut executor = Executor::new(services.clone(), uem.clone(), cache())
            .with_approvals(Arc::new(approvals));
        if let Some(debounce) = options.execute_debounce {
            executor = executor.with_debounce(debounce);
        }
        let executor = Arc::new(executor);
        // The sweep runs seldom: it reads the active policy set every time.
        let sweeper = Arc::new(
            Sweeper::new(
                services.clone(),
                uem.clone(),
                PolicyCache::new(
                    loadout::stages::policy_repo::engine_from_record,
                    Duration::ZERO,
                ),
                executor.clone(),
            )
            .with_notifier(notifier),
        );
        runtime::write(
            &options.data_dir,
            &runtime::Runtime::of(&uem_config_for_file),
        )?;
        // A first sweep before any event: the UEM inventory (users and devices, in bulk pages)
        // lets enrichment match people and read devices without a UEM call per event, and the
        // groups Loadout already has in UEM become its observation. A failure is not fatal:
        // enrichment then reads per person, and the scheduled sweep tries again.
        if options.sweep_at_start {
            match sweeper.sweep(&SweepOptions::default()).await {
                Ok(report) => tracing::info!(
                    groups = report.groups_read,
                    uem_calls = ?report.uem_calls,
                    "first sweep done"
                ),
                Err(e) => tracing::warn!(error = %e, "first sweep failed; the schedule retries"),
            }
        }
        let worker = workers::WorkerConfig {
            poll_interval: options.poll_interval,
            visibility: options.visibility,
            max_batch: 10,
            deadline: options.batch_deadline,
        };
        tasks.push(workers::spawn(
            services.clone(),
            names::ENRICH,
            worker.clone(),
            stopped.clone(),
            move |batch| {
                let e = enricher.clone();
                async move { e.handle_batch(batch).await }
            },
        ));
        tasks.push(workers::spawn(
            services.clone(),
            names::DECIDE,
            worker.clone(),
            stopped.clone(),
            move |batch| {
                let d = decider.clone();
                async move { d.handle_batch(batch).await }
            },
        ));
        // As deployed: the executor consumes the execute queue (recording changes) and the flush
        // queue (applying them), with the template's concurrency on each.
        for (queue, max_batch) in [(names::EXECUTE, worker.max_batch), (names::FLUSH, 1)] {
            for _ in 0..options.execute_workers.max(1) {
                let x = executor.clone();
                tasks.push(workers::spawn(
                    services.clone(),
                    queue,
                    // One nudge at a time, as deployed (a nudge is a whole app's flush).
                    workers::WorkerConfig {
                        max_batch,
                        ..worker.clone()
                    },
                    stopped.clone(),
                    move |batch| {
                        let x = x.clone();
                        async move { x.handle_batch(batch).await }
                    },
                ));
            }
        }
        // License reclamation reads the sample's usage.csv (as the deployed reclaimer reads
        // Intelligence) and links its notices to this server's /reclaim/keep.
        let lookup = |name: &str| std::env::var(name).ok();
        let usage = options.examples_dir.join("usage.csv");
        let reclaimer = Arc::new(
            loadout::stages::reclaim::configured(
                &services,
                &lookup,
                usage.exists().then_some(usage),
                Some(format!("http://{bound}")),
            )
            .map_err(|e| {
                LocalError::Stage(loadout::stages::StageError::Permanent(e.to_string()))
            })?,
        );
        tasks.push(schedule::spawn(
            executor.clone(),
            sweeper.clone(),
            Some(reclaimer.clone()),
            schedule::Intervals {
                nudge: options.nudge_interval,
                sweep: options.sweep_interval,
                reclaim: options.reclaim_interval,
            },
            stopped,
        ));
        Ok(Self {
            base_url: format!("http://{bound}"),
            services,
            sim,
            directory_sim,
            servicenow_sim,
            generated_secrets: generated,
            policy_version,
            examples,
            executor,
            sweeper,
            reclaimer,
            stop,
            tasks,
        })
    }

    /// One license reclamation run now (what the schedule does every `reclaim_interval`).
    pub async fn reclaim(
        &self,
        dry_run: bool,
    ) -> Result<loadout::stages::reclaim::RunReport, LocalError> {
        let run = async {
            let catalog =
                loadout::stages::reclaim::active_catalog(self.services.store.as_ref()).await?;
            self.reclaimer.run(&catalog, dry_run).await
        };
        run.await
            .map_err(|e| LocalError::Stage(loadout::stages::StageError::from(e)))
    }

    /// The reclaimer local mode runs (tests give it their own notifier).
    pub fn reclaimer(&self) -> &loadout::stages::reclaim::Reclaimer {
        &self.reclaimer
    }

    /// Runs a sweep now (what the schedule does every `sweep_interval`).
    pub async fn sweep(&self, options: &SweepOptions) -> Result<SweepReport, LocalError> {
        self.sweeper.sweep(options).await.map_err(LocalError::Stage)
    }

    /// Applies every change still pending (what the schedule's nudge does).
    pub async fn flush_pending(&self) -> Result<usize, LocalError> {
        self.executor
            .flush_pending()
            .await
            .map_err(LocalError::Stage)
    }

    /// Waits until every pipeline queue is empty (or `timeout` passes); true when idle.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut quiet_polls = 0;
        while tokio::time::Instant::now() < deadline {
            let mut busy = 0;
            for q in [names::ENRICH, names::DECIDE, names::EXECUTE, names::FLUSH] {
                busy += self.services.queue.depth(q).await.unwrap_or(1);
            }
            // Recorded changes not yet written to UEM count as work in progress.
            busy += self
                .services
                .store
                .query("pending-apps", "")
                .await
                .map(|apps| apps.len())
                .unwrap_or(1);
            if busy == 0 {
                quiet_polls += 1;
                // Two quiet polls in a row: nothing is between a receive and its follow-up send.
                if quiet_polls >= 2 {
                    return true;
                }
            } else {
                quiet_polls = 0;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Queue depths and the latest audit records, for a human (or a failing test) to read.
    pub async fn diagnostics(&self) -> String {
        let mut out = String::new();
        for q in [names::ENRICH, names::DECIDE, names::EXECUTE, names::FLUSH] {
            for name in [q.to_owned(), names::dead_letter(q)] {
                let depth = self.services.queue.depth(&name).await;
                out.push_str(&format!("queue {name}: {depth:?}\n"));
            }
        }
        if let Ok(leases) = self.services.store.query("lease#app", "").await {
            for lease in leases {
                out.push_str(&format!(
                    "app lease held: {} (expires {:?})\n",
                    lease.sk, lease.expires_at
                ));
            }
        }
        if let Ok(apps) = self.services.store.query("pending-apps", "").await {
            for app in apps {
                let pending = self
                    .services
                    .store
                    .query(&format!("pending#{}", app.sk), "")
                    .await
                    .map(|p| p.into_iter().map(|i| i.sk).collect::<Vec<_>>());
                out.push_str(&format!("pending changes of {}: {pending:?}\n", app.sk));
            }
        }
        let query = loadout::ports::AuditQuery {
            limit: Some(15),
            ..Default::default()
        };
        if let Ok(records) = self.services.audit.query(&query).await {
            for r in records {
                out.push_str(&format!(
                    "audit {} {}: {}\n",
                    r.actor,
                    r.kind.as_str(),
                    r.summary
                ));
            }
        }
        out
    }

    /// Stops the server and the workers; what they had not acknowledged stays queued.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        if let Some(sim) = self.sim.take() {
            sim.shutdown().await;
        }
        if let Some(sim) = self.directory_sim.take() {
            sim.shutdown().await;
        }
        if let Some(sim) = self.servicenow_sim.take() {
            sim.shutdown().await;
        }
    }

    /// Stops abruptly, as a crash would: in-flight batches are abandoned mid-way.
    pub async fn kill(mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        let _ = self.stop.send(true);
        if let Some(sim) = self.sim.take() {
            sim.shutdown().await;
        }
        if let Some(sim) = self.directory_sim.take() {
            sim.shutdown().await;
        }
        if let Some(sim) = self.servicenow_sim.take() {
            sim.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data directory of its own, removed afterwards.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[tokio::test]
    async fn a_configured_secret_shorter_than_16_bytes_refuses_start_up_naming_it() {
        let dir = Scratch(std::env::temp_dir().join(format!(
            "loadout-weak-secret-{}",
            uuid::Uuid::new_v4().simple()
        )));
        std::fs::create_dir_all(&dir.0).expect("data dir");
        // As if an operator had put a short value in the kept secrets (the environment, which
        // wins over the file, is shared by every test of this process and left alone).
        std::fs::write(
            dir.0.join("secrets.json"),
            r#"{"LOADOUT_GRAPH_CLIENT_STATE": "short-state"}"#,
        )
        .expect("secrets file");
        let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let mut options = LocalOptions::new(dir.0.clone(), examples);
        options.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let error = match LocalMode::start(options).await {
            Ok(local) => {
                local.shutdown().await;
                panic!("local mode started with a 11-byte clientState");
            }
            Err(e) => e.to_string(),
        };
        assert!(
            error.contains("LOADOUT_GRAPH_CLIENT_STATE") && error.contains("16 bytes"),
            "{error}"
        );
        assert!(!error.contains("short-state"), "never the value: {error}");
    }
}
