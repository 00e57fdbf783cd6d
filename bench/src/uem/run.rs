//! One run of one scenario: a fresh simulator and store, the start-up sweep (the bulk inventory
//! read every live tenant has from its last sweep), then the scenario's events through intake's
//! queueing, enrichment, decisions and the executor until nothing is pending, then UEM's state
//! checked person by person.

use super::deployed::Deployed;
use super::pipeline::Pipeline;
use super::setup::{self, Catalog};
use super::stream::{Delivery, Stream};
use loadout::domain::{DomainEvent, Envelope, MessageKind, UserId};
use loadout::keys;
use loadout::ports::OutgoingMessage;
use loadout::ports::queue::names;
use loadout::stages::Services;
use loadout::stages::queue_once::{Once, queue_for_enrichment};
use loadout::stages::sweep::SweepOptions;
use loadout::stages::{directory, resync};
use loadout::uem::{InitialFill, UemApi, UemClient};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use uem_sim::{BucketStart, CallRecord, LatencyModel, PushMode as SimMode, SimConfig, UemSim};

/// What a run is given besides its scenario.
#[derive(Debug, Clone)]
pub struct Knobs {
    pub deployed: Deployed,
    pub requests_per_minute: u32,
    /// UEM's response time (`None`: instant).
    pub latency: Option<(Duration, Duration)>,
    /// The shared bucket (Loadout's and UEM's) starts empty, as in a tenant in use.
    pub bucket_empty: bool,
    pub seed: u64,
    /// How long (simulated) a run may take to settle before it is called failed.
    pub settle_within: Duration,
}

/// What happens in a run.
#[derive(Debug, Clone)]
pub enum Work {
    /// These HR events, as timed.
    Events(Stream),
    /// The first reconciliation after set-up: every person's profile is in the directory and
    /// each gets a re-evaluation (`resync`, as `loadout demo` and the admin API start it).
    FirstReconciliation { users: usize },
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Every UEM call (the simulator's log), token requests included.
    pub calls: usize,
    pub by_kind: BTreeMap<String, usize>,
    /// Calls of the start-up sweep (the bulk inventory read), part of `calls`.
    pub sweep_calls: usize,
    /// Per-person reads of users and devices during the events (the enricher's misses).
    pub enrichment_calls: usize,
    pub throttled: usize,
    pub bytes_sent: usize,
    pub largest_body: usize,
    pub largest_body_call: String,
    /// From the first event to UEM's last accepted change.
    pub desired_seconds: f64,
    /// From the first event to nothing queued or pending.
    pub drained_seconds: f64,
    pub events: usize,
    pub people: usize,
    pub wrong: Vec<String>,
    pub duplicates: Vec<String>,
    pub dead_lettered: usize,
    pub real_seconds: f64,
}

fn is_api(c: &CallRecord) -> bool {
    c.path.to_ascii_lowercase().starts_with("/api/")
}

fn is_person_read(c: &CallRecord) -> bool {
    let t = c.template().to_ascii_lowercase();
    c.method == "GET"
        && (t.contains("/users/search")
            || t.contains("/devices/search")
            || t.ends_with("/devices")
            || t.contains("/users/{id}"))
}

/// Runs the work once on the current (paused) runtime.
pub async fn once(
    knobs: &Knobs,
    catalog: Catalog,
    work: &Work,
    run: u64,
) -> Result<Outcome, String> {
    let real = std::time::Instant::now();
    let people = match work {
        Work::Events(stream) => stream.expected.keys().max().map_or(0, |m| m + 1),
        Work::FirstReconciliation { users } => *users,
    };
    let mut sim_config = SimConfig::new(setup::tenant(people, catalog)?)
        .requests_per_minute(knobs.requests_per_minute)
        .bucket_start(if knobs.bucket_empty {
            BucketStart::Empty
        } else {
            BucketStart::Full
        });
    if let Some((min, max)) = knobs.latency {
        sim_config =
            sim_config.latency(LatencyModel::between(min, max).seed(knobs.seed.wrapping_add(run)));
    }
    let sim = Arc::new(UemSim::start(sim_config).await.map_err(|e| e.to_string())?);
    let clock = setup::tokio_clock();
    let settings = setup::settings(
        &knobs.deployed.executor,
        &knobs.deployed.enricher,
        knobs.requests_per_minute,
    );
    // Kept to the end of the run: dropping it removes the database.
    let (services, _db_dir) = setup::services(clock.clone(), settings)?;
    setup::push_policy(&services, catalog).await?;
    let uem: Arc<dyn UemApi> = Arc::new(
        UemClient::new(
            setup::uem_config(&sim, knobs.requests_per_minute),
            services.store.clone(),
            clock,
        )
        .map_err(|e| e.to_string())?
        .with_initial_budget(if knobs.bucket_empty {
            InitialFill::Empty
        } else {
            InitialFill::Full
        }),
    );
    let monitor = std::env::var_os("LOADOUT_BENCH_PROGRESS").map(|_| {
        let sim = sim.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let calls = sim.calls();
                eprintln!(
                    "  [{} UEM calls; last: {:?}]",
                    calls.len(),
                    calls
                        .last()
                        .map(|c| (&c.method, &c.path, &c.query, c.status))
                );
            }
        })
    });
    let (executor, sweeper) = Pipeline::build(&services, uem.clone());
    sweeper
        .sweep(&SweepOptions::default())
        .await
        .map_err(|e| format!("the start-up sweep: {e}"))?;
    let sweep_calls = sim.calls().len();

    let started = tokio::time::Instant::now();
    let pipeline = Pipeline::start(&services, uem, executor, sweeper, &knobs.deployed);
    let events = feed(&services, work, started).await?;
    let idle = Pipeline::wait_idle(&services, knobs.settle_within).await;
    let drained_seconds = started.elapsed().as_secs_f64();
    if !idle {
        let diagnostics = Pipeline::diagnostics(&services).await;
        pipeline.stop().await;
        return Err(format!(
            "the pipeline did not settle within {} simulated s:\n{diagnostics}calls: {:?}",
            knobs.settle_within.as_secs(),
            sim.counts()
        ));
    }
    pipeline.stop().await;

    let calls = sim.calls();
    let during: Vec<&CallRecord> = calls.iter().skip(sweep_calls).collect();
    let desired_seconds = during
        .iter()
        .filter(|c| is_api(c) && matches!(c.method.as_str(), "POST" | "PUT" | "DELETE"))
        .filter(|c| c.status < 300)
        .map(|c| c.at.saturating_duration_since(started).as_secs_f64())
        .fold(0.0, f64::max);
    let largest = calls.iter().max_by_key(|c| c.request_bytes);
    let expected = match work {
        Work::Events(stream) => stream.expected.clone(),
        Work::FirstReconciliation { users } => {
            let all = catalog.entitled("General");
            (0..*users).map(|i| (i, all.clone())).collect()
        }
    };
    let outcome = Outcome {
        calls: calls.len(),
        by_kind: sim.counts(),
        sweep_calls,
        enrichment_calls: during.iter().filter(|c| is_person_read(c)).count(),
        throttled: calls.iter().filter(|c| c.status == 429).count(),
        bytes_sent: calls.iter().map(|c| c.request_bytes).sum(),
        largest_body: largest.map_or(0, |c| c.request_bytes),
        largest_body_call: largest
            .map_or(String::new(), |c| format!("{} {}", c.method, c.template())),
        desired_seconds,
        drained_seconds,
        events,
        people: expected.len(),
        wrong: wrong_people(&sim, &expected),
        duplicates: sim.duplicates(),
        dead_lettered: dead_letters(&services).await?,
        real_seconds: 0.0,
    };
    if let Some(m) = monitor {
        m.abort();
        let _ = m.await;
    }
    if let Ok(sim) = Arc::try_unwrap(sim) {
        sim.shutdown().await;
    }
    Ok(Outcome {
        real_seconds: real.elapsed().as_secs_f64(),
        ..outcome
    })
}

/// Sends the work's events at their times; returns how many deliveries were made.
async fn feed(
    services: &Services,
    work: &Work,
    started: tokio::time::Instant,
) -> Result<usize, String> {
    match work {
        Work::FirstReconciliation { users } => {
            let now = services.clock.now();
            let mut ids = Vec::with_capacity(*users);
            for i in 0..*users {
                let employee = super::stream::employee(i, "General");
                directory::upsert_profile(services.store.as_ref(), &employee, now, true)
                    .await
                    .map_err(|e| e.to_string())?;
                ids.push(UserId::new(setup::username(i)));
            }
            resync::enqueue(services, &ids, "first reconciliation")
                .await
                .map_err(|e| e.to_string())?;
            Ok(*users)
        }
        Work::Events(stream) => {
            let mut sent = 0;
            let mut at = 0usize;
            while at < stream.events.len() {
                let due = stream.events[at].at;
                tokio::time::sleep_until(started + Duration::from_secs_f64(due)).await;
                // Everything due at this moment goes in one intake batch.
                let mut webhooks = Vec::new();
                while at < stream.events.len() && stream.events[at].at <= due {
                    let e = &stream.events[at];
                    match e.delivery {
                        Delivery::Webhook => {
                            let (pk, sk) = keys::inbound_event(
                                e.event.source.as_str(),
                                &e.event.source_event_id,
                            );
                            webhooks.push(Once {
                                pk,
                                sk,
                                event: e.event.clone(),
                                correlation_id: e.correlation.clone(),
                            });
                        }
                        Delivery::Redelivered => redeliver(services, &e.event, e).await?,
                    }
                    sent += 1;
                    at += 1;
                }
                for chunk in webhooks.chunks(500) {
                    queue_for_enrichment(services, chunk.to_vec())
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            Ok(sent)
        }
    }
}

/// The enrich queue's message for an event, sent again (what SQS may do).
async fn redeliver(
    services: &Services,
    event: &DomainEvent,
    timed: &super::stream::Timed,
) -> Result<(), String> {
    let envelope = Envelope::new(
        MessageKind::Event,
        event.event_id.clone(),
        timed.correlation.clone(),
        event.occurred_at,
        event.clone(),
    );
    let body = serde_json::to_string(&envelope).map_err(|e| e.to_string())?;
    services
        .queue
        .send(names::ENRICH, vec![OutgoingMessage::standard(body)])
        .await
        .map_err(|e| e.to_string())
}

/// People whose apps in UEM (through Loadout's groups and their assignments) differ from what
/// they should hold. Read from the groups in one pass, so a tenant of 100,000 is checked quickly.
fn wrong_people(sim: &uem_sim::SimHandle, expected: &BTreeMap<usize, Vec<usize>>) -> Vec<String> {
    let mut held: BTreeMap<String, BTreeSet<(i64, bool)>> = BTreeMap::new();
    for group in sim.groups() {
        for (app, mode) in &group.apps {
            for user in &group.users {
                held.entry(user.clone())
                    .or_default()
                    .insert((*app, *mode == SimMode::Auto));
            }
        }
    }
    expected
        .iter()
        .filter_map(|(i, apps)| {
            let name = setup::username(*i);
            let want: BTreeSet<(i64, bool)> =
                apps.iter().map(|a| (setup::uem_app_id(*a), true)).collect();
            let have = held.remove(&name).unwrap_or_default();
            (have != want).then_some(name)
        })
        .collect()
}

async fn dead_letters(services: &Services) -> Result<usize, String> {
    let mut n = 0;
    for q in [names::ENRICH, names::DECIDE, names::EXECUTE, names::FLUSH] {
        n += services
            .queue
            .depth(&names::dead_letter(q))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(n)
}
