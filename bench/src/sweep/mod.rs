//! `loadout-bench sweep`: the scheduled sweep (`stages::sweep::Sweeper`, as the sweeper Lambda
//! and `loadout sweep` run it) against the UEM simulator with UEM's rate limit (client bucket and
//! simulator both) and its latency model, on tokio's paused clock: simulated time is what the
//! sweep would take against UEM, real time is what the machine spent.
//!
//! For each tenant (the examples, then generated tenants of 2,500 and 10,000 users x 40 apps):
//! an initial sweep (it reads the UEM inventory in bulk), a first reconciliation (every user
//! re-evaluated through enrich, decide and execute until idle), a steady-state sweep after a
//! quiet minute (no drift), drift made by hand in the simulator (members removed, a member added,
//! a group deleted), the sweep that finds it, the pipeline's repair until idle, and a last sweep
//! that must find nothing. UEM calls are the simulator's call log, by kind.

mod drift;
mod generated;
mod phase;
mod world;

use loadout::stages::directory;
use loadout::stages::resync;
use loadout_cli::local::ExampleData;
use phase::{Phase, TenantFigures};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use uem_sim::Tenant;
use world::World;

/// The generated tenants: the same 40 apps for a quarter of the users and for all of them.
const GENERATED: [generated::Size; 2] = [
    generated::Size {
        users: 2_500,
        apps: 40,
    },
    generated::Size {
        users: 10_000,
        apps: 40,
    },
];
/// Quiet time before each sweep: a minute refills the tenant's whole rate-limit bucket, as the
/// schedule's interval (15 minutes locally) does. Longer would only spin the idle workers' polls.
const BETWEEN_SWEEPS: Duration = Duration::from_secs(60);
/// Longest simulated time the pipeline may take to settle.
const SETTLE_LIMIT: Duration = Duration::from_secs(12 * 3600);

fn examples_dir() -> PathBuf {
    std::env::var_os("LOADOUT_EXAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples"))
}

/// What a tenant is made of and how Loadout's side is seeded.
enum Subject {
    Examples(Box<ExampleData>),
    Generated(generated::Size),
}

impl Subject {
    fn label(&self) -> String {
        match self {
            Subject::Examples(_) => "examples".into(),
            Subject::Generated(s) => format!("generated {} users x {} apps", s.users, s.apps),
        }
    }

    fn tenant(&self) -> Result<Tenant, String> {
        match self {
            Subject::Examples(data) => Tenant::from_dir(&data.dir).map_err(|e| e.to_string()),
            Subject::Generated(size) => generated::tenant(*size),
        }
    }

    async fn seed(&self, world: &World) -> Result<(), String> {
        match self {
            Subject::Examples(data) => data
                .seed(&world.services)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Subject::Generated(size) => generated::seed(&world.services, *size).await.map(|_| ()),
        }
    }

    fn apps(&self) -> usize {
        match self {
            Subject::Examples(data) => data.catalog.len(),
            Subject::Generated(size) => size.apps,
        }
    }
}

pub fn run() -> Result<Value, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| e.to_string())?;
    let real = std::time::Instant::now();
    let examples = ExampleData::load(&examples_dir()).map_err(|e| e.to_string())?;
    let mut subjects = vec![Subject::Examples(Box::new(examples))];
    subjects.extend(GENERATED.iter().copied().map(Subject::Generated));
    println!(
        "sweep: UEM limit {}/min (client bucket and simulator), UEM latency 150-600 ms per call, simulated clock; each sweep after {} quiet s (a full bucket)",
        world::REQUESTS_PER_MINUTE,
        BETWEEN_SWEEPS.as_secs()
    );
    let mut tenants = Vec::new();
    for subject in &subjects {
        let figures = runtime.block_on(measure(subject))?;
        figures.print();
        tenants.push(figures);
    }
    let scaling = scaling(&tenants);
    if let Some(line) = scaling.get("summary").and_then(Value::as_str) {
        println!("{line}");
    }
    let real_secs = real.elapsed().as_secs_f64();
    println!("real time, all tenants: {real_secs:.1} s");
    let ok = tenants.iter().all(TenantFigures::converged);
    Ok(json!({
        "benchmark": "sweep",
        "requests_per_minute": world::REQUESTS_PER_MINUTE,
        "tenants": tenants.iter().map(TenantFigures::json).collect::<Vec<_>>(),
        "scaling": scaling,
        "real_secs": phase::round(real_secs),
        "converged": ok,
    }))
}

/// Steady-sweep calls of the generated tenants side by side: users x4, calls follow groups.
fn scaling(tenants: &[TenantFigures]) -> Value {
    let generated: Vec<&TenantFigures> = tenants.iter().filter(|t| t.generated).collect();
    let [small, large] = generated.as_slice() else {
        return Value::Null;
    };
    let ratio = |a: f64, b: f64| phase::round(if b > 0.0 { a / b } else { 0.0 });
    let users = ratio(large.users as f64, small.users as f64);
    let groups = ratio(large.groups as f64, small.groups as f64);
    let calls = ratio(large.steady.calls as f64, small.steady.calls as f64);
    let summary = format!(
        "scaling: users x{users}, Loadout groups x{groups} ({} -> {}), steady-sweep UEM calls x{calls} ({} -> {}); per group {:.2} -> {:.2}",
        small.groups,
        large.groups,
        small.steady.calls,
        large.steady.calls,
        small.steady.calls as f64 / small.groups.max(1) as f64,
        large.steady.calls as f64 / large.groups.max(1) as f64,
    );
    json!({
        "users_ratio": users,
        "groups_ratio": groups,
        "steady_calls_ratio": calls,
        "summary": summary,
    })
}

async fn measure(subject: &Subject) -> Result<TenantFigures, String> {
    let world = World::start(subject.tenant()?, world::settings()).await?;
    subject.seed(&world).await?;
    let users = directory::all_users(world.services.store.as_ref())
        .await
        .map_err(|e| e.to_string())?;

    // At start, as local mode does: the UEM inventory, before any Loadout group exists.
    let initial = Phase::sweep(&world, "initial sweep (reads the UEM inventory)").await?;
    let reconcile = Phase::settle(&world, "first reconciliation (every user decided)", || {
        resync::enqueue(&world.services, &users, "first reconciliation")
    })
    .await?;
    tokio::time::sleep(BETWEEN_SWEEPS).await;
    let steady = Phase::sweep(&world, "steady-state sweep").await?;
    let groups = steady.groups_read;
    let memberships = world
        .sim
        .groups()
        .iter()
        .filter(|g| g.name.starts_with("loadout:"))
        .map(|g| g.users.len())
        .sum();

    let names: Vec<String> = users.iter().map(|u| u.to_string()).collect();
    let hand = drift::make(&world.sim, &names)?;
    tokio::time::sleep(BETWEEN_SWEEPS).await;
    let drift_sweep = Phase::sweep(&world, "sweep after drift by hand").await?;
    let repair = Phase::settle(&world, "repair (pipeline until idle)", || async {
        Ok::<(), loadout::stages::StageError>(())
    })
    .await?;
    tokio::time::sleep(BETWEEN_SWEEPS).await;
    let verify = Phase::sweep(&world, "sweep after the repair").await?;
    let figures = TenantFigures {
        label: subject.label(),
        generated: matches!(subject, Subject::Generated(_)),
        users: users.len(),
        apps: subject.apps(),
        groups,
        memberships,
        hand: hand.describe(),
        initial,
        reconcile,
        steady,
        drift_sweep,
        repair,
        verify,
        dead_lettered: world.dead_lettered().await?,
        duplicates: world.sim.duplicates().len(),
    };
    world.shutdown().await;
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny generated tenant end to end: the steady sweep finds nothing, the hand-made drift
    /// is found and repaired, and the sweep after the repair finds nothing again.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_small_tenant_converges_and_its_drift_is_found_and_repaired() {
        let subject = Subject::Generated(generated::Size {
            users: 48,
            apps: 16,
        });
        let f = measure(&subject).await.expect("the benchmark runs");
        f.print();
        assert!(f.steady.drift.is_empty(), "{:?}", f.steady.drift);
        assert_eq!(f.drift_sweep.drift.get("member_removed"), Some(&2), "{f:?}");
        assert_eq!(f.drift_sweep.drift.get("member_added"), Some(&1), "{f:?}");
        assert_eq!(f.drift_sweep.drift.get("group_deleted"), Some(&1), "{f:?}");
        assert!(f.verify.drift.is_empty(), "{:?}", f.verify.drift);
        assert!(f.converged(), "{f:?}");
        assert!(f.steady.calls > 0 && f.steady.calls < f.reconcile.calls);
    }
}
