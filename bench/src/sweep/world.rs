//! The benchmark's world: the UEM simulator (rate limit and latency model on), the stages' ports
//! on SQLite in memory and tokio's paused clock, and local mode's pipeline workers (enrich,
//! decide, execute, flush) with the same sweeper the sweeper Lambda and `loadout sweep` build.

use chrono::Utc;
use loadout::adapters::local::{
    LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
};
use loadout::config::Settings;
use loadout::governance::Mode;
use loadout::ports::queue::names;
use loadout::ports::{Clock, SecretString, TokioClock};
use loadout::stages::Services;
use loadout::stages::decide::Decider;
use loadout::stages::enrich::Enricher;
use loadout::stages::execute::Executor;
use loadout::stages::policy_repo::{PolicyCache, engine_from_record};
use loadout::stages::sweep::Sweeper;
use loadout::uem::{UemApi, UemClient, UemConfig};
use loadout_cli::local::workers::{self, WorkerConfig};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uem_sim::{LatencyModel, SimConfig, SimHandle, Tenant, UemSim};

/// UEM's documented default budget, which Loadout's client and the simulator both enforce.
pub const REQUESTS_PER_MINUTE: u32 = 120;

/// A running simulator and pipeline.
pub struct World {
    pub sim: SimHandle,
    pub services: Services,
    pub sweeper: Sweeper,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The settings of the run: everything the policies decide runs (auto mode), and the breaker
/// watches removals only. The first reconciliation is a deliberate roll-out to every user, which
/// the assignment breaker exists to stop when it is not.
pub fn settings() -> Settings {
    let mut settings = Settings {
        mode: Mode::Auto,
        uem_requests_per_minute: REQUESTS_PER_MINUTE,
        ..Settings::default()
    };
    settings.breaker.assignments = false;
    settings
}

impl World {
    pub async fn start(tenant: Tenant, settings: Settings) -> Result<Self, String> {
        let sim = UemSim::start(
            SimConfig::new(tenant)
                .requests_per_minute(settings.uem_requests_per_minute)
                .latency(LatencyModel::typical().seed(2026)),
        )
        .await
        .map_err(|e| format!("UEM simulator: {e}"))?;
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(Utc::now()));
        let db = LocalDb::in_memory().map_err(|e| e.to_string())?;
        let services = Services {
            store: Arc::new(SqliteStateStore::new(db.clone(), clock.clone())),
            audit: Arc::new(SqliteAuditLog::new(db.clone())),
            queue: Arc::new(SqliteQueue::new(
                db,
                clock.clone(),
                QueueSpec::pipeline(settings.max_receives),
            )),
            secrets: Arc::new(LocalSecrets::with_loader(Box::new(Default::default))),
            clock: clock.clone(),
            settings: settings.clone(),
        };
        let config = UemConfig::oauth(
            &sim.base_url,
            &sim.token_url,
            &sim.credentials.client_id,
            SecretString::new(&sim.credentials.client_secret),
        )
        .tenant_code(&sim.credentials.tenant_code)
        .requests_per_minute(settings.uem_requests_per_minute)
        .organization_group_id(Some(&sim.organization_group().id.to_string()))
        // Paused time jumps whenever every task waits, loopback I/O included: a long timeout
        // keeps such a jump from ending a request the simulator is about to answer.
        .timeout(Duration::from_secs(3600));
        let uem: Arc<dyn UemApi> = Arc::new(
            UemClient::new(config, services.store.clone(), clock).map_err(|e| e.to_string())?,
        );
        let cache = || PolicyCache::new(engine_from_record, Duration::from_secs(5));
        let enricher = Arc::new(Enricher::new(services.clone(), uem.clone()));
        let decider = Arc::new(Decider::new(services.clone(), cache()));
        let executor = Arc::new(Executor::new(services.clone(), uem.clone(), cache()));
        // As local mode and the sweeper Lambda: the sweep reads the active policy set each time.
        let sweeper = Sweeper::new(
            services.clone(),
            uem,
            PolicyCache::new(engine_from_record, Duration::ZERO),
            executor.clone(),
        );
        let (stop, stopped) = watch::channel(false);
        // Local mode's workers: one per pipeline queue, two on each of the executor's queues.
        let worker = WorkerConfig {
            poll_interval: Duration::from_millis(50),
            visibility: Duration::from_secs(30),
            max_batch: 10,
            deadline: Duration::from_secs(60),
        };
        let mut tasks = vec![
            workers::spawn(
                services.clone(),
                names::ENRICH,
                worker.clone(),
                stopped.clone(),
                move |batch| {
                    let e = enricher.clone();
                    async move { e.handle_batch(batch).await }
                },
            ),
            workers::spawn(
                services.clone(),
                names::DECIDE,
                worker.clone(),
                stopped.clone(),
                move |batch| {
                    let d = decider.clone();
                    async move { d.handle_batch(batch).await }
                },
            ),
        ];
        for queue in [names::EXECUTE, names::FLUSH] {
            for _ in 0..2 {
                let x = executor.clone();
                tasks.push(workers::spawn(
                    services.clone(),
                    queue,
                    worker.clone(),
                    stopped.clone(),
                    move |batch| {
                        let x = x.clone();
                        async move { x.handle_batch(batch).await }
                    },
                ));
            }
        }
        Ok(Self {
            sim,
            services,
            sweeper,
            stop,
            tasks,
        })
    }

    /// Waits (on the simulated clock) until every pipeline queue is empty and no recorded change
    /// waits to be written to UEM.
    pub async fn settle(&self, limit: Duration) -> Result<(), String> {
        let give_up = tokio::time::Instant::now() + limit;
        let mut quiet = 0;
        while quiet < 3 {
            if tokio::time::Instant::now() > give_up {
                return Err(format!(
                    "the pipeline did not settle within {} simulated s",
                    limit.as_secs()
                ));
            }
            let mut busy = 0;
            for q in [names::ENRICH, names::DECIDE, names::EXECUTE, names::FLUSH] {
                busy += self
                    .services
                    .queue
                    .depth(q)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            busy += self
                .services
                .store
                .query("pending-apps", "")
                .await
                .map_err(|e| e.to_string())?
                .len();
            quiet = if busy == 0 { quiet + 1 } else { 0 };
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    /// Messages given up on, over every pipeline queue.
    pub async fn dead_lettered(&self) -> Result<usize, String> {
        let mut total = 0;
        for q in [names::ENRICH, names::DECIDE, names::EXECUTE, names::FLUSH] {
            total += self
                .services
                .queue
                .depth(&names::dead_letter(q))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(total)
    }

    /// UEM calls so far, by `METHOD /path/template`, as the simulator logged them.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.sim.counts()
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.sim.shutdown().await;
    }
}
