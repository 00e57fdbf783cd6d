//! `loadout-bench decide`: the fleet path of the policy engine on a generated tenant of 100,000
//! people and 300 apps. Users whose decision-relevant facts are identical share one evaluation,
//! so the cost is the number of distinct cohorts, not of people.
//!
//! Users the policies see as the same principal share each distinct device's evaluation too.
//!
//! Figures: distinct cohorts and principals, Cedar evaluations and their rate, user x app decisions per second,
//! the total time (grouping, evaluating, and materializing every user's decision), and, for
//! comparison, the per-user path measured on a sample and extrapolated to the whole fleet.

mod population;

use std::time::Instant;

use chrono::{TimeZone, Utc};
use loadout::policy::{CatalogFacts, FleetMember, PolicyEngine, UserFacts};
use serde_json::json;

const USERS: usize = 100_000;
const APPS: usize = 300;
const SEED: u64 = 20_261_120;
/// Users decided one by one, to compare.
const SAMPLE: usize = 300;
const TARGET_SECONDS: f64 = 60.0;

const SCHEMA: &str = include_str!("../../../examples/policies/schema.cedarschema");

pub fn run() -> Result<serde_json::Value, String> {
    let generated = Instant::now();
    let tenant = population::tenant(USERS, APPS, SEED)?;
    let engine = PolicyEngine::from_sources(SCHEMA, &tenant.policies).map_err(|e| e.to_string())?;
    let facts = CatalogFacts::new(&tenant.catalog).map_err(|e| e.to_string())?;
    let members = FleetMember::all(&tenant.population);
    let at = Utc
        .with_ymd_and_hms(2026, 11, 20, 14, 0, 0)
        .single()
        .ok_or("a valid time")?;
    let generate_seconds = generated.elapsed().as_secs_f64();

    let started = Instant::now();
    let tenth = std::sync::atomic::AtomicUsize::new(0);
    let fleet = engine
        .desired_for_fleet(&members, &facts, at, &|p| {
            // A line per tenth, on standard error: the figures stay on standard output.
            let step = p.done * 10 / p.total.max(1);
            if tenth.fetch_max(step, std::sync::atomic::Ordering::Relaxed) < step {
                eprintln!("  {}/{} cohorts", p.done, p.total);
            }
        })
        .map_err(|e| e.to_string())?;
    let evaluated = started.elapsed().as_secs_f64();
    // Every user's decision, as the sweep or `simulate` would use it.
    let mut entitlements = 0usize;
    for member in 0..members.len() {
        entitlements += fleet.entitled(member).count();
    }
    let total_seconds = started.elapsed().as_secs_f64();

    let cohorts = fleet.cohorts().len();
    let principals = fleet.cohorts().principals();
    let evaluations = fleet.evaluations();
    let decisions = members.len() * tenant.catalog.len();

    let alone = Instant::now();
    let step = (members.len() / SAMPLE).max(1);
    let mut sampled = 0;
    for member in members.iter().step_by(step).take(SAMPLE) {
        let user = UserFacts::new(member.employee, member.is_manager).map_err(|e| e.to_string())?;
        engine
            .desired_with(&user, member.devices, &facts, at)
            .map_err(|e| e.to_string())?;
        sampled += 1;
    }
    let per_user = alone.elapsed().as_secs_f64() / sampled.max(1) as f64;
    let naive_seconds = per_user * members.len() as f64;

    let evaluations_per_second = evaluations as f64 / evaluated;
    let decisions_per_second = decisions as f64 / total_seconds;
    println!(
        "decide: {} users x {} apps ({} policies), {} distinct cohorts ({:.1} users each) of {principals} distinct principals; tenant generated in {generate_seconds:.1} s",
        members.len(),
        tenant.catalog.len(),
        engine.rules().count(),
        cohorts,
        members.len() as f64 / cohorts as f64
    );
    println!(
        "  evaluation: {evaluations} Cedar evaluations in {evaluated:.1} s = {evaluations_per_second:.0}/s on {} threads",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  total (grouping, evaluating, every user's {entitlements} entitlements): {total_seconds:.1} s = {decisions_per_second:.0} user x app decisions/s"
    );
    println!(
        "  one by one (measured on {sampled} users, {:.1} ms each): about {naive_seconds:.0} s for the fleet",
        per_user * 1000.0
    );
    let met = total_seconds < TARGET_SECONDS;
    Ok(json!({
        "benchmark": "decide",
        "users": members.len(),
        "apps": tenant.catalog.len(),
        "cohorts": cohorts,
        "principals": principals,
        "evaluations": evaluations,
        "evaluations_per_second": evaluations_per_second.round(),
        "decisions_per_second": decisions_per_second.round(),
        "entitlements": entitlements,
        "evaluate_seconds": round2(evaluated),
        "total_seconds": round2(total_seconds),
        "per_user_path_seconds_estimated": round2(naive_seconds),
        "targets": {"total_seconds_max": TARGET_SECONDS},
        "met": met,
    }))
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
