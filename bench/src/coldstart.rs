//! `loadout-bench coldstart`: each Lambda function's start-up, measured on its release bootstrap
//! binary against a local Lambda Runtime API.
//!
//! The bench starts moto (provisioned and seeded like the AWS end-to-end test) and the UEM
//! simulator, serves the Runtime API on 127.0.0.1 (`invocation/next` hands out one prepared event
//! with the `Lambda-Runtime-*` headers; `response`, `error` and `init/error` are recorded), then
//! for every run execs a fresh process of the function (a cold start) with the environment of a
//! deployment pointed at the emulators, and records the time from exec to its first
//! `invocation/next` poll (init, which includes priming) and to its first response (init plus a
//! realistic first event: a signed HR webhook for intake, an SQS batch from the real upstream
//! stage for the others). Also: peak memory (VmHWM) and the arm64 zip sizes of
//! `scripts/package.sh` when present.
//!
//! Binaries: `LOADOUT_COLDSTART_BIN_DIR`, else `$CARGO_TARGET_DIR/release`, else
//! `target/release` (`cargo build --release -p webhook-intake -p context-enricher -p
//! decision-engine -p uem-executor -p sweeper -p license-reclaimer`); approval-callback is not
//! measured (its first request needs an approval open in ServiceNow). `LOADOUT_COLDSTART_ONLY`
//! (comma-separated names) measures only those functions; a later function then finds less
//! state left by the earlier ones than in a full run. `LOADOUT_COLDSTART_RUNS` (default 9) runs per function,
//! after one discarded run that loads the binary into the page cache. The functions get a clean
//! environment; only `SSL_CERT_FILE` / `SSL_CERT_DIR` pass through (where the TLS stacks load root
//! certificates from during init; loading only the bundle made no measurable difference here).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use loadout::governance::Mode;
use loadout::ports::queue::names;
use loadout_e2e::aws::{AwsStack, Pipeline, SqsMessage};
use loadout_e2e::lambda_events::{self, Signed};
use loadout_e2e::{Examples, hr_event};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

const FUNCTIONS: [&str; 6] = [
    "webhook-intake",
    "context-enricher",
    "decision-engine",
    "uem-executor",
    "sweeper",
    "license-reclaimer",
];
/// The functions EventBridge starts (their first event is a schedule's).
const SCHEDULED: [&str; 2] = ["sweeper", "license-reclaimer"];
const INIT_MS_MAX: f64 = 20.0;
/// The first response, UEM's own time taken out.
const FIRST_MS_MAX: f64 = 500.0;
const ZIP_BYTES_MAX: u64 = 8_000_000;
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

pub fn run() -> Result<Value, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(bench())
}

// ----------------------------------------------------------------------------------------------
// The Lambda Runtime API emulator

/// What the function sent back for its invocation.
#[derive(Debug, Clone)]
enum Outcome {
    Response(Vec<u8>),
    Error(String),
    InitError(String),
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Outcome::Response(body) => format!("response {}", String::from_utf8_lossy(body)),
            Outcome::Error(e) => format!("invocation error {e}"),
            Outcome::InitError(e) => format!("init error {e}"),
        }
    }
}

#[derive(Default)]
struct Run {
    function: String,
    /// The event to hand out, taken by the first poll.
    pending: Option<(String, Vec<u8>)>,
    first_poll: Option<Instant>,
    outcome: Option<(Instant, Outcome)>,
    /// The process, to read its CPU time at the first poll and at the response.
    pid: Option<u32>,
    init_cpu: Option<Duration>,
    first_cpu: Option<Duration>,
}

/// CPU time the process has run so far, all threads (`/proc/<pid>/task/*/schedstat`, in ns):
/// unlike wall time, it does not grow when other work on the machine takes the cores.
fn cpu_time(pid: u32) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

#[derive(Clone)]
struct RuntimeApi {
    run: Arc<Mutex<Run>>,
    done: Arc<Notify>,
}

impl RuntimeApi {
    /// Records the first outcome of the run and wakes the bench.
    fn finish(&self, outcome: Outcome) {
        let mut run = self.run.lock().expect("lock");
        if run.outcome.is_none() {
            run.outcome = Some((Instant::now(), outcome));
            run.first_cpu = run.pid.and_then(cpu_time);
            drop(run);
            self.done.notify_one();
        }
    }
}

async fn next(State(api): State<RuntimeApi>) -> Response {
    let handed = {
        let mut run = api.run.lock().expect("lock");
        if run.first_poll.is_none() {
            run.first_poll = Some(Instant::now());
            run.init_cpu = run.pid.and_then(cpu_time);
        }
        run.pending
            .take()
            .map(|(id, body)| (id, body, run.function.clone()))
    };
    let Some((id, body, function)) = handed else {
        // One invocation per process: later polls wait until the process is stopped.
        std::future::pending::<()>().await;
        return StatusCode::NO_CONTENT.into_response();
    };
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-6946a1c0-3f1e0c2b7d9a4e5f6a7b8c9d;Sampled=0".into(),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, body).into_response()
}

async fn response(
    State(api): State<RuntimeApi>,
    Path(_id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    api.finish(Outcome::Response(body.to_vec()));
    StatusCode::ACCEPTED
}

async fn error(
    State(api): State<RuntimeApi>,
    Path(_id): Path<String>,
    body: axum::body::Bytes,
) -> StatusCode {
    api.finish(Outcome::Error(String::from_utf8_lossy(&body).into_owned()));
    StatusCode::ACCEPTED
}

async fn init_error(State(api): State<RuntimeApi>, body: axum::body::Bytes) -> StatusCode {
    api.finish(Outcome::InitError(
        String::from_utf8_lossy(&body).into_owned(),
    ));
    StatusCode::ACCEPTED
}

async fn serve_runtime_api() -> Result<(RuntimeApi, String), String> {
    let api = RuntimeApi {
        run: Arc::new(Mutex::new(Run::default())),
        done: Arc::new(Notify::new()),
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("Runtime API listener: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((api, addr.to_string()))
}

// ----------------------------------------------------------------------------------------------
// One cold start

struct Sample {
    init: Duration,
    first_response: Duration,
    init_cpu: Option<Duration>,
    first_cpu: Option<Duration>,
    ok: bool,
    peak_rss_kb: Option<u64>,
}

fn binary_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LOADOUT_COLDSTART_BIN_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("release");
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release")
}

fn zip_path(function: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("lambda").join(function).join("bootstrap.zip")
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Whether the function's answer is a success: 202 from intake, no batch item failures from the
/// queue consumers.
fn answered_ok(function: &str, outcome: &Outcome) -> bool {
    let Outcome::Response(body) = outcome else {
        return false;
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    if function == "webhook-intake" {
        value["statusCode"] == 202
    } else if SCHEDULED.contains(&function) {
        value.is_object() && value.get("error").is_none()
    } else {
        value["batchItemFailures"]
            .as_array()
            .is_some_and(|f| f.is_empty())
    }
}

/// What to start and how.
struct Launch<'a> {
    binary: &'a std::path::Path,
    function: &'a str,
    env: &'a [(String, String)],
    /// Where its output goes.
    log: &'a std::path::Path,
    /// With a line per closed span (`LOADOUT_TRACE_SPANS`).
    traced: bool,
}

async fn cold_start(
    api: &RuntimeApi,
    runtime_addr: &str,
    launch: &Launch<'_>,
    event: Vec<u8>,
) -> Result<(Sample, Outcome), String> {
    let Launch {
        binary,
        function,
        env,
        log,
        traced,
    } = *launch;
    *api.run.lock().expect("lock") = Run {
        function: function.to_owned(),
        pending: Some((uuid::Uuid::new_v4().to_string(), event)),
        ..Run::default()
    };
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let err_file = log_file.try_clone().map_err(|e| e.to_string())?;
    let done = api.done.notified();
    tokio::pin!(done);
    done.as_mut().enable();
    let mut command = std::process::Command::new(binary);
    command
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", runtime_addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "coldstart")
        .env(
            "AWS_LAMBDA_LOG_LEVEL",
            if traced { "warn,loadout=debug" } else { "warn" },
        )
        .env("_HANDLER", "bootstrap")
        .envs(traced.then_some(("LOADOUT_TRACE_SPANS", "1")))
        // Where rustls-native-certs loads root certificates from, when the bench is told.
        .envs(
            ["SSL_CERT_FILE", "SSL_CERT_DIR"]
                .into_iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (k, v))),
        )
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(err_file);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot exec {}: {e}", binary.display()))?;
    api.run.lock().expect("lock").pid = Some(child.id());
    let finished = tokio::time::timeout(RUN_TIMEOUT, done).await.is_ok();
    let peak = peak_rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let run = std::mem::take(&mut *api.run.lock().expect("lock"));
    if !finished {
        return Err(format!(
            "{function} did not answer within {RUN_TIMEOUT:?} (first poll: {}); see {}",
            if run.first_poll.is_some() {
                "yes"
            } else {
                "no"
            },
            log.display()
        ));
    }
    let (at, outcome) = run.outcome.ok_or("no outcome recorded")?;
    let Some(first_poll) = run.first_poll else {
        return Err(format!(
            "{function} failed during init: {}; see {}",
            outcome.describe(),
            log.display()
        ));
    };
    let ok = answered_ok(function, &outcome);
    Ok((
        Sample {
            init: first_poll - started,
            first_response: at - started,
            init_cpu: run.init_cpu,
            first_cpu: run.first_cpu,
            ok,
            peak_rss_kb: peak,
        },
        outcome,
    ))
}

// ----------------------------------------------------------------------------------------------
// Events

/// The first event of a run of `function`, for `user_index`: a fresh signed joiner webhook for
/// intake; for the others, the batch the upstream stage really produced for such a webhook (run
/// in-process through the same handlers), as an SQS event. Returns the event and the messages it
/// carries (to acknowledge afterwards).
async fn prepare_event(
    function: &str,
    stack: &AwsStack,
    pipeline: &Pipeline,
    examples: &Examples,
    user_index: usize,
) -> Result<(Vec<u8>, Option<(&'static str, Vec<SqsMessage>)>), String> {
    for q in [names::ENRICH, names::DECIDE, names::EXECUTE] {
        pipeline.drain(q).await;
    }
    let users: Vec<_> = examples
        .org
        .iter()
        .filter(|e| examples.devices.iter().any(|d| d.user_id == e.id))
        .collect();
    if SCHEDULED.contains(&function) {
        let event = json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": chrono::Utc::now().to_rfc3339(),
            "region": "us-east-1",
            "resources": [],
            "detail": {},
        });
        return Ok((event.to_string().into_bytes(), None));
    }
    let user = users[user_index % users.len()];
    let body = hr_event("joiner", user, &[]);
    let webhook_id = format!("coldstart-{}", uuid::Uuid::new_v4().simple());
    if function == "webhook-intake" {
        let signed = Signed::new(
            stack.whsec(),
            &webhook_id,
            chrono::Utc::now().timestamp(),
            &body,
        );
        return Ok((
            lambda_events::hris_request(&body, &signed).into_bytes(),
            None,
        ));
    }
    let sent = pipeline.post_hris(stack.whsec(), &body, &webhook_id).await;
    if sent.status != 202 {
        return Err(format!("in-process intake answered {}", sent.status));
    }
    let upstream: &[&str] = match function {
        "context-enricher" => &[],
        "decision-engine" => &[names::ENRICH],
        _ => &[names::ENRICH, names::DECIDE],
    };
    for q in upstream {
        pipeline.deliver_once(q).await;
    }
    let queue = match function {
        "context-enricher" => names::ENRICH,
        "decision-engine" => names::DECIDE,
        _ => names::EXECUTE,
    };
    let messages = pipeline.receive(queue).await;
    if messages.is_empty() {
        return Err(format!(
            "no message on {queue} for {function}'s first event"
        ));
    }
    let event = lambda_events::sqs_event(&messages, pipeline.queue_arn(queue));
    Ok((event.into_bytes(), Some((queue, messages))))
}

// ----------------------------------------------------------------------------------------------
// The benchmark

/// Deletes from its queue the batch a function answered, as Lambda would after a response.
async fn acknowledge(
    pipeline: &Pipeline,
    batch: &Option<(&'static str, Vec<SqsMessage>)>,
    outcome: &Outcome,
) {
    if let (Some((queue, messages)), Outcome::Response(body)) = (batch, outcome)
        && let Ok(response) = serde_json::from_slice(body)
    {
        pipeline.acknowledge(queue, messages, &response).await;
    }
}

/// One span name's closes in a traced run.
#[derive(Debug, Clone, PartialEq)]
struct SpanTotal {
    name: String,
    count: usize,
    /// Busy plus idle: the span's wall time.
    total_ms: f64,
}

/// Sums the span-close lines (`LOADOUT_TRACE_SPANS`) of a JSON log by span name, longest first.
fn span_totals(log: &str) -> Vec<SpanTotal> {
    let mut totals: Vec<SpanTotal> = Vec::new();
    for span in closed_spans(log) {
        match totals.iter_mut().find(|t| t.name == span.name) {
            Some(t) => {
                t.count += 1;
                t.total_ms += span.took_ms;
            }
            None => totals.push(SpanTotal {
                name: span.name,
                count: 1,
                total_ms: span.took_ms,
            }),
        }
    }
    totals.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
    totals
}

/// One closed span of a traced run's log.
struct ClosedSpan {
    name: String,
    /// Busy plus idle time.
    took_ms: f64,
    /// When it closed (unix milliseconds), if the line has a timestamp.
    end_ms: Option<f64>,
}

/// The span-close lines of a log (`LOADOUT_TRACE_SPANS=1`); anything else is skipped.
fn closed_spans(log: &str) -> impl Iterator<Item = ClosedSpan> + '_ {
    log.lines().filter_map(|line| {
        let v = serde_json::from_str::<Value>(line).ok()?;
        let fields = &v["fields"];
        if fields["message"] != "close" {
            return None;
        }
        let name = v["span"]["name"].as_str()?.to_owned();
        let took_ms = ["time.busy", "time.idle"]
            .iter()
            .filter_map(|k| fields[*k].as_str().and_then(duration_ms))
            .fold(0.0, |a, b| a + b);
        let end_ms = v["timestamp"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_micros() as f64 / 1e3);
        Some(ClosedSpan {
            name,
            took_ms,
            end_ms,
        })
    })
}

/// The wall time the closed spans named `name` covered, overlapping ones counted once: each
/// span ends at its line's timestamp and lasted its busy plus idle time.
fn span_wall_ms(log: &str, name: &str) -> f64 {
    let mut intervals: Vec<(f64, f64)> = closed_spans(log)
        .filter(|span| span.name == name)
        .filter_map(|span| span.end_ms.map(|end| (end - span.took_ms, end)))
        .collect();
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (start, end) in intervals {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(0.0, |(s, e)| e - s)
}

/// `12.3ms`, `456µs`, `1.2s`, `78ns` (tracing-subscriber's span timings) in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    Some(match unit {
        "ns" => n / 1e6,
        "µs" | "us" => n / 1e3,
        "ms" => n,
        "s" => n * 1e3,
        _ => return None,
    })
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(mut values: Vec<f64>) -> Value {
    values.sort_by(f64::total_cmp);
    json!({
        "median": percentile(&values, 50.0),
        "p90": percentile(&values, 90.0),
        "min": values.first(),
        "max": values.last(),
    })
}

async fn bench() -> Result<Value, String> {
    let runs: usize = std::env::var("LOADOUT_COLDSTART_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9)
        .max(1);
    let dir = binary_dir();
    for f in FUNCTIONS {
        if !dir.join(f).is_file() {
            return Err(format!(
                "no {} (build them: cargo build --release -p webhook-intake -p context-enricher \
                 -p decision-engine -p uem-executor -p sweeper -p license-reclaimer, or set \
                 LOADOUT_COLDSTART_BIN_DIR)",
                dir.join(f).display()
            ));
        }
    }
    println!("coldstart: binaries in {}", dir.display());
    println!("starting moto, provisioning, seeding, and the UEM simulator ...");
    let stack = AwsStack::start("coldstart", Mode::Auto).await;
    let pipeline = Pipeline::new(&stack).await;
    let examples = Examples::load();
    let (api, runtime_addr) = serve_runtime_api().await?;
    let env = stack.function_env();
    let logs = std::env::temp_dir().join(format!("loadout-coldstart-{}", std::process::id()));
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    println!(
        "Runtime API on {runtime_addr}; {runs} cold starts per function after one warm-up; logs in {}",
        logs.display()
    );
    println!();
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>8} {:>10} {:>10}",
        "function",
        "init p50",
        "init p90",
        "init cpu",
        "first p50",
        "first p90",
        "first cpu",
        "peak MB",
        "binary B",
        "zip B"
    );

    let mut functions = serde_json::Map::new();
    let mut met = true;
    let mut zips_found = 0;
    let mut user_index = 0;
    let only: Option<Vec<String>> = std::env::var("LOADOUT_COLDSTART_ONLY")
        .ok()
        .map(|v| v.split(',').map(|f| f.trim().to_owned()).collect());
    for function in FUNCTIONS {
        if only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|f| f == function))
        {
            continue;
        }
        let binary = dir.join(function);
        let log = logs.join(format!("{function}.log"));
        let mut inits = Vec::new();
        let mut firsts = Vec::new();
        let mut init_cpus = Vec::new();
        let mut first_cpus = Vec::new();
        let mut peaks = Vec::new();
        let mut failures = Vec::new();
        for i in 0..=runs {
            let (event, batch) =
                prepare_event(function, &stack, &pipeline, &examples, user_index).await?;
            user_index += 1;
            let launch = Launch {
                binary: &binary,
                function,
                env: &env,
                log: &log,
                traced: false,
            };
            let (sample, outcome) = cold_start(&api, &runtime_addr, &launch, event).await?;
            acknowledge(&pipeline, &batch, &outcome).await;
            if i == 0 {
                continue; // the warm-up: page cache, moto's first request of each kind
            }
            if !sample.ok {
                failures.push(outcome.describe());
            }
            inits.push(ms(sample.init));
            firsts.push(ms(sample.first_response));
            init_cpus.extend(sample.init_cpu.map(ms));
            first_cpus.extend(sample.first_cpu.map(ms));
            peaks.extend(sample.peak_rss_kb);
        }
        // One more cold start with a line per closed span: where the first response's time goes.
        let traced_log = logs.join(format!("{function}.spans.log"));
        let (event, batch) =
            prepare_event(function, &stack, &pipeline, &examples, user_index).await?;
        user_index += 1;
        let launch = Launch {
            binary: &binary,
            function,
            env: &env,
            log: &traced_log,
            traced: true,
        };
        let (_, outcome) = cold_start(&api, &runtime_addr, &launch, event).await?;
        acknowledge(&pipeline, &batch, &outcome).await;
        let traced = std::fs::read_to_string(&traced_log).unwrap_or_default();
        let phases = span_totals(&traced);
        let uem_wall_ms = span_wall_ms(&traced, "uem.http");
        let init = summary(inits);
        let first = summary(firsts);
        let init_cpu = summary(init_cpus);
        let first_cpu = summary(first_cpus);
        let peak_kb = peaks.iter().copied().max();
        let binary_bytes = std::fs::metadata(&binary).map(|m| m.len()).ok();
        let zip_bytes = std::fs::metadata(zip_path(function)).map(|m| m.len()).ok();
        let init_p50 = init["median"].as_f64().unwrap_or(f64::NAN);
        let first_p50 = first["median"].as_f64().unwrap_or(f64::NAN);
        // UEM's own latency is not held against the function: the time its HTTP exchanges
        // (`uem.http`) covered, calls side by side counted once. Loadout's waits around them
        // (the shared budget's reads and writes, tokens) stay in.
        let function_met = init_p50 <= INIT_MS_MAX
            && first_p50 - uem_wall_ms <= FIRST_MS_MAX
            && failures.is_empty()
            && zip_bytes.is_none_or(|z| z <= ZIP_BYTES_MAX);
        met &= function_met;
        zips_found += usize::from(zip_bytes.is_some());
        let show = |v: Option<u64>| v.map_or("-".to_owned(), |b| b.to_string());
        println!(
            "{:<18} {:>9.2} {:>9.2} {:>9.2} {:>10.2} {:>10.2} {:>10.2} {:>8.1} {:>10} {:>10}",
            function,
            init_p50,
            init["p90"].as_f64().unwrap_or(f64::NAN),
            init_cpu["median"].as_f64().unwrap_or(f64::NAN),
            first["median"].as_f64().unwrap_or(f64::NAN),
            first["p90"].as_f64().unwrap_or(f64::NAN),
            first_cpu["median"].as_f64().unwrap_or(f64::NAN),
            peak_kb.map_or(f64::NAN, |k| k as f64 / 1024.0),
            show(binary_bytes),
            show(zip_bytes),
        );
        for f in &failures {
            println!("  {function}: an answer was not a success: {f}");
        }
        println!(
            "  spans of a traced cold start (count, total ms; nested spans count in their parents too):"
        );
        for p in &phases {
            println!("    {:<24} {:>4} x {:>9.2} ms", p.name, p.count, p.total_ms);
        }
        println!(
            "  UEM's own time (uem.http, overlaps once): {uem_wall_ms:.2} ms; first p50 without it: {:.2} ms (target <= {FIRST_MS_MAX})",
            first_p50 - uem_wall_ms
        );
        functions.insert(
            function.to_owned(),
            json!({
                "init_ms": init,
                "first_response_ms": first,
                "init_cpu_ms": init_cpu,
                "first_response_cpu_ms": first_cpu,
                "peak_rss_kb": peak_kb,
                "binary_bytes_x86_64": binary_bytes,
                "zip_bytes_arm64": zip_bytes,
                "failed_answers": failures.len(),
                "uem_wall_ms": (uem_wall_ms * 100.0).round() / 100.0,
                "first_response_without_uem_ms": ((first_p50 - uem_wall_ms) * 100.0).round() / 100.0,
                "spans_ms": phases.iter().map(|p| (p.name.clone(), json!({"count": p.count, "total_ms": (p.total_ms * 100.0).round() / 100.0}))).collect::<serde_json::Map<_, _>>(),
                "met": function_met,
            }),
        );
    }
    if zips_found < FUNCTIONS.len() {
        println!(
            "\narm64 zips missing for {} function(s) (run scripts/package.sh): the zip target is unchecked",
            FUNCTIONS.len() - zips_found
        );
        met = false;
    }
    println!(
        "\ninit = exec to the first invocation/next poll (includes priming: credentials, a DynamoDB \
         GetItem, the secret); first = exec to the first response; cpu = the process's CPU time \
         (all threads) at those points, median, which contention on the machine does not inflate. Emulators on loopback; x86_64 \
         release binaries on this machine, not Lambda's arm64 sandbox."
    );
    Ok(json!({
        "benchmark": "coldstart",
        "runs_per_function": runs,
        "functions": functions,
        "targets": {"init_ms_max": INIT_MS_MAX as u64, "first_response_ms_max_without_uem": FIRST_MS_MAX as u64, "zip_bytes_max": ZIP_BYTES_MAX},
        "met": met,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_closes_are_summed_by_name() {
        let log = [
            r#"{"level":"DEBUG","fields":{"message":"close","time.busy":"1.50ms","time.idle":"500µs"},"span":{"name":"dynamodb.get"}}"#,
            r#"{"level":"DEBUG","fields":{"message":"close","time.busy":"2ms","time.idle":"1.0s"},"span":{"name":"uem.call"}}"#,
            r#"{"level":"DEBUG","fields":{"message":"close","time.busy":"3.00ms","time.idle":"0ns"},"span":{"name":"dynamodb.get"}}"#,
            r#"{"level":"WARN","fields":{"message":"something else"}}"#,
            "not json",
        ]
        .join("\n");
        let totals = span_totals(&log);
        assert_eq!(totals.len(), 2);
        assert_eq!(totals[0].name, "uem.call");
        assert!((totals[0].total_ms - 1002.0).abs() < 1e-9);
        assert_eq!(totals[1].count, 2);
        assert!((totals[1].total_ms - 5.0).abs() < 1e-9);
        assert_eq!(duration_ms("7x"), None);
    }

    #[test]
    fn overlapping_spans_count_once_in_the_wall_time() {
        let line = |end: &str, busy: &str, name: &str| {
            format!(
                r#"{{"timestamp":"2026-12-06T08:00:{end}Z","level":"DEBUG","fields":{{"message":"close","time.busy":"{busy}","time.idle":"0ns"}},"span":{{"name":"{name}"}}}}"#
            )
        };
        let log = [
            // 0.0-1.0 s and 0.5-1.5 s overlap: 1.5 s; 3.0-3.5 s apart: 0.5 s more.
            line("01.000", "1s", "uem.http"),
            line("01.500", "1s", "uem.http"),
            line("03.500", "500ms", "uem.http"),
            line("09.000", "9s", "uem.call"),
        ]
        .join("\n");
        assert!((span_wall_ms(&log, "uem.http") - 2000.0).abs() < 1e-6);
        assert_eq!(span_wall_ms(&log, "nothing"), 0.0);
    }
}
