//! Loadout's stages as local mode runs them (`loadout_cli::local`): the enricher, the decision
//! engine and the executor behind local mode's queue workers, and local mode's schedule for the
//! nudge, here with the deployed event sources' batch sizes and concurrency. No stage is
//! replaced: the coalescing measured is the one local mode and Lambda run.

use super::deployed::{Deployed, EventSource};
use loadout::ports::queue::names;
use loadout::stages::Services;
use loadout::stages::decide::Decider;
use loadout::stages::enrich::Enricher;
use loadout::stages::execute::Executor;
use loadout::stages::policy_repo::{PolicyCache, engine_from_record};
use loadout::stages::sweep::Sweeper;
use loadout::uem::UemApi;
use loadout_cli::local::schedule;
use loadout_cli::local::workers::{self, WorkerConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long the functions keep a policy set before looking for a newer one.
const POLICY_RECHECK: Duration = Duration::from_secs(30);

const POLL: Duration = Duration::from_millis(500);

pub struct Pipeline {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

fn cache() -> PolicyCache {
    PolicyCache::new(engine_from_record, POLICY_RECHECK)
}

impl Pipeline {
    /// The stages, idle until something is queued; the sweep is run by the caller.
    pub fn build(services: &Services, uem: Arc<dyn UemApi>) -> (Arc<Executor>, Arc<Sweeper>) {
        let executor = Arc::new(Executor::new(services.clone(), uem.clone(), cache()));
        let sweeper = Arc::new(Sweeper::new(
            services.clone(),
            uem,
            PolicyCache::new(engine_from_record, Duration::ZERO),
            executor.clone(),
        ));
        (executor, sweeper)
    }

    /// Starts a worker per concurrent invocation the template allows on each queue.
    pub fn start(
        services: &Services,
        uem: Arc<dyn UemApi>,
        executor: Arc<Executor>,
        sweeper: Arc<Sweeper>,
        deployed: &Deployed,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let config = |source: EventSource, deadline: Duration| WorkerConfig {
            // An idle worker looks again after this long (Lambda's pollers long-poll; this only
            // bounds how late a message is picked up, and keeps idle polling cheap in real time).
            poll_interval: POLL,
            visibility: source.visibility,
            max_batch: source.batch_size,
            deadline,
        };
        let mut tasks = Vec::new();
        let enricher = Arc::new(Enricher::new(services.clone(), uem.clone()));
        for _ in 0..deployed.enrich.max_concurrency.max(1) {
            let e = enricher.clone();
            tasks.push(workers::spawn(
                services.clone(),
                names::ENRICH,
                config(deployed.enrich, deployed.enricher_timeout),
                stopped.clone(),
                move |batch| {
                    let e = e.clone();
                    async move { e.handle_batch(batch).await }
                },
            ));
        }
        let decider = Arc::new(Decider::new(services.clone(), cache()));
        for _ in 0..deployed.decide.max_concurrency.max(1) {
            let d = decider.clone();
            tasks.push(workers::spawn(
                services.clone(),
                names::DECIDE,
                config(deployed.decide, deployed.decider_timeout),
                stopped.clone(),
                move |batch| {
                    let d = d.clone();
                    async move { d.handle_batch(batch).await }
                },
            ));
        }
        for (queue, source) in [
            (names::EXECUTE, deployed.execute),
            (names::FLUSH, deployed.flush),
        ] {
            for _ in 0..source.max_concurrency.max(1) {
                let x = executor.clone();
                tasks.push(workers::spawn(
                    services.clone(),
                    queue,
                    config(source, deployed.executor_timeout),
                    stopped.clone(),
                    move |batch| {
                        let x = x.clone();
                        async move { x.handle_batch(batch).await }
                    },
                ));
            }
        }
        tasks.push(schedule::spawn(
            executor.clone(),
            sweeper.clone(),
            // Reclamation is not part of this benchmark's traffic.
            None,
            schedule::Intervals {
                nudge: deployed.nudge_every,
                sweep: None,
                reclaim: None,
            },
            stopped,
        ));
        Self { stop, tasks }
    }

    /// True once every queue is empty and no change is pending, twice in a row.
    pub async fn wait_idle(services: &Services, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut quiet = 0;
        // `LOADOUT_BENCH_PROGRESS=1`: what is still in flight, every simulated minute.
        let progress = std::env::var_os("LOADOUT_BENCH_PROGRESS").is_some();
        let started = tokio::time::Instant::now();
        let real = std::time::Instant::now();
        let mut shown = 0;
        while tokio::time::Instant::now() < deadline {
            let minute = started.elapsed().as_secs() / 60;
            if progress && minute > shown {
                shown = minute;
                eprintln!(
                    "  [{minute} simulated min, {:.1} s real]\n{}",
                    real.elapsed().as_secs_f64(),
                    Self::diagnostics(services).await
                );
            }
            let mut busy = 0;
            for q in [names::ENRICH, names::DECIDE, names::EXECUTE, names::FLUSH] {
                busy += services.queue.depth(q).await.unwrap_or(1);
            }
            busy += services
                .store
                .query("pending-apps", "")
                .await
                .map(|apps| apps.len())
                .unwrap_or(1);
            if busy == 0 {
                quiet += 1;
                if quiet >= 2 {
                    return true;
                }
            } else {
                quiet = 0;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    }

    /// Queue depths, pending changes and the latest audit records, for a run that did not settle.
    pub async fn diagnostics(services: &Services) -> String {
        let mut out = String::new();
        for q in [names::ENRICH, names::DECIDE, names::EXECUTE, names::FLUSH] {
            for name in [q.to_owned(), names::dead_letter(q)] {
                let depth = services.queue.depth(&name).await;
                out.push_str(&format!("queue {name}: {depth:?}\n"));
            }
        }
        if let Ok(apps) = services.store.query("pending-apps", "").await {
            for app in apps {
                let pending = services
                    .store
                    .query(&format!("pending#{}", app.sk), "")
                    .await
                    .map(|p| p.len());
                out.push_str(&format!("pending changes of {}: {pending:?}\n", app.sk));
            }
        }
        let query = loadout::ports::AuditQuery {
            limit: Some(12),
            ..Default::default()
        };
        if let Ok(records) = services.audit.query(&query).await {
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

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
