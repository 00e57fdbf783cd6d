//! `loadout-bench intake`: webhook intake latency and throughput on loopback. Local mode runs in a
//! second process (this binary re-executed as a server).
//!
//! First the cold path: the first requests a freshly started server answers (its first secret
//! read, store writes and queue send), a signed HR joiner and an Okta delivery of 20 events, timed
//! against Okta's 3-second deadline; then warm Okta deliveries. Then the load: signed HR joiner
//! events at a fixed rate (open loop, so a slow answer cannot hide the requests queued behind it),
//! measuring the time from each request's scheduled send to its 202, over at most `CONNECTIONS`
//! connections (a request waits for one of `CONNECTIONS` slots; its wait counts in its latency).

use loadout::webhook::standard_webhooks;
use loadout_cli::hris_sender::random_whsec;
use loadout_cli::local::{LocalMode, LocalOptions};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The hidden sub-command the bench re-executes itself with to serve local mode.
pub const SERVE: &str = "__serve-local";

const RATE: u64 = 2_000;
const SECONDS: u64 = 10;
const WARMUP: u64 = 1_000;
const CONNECTIONS: usize = 64;
/// Events in each Okta delivery (Okta batches System Log events in one hook call).
const OKTA_EVENTS: usize = 20;
/// Warm Okta deliveries measured after the cold one.
const OKTA_WARM: usize = 20;
/// Okta waits this long for an answer (and retries once).
const OKTA_DEADLINE_MS: f64 = 3000.0;
/// The cold path's target: a third of Okta's deadline, so a slow store or a cold Lambda still fit.
const COLD_ANSWER_MS_MAX: f64 = 1000.0;

fn examples_dir() -> PathBuf {
    std::env::var_os("LOADOUT_EXAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples"))
}

/// The server side: local mode with the simulator, in recommend mode (nothing is written to UEM;
/// the pipeline still runs behind intake, as it would in production).
pub fn serve(addr: &str, data_dir: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut options = LocalOptions::new(PathBuf::from(data_dir), examples_dir());
        options.addr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
        options.mode = Some(loadout::governance::Mode::Recommend);
        let local = LocalMode::start(options).await.map_err(|e| e.to_string())?;
        println!("ready {}", local.base_url);
        let _ = tokio::signal::ctrl_c().await;
        local.shutdown().await;
        Ok(())
    })
}

struct Server(Child, PathBuf);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub fn run() -> Result<serde_json::Value, String> {
    let secret = random_whsec();
    let okta_secret = format!("okta-bench-{}", uuid::Uuid::new_v4().simple());
    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let data_dir = std::env::temp_dir().join(format!("loadout-bench-intake-{port}"));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let child = Command::new(exe)
        .args([SERVE, &addr.to_string(), &data_dir.display().to_string()])
        .env("LOADOUT_HRIS_HMAC_SECRET", &secret)
        .env("LOADOUT_OKTA_AUTHORIZATION", &okta_secret)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the server process: {e}"))?;
    let _server = Server(child, data_dir);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(load(addr, secret, okta_secret))
}

/// An Okta event hook delivery of `OKTA_EVENTS` user creations, with uuids of its own.
fn okta_delivery(round: usize) -> Vec<u8> {
    let events: Vec<_> = (0..OKTA_EVENTS)
        .map(|i| {
            json!({
                "uuid": format!("bench-okta-{round}-{i}"),
                "published": "2026-11-20T09:00:00.000Z",
                "eventType": "user.lifecycle.create",
                "version": "0", "severity": "INFO",
                "outcome": {"result": "SUCCESS"},
                "target": [{"id": format!("00ubench{round}x{i}"), "type": "User",
                            "alternateId": format!("okta{round}x{i}@example.com")}]
            })
        })
        .collect();
    json!({
        "eventType": "com.okta.event_hook", "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1", "contentType": "application/json",
        "eventId": format!("bench-delivery-{round}"),
        "eventTime": "2026-11-20T09:00:01.000Z",
        "data": {"events": events}
    })
    .to_string()
    .into_bytes()
}

/// Sends one request and answers its status and how long the answer took, in ms.
async fn timed(request: reqwest::RequestBuilder) -> (u16, f64) {
    let started = Instant::now();
    let status = request
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (status, started.elapsed().as_secs_f64() * 1000.0)
}

async fn load(
    addr: SocketAddr,
    secret: String,
    okta_secret: String,
) -> Result<serde_json::Value, String> {
    let base = format!("http://{addr}");
    // `pool_max_idle_per_host` only caps idle connections: a burst would still open one per
    // request in flight. The semaphore below is what bounds them (and so the connections).
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .map_err(|e| e.to_string())?;
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(CONNECTIONS));
    // Wait for the server to answer its health check.
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err("the local-mode server did not come up".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let key = standard_webhooks::decode_secret(&secret).map_err(|e| e.to_string())?;
    let url = format!("{base}/webhooks/hris");
    let okta_url = format!("{base}/webhooks/okta");

    // The cold path: the first requests that touch the secret, the store and the queue.
    let signed_now = chrono::Utc::now().timestamp();
    let cold_body = json!({
        "event_id": "bench-cold", "type": "joiner", "occurred_at": "2026-11-20T09:00:00Z",
        "employee": {"id": "benchcold", "email": "benchcold@example.com", "department": "Sales"},
        "changed_fields": []
    })
    .to_string()
    .into_bytes();
    let (cold_hris_status, cold_hris_ms) = timed(
        client
            .post(&url)
            .header("content-type", "application/json")
            .header("webhook-id", "bench-cold")
            .header("webhook-timestamp", signed_now.to_string())
            .header(
                "webhook-signature",
                standard_webhooks::sign(&key, "bench-cold", signed_now, &cold_body),
            )
            .body(cold_body),
    )
    .await;
    let okta = |round: usize| {
        client
            .post(&okta_url)
            .header("content-type", "application/json")
            .header("authorization", okta_secret.as_str())
            .body(okta_delivery(round))
    };
    let (cold_okta_status, cold_okta_ms) = timed(okta(0)).await;
    let mut warm_okta = Vec::with_capacity(OKTA_WARM);
    let mut okta_errors =
        usize::from(cold_okta_status != 202) + usize::from(cold_hris_status != 202);
    for round in 1..=OKTA_WARM {
        let (status, ms) = timed(okta(round)).await;
        okta_errors += usize::from(status != 202);
        warm_okta.push(ms);
    }
    warm_okta.sort_by(|a, b| a.total_cmp(b));
    let warm_okta_p50 = percentile(&warm_okta, 50.0);
    let warm_okta_max = warm_okta.last().copied().unwrap_or(f64::NAN);
    println!(
        "intake cold path (first requests of a fresh server): HR joiner {cold_hris_ms:.1} ms, Okta delivery of {OKTA_EVENTS} events {cold_okta_ms:.1} ms (Okta waits {OKTA_DEADLINE_MS:.0} ms)"
    );
    println!(
        "  warm Okta deliveries of {OKTA_EVENTS} events: p50 {warm_okta_p50:.1} ms  max {warm_okta_max:.1} ms; non-202 answers: {okta_errors}"
    );

    let total = (WARMUP + RATE * SECONDS) as usize;
    // Signed in advance (the timestamps stay well inside the 5-minute window), so the load
    // generator spends its time sending, not hashing.
    let now = chrono::Utc::now().timestamp();
    let requests: Vec<(String, Vec<u8>, String)> = (0..total)
        .map(|i| {
            let id = format!("bench-{i}");
            let body = json!({
                "event_id": id,
                "type": "joiner",
                "occurred_at": "2026-11-20T09:00:00Z",
                "employee": {"id": format!("bench{i}"), "email": format!("bench{i}@example.com"),
                    "department": "Sales", "title": "Account Executive", "location": "Austin",
                    "region": "NA", "employment_type": "Full-time", "groups": ["sales"]},
                "changed_fields": []
            })
            .to_string()
            .into_bytes();
            let signature = standard_webhooks::sign(&key, &id, now, &body);
            (id, body, signature)
        })
        .collect();
    let interval = Duration::from_nanos(1_000_000_000 / RATE);
    let begin = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for (i, (id, body, signature)) in requests.into_iter().enumerate() {
        let scheduled = begin + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let client = client.clone();
        let url = url.clone();
        let slots = slots.clone();
        tasks.push(tokio::spawn(async move {
            // At most CONNECTIONS requests in flight; the wait for a slot counts as latency.
            let _slot = slots.acquire_owned().await;
            let result = client
                .post(&url)
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", now.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await;
            let status = result.map(|r| r.status().as_u16()).unwrap_or(0);
            (i, status, scheduled.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut errors = 0usize;
    let mut last_done = begin;
    for task in tasks {
        let (i, status, latency) = task.await.map_err(|e| e.to_string())?;
        last_done = last_done.max(Instant::now());
        if status != 202 {
            errors += 1;
        }
        if i as u64 >= WARMUP {
            latencies.push(latency.as_secs_f64() * 1000.0);
        }
    }
    let measured = latencies.len();
    let elapsed = last_done.duration_since(begin).as_secs_f64();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let p50 = percentile(&latencies, 50.0);
    let p90 = percentile(&latencies, 90.0);
    let p99 = percentile(&latencies, 99.0);
    let max = latencies.last().copied().unwrap_or(f64::NAN);
    let achieved = total as f64 / elapsed;
    println!(
        "intake: {total} signed joiner events at {RATE}/s over {CONNECTIONS} connections ({WARMUP} warm-up not measured)"
    );
    println!("  latency to 202 (ms): p50 {p50:.2}  p90 {p90:.2}  p99 {p99:.2}  max {max:.2}");
    println!("  throughput: {achieved:.0} requests/s; non-202 answers: {errors}");
    let cold_met = cold_hris_ms < COLD_ANSWER_MS_MAX
        && cold_okta_ms < COLD_ANSWER_MS_MAX
        && warm_okta_max < COLD_ANSWER_MS_MAX
        && okta_errors == 0;
    let met = p99 < 10.0 && errors == 0 && achieved >= RATE as f64 * 0.95 && cold_met;
    Ok(json!({
        "benchmark": "intake",
        "cold_hris_ms": cold_hris_ms,
        "cold_okta_delivery_ms": cold_okta_ms,
        "okta_delivery_events": OKTA_EVENTS,
        "warm_okta_delivery_p50_ms": warm_okta_p50,
        "warm_okta_delivery_max_ms": warm_okta_max,
        "cold_errors": okta_errors,
        "connections_max": CONNECTIONS,
        "requests": total,
        "measured": measured,
        "offered_rps": RATE,
        "achieved_rps": achieved.round(),
        "p50_ms": p50, "p90_ms": p90, "p99_ms": p99, "max_ms": max,
        "errors": errors,
        "targets": {"p99_ms_max": 10.0, "rps_min": RATE, "cold_answer_ms_max": COLD_ANSWER_MS_MAX, "okta_deadline_ms": OKTA_DEADLINE_MS},
        "met": met,
    }))
}
