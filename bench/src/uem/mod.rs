//! `loadout-bench uem`: a backlog of joiners, each entitled to the same apps, replayed through
//! the executor against the UEM simulator with the real rate limit (client token bucket and
//! simulator both), on tokio's paused clock so that simulated minutes take no real minutes.
//!
//! Figures: UEM calls Loadout made (the simulator's call log), calls the naive per-user-per-app
//! strategy makes (measured on a sample, extrapolated), their ratio, and the simulated time until
//! UEM held the desired state (the last change UEM accepted; checked afterwards user by user).

mod naive;
mod setup;

use loadout::ports::queue::names;
use loadout::stages::execute::Executor;
use loadout::stages::policy_repo::{PolicyCache, engine_from_record};
use loadout::uem::{UemApi, UemClient};
use loadout_cli::local::workers::{self, WorkerConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uem_sim::{PushMode as SimMode, SimConfig, UemSim};

/// What is replayed, and how the execute queue is consumed.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub users: usize,
    pub apps: usize,
    pub requests_per_minute: u32,
    /// Concurrent executor workers (Lambda runs several invocations of the FIFO queue at once).
    pub workers: usize,
    /// Messages handed to the executor at once (local mode's execute worker takes up to 500).
    pub max_batch: usize,
    /// Users the naive strategy is run for before extrapolating.
    pub naive_sample: usize,
}

impl Scenario {
    /// The benchmark of DESIGN.md: 1,000 joiners x 8 apps at 120 requests/minute.
    pub fn backlog() -> Self {
        Self {
            users: 1000,
            apps: 8,
            requests_per_minute: 120,
            workers: 4,
            max_batch: 500,
            naive_sample: 50,
        }
    }
}

pub const RATIO_MIN: f64 = 80.0;
pub const SIMULATED_SECONDS_MAX: f64 = 120.0;

#[derive(Debug, Clone)]
pub struct Figures {
    pub loadout_calls: usize,
    pub calls_by_kind: Vec<(String, usize)>,
    pub throttled: usize,
    pub naive_calls: usize,
    pub naive_sample_calls: usize,
    pub naive_sample_seconds: f64,
    pub ratio: f64,
    /// Until UEM accepted its last change.
    pub simulated_seconds: f64,
    /// Until the execute queue was empty.
    pub drained_seconds: f64,
    pub real_seconds: f64,
    /// Users whose UEM apps differ from the desired set, and duplicate findings.
    pub wrong_users: Vec<String>,
    pub duplicates: Vec<String>,
    pub dead_lettered: usize,
}

impl Figures {
    pub fn met(&self) -> bool {
        self.ratio >= RATIO_MIN
            && self.simulated_seconds <= SIMULATED_SECONDS_MAX
            && self.wrong_users.is_empty()
            && self.duplicates.is_empty()
            && self.dead_lettered == 0
    }
}

/// Runs the benchmark on a paused current-thread runtime and prints its figures; the JSON is
/// returned for `main` to print last.
pub fn run() -> Result<serde_json::Value, String> {
    let scenario = Scenario::backlog();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| e.to_string())?;
    let figures = runtime.block_on(measure(&scenario))?;
    print_figures(&scenario, &figures);
    Ok(json!({
        "benchmark": "uem",
        "users": scenario.users,
        "apps": scenario.apps,
        "loadout_calls": figures.loadout_calls,
        "naive_calls": figures.naive_calls,
        "ratio": (figures.ratio * 10.0).round() / 10.0,
        "simulated_seconds": (figures.simulated_seconds * 10.0).round() / 10.0,
        "targets": {"ratio_min": RATIO_MIN as u64, "simulated_seconds_max": SIMULATED_SECONDS_MAX as u64},
        "met": figures.met(),
    }))
}

/// Replays the backlog through Loadout, then the naive sample, and checks UEM's state.
pub async fn measure(s: &Scenario) -> Result<Figures, String> {
    let real = std::time::Instant::now();
    let sim = UemSim::start(
        SimConfig::new(setup::tenant(s.users, s.apps)?).requests_per_minute(s.requests_per_minute),
    )
    .await
    .map_err(|e| e.to_string())?;
    let clock = setup::tokio_clock();
    let services = setup::services(clock.clone())?;
    let version = setup::push_policy(&services, s.apps).await?;
    let uem: Arc<dyn UemApi> = Arc::new(
        UemClient::new(
            setup::uem_config(&sim, s.requests_per_minute),
            services.store.clone(),
            clock,
        )
        .map_err(|e| e.to_string())?,
    );
    setup::enqueue_joiners(&services, s.users, s.apps, &version).await?;

    let started = tokio::time::Instant::now();
    let executor = Arc::new(Executor::new(
        services.clone(),
        uem,
        PolicyCache::new(engine_from_record, Duration::from_secs(60)),
    ));
    let (stop, stopped) = watch::channel(false);
    let config = WorkerConfig {
        poll_interval: Duration::from_millis(50),
        visibility: Duration::from_secs(30),
        max_batch: s.max_batch,
        deadline: Duration::from_secs(120),
    };
    let tasks: Vec<_> = (0..s.workers)
        .map(|_| {
            let executor = executor.clone();
            workers::spawn(
                services.clone(),
                names::EXECUTE,
                config.clone(),
                stopped.clone(),
                move |batch| {
                    let x = executor.clone();
                    async move { x.handle_batch(batch).await }
                },
            )
        })
        .collect();
    // Drained: nothing waiting or in flight (the depth counts both).
    let give_up = started + Duration::from_secs(3600);
    while services.queue.depth(names::EXECUTE).await.unwrap_or(1) > 0 {
        if tokio::time::Instant::now() > give_up {
            return Err("the backlog did not drain within a simulated hour".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained_seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }

    let calls = sim.calls();
    let mutating = |m: &str| matches!(m, "POST" | "PUT" | "DELETE");
    let simulated_seconds = calls
        .iter()
        .filter(|c| mutating(&c.method) && c.status < 300)
        .map(|c| c.at.saturating_duration_since(started).as_secs_f64())
        .fold(0.0, f64::max);
    let mut wrong_users = Vec::new();
    for u in 0..s.users {
        let name = setup::username(u);
        let apps = sim.effective_apps(&name);
        let complete = apps.len() == s.apps
            && (0..s.apps)
                .all(|a| apps.get(&setup::uem_app_id(a).to_string()) == Some(&SimMode::Auto));
        if !complete {
            wrong_users.push(name);
        }
    }
    let duplicates = sim.duplicates();
    let dead_lettered = services
        .queue
        .depth(&names::dead_letter(names::EXECUTE))
        .await
        .map_err(|e| e.to_string())?;
    let calls_by_kind: Vec<(String, usize)> = sim.counts().into_iter().collect();
    let loadout_calls = calls.len();
    let throttled = calls.iter().filter(|c| c.status == 429).count();
    sim.shutdown().await;

    let sample = naive::run(s.users, s.apps, s.naive_sample, s.requests_per_minute).await?;
    let naive_calls = (sample.calls_per_user() * s.users as f64).round() as usize;
    Ok(Figures {
        loadout_calls,
        calls_by_kind,
        throttled,
        naive_calls,
        naive_sample_calls: sample.calls,
        naive_sample_seconds: sample.seconds,
        ratio: naive_calls as f64 / loadout_calls.max(1) as f64,
        simulated_seconds,
        drained_seconds,
        real_seconds: real.elapsed().as_secs_f64(),
        wrong_users,
        duplicates,
        dead_lettered,
    })
}

fn print_figures(s: &Scenario, f: &Figures) {
    let rate = f64::from(s.requests_per_minute) / 60.0;
    println!(
        "uem: {} joiners x {} apps = {} assignments, UEM limit {}/min (client bucket and simulator), simulated clock",
        s.users,
        s.apps,
        s.users * s.apps,
        s.requests_per_minute
    );
    println!(
        "  executor: {} concurrent worker(s), batches of up to {} messages from the FIFO execute queue, gather window {} ms",
        s.workers,
        s.max_batch,
        loadout::config::Settings::default()
            .execute_debounce
            .as_millis()
    );
    println!(
        "  Loadout UEM calls:     {:>7} ({} answered 429)",
        f.loadout_calls, f.throttled
    );
    for (kind, n) in &f.calls_by_kind {
        println!("      {n:>6}  {kind}");
    }
    println!(
        "  naive UEM calls:       {:>7} (measured: {} calls for {} users in {:.0} simulated s; x{} users)",
        f.naive_calls, f.naive_sample_calls, s.naive_sample, f.naive_sample_seconds, s.users
    );
    println!(
        "  ratio:                 {:>7.1}x (target >= {RATIO_MIN}x)",
        f.ratio
    );
    println!(
        "  simulated time:        {:>7.1} s until UEM held the desired state (target <= {SIMULATED_SECONDS_MAX} s); queue empty at {:.1} s",
        f.simulated_seconds, f.drained_seconds
    );
    println!(
        "  naive simulated time:  {:>7.0} s at the same limit ({:.0} min)",
        f.naive_calls as f64 / rate,
        f.naive_calls as f64 / rate / 60.0
    );
    println!(
        "  UEM state:             {} of {} users with all {} apps, {} duplicate(s), {} dead-lettered",
        s.users - f.wrong_users.len(),
        s.users,
        s.apps,
        f.duplicates.len(),
        f.dead_lettered
    );
    if !f.wrong_users.is_empty() {
        println!(
            "      e.g. {:?}",
            &f.wrong_users[..f.wrong_users.len().min(5)]
        );
    }
    println!("  real time:             {:>7.1} s", f.real_seconds);
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadout::stages::batch::InboundMessage;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_small_backlog_ends_in_the_desired_state_with_far_fewer_calls() {
        let scenario = Scenario {
            users: 120,
            apps: 8,
            requests_per_minute: 120,
            workers: 2,
            max_batch: 100,
            naive_sample: 5,
        };
        let f = measure(&scenario).await.expect("the benchmark runs");
        assert!(f.wrong_users.is_empty(), "{:?}", f.wrong_users);
        assert!(f.duplicates.is_empty(), "{:?}", f.duplicates);
        assert_eq!(f.dead_lettered, 0);
        assert_eq!(
            f.naive_sample_calls,
            5 * (1 + 2 * 8),
            "naive: 1 + 2 x apps per user"
        );
        assert!(
            f.ratio > 10.0,
            "{} calls vs {} naive",
            f.loadout_calls,
            f.naive_calls
        );
    }

    /// Two invocations of the executor at once, each with other users of the same app: the one
    /// that takes the app's lease waits a moment, and the other's changes join its group write.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn concurrent_batches_of_one_app_go_out_in_one_group_write() {
        let sim =
            UemSim::start(SimConfig::new(setup::tenant(20, 1).unwrap()).requests_per_minute(0))
                .await
                .unwrap();
        let clock = setup::tokio_clock();
        let services = setup::services(clock.clone()).unwrap();
        let version = setup::push_policy(&services, 1).await.unwrap();
        let uem: Arc<dyn UemApi> = Arc::new(
            UemClient::new(setup::uem_config(&sim, 0), services.store.clone(), clock).unwrap(),
        );
        let executor = || {
            Executor::new(
                services.clone(),
                uem.clone(),
                PolicyCache::new(engine_from_record, Duration::from_secs(60)),
            )
        };
        let batch = |users: std::ops::Range<usize>| -> Vec<InboundMessage> {
            users
                .map(|u| InboundMessage {
                    message_id: format!("m{u}"),
                    body: setup::assign_message(u, 0, &version).unwrap().0,
                    receive_count: 1,
                    group_id: Some(setup::username(u)),
                })
                .collect()
        };
        let (first, second) = (executor(), executor());
        let (a, b) = tokio::join!(
            first.handle_batch(batch(0..10)),
            second.handle_batch(batch(10..20))
        );
        assert_eq!((a.succeeded, b.succeeded), (10, 10), "{a:?} {b:?}");
        assert_eq!(sim.count("POST", "/api/mdm/smartgroups"), 1);
        assert_eq!(
            sim.count("PUT", "/api/mdm/smartgroups/{id}"),
            0,
            "the group was created with all 20 members: {:?}",
            sim.counts()
        );
        let members = sim.smart_group_members("loadout:bench-app-1").unwrap();
        assert_eq!(members.len(), 20);
    }
}
