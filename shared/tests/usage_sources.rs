//! The usage sources against faithful counterparts: the Intelligence client and adapter over
//! real HTTP against the Intelligence simulator, the UEM device-apps adapter against the UEM
//! simulator, and the `usage.csv` adapter against files on disk; plus a whole refresh into the
//! SQLite state store.

use async_trait::async_trait;
use chrono::{DateTime, Duration as Days, Utc};
use futures::TryStreamExt;
use intelligence_sim::{Host, IntelligenceSim, RateLimits, Seed, UserColumn};
use loadout::adapters::local::{LocalDb, SqliteStateStore};
use loadout::domain::{AppId, Employee, UserId};
use loadout::ports::secrets::keys;
use loadout::ports::{SecretString, Secrets, SecretsError, SystemClock};
use loadout::sources::intelligence::{
    IntelligenceClient, IntelligenceConfig, IntelligenceError, UsageReportSpec,
};
use loadout::stages::directory::upsert_profile;
use loadout::usage::last_seen::{self, load_user};
use loadout::usage::{
    FreshnessPolicy, IntelligenceUsage, ProfileMatcher, ReportedUser, StaleReason, TrackedApp,
    UemDeviceApps, UsageError, UsageFile, UsageRequest, UsageSource, UsageVerdict, refresh_usage,
    usage_verdict,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Secrets with a cache, as the real adapters have: `set` changes the stored value, readers
/// see it only after `refresh`.
#[derive(Default)]
struct CachedSecrets {
    stored: Mutex<HashMap<String, String>>,
    cached: Mutex<HashMap<String, String>>,
    refreshes: Mutex<u32>,
}

impl CachedSecrets {
    fn with(id: &str, secret: &str) -> Arc<Self> {
        let s = Arc::new(Self::default());
        s.set(keys::INTELLIGENCE_CLIENT_ID, id);
        s.set(keys::INTELLIGENCE_CLIENT_SECRET, secret);
        *s.cached.lock().expect("lock") = s.stored.lock().expect("lock").clone();
        s
    }

    fn set(&self, key: &str, value: &str) {
        self.stored
            .lock()
            .expect("lock")
            .insert(key.into(), value.into());
    }
}

#[async_trait]
impl Secrets for CachedSecrets {
    async fn get(&self, key: &str) -> Result<Option<SecretString>, SecretsError> {
        Ok(self
            .cached
            .lock()
            .expect("lock")
            .get(key)
            .cloned()
            .map(SecretString::new))
    }

    async fn refresh(&self) -> Result<(), SecretsError> {
        *self.refreshes.lock().expect("lock") += 1;
        *self.cached.lock().expect("lock") = self.stored.lock().expect("lock").clone();
        Ok(())
    }
}

fn config(sim: &IntelligenceSim) -> IntelligenceConfig {
    let mut c = IntelligenceConfig::new(&sim.endpoints.token_url, &sim.endpoints.base_url);
    c.first_poll = Duration::from_millis(40);
    c.max_poll_interval = Duration::from_millis(100);
    c.timeout = Duration::from_secs(5);
    c
}

fn client(
    sim: &IntelligenceSim,
    config: IntelligenceConfig,
) -> (IntelligenceClient, Arc<CachedSecrets>) {
    let secrets = CachedSecrets::with(&sim.endpoints.client_id, &sim.endpoints.client_secret);
    let c = IntelligenceClient::new(config, secrets.clone()).expect("client");
    (c, secrets)
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

/// rchen used Slack 3 days ago and 10 days ago, Zoom 40 days ago (outside the range); amy
/// used Zoom yesterday; nobody in Loadout's directory is "ghost".
async fn tenant() -> IntelligenceSim {
    let t = now();
    let sim = IntelligenceSim::start(
        Seed::default()
            .user("rchen", "rchen@example.com")
            .user("amy", "amy@example.com")
            .user("ghost", "ghost@example.com")
            .device("RCHEN-LAPTOP", "rchen")
            .device("AMY-MAC", "amy")
            .device("GHOST-PC", "ghost")
            .foreground("RCHEN-LAPTOP", "Slack", t - Days::days(3))
            .foreground("RCHEN-LAPTOP", "Slack.app", t - Days::days(10))
            .foreground("RCHEN-LAPTOP", "Zoom", t - Days::days(40))
            .foreground("AMY-MAC", "Zoom", t - Days::days(1))
            .foreground("GHOST-PC", "Slack", t - Days::days(2))
            .foreground("AMY-MAC", "Figma", t - Days::days(1)),
    )
    .await
    .expect("simulator starts");
    sim.set_processing(Duration::from_millis(150));
    sim
}

fn spec(days: i64) -> UsageReportSpec {
    let t = now();
    UsageReportSpec::new(
        vec!["Slack".into(), "Slack.app".into(), "Zoom".into()],
        t - Days::days(days),
        t,
    )
    .expect("spec")
}

async fn read_all(
    client: &IntelligenceClient,
    spec: &UsageReportSpec,
) -> Result<Vec<(String, String)>, IntelligenceError> {
    let mut rows = client
        .read_usage(spec, Instant::now() + Duration::from_secs(5))
        .await?;
    let mut out = Vec::new();
    while let Some(r) = rows.next_row().await? {
        out.push((r.user, r.app));
    }
    out.sort();
    Ok(out)
}

#[tokio::test]
async fn client_reads_a_report_through_token_run_poll_and_the_storage_redirect() {
    let sim = tenant().await;
    let (c, _) = client(&sim, config(&sim));
    let rows = read_all(&c, &spec(28)).await.expect("read");
    assert_eq!(
        rows,
        vec![
            ("amy".into(), "Zoom".into()),
            ("ghost".into(), "Slack".into()),
            ("rchen".into(), "Slack".into()),
            ("rchen".into(), "Slack.app".into()),
        ]
    );
    let auth = sim.calls_to(Host::Auth);
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[0].authorization.as_deref(), Some("basic"));
    let api = sim.calls_to(Host::Api);
    assert!(
        api.iter()
            .all(|c| c.authorization.as_deref() == Some("bearer"))
    );
    let paths: Vec<String> = api
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert_eq!(paths[0], "POST /v2/reports");
    assert!(paths[1].ends_with("/run"), "{paths:?}");
    assert!(
        paths[2..paths.len() - 1]
            .iter()
            .all(|p| p.ends_with("/downloads/search"))
    );
    assert!(
        paths
            .last()
            .is_some_and(|p| p.starts_with("GET /v2/reports/tracking/"))
    );
    let storage = sim.calls_to(Host::Storage);
    assert_eq!(storage.len(), 1);
    assert_eq!(storage[0].status, 200);
    assert_eq!(
        storage[0].authorization, None,
        "the bearer token never leaves the API host"
    );
    assert_eq!(c.calls_in_last_hour() as usize, api.len());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_second_read_of_the_same_range_reuses_the_report_and_its_completed_run() {
    let sim = tenant().await;
    let (c, _) = client(&sim, config(&sim));
    let s = spec(7);
    let first = read_all(&c, &s).await.expect("first read");
    let second = read_all(&c, &s).await.expect("second read");
    assert_eq!(first, second);
    assert_eq!(sim.reports().len(), 1);
    assert_eq!(
        sim.runs().len(),
        1,
        "the completed run is downloaded again, not rerun"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_simulator_csv_with_qualified_headers_reads_the_same() {
    let sim = tenant().await;
    sim.set_qualified_headers(true);
    let (c, _) = client(&sim, config(&sim));
    assert_eq!(read_all(&c, &spec(28)).await.expect("read").len(), 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn throttling_is_waited_out_and_every_attempt_counts_against_the_budget() {
    let sim = tenant().await;
    let (c, _) = client(&sim, config(&sim));
    sim.fail_next(2, 429);
    let rows = read_all(&c, &spec(28)).await.expect("read after 429s");
    assert_eq!(rows.len(), 4);
    let api = sim.calls_to(Host::Api);
    assert_eq!(api.iter().filter(|c| c.status == 429).count(), 2);
    assert_eq!(
        c.calls_in_last_hour() as usize,
        api.len(),
        "retries are calls too"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_budget_stops_calls_before_the_organization_limit() {
    let sim = tenant().await;
    let mut cfg = config(&sim);
    cfg.calls_per_hour = 3;
    let (c, _) = client(&sim, cfg);
    let err = read_all(&c, &spec(28)).await.expect_err("budget spent");
    assert!(
        matches!(err, IntelligenceError::BudgetExhausted { used: 3, .. }),
        "{err}"
    );
    assert!(err.is_retryable());
    assert_eq!(sim.calls_to(Host::Api).len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_organization_limit_answers_429_and_a_long_retry_after_is_not_waited_out() {
    let sim = tenant().await;
    sim.set_limits(RateLimits {
        per_hour: 2,
        ..RateLimits::default()
    });
    let (c, _) = client(&sim, config(&sim));
    let err = read_all(&c, &spec(28)).await.expect_err("limited");
    match &err {
        IntelligenceError::Unavailable {
            status: 429,
            retry_after: Some(wait),
        } => {
            assert!(*wait > Duration::from_secs(3000), "{wait:?}")
        }
        other => panic!("expected a 429 with Retry-After, got {other}"),
    }
    assert!(err.is_retryable());
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_as_retryable() {
    let sim = tenant().await;
    let mut cfg = config(&sim);
    cfg.max_attempts = 3;
    let (c, _) = client(&sim, cfg.clone());
    sim.fail_next(1, 503);
    assert_eq!(
        read_all(&c, &spec(28))
            .await
            .expect("one 503 is retried")
            .len(),
        4
    );
    sim.fail_next(10, 502);
    let (fresh, _) = client(&sim, cfg);
    let err = read_all(&fresh, &spec(27)).await.expect_err("502s");
    assert!(
        matches!(err, IntelligenceError::Unavailable { status: 502, .. }),
        "{err}"
    );
    assert!(err.is_retryable());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_run_that_stays_pending_past_the_deadline_is_a_retryable_error() {
    let sim = tenant().await;
    sim.hold_runs(true);
    let (c, _) = client(&sim, config(&sim));
    let started = std::time::Instant::now();
    // Long enough for the report and the run to be created on a loaded test machine (the run
    // then stays pending), short against the client's polling.
    let err = match c
        .read_usage(&spec(28), Instant::now() + Duration::from_millis(1500))
        .await
    {
        Ok(_) => panic!("a held run cannot complete"),
        Err(e) => e,
    };
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the deadline bounds the wait"
    );
    assert!(
        matches!(&err, IntelligenceError::StillPending { status, .. } if status == "PENDING"),
        "{err}"
    );
    assert!(err.is_retryable());
    // The next read finds the same report and waits on the run already started.
    sim.hold_runs(false);
    assert_eq!(read_all(&c, &spec(28)).await.expect("resumed").len(), 4);
    assert_eq!(sim.runs().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_run_and_a_lost_download_are_retryable_errors() {
    let sim = tenant().await;
    let (c, _) = client(&sim, config(&sim));
    sim.fail_next_runs(1);
    let err = read_all(&c, &spec(28)).await.expect_err("failed run");
    assert!(
        matches!(&err, IntelligenceError::RunFailed { status, .. } if status == "FAILED"),
        "{err}"
    );
    sim.lose_next_downloads(2);
    let err = read_all(&c, &spec(20)).await.expect_err("404 download");
    assert!(matches!(err, IntelligenceError::NotFound { .. }), "{err}");
    assert!(err.is_retryable());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_range_over_28_days_is_refused_before_any_call() {
    let sim = tenant().await;
    let t = now();
    let err =
        UsageReportSpec::new(vec!["Slack".into()], t - Days::days(29), t).expect_err("too long");
    assert!(matches!(err, IntelligenceError::RangeTooLong { days: 29 }));
    assert!(!err.is_retryable());
    let (c, _) = client(&sim, config(&sim));
    let source = IntelligenceUsage::new(Arc::new(c), Arc::new(SystemClock), Duration::from_secs(5));
    let request = UsageRequest {
        apps: vec![TrackedApp::new("slack", &["Slack"])],
        from: t - Days::days(90),
        to: t,
    };
    let refused = source.read(&request).await.err().expect("refused");
    assert!(matches!(
        refused,
        UsageError::Intelligence(IntelligenceError::RangeTooLong { .. })
    ));
    assert!(sim.calls().is_empty(), "nothing was sent");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_rotated_secret_is_read_again_once_after_a_refusal() {
    let sim = tenant().await;
    let (c, secrets) = client(&sim, config(&sim));
    // The secret was regenerated in Intelligence and stored in Loadout's secret; the cached copy
    // is the old one.
    sim.rotate_secret("regenerated-secret");
    secrets.set(keys::INTELLIGENCE_CLIENT_SECRET, "regenerated-secret");
    assert_eq!(read_all(&c, &spec(28)).await.expect("read").len(), 4);
    assert_eq!(*secrets.refreshes.lock().expect("lock"), 1);
    let statuses: Vec<u16> = sim.calls_to(Host::Auth).iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![401, 200]);
    // An expired token on the API host: one new sign-in, then success.
    sim.expire_tokens();
    assert_eq!(read_all(&c, &spec(28)).await.expect("read").len(), 4);
    assert_eq!(sim.calls_to(Host::Auth).len(), 3);
    // A secret that is wrong everywhere: refused for good after one re-read.
    sim.rotate_secret("another");
    sim.expire_tokens();
    let err = read_all(&c, &spec(28)).await.expect_err("refused");
    assert!(
        matches!(err, IntelligenceError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
    sim.shutdown().await;
}

fn employee(id: &str, email: &str) -> Employee {
    Employee {
        id: UserId::new(id),
        email: email.into(),
        department: "Engineering".into(),
        title: "Engineer".into(),
        location: "Austin".into(),
        region: "NA".into(),
        employment_type: "Full-time".into(),
        manager_id: None,
        groups: vec![],
        account_name: None,
        upn: None,
    }
}

async fn store_with_people() -> Arc<SqliteStateStore> {
    let store = Arc::new(SqliteStateStore::new(
        LocalDb::in_memory().expect("db"),
        Arc::new(SystemClock),
    ));
    for (id, email) in [
        ("rchen", "rchen@example.com"),
        ("amy", "amy.w@example.com"),
        ("pat", "pat@example.com"),
    ] {
        upsert_profile(store.as_ref(), &employee(id, email), now(), true)
            .await
            .expect("profile");
    }
    store
}

fn request(from: DateTime<Utc>, to: DateTime<Utc>) -> UsageRequest {
    UsageRequest {
        apps: vec![
            TrackedApp::new("slack", &["Slack"]),
            TrackedApp::new("zoom", &["Zoom"]),
        ],
        from,
        to,
    }
}

#[tokio::test]
async fn an_intelligence_refresh_records_last_seen_dates_mapped_to_loadout_users() {
    let sim = tenant().await;
    sim.set_user_column(UserColumn::Email);
    sim.add_user("amy", "AMY.W@example.com");
    let (c, _) = client(&sim, config(&sim));
    let source = IntelligenceUsage::new(Arc::new(c), Arc::new(SystemClock), Duration::from_secs(5));
    let store = store_with_people().await;
    let mapper = ProfileMatcher::new(store.clone());
    let t = now();
    let outcome = refresh_usage(
        store.as_ref(),
        &SystemClock,
        &source,
        &request(t - Days::days(28), t),
        &mapper,
        &[UserId::new("pat")],
        4,
    )
    .await
    .expect("refresh");
    assert_eq!(outcome.observations, 4);
    assert_eq!(outcome.unmatched_users, 1, "ghost is nobody in Loadout");
    assert_eq!(
        outcome.users_written, 3,
        "rchen, amy (by e-mail) and pat (population)"
    );
    let rchen = load_user(store.as_ref(), &UserId::new("rchen"))
        .await
        .expect("load")
        .expect("record");
    let slack = &rchen.apps[&AppId::new("slack")];
    assert_eq!(
        slack.launches_last_read, 2,
        "Slack and Slack.app are one app"
    );
    let used = slack.last_used.expect("used");
    assert!(
        (used - (t - Days::days(3))).num_seconds().abs() <= 1,
        "{used}"
    );
    assert_eq!(
        rchen.apps[&AppId::new("zoom")].last_used,
        None,
        "day 40 is outside the read"
    );
    let pat = load_user(store.as_ref(), &UserId::new("pat"))
        .await
        .expect("load")
        .expect("record");
    assert_eq!(
        pat.observed_since.map(|t| t.timestamp()),
        Some(outcome.coverage.from.timestamp())
    );
    let sources = last_seen::load_sources(store.as_ref())
        .await
        .expect("sources");
    assert_eq!(sources["intelligence"].apps.len(), 2);
    let histories = last_seen::load_histories(store.as_ref())
        .await
        .expect("histories");
    let verdict = |user: Option<&last_seen::UserLastSeen>, app: &str| {
        usage_verdict(
            &sources,
            &histories,
            user,
            &AppId::new(app),
            Days::days(90),
            t,
            FreshnessPolicy::default(),
        )
    };
    assert!(matches!(
        verdict(Some(&rchen), "slack"),
        UsageVerdict::Used { .. }
    ));
    assert!(matches!(
        verdict(Some(&pat), "slack"),
        UsageVerdict::NotEnoughHistory { .. }
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_read_marks_its_apps_stale_and_writes_nothing_else() {
    let sim = tenant().await;
    let (c, _) = client(&sim, config(&sim));
    let source = IntelligenceUsage::new(Arc::new(c), Arc::new(SystemClock), Duration::from_secs(5));
    let store = store_with_people().await;
    let mapper = ProfileMatcher::new(store.clone());
    let t = now();
    sim.fail_next(10, 500);
    let err = refresh_usage(
        store.as_ref(),
        &SystemClock,
        &source,
        &request(t - Days::days(28), t),
        &mapper,
        &[],
        4,
    )
    .await
    .expect_err("5xx");
    assert!(err.is_retryable());
    assert!(
        load_user(store.as_ref(), &UserId::new("rchen"))
            .await
            .expect("load")
            .is_none()
    );
    let sources = last_seen::load_sources(store.as_ref())
        .await
        .expect("sources");
    let f = &sources["intelligence"];
    assert!(f.last_success.is_none() && f.last_failure.is_some());
    let v = usage_verdict(
        &sources,
        &Default::default(),
        None,
        &AppId::new("zoom"),
        Days::days(90),
        t,
        FreshnessPolicy::default(),
    );
    assert!(
        matches!(
            v,
            UsageVerdict::SourceStale {
                reason: StaleReason::Failed { .. }
            }
        ),
        "{v:?}"
    );
    sim.shutdown().await;
}

// ---- usage.csv ------------------------------------------------------------------------------

#[tokio::test]
async fn the_usage_file_adapter_reads_the_design_shape_for_the_requested_apps() {
    let dir = std::env::temp_dir().join(format!("loadout-usage-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("usage.csv");
    std::fs::write(
        &path,
        "user_id,app_id,launches_30d,last_used_at\n\
         rchen,slack,205,2026-11-19T06:41:00Z\n\
         rchen,figma,3,2026-11-02T10:00:00Z\n\
         amy,zoom,0,\n",
    )
    .expect("write");
    let source = UsageFile::new(&path, Arc::new(SystemClock));
    let t = now();
    let read = source
        .read(&request(t - Days::days(30), t))
        .await
        .expect("read");
    assert_eq!(read.coverage.to - read.coverage.from, Days::days(30));
    let all: Vec<_> = read.observations.try_collect().await.expect("rows");
    assert_eq!(all.len(), 2, "figma was not asked for");
    assert_eq!(all[0].user, ReportedUser::Id(UserId::new("rchen")));
    assert_eq!(all[0].launches, 205);
    assert_eq!(
        all[0].last_used.map(|d| d.to_rfc3339()),
        Some("2026-11-19T06:41:00+00:00".into())
    );
    assert_eq!(all[1].last_used, None);

    std::fs::write(
        &path,
        "user_id,app_id,launches_30d,last_used_at\nrchen,slack,many,\n",
    )
    .expect("write");
    let read = source
        .read(&request(t - Days::days(30), t))
        .await
        .expect("header is fine");
    let err = read
        .observations
        .try_collect::<Vec<_>>()
        .await
        .expect_err("bad launches");
    assert!(err.to_string().contains("line 2"), "{err}");
    std::fs::write(&path, "user,app\nrchen,slack\n").expect("write");
    assert!(matches!(
        source.read(&request(t, t)).await.err(),
        Some(UsageError::Invalid { line: 1, .. })
    ));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

// ---- UEM device apps ------------------------------------------------------------------------

#[tokio::test]
async fn the_uem_device_apps_adapter_reports_install_state_per_user_and_app() {
    use uem_sim::{AppSeed, DeviceSeed, SimConfig, Tenant, UemSim};
    let tenant = Tenant::builder()
        .user("alice", "alice@example.com")
        .user("carol", "carol@example.com")
        .device(DeviceSeed::new("A-MAC", "alice", "macOS"))
        .device(DeviceSeed::new("A-WIN", "alice", "Windows"))
        .app(AppSeed::new(1201, "Slack", "macOS").platforms(&["macOS", "Windows"]))
        .app(AppSeed::new(1203, "Zoom", "macOS"))
        .unmanaged_app("A-WIN", "com.tinyspeck.slackmacgap", "Slack")
        .build()
        .expect("tenant");
    let sim = UemSim::start(SimConfig::new(tenant).requests_per_minute(0))
        .await
        .expect("uem sim");
    let store = Arc::new(SqliteStateStore::new(
        LocalDb::in_memory().expect("db"),
        Arc::new(SystemClock),
    ));
    let config = loadout::uem::UemConfig::oauth(
        &sim.base_url,
        &sim.token_url,
        &sim.credentials.client_id,
        SecretString::new(sim.credentials.client_secret.clone()),
    )
    .tenant_code(&sim.credentials.tenant_code)
    .requests_per_minute(0)
    .timeout(Duration::from_secs(5));
    let uem = loadout::uem::UemClient::new(config, store, Arc::new(SystemClock)).expect("client");
    let source = UemDeviceApps::new(
        Arc::new(uem),
        Arc::new(SystemClock),
        vec!["alice".into(), "carol".into()],
    );
    let t = now();
    let read = source.read(&request(t, t)).await.expect("read");
    let mut all: Vec<(String, String, Option<bool>)> = read
        .observations
        .try_collect::<Vec<_>>()
        .await
        .expect("observations")
        .into_iter()
        .map(|o| match o.user {
            ReportedUser::Name(n) => (n, o.app.to_string(), o.installed),
            ReportedUser::Id(id) => (id.to_string(), o.app.to_string(), o.installed),
        })
        .collect();
    all.sort();
    assert_eq!(
        all,
        vec![
            ("alice".into(), "slack".into(), Some(true)),
            ("alice".into(), "zoom".into(), Some(false)),
            ("carol".into(), "slack".into(), Some(false)),
            ("carol".into(), "zoom".into(), Some(false)),
        ]
    );
    sim.shutdown().await;
}
