//! `loadout-bench uem [flags]`: what Loadout costs UEM as deployed. The configuration is the
//! template's (`deployed`: SQS batch sizes and concurrency of every stage, the executor's
//! debounce, longest wait and shard size, the rate budget, the nudge), unless a flag overrides
//! it. Each run starts a UEM simulator with UEM's latency (seeded, 150-600 ms per call by
//! default) and both rate-limit buckets empty (a tenant in use), reads the inventory with the
//! start-up sweep, and sends the scenario's HR events through the real stages as local mode runs
//! them (`pipeline`), on tokio's paused clock: simulated minutes take no real minutes, and every
//! wait (the budget, UEM's latency, the debounce) is on that clock.
//!
//! Scenarios (each run `--runs` times, 5 by default; min, median and max are printed):
//! - `joiners-1k`: 1,000 joiners x 8 apps. Targets: >= 80x fewer calls than naive, UEM holding
//!   the desired state within 3 simulated minutes.
//! - `joiners-10k`: 10,000 joiners x 20 apps. Target: >= 200x fewer calls than naive.
//! - `mixed`: 5,000 HR events (joiners, movers, leavers, duplicates) over an hour: calls per event.
//! - `first-reconciliation`: 100,000 people x 20 apps re-evaluated at once: calls, bytes sent, the
//!   largest request body. Target: none over 1 MB.
//!
//! The naive strategy (per person a user search, per person and app a group read and a write) is
//! measured on a sample on the same terms and extrapolated.

mod deployed;
mod naive;
mod pipeline;
mod run;
mod setup;
mod stream;

use deployed::Deployed;
use run::{Knobs, Outcome, Work};
use serde_json::{Value, json};
use setup::Catalog;
use std::collections::BTreeMap;
use std::time::Duration;

const USAGE: &str = "loadout-bench uem [--runs N] [--scenario NAME]... [--batch-size N] \
[--concurrency N] [--debounce-ms N] [--max-wait-ms N] [--shard-size N] [--rpm N] \
[--latency-ms MIN-MAX|0] [--bucket empty|full] [--seed N] [--mixed-minutes M]
  scenarios: joiners-1k joiners-10k mixed first-reconciliation (default: all)";

const SCENARIOS: [&str; 4] = ["joiners-1k", "joiners-10k", "mixed", "first-reconciliation"];
const NAIVE_SAMPLE: usize = 10;
const BODY_MAX: usize = 1_000_000;

/// Flags, applied over the template's configuration.
#[derive(Debug, Clone)]
pub struct Options {
    pub runs: usize,
    pub scenarios: Vec<String>,
    pub knobs: Knobs,
    pub mixed_minutes: f64,
    /// What was overridden, for the report.
    pub overrides: Vec<String>,
}

fn value<T: std::str::FromStr>(flag: &str, v: Option<&String>) -> Result<T, String> {
    v.and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
}

impl Options {
    pub fn parse(args: &[String], deployed: Deployed) -> Result<Self, String> {
        let mut o = Options {
            runs: 5,
            scenarios: Vec::new(),
            knobs: Knobs {
                requests_per_minute: deployed.executor.uem_requests_per_minute,
                deployed,
                latency: Some((Duration::from_millis(150), Duration::from_millis(600))),
                bucket_empty: true,
                seed: 2026,
                settle_within: Duration::from_secs(6 * 3600),
            },
            mixed_minutes: 60.0,
            overrides: Vec::new(),
        };
        let mut i = 0;
        while i < args.len() {
            let flag = args[i].as_str();
            let v = args.get(i + 1);
            let d = &mut o.knobs.deployed;
            match flag {
                "--runs" => o.runs = value::<usize>(flag, v)?.max(1),
                "--scenario" => {
                    let name: String = value(flag, v)?;
                    if !SCENARIOS.contains(&name.as_str()) {
                        return Err(format!("unknown scenario {name:?}\n{USAGE}"));
                    }
                    o.scenarios.push(name);
                }
                "--batch-size" => {
                    let n = value::<usize>(flag, v)?.max(1);
                    d.execute.batch_size = n;
                    d.flush.batch_size = n;
                }
                "--concurrency" => {
                    let n = value::<usize>(flag, v)?.max(1);
                    d.execute.max_concurrency = n;
                    d.flush.max_concurrency = n;
                }
                "--debounce-ms" => {
                    d.executor.execute_debounce = Duration::from_millis(value(flag, v)?)
                }
                "--max-wait-ms" => {
                    d.executor.execute_max_wait = Duration::from_millis(value(flag, v)?)
                }
                "--shard-size" => d.executor.group_shard_size = value::<usize>(flag, v)?.max(1),
                "--rpm" => o.knobs.requests_per_minute = value(flag, v)?,
                "--latency-ms" => {
                    let text: String = value(flag, v)?;
                    o.knobs.latency = match text.split_once('-') {
                        _ if text == "0" => None,
                        Some((a, b)) => Some((
                            Duration::from_millis(value(flag, Some(&a.to_owned()))?),
                            Duration::from_millis(value(flag, Some(&b.to_owned()))?),
                        )),
                        None => {
                            let ms = Duration::from_millis(value(flag, Some(&text))?);
                            Some((ms, ms))
                        }
                    };
                }
                "--bucket" => {
                    o.knobs.bucket_empty = match v.map(String::as_str) {
                        Some("empty") => true,
                        Some("full") => false,
                        _ => return Err(format!("--bucket empty|full\n{USAGE}")),
                    }
                }
                "--seed" => o.knobs.seed = value(flag, v)?,
                "--mixed-minutes" => o.mixed_minutes = value(flag, v)?,
                other => return Err(format!("unknown flag {other:?}\n{USAGE}")),
            }
            if flag != "--scenario" {
                o.overrides
                    .push(format!("{flag} {}", v.map_or("", |s| s.as_str())));
            }
            i += 2;
        }
        if o.scenarios.is_empty() {
            o.scenarios = SCENARIOS.iter().map(|s| (*s).to_owned()).collect();
        }
        Ok(o)
    }
}

/// A scenario's shape and targets.
struct Scenario {
    name: &'static str,
    title: String,
    catalog: Catalog,
    work: Box<dyn Fn(u64) -> Work>,
    /// Joiner backlogs are compared with the naive strategy.
    naive: bool,
    ratio_min: Option<f64>,
    desired_seconds_max: Option<f64>,
    body_max: Option<usize>,
}

fn scenario(name: &str, o: &Options) -> Scenario {
    let start = chrono::Utc::now();
    let joiners = |users: usize, apps: usize| {
        let catalog = Catalog {
            apps,
            department_apps: 0,
        };
        (
            catalog,
            Box::new(move |_run: u64| Work::Events(stream::joiners(users, catalog, start)))
                as Box<dyn Fn(u64) -> Work>,
        )
    };
    match name {
        "joiners-1k" => {
            let (catalog, work) = joiners(1000, 8);
            Scenario {
                name: "joiners-1k",
                title: "1,000 joiners x 8 apps".into(),
                catalog,
                work,
                naive: true,
                ratio_min: Some(80.0),
                desired_seconds_max: Some(180.0),
                body_max: None,
            }
        }
        "joiners-10k" => {
            let (catalog, work) = joiners(10_000, 20);
            Scenario {
                name: "joiners-10k",
                title: "10,000 joiners x 20 apps".into(),
                catalog,
                work,
                naive: true,
                ratio_min: Some(200.0),
                desired_seconds_max: None,
                body_max: None,
            }
        }
        "mixed" => {
            let catalog = Catalog {
                apps: 8,
                department_apps: 2,
            };
            let minutes = o.mixed_minutes;
            let seed = o.knobs.seed;
            Scenario {
                name: "mixed",
                title: format!(
                    "a mixed stream of 5,000 HR events over {minutes} simulated minutes, 8 apps"
                ),
                catalog,
                work: Box::new(move |run| {
                    Work::Events(stream::mixed(5000, catalog, minutes, seed + run, start))
                }),
                naive: false,
                ratio_min: None,
                desired_seconds_max: None,
                body_max: None,
            }
        }
        _ => Scenario {
            name: "first-reconciliation",
            title: "first reconciliation of 100,000 people x 20 apps".into(),
            catalog: Catalog {
                apps: 20,
                department_apps: 0,
            },
            work: Box::new(|_| Work::FirstReconciliation { users: 100_000 }),
            naive: false,
            ratio_min: None,
            desired_seconds_max: None,
            body_max: Some(BODY_MAX),
        },
    }
}

/// min, median, max.
fn spread(mut values: Vec<f64>) -> [f64; 3] {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return [f64::NAN; 3];
    }
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    [values[0], median, values[n - 1]]
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn spread_json(s: [f64; 3], places: i32) -> Value {
    json!({"min": round(s[0], places), "median": round(s[1], places), "max": round(s[2], places)})
}

pub fn run() -> Result<Value, String> {
    let args: Vec<String> = std::env::args().skip(2).collect();
    let deployed = Deployed::from_repository().map_err(|e| e.to_string())?;
    let options = Options::parse(&args, deployed)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(measure(&options))
}

fn describe(o: &Options) {
    let d = &o.knobs.deployed;
    println!(
        "uem: the deployed configuration (infra/template.yaml){}",
        if o.overrides.is_empty() {
            String::new()
        } else {
            format!(", overridden by {}", o.overrides.join(", "))
        }
    );
    println!(
        "  enrich: batch {} x {} concurrent; decide: batch {} x {}; execute: batch {} x {}; flush: batch {} x {}; nudge every {} s",
        d.enrich.batch_size,
        d.enrich.max_concurrency,
        d.decide.batch_size,
        d.decide.max_concurrency,
        d.execute.batch_size,
        d.execute.max_concurrency,
        d.flush.batch_size,
        d.flush.max_concurrency,
        d.nudge_every.as_secs()
    );
    println!(
        "  executor: debounce {} ms, longest wait {} ms, shards of up to {} members, timeout {} s",
        d.executor.execute_debounce.as_millis(),
        d.executor.execute_max_wait.as_millis(),
        d.executor.group_shard_size,
        d.executor_timeout.as_secs()
    );
    println!(
        "  UEM: {} requests/min shared by every stage, buckets start {}; latency {}; {} runs per scenario, simulated clock",
        o.knobs.requests_per_minute,
        if o.knobs.bucket_empty {
            "empty"
        } else {
            "full"
        },
        match o.knobs.latency {
            Some((a, b)) => format!(
                "{}-{} ms per call (seeded {} + run)",
                a.as_millis(),
                b.as_millis(),
                o.knobs.seed
            ),
            None => "none".into(),
        },
        o.runs
    );
}

async fn measure(o: &Options) -> Result<Value, String> {
    describe(o);
    let mut scenarios = serde_json::Map::new();
    let mut all_met = true;
    for name in &o.scenarios {
        let s = scenario(name, o);
        println!();
        println!("{} ({}):", s.title, s.name);
        let mut outcomes: Vec<Outcome> = Vec::new();
        for r in 0..o.runs as u64 {
            let work = (s.work)(r);
            if let (0, Work::Events(stream)) = (r, &work) {
                println!("  the stream: {:?}", stream.counts);
            }
            let outcome = run::once(&o.knobs, s.catalog, &work, r).await?;
            eprintln!(
                "  run {}: {} calls, desired state at {:.1} s, {:.1} s real",
                r + 1,
                outcome.calls,
                outcome.desired_seconds,
                outcome.real_seconds
            );
            outcomes.push(outcome);
        }
        let naive = if s.naive {
            Some(naive::run(&o.knobs, s.catalog.apps, NAIVE_SAMPLE).await?)
        } else {
            None
        };
        let (figures, met) = report(&s, o, &outcomes, naive.as_ref());
        all_met &= met.values().all(|m| m.as_bool().unwrap_or(true));
        scenarios.insert(
            s.name.to_owned(),
            json!({"title": s.title, "figures": figures, "met": met}),
        );
    }
    let d = &o.knobs.deployed;
    Ok(json!({
        "benchmark": "uem",
        "config": {
            "source": "infra/template.yaml",
            "overrides": o.overrides,
            "execute_batch": d.execute.batch_size,
            "execute_concurrency": d.execute.max_concurrency,
            "flush_batch": d.flush.batch_size,
            "flush_concurrency": d.flush.max_concurrency,
            "enrich_batch": d.enrich.batch_size,
            "enrich_concurrency": d.enrich.max_concurrency,
            "debounce_ms": d.executor.execute_debounce.as_millis() as u64,
            "max_wait_ms": d.executor.execute_max_wait.as_millis() as u64,
            "shard_size": d.executor.group_shard_size,
            "requests_per_minute": o.knobs.requests_per_minute,
            "latency_ms": o.knobs.latency.map(|(a, b)| [a.as_millis() as u64, b.as_millis() as u64]),
            "bucket_start": if o.knobs.bucket_empty { "empty" } else { "full" },
            "seed": o.knobs.seed,
            "runs": o.runs,
        },
        "scenarios": scenarios,
        "met": all_met,
    }))
}

/// Prints a scenario's figures and returns them with the targets' verdicts (each judged on the
/// worst run).
fn report(
    s: &Scenario,
    o: &Options,
    outcomes: &[Outcome],
    naive: Option<&naive::NaiveSample>,
) -> (Value, serde_json::Map<String, Value>) {
    let of = |f: &dyn Fn(&Outcome) -> f64| spread(outcomes.iter().map(f).collect());
    let calls = of(&|x| x.calls as f64);
    let desired = of(&|x| x.desired_seconds);
    let drained = of(&|x| x.drained_seconds);
    let sweep = of(&|x| x.sweep_calls as f64);
    let enrichment = of(&|x| x.enrichment_calls as f64);
    let throttled = of(&|x| x.throttled as f64);
    let bytes = of(&|x| x.bytes_sent as f64);
    let largest = of(&|x| x.largest_body as f64);
    let per_event = of(&|x| x.calls as f64 / x.events.max(1) as f64);
    let real = of(&|x| x.real_seconds);
    let wrong = outcomes.iter().map(|x| x.wrong.len()).max().unwrap_or(0);
    let duplicates = outcomes
        .iter()
        .map(|x| x.duplicates.len())
        .max()
        .unwrap_or(0);
    let dead = outcomes.iter().map(|x| x.dead_lettered).max().unwrap_or(0);
    let first = &outcomes[0];
    let show = |label: &str, v: [f64; 3], places: usize, unit: &str| {
        println!(
            "  {label:<34} min {:>10.p$}  median {:>10.p$}  max {:>10.p$}{unit}",
            v[0],
            v[1],
            v[2],
            p = places
        );
    };
    println!(
        "  {} events/people: {} deliveries, {} people",
        s.name, first.events, first.people
    );
    show("UEM calls (all)", calls, 0, "");
    show(
        "  of which the start-up sweep",
        sweep,
        0,
        " (bulk inventory read)",
    );
    show(
        "  of which per-person reads",
        enrichment,
        0,
        " (enrichment misses)",
    );
    show("  answered 429", throttled, 0, "");
    println!("  calls by kind (run 1):");
    for (kind, n) in &first.by_kind {
        println!("      {n:>7}  {kind}");
    }
    let mut figures = json!({
        "events": first.events,
        "people": first.people,
        "calls": spread_json(calls, 0),
        "sweep_calls": spread_json(sweep, 0),
        "enrichment_calls": spread_json(enrichment, 0),
        "throttled": spread_json(throttled, 0),
        "calls_by_kind_run1": first.by_kind,
        "desired_state_seconds": spread_json(desired, 1),
        "drained_seconds": spread_json(drained, 1),
        "bytes_sent": spread_json(bytes, 0),
        "largest_body_bytes": spread_json(largest, 0),
        "largest_body_call": first.largest_body_call,
        "calls_per_event": spread_json(per_event, 3),
        "wrong_people_max": wrong,
        "duplicates_max": duplicates,
        "dead_lettered_max": dead,
        "real_seconds": spread_json(real, 1),
    });
    let mut met = serde_json::Map::new();
    met.insert(
        "desired_state".into(),
        json!(wrong == 0 && duplicates == 0 && dead == 0),
    );
    if let Some(n) = naive {
        let users = first.people as f64;
        let naive_calls = (n.calls_per_user() * users).round();
        let ratio = spread(
            outcomes
                .iter()
                .map(|x| naive_calls / x.calls.max(1) as f64)
                .collect(),
        );
        let rate = f64::from(o.knobs.requests_per_minute.max(1)) / 60.0;
        println!(
            "  naive UEM calls:                   {naive_calls:>10.0}  (measured: {} calls for {} people in {:.0} simulated s, x{})",
            n.calls, n.users, n.seconds, first.people
        );
        show("ratio naive / Loadout", ratio, 1, "x");
        println!(
            "  naive simulated time:              {:>10.0} s at the same limit ({:.0} min)",
            naive_calls / rate,
            naive_calls / rate / 60.0
        );
        figures["naive_calls"] = json!(naive_calls);
        figures["ratio"] = spread_json(ratio, 1);
        if let Some(min) = s.ratio_min {
            met.insert("ratio".into(), json!(ratio[0] >= min));
            figures["ratio_min_target"] = json!(min);
        }
    }
    show("simulated s to desired state", desired, 1, " s");
    show("simulated s until drained", drained, 1, " s");
    show("request bytes sent", bytes, 0, "");
    show(
        "largest request body",
        largest,
        0,
        &format!(" bytes ({})", first.largest_body_call),
    );
    show("UEM calls per event", per_event, 3, "");
    show("real s per run", real, 1, " s");
    println!(
        "  UEM state: {} of {} people wrong at worst, {} duplicate(s), {} dead-lettered",
        wrong, first.people, duplicates, dead
    );
    for x in outcomes.iter().filter(|x| !x.wrong.is_empty()).take(1) {
        println!("      e.g. {:?}", &x.wrong[..x.wrong.len().min(5)]);
    }
    if let Some(max) = s.desired_seconds_max {
        met.insert("desired_seconds".into(), json!(desired[2] <= max));
        figures["desired_seconds_max_target"] = json!(max);
    }
    if let Some(max) = s.body_max {
        met.insert("largest_body".into(), json!(largest[2] <= max as f64));
        figures["largest_body_max_target"] = json!(max);
    }
    let verdicts: BTreeMap<&String, &Value> = met.iter().collect();
    println!("  targets (worst run): {verdicts:?}");
    (figures, met)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn without_flags_the_options_are_the_templates() {
        let deployed = Deployed::from_repository().unwrap();
        let o = Options::parse(&[], deployed.clone()).unwrap();
        assert_eq!(o.knobs.deployed, deployed);
        assert_eq!(
            o.knobs.requests_per_minute,
            deployed.executor.uem_requests_per_minute
        );
        assert!(
            o.knobs.bucket_empty,
            "a tenant in use: the bucket starts empty"
        );
        assert_eq!(o.runs, 5);
        assert_eq!(o.scenarios.len(), SCENARIOS.len());
    }

    #[test]
    fn flags_override_the_template() {
        let deployed = Deployed::from_repository().unwrap();
        let o = Options::parse(
            &args(&[
                "--batch-size",
                "100",
                "--concurrency",
                "4",
                "--debounce-ms",
                "500",
                "--latency-ms",
                "0",
                "--bucket",
                "full",
                "--scenario",
                "mixed",
            ]),
            deployed,
        )
        .unwrap();
        let d = &o.knobs.deployed;
        assert_eq!((d.execute.batch_size, d.flush.max_concurrency), (100, 4));
        assert_eq!(d.executor.execute_debounce, Duration::from_millis(500));
        assert_eq!(o.knobs.latency, None);
        assert!(!o.knobs.bucket_empty);
        assert_eq!(o.scenarios, vec!["mixed".to_owned()]);
        assert_eq!(o.overrides.len(), 5);
    }

    #[test]
    fn spread_is_min_median_max() {
        assert_eq!(spread(vec![3.0, 1.0, 2.0]), [1.0, 2.0, 3.0]);
        assert_eq!(spread(vec![4.0, 1.0, 2.0, 3.0]), [1.0, 2.5, 4.0]);
    }

    /// A small backlog through the deployed pipeline ends in the desired state with far fewer
    /// calls than one per person and app (the smoke configuration of the benchmark).
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_small_backlog_reaches_the_desired_state_as_deployed() {
        let deployed = Deployed::from_repository().unwrap();
        let mut o = Options::parse(&[], deployed).unwrap();
        o.knobs.settle_within = Duration::from_secs(600);
        let catalog = Catalog {
            apps: 3,
            department_apps: 0,
        };
        let work = Work::Events(stream::joiners(60, catalog, chrono::Utc::now()));
        let x = run::once(&o.knobs, catalog, &work, 0)
            .await
            .expect("the run completes");
        assert!(x.wrong.is_empty(), "{:?}", x.wrong);
        assert!(x.duplicates.is_empty(), "{:?}", x.duplicates);
        assert_eq!(x.dead_lettered, 0);
        assert_eq!(
            x.enrichment_calls, 0,
            "the inventory knows everyone: {:?}",
            x.by_kind
        );
        assert!(
            x.calls < 60,
            "{} calls for 180 assignments: {:?}",
            x.calls,
            x.by_kind
        );
        assert!(x.desired_seconds > 0.0);
    }
}
