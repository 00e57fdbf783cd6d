//! Loadout's Slack notifier against the simulator, through `announce` (what stages call): a
//! Slack outage, a 4xx or a hang never fails or holds the caller; undelivered notices are
//! audited and dropped.

use chrono::Utc;
use loadout::adapters::local::{LocalDb, LocalSecrets, SqliteAuditLog};
use loadout::domain::{AppId, AuditKind, CorrelationId, UserId};
use loadout::notify::{Delivery, Notice, NoticeBody, SlackNotifier, SlackSettings, announce};
use loadout::ports::secrets::keys;
use loadout::ports::{AuditLog, AuditQuery, Clock, ManualClock, SystemClock};
use slack_sim::{SlackFault, SlackSim};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Fixture {
    dir: PathBuf,
    audit: SqliteAuditLog,
    values: Arc<Mutex<HashMap<String, String>>>,
}

impl Fixture {
    fn new(webhook_url: Option<&str>) -> Self {
        let dir = std::env::temp_dir().join(format!("loadout-slack-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let audit = SqliteAuditLog::new(LocalDb::open_dir(&dir).expect("db"));
        let values: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        if let Some(url) = webhook_url {
            values
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(keys::SLACK_WEBHOOK_URL.to_owned(), url.to_owned());
        }
        Self { dir, audit, values }
    }

    fn set_url(&self, url: &str) {
        self.values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(keys::SLACK_WEBHOOK_URL.to_owned(), url.to_owned());
    }

    fn notifier(&self, clock: Arc<dyn Clock>, settings: SlackSettings) -> SlackNotifier {
        let values = self.values.clone();
        let secrets = Arc::new(LocalSecrets::with_loader(Box::new(move || {
            values.lock().unwrap_or_else(|p| p.into_inner()).clone()
        })));
        SlackNotifier::new(secrets, clock, settings).expect("notifier")
    }

    async fn dropped(&self) -> Vec<loadout::domain::AuditRecord> {
        self.audit
            .query(&AuditQuery::user(&UserId::from("jdoe")))
            .await
            .expect("audit")
            .into_iter()
            .filter(|r| r.kind == AuditKind::NoticeDropped)
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn approval_notice() -> Notice {
    Notice::new(
        CorrelationId::from("corr-1"),
        NoticeBody::ApprovalNeeded {
            user_id: UserId::from("jdoe"),
            app_id: AppId::from("visio"),
            app_name: "Microsoft Visio".into(),
            device_id: "10003".into(),
            reason: "licensed: needs approval".into(),
            ticket_number: Some("REQ0010001".into()),
            ticket_url: Some("https://acme.service-now.com/sc_request.do?sys_id=abc".into()),
        },
    )
}

fn manual() -> Arc<dyn Clock> {
    Arc::new(ManualClock::at(Utc::now()))
}

async fn send(f: &Fixture, notifier: &SlackNotifier, notice: &Notice) -> Delivery {
    let clock = SystemClock;
    announce(notifier, &f.audit, &clock, notice, Duration::from_secs(10)).await
}

#[tokio::test]
async fn notices_are_posted_with_blocks_to_the_default_or_their_own_channel() {
    let slack = SlackSim::start().await.expect("slack");
    let f = Fixture::new(Some(&slack.webhook_url));
    let notifier = f.notifier(
        manual(),
        SlackSettings {
            default_channel: Some("#it-approvals".into()),
            ..SlackSettings::default()
        },
    );
    assert_eq!(
        send(&f, &notifier, &approval_notice()).await,
        Delivery::Delivered
    );
    let breaker = Notice::new(
        CorrelationId::from("corr-2"),
        NoticeBody::BreakerTripped {
            run: "policy v8".into(),
            affected_users: 38,
            total_users: 100,
            limit_percent: 10.0,
        },
    )
    .in_channel("#it-alerts");
    assert_eq!(send(&f, &notifier, &breaker).await, Delivery::Delivered);
    let reclaim = Notice::new(
        CorrelationId::from("corr-3"),
        NoticeBody::Reclamation {
            user_id: UserId::from("jdoe"),
            app_id: AppId::from("visio"),
            app_name: "Microsoft Visio".into(),
            idle_days: 60,
            reclaim_at: Utc::now(),
            keep_url: Some("https://loadout.example.com/reclaim/keep?sig=x".into()),
        },
    );
    assert_eq!(send(&f, &notifier, &reclaim).await, Delivery::Delivered);
    let posts = slack.delivered();
    assert_eq!(posts.len(), 3);
    let approval = &posts[0].payload;
    assert_eq!(approval["channel"], "#it-approvals");
    assert_eq!(
        approval["text"],
        "Approval needed: Microsoft Visio for jdoe"
    );
    let blocks = approval["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "header");
    assert!(
        blocks
            .iter()
            .any(|b| b["text"]["text"].as_str().is_some_and(|t| t
                .contains("<https://acme.service-now.com/sc_request.do?sys_id=abc|REQ0010001>")))
    );
    assert_eq!(posts[1].payload["channel"], "#it-alerts");
    assert!(
        posts[1].payload["blocks"][1]["text"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("38 of 100 users (38.0%, limit 10.0%)"))
    );
    assert!(
        posts[2].payload["text"]
            .as_str()
            .is_some_and(|t| t.contains("reclaimed"))
    );
    assert!(f.dropped().await.is_empty());
    slack.shutdown().await;
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_within_the_deadline() {
    let slack = SlackSim::start().await.expect("slack");
    slack.fail_next(
        1,
        SlackFault::RateLimited {
            retry_after_secs: 2,
        },
    );
    let f = Fixture::new(Some(&slack.webhook_url));
    let clock = ManualClock::at(Utc::now());
    let start = clock.now();
    let notifier = f.notifier(Arc::new(clock.clone()), SlackSettings::default());
    assert_eq!(
        send(&f, &notifier, &approval_notice()).await,
        Delivery::Delivered
    );
    assert_eq!(slack.posts().len(), 2);
    assert!(
        clock.now() - start >= chrono::Duration::seconds(2),
        "Retry-After honoured"
    );
    slack.shutdown().await;
}

#[tokio::test]
async fn a_rate_limit_past_the_deadline_drops_the_notice_at_once() {
    let slack = SlackSim::start().await.expect("slack");
    slack.fail_next(
        1,
        SlackFault::RateLimited {
            retry_after_secs: 60,
        },
    );
    let f = Fixture::new(Some(&slack.webhook_url));
    let notifier = f.notifier(manual(), SlackSettings::default());
    let delivery = send(&f, &notifier, &approval_notice()).await;
    assert!(
        matches!(delivery, Delivery::Dropped(ref r) if r.contains("429")),
        "{delivery:?}"
    );
    assert_eq!(slack.posts().len(), 1);
    assert_eq!(f.dropped().await.len(), 1);
    slack.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times_then_dropped_and_audited() {
    let slack = SlackSim::start().await.expect("slack");
    slack.fail_next(10, SlackFault::ServerError);
    let f = Fixture::new(Some(&slack.webhook_url));
    let notifier = f.notifier(manual(), SlackSettings::default());
    let delivery = send(&f, &notifier, &approval_notice()).await;
    assert!(matches!(delivery, Delivery::Dropped(_)));
    assert_eq!(
        slack.posts().len(),
        SlackSettings::default().max_attempts as usize
    );
    let dropped = f.dropped().await;
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].detail["notice"], "approval_needed");
    assert_eq!(dropped[0].app_id, Some(AppId::from("visio")));
    assert!(
        !serde_json::to_string(&dropped[0])
            .expect("json")
            .contains(&slack.webhook_url),
        "the webhook URL is a secret"
    );
    slack.shutdown().await;
}

#[tokio::test]
async fn a_4xx_is_not_retried() {
    for fault in [
        SlackFault::InvalidPayload,
        SlackFault::ActionProhibited,
        SlackFault::ChannelIsArchived,
        SlackFault::ChannelNotFound,
    ] {
        let slack = SlackSim::start().await.expect("slack");
        slack.fail_next(1, fault);
        let f = Fixture::new(Some(&slack.webhook_url));
        let notifier = f.notifier(manual(), SlackSettings::default());
        let delivery = send(&f, &notifier, &approval_notice()).await;
        assert!(matches!(delivery, Delivery::Dropped(_)), "{fault:?}");
        assert_eq!(slack.posts().len(), 1, "{fault:?}: not retried");
        assert_eq!(f.dropped().await.len(), 1);
        slack.shutdown().await;
    }
}

#[tokio::test]
async fn a_hang_or_an_outage_never_holds_the_caller_past_its_limit() {
    let slack = SlackSim::start().await.expect("slack");
    slack.fail_next(10, SlackFault::Hang);
    let f = Fixture::new(Some(&slack.webhook_url));
    let notifier = f.notifier(
        Arc::new(SystemClock),
        SlackSettings {
            timeout: Duration::from_millis(200),
            deadline: Duration::from_secs(1),
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(100),
            ..SlackSettings::default()
        },
    );
    let started = Instant::now();
    let delivery = send(&f, &notifier, &approval_notice()).await;
    assert!(matches!(delivery, Delivery::Dropped(_)));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let url = slack.webhook_url.clone();
    slack.shutdown().await;

    // Slack gone altogether: refused connections, retried, dropped, in bounded time.
    let f = Fixture::new(Some(&url));
    let notifier = f.notifier(
        Arc::new(SystemClock),
        SlackSettings {
            timeout: Duration::from_millis(200),
            deadline: Duration::from_secs(1),
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(100),
            ..SlackSettings::default()
        },
    );
    let started = Instant::now();
    assert!(matches!(
        send(&f, &notifier, &approval_notice()).await,
        Delivery::Dropped(_)
    ));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(f.dropped().await.len(), 1);
}

#[tokio::test]
async fn a_revoked_url_is_read_again_from_the_secret() {
    let old = SlackSim::start().await.expect("old webhook");
    let new = SlackSim::start().await.expect("new webhook");
    old.revoke();
    let f = Fixture::new(Some(&old.webhook_url));
    let notifier = f.notifier(manual(), SlackSettings::default());
    // Rotated in the secret after the process cached it.
    f.set_url(&new.webhook_url);
    assert_eq!(
        send(&f, &notifier, &approval_notice()).await,
        Delivery::Delivered
    );
    assert_eq!(old.posts().len(), 1);
    assert_eq!(new.delivered().len(), 1);
    old.shutdown().await;
    new.shutdown().await;
}

#[tokio::test]
async fn without_a_webhook_nothing_is_sent_and_nothing_fails() {
    let f = Fixture::new(None);
    let notifier = f.notifier(manual(), SlackSettings::default());
    assert_eq!(
        send(&f, &notifier, &approval_notice()).await,
        Delivery::Disabled
    );
    assert!(f.dropped().await.is_empty());
}
