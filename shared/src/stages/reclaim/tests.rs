//! The run against the embedded store, a manual clock and a recording notifier: the seats, the
//! notices, the removals on the execute queue, the waitlist, the breaker and the link.

use super::*;
use crate::adapters::local::QueueSpec;
use crate::adapters::local::{
    LocalDb, LocalSecrets, SqliteAuditLog, SqliteQueue, SqliteStateStore,
};
use crate::config::Settings;
use crate::domain::{
    Action, AppId, CatalogApp, CorrelationId, Employee, Envelope, Platform, PushMode, Risk, UserId,
};
use crate::governance::{BreakerPolicy, Mode};
use crate::notify::{Notice, NoticeBody, Notifier, NotifyError, RecordingNotifier};
use crate::ports::queue::names;
use crate::ports::secrets::keys as secret_keys;
use crate::ports::{Clock, ManualClock};
use crate::reconcile::ManagedApp;
use crate::stages::identity::{self, IdentityRecord};
use crate::stages::observed::{GroupSnapshot, HeldApp, Source};
use crate::stages::{Services, directory, intent};
use crate::uem::UemUser;
use crate::usage::Coverage;
use crate::usage::Signal;
use crate::usage::last_seen::{self, ReadFold};
use crate::webhook::InboundRequest;
use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

const LINK_SECRET: &str = "keep it  with two spaces ";

fn day(d: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 6, 0, 0)
        .single()
        .expect("date")
        + Duration::days(d)
}

fn gong(terms: crate::domain::LicenseTerms) -> CatalogApp {
    CatalogApp {
        id: AppId::new("gong"),
        name: "Gong".into(),
        uem_app_id: "77".into(),
        platforms: vec![Platform::Windows],
        licensed: true,
        cost_per_seat: 100.0,
        risk: Risk::Medium,
        license: terms,
        ..CatalogApp::default()
    }
}

fn terms() -> crate::domain::LicenseTerms {
    crate::domain::LicenseTerms {
        inactivity_days: Some(30),
        notice_days: vec![14, 7, 1],
        ..Default::default()
    }
}

struct World {
    services: Services,
    clock: Arc<ManualClock>,
    notifier: Arc<RecordingNotifier>,
    catalog: Catalog,
    users: Vec<UserId>,
    /// Last use per user (`None`: never).
    used: HashMap<UserId, DateTime<Utc>>,
    read_to: DateTime<Utc>,
}

fn uid(i: usize) -> UserId {
    UserId::new(format!("u{i:02}"))
}

impl World {
    /// `holders` users hold Gong through Loadout (assigned 200 days ago); usage observed for
    /// the 100 days before day 0, nobody used it.
    async fn new(holders: usize, app: CatalogApp, mode: Mode) -> Self {
        Self::with_extra(holders, &[], app, mode).await
    }

    /// As `new`, with more holders by number (u99 is in the Executives group).
    async fn with_extra(holders: usize, extra: &[usize], app: CatalogApp, mode: Mode) -> Self {
        let clock = Arc::new(ManualClock::at(day(0)));
        let db = LocalDb::in_memory().expect("db");
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let secrets = LocalSecrets::with_loader(Box::new(|| {
            HashMap::from([(
                secret_keys::RECLAIM_LINK_SECRET.to_owned(),
                LINK_SECRET.to_owned(),
            )])
        }));
        let settings = Settings {
            mode,
            breaker: BreakerPolicy {
                max_users: 50,
                max_share: 1.0,
                ..BreakerPolicy::default()
            },
            ..Settings::default()
        };
        let services = Services {
            store: Arc::new(SqliteStateStore::new(db.clone(), dyn_clock.clone())),
            audit: Arc::new(SqliteAuditLog::new(db.clone())),
            queue: Arc::new(SqliteQueue::new(
                db,
                dyn_clock.clone(),
                QueueSpec::pipeline(5),
            )),
            secrets: Arc::new(secrets),
            clock: dyn_clock,
            settings,
        };
        let mut w = World {
            services,
            clock,
            notifier: Arc::new(RecordingNotifier::default()),
            catalog: Catalog::from_apps(vec![app]).expect("catalog"),
            users: Vec::new(),
            used: HashMap::new(),
            read_to: day(-100),
        };
        for i in (0..holders).chain(extra.iter().copied()) {
            w.add_user(i, true).await;
        }
        w.snapshot().await;
        w.read().await;
        w
    }

    fn store(&self) -> &dyn crate::ports::StateStore {
        self.services.store.as_ref()
    }

    async fn add_user(&mut self, i: usize, holds: bool) {
        let user = uid(i);
        let employee = Employee {
            id: user.clone(),
            email: format!("{user}@example.com"),
            groups: if i == 99 {
                vec!["Executives".into()]
            } else {
                vec![]
            },
            ..Employee::default()
        };
        directory::upsert_profile(self.store(), &employee, day(-300), true)
            .await
            .expect("profile");
        identity::remember(
            self.store(),
            &user,
            &IdentityRecord {
                uem: UemUser {
                    id: 1000 + i as i64,
                    uuid: None,
                    username: user.to_string(),
                    email: employee.email.clone(),
                    active: true,
                },
                matched_by: "username".into(),
                matched_at: day(-300),
            },
        )
        .await
        .expect("identity");
        if holds {
            let app = AppId::new("gong");
            let current = intent::Intent {
                apps: vec![ManagedApp {
                    app_id: app.clone(),
                    push_mode: PushMode::OnDemand,
                    assigned_by: CorrelationId::new("joiner-1"),
                    assigned_at: day(-200),
                }],
                ..intent::Intent::default()
            };
            intent::save(self.store(), &user, &current, None)
                .await
                .expect("intent");
            crate::stages::observed::record(
                self.store(),
                &user,
                &app,
                Some(HeldApp {
                    push_mode: PushMode::OnDemand,
                    group: "loadout:gong:on-demand".into(),
                    seen_at: day(-1),
                    source: Source::Sweep,
                }),
                day(-1),
            )
            .await
            .expect("observed");
            self.users.push(user);
        }
    }

    /// The group snapshot as a sweep would leave it: every holder.
    async fn snapshot(&self) {
        let snapshot = GroupSnapshot {
            app_id: AppId::new("gong"),
            push_mode: PushMode::OnDemand,
            shard: 0,
            group_id: 5,
            group_uuid: "g-5".into(),
            name: "loadout:gong:on-demand".into(),
            members: self
                .users
                .iter()
                .map(|u| 1000 + u.as_str()[1..].parse::<i64>().expect("n"))
                .collect(),
            assigned: None,
            read_at: self.clock.now(),
            source: Source::Sweep,
        };
        crate::stages::observed::save_snapshot(self.store(), &snapshot, None)
            .await
            .expect("snapshot");
    }

    /// A foreground read from the last one to now, with the uses recorded so far.
    async fn read(&mut self) {
        let now = self.clock.now();
        let coverage = Coverage {
            source: "intelligence".into(),
            signal: Signal::Foreground,
            apps: BTreeSet::from([AppId::new("gong")]),
            from: self.read_to,
            to: now,
            read_at: now,
        };
        for user in &self.users {
            let mut folds = BTreeMap::new();
            let mut fold = ReadFold::default();
            fold.add(self.used.get(user).copied(), 1, None);
            folds.insert(AppId::new("gong"), fold);
            last_seen::record_user(self.store(), user, &folds, &coverage)
                .await
                .expect("last seen");
        }
        last_seen::record_history(self.store(), &coverage)
            .await
            .expect("history");
        last_seen::record_success(self.store(), &coverage)
            .await
            .expect("fresh");
        self.read_to = now;
    }

    fn reclaimer(&self) -> Reclaimer {
        Reclaimer::new(self.services.clone())
            .with_notifier(self.notifier.clone())
            .with_link_base(Some("https://loadout.example.com".into()))
    }

    async fn run(&self) -> RunReport {
        self.reclaimer()
            .run(&self.catalog, false)
            .await
            .expect("run")
    }

    /// Moves the clock, reads usage, runs.
    async fn day(&mut self, d: i64) -> RunReport {
        self.clock.set(day(d));
        self.read().await;
        self.run().await
    }

    async fn removals(&self) -> Vec<Action> {
        let messages = self
            .services
            .queue
            .receive(names::EXECUTE, 100, std::time::Duration::from_secs(60))
            .await
            .expect("receive");
        messages
            .iter()
            .map(|m| {
                serde_json::from_str::<Envelope<Action>>(&m.body)
                    .expect("action")
                    .payload
            })
            .collect()
    }

    async fn state_of(&self, user: &str) -> Option<String> {
        seat::load(self.store(), &AppId::new("gong"), &UserId::new(user))
            .await
            .expect("load")
            .map(|(r, _)| r.state.as_str().to_owned())
    }
}

#[tokio::test]
async fn unused_past_the_threshold_is_reclaimed_after_the_notices() {
    let mut w = World::new(3, gong(terms()), Mode::Auto).await;
    let first = w.run().await;
    assert_eq!(first.apps[0].new_candidates.len(), 3);
    assert_eq!(first.notices(), 3, "the 14-day notice at once");
    assert!(w.removals().await.is_empty());
    for d in [7, 13] {
        let r = w.day(d).await;
        assert_eq!(r.notices(), 3, "day {d}");
        assert_eq!(r.reclaimed(), 0);
    }
    let last = w.day(14).await;
    assert_eq!(last.reclaimed(), 3, "{last:?}");
    let removals = w.removals().await;
    assert_eq!(removals.len(), 3);
    assert!(
        removals
            .iter()
            .all(|a| a.kind == crate::domain::ActionKind::Remove
                && a.reasons[0].text.contains("unused since"))
    );
    assert_eq!(w.state_of("u00").await.as_deref(), Some("reclaimed"));
    let report = savings::report(&savings::entries(w.store()).await.expect("ledger"));
    assert_eq!(report.total.seats, 3);
    assert_eq!(report.total.cost_saved, 300.0);
    // Each user heard each notice once, with a link.
    assert_eq!(w.notifier.notices().len(), 9);
    let excluded = exclusion::load(w.store(), &uid(0))
        .await
        .expect("exclusion");
    assert!(
        excluded.apps.contains_key(&AppId::new("gong")),
        "decisions leave it out"
    );
    let after = w.day(15).await;
    assert_eq!(after.notices(), 0, "nothing more to say");
}

#[tokio::test]
async fn used_during_the_notice_is_not_reclaimed() {
    let mut w = World::new(2, gong(terms()), Mode::Auto).await;
    w.run().await;
    w.used.insert(uid(1), day(5));
    let r = w.day(7).await;
    assert_eq!(r.apps[0].used_again, vec![uid(1)]);
    let r = w.day(14).await;
    assert_eq!(r.reclaimed(), 1);
    let removed: Vec<UserId> = w.removals().await.into_iter().map(|a| a.user_id).collect();
    assert_eq!(removed, vec![uid(0)]);
    assert_eq!(w.state_of("u01").await.as_deref(), Some("used_again"));
}

fn keep_request(link: &str) -> InboundRequest {
    let (path, query) = link
        .trim_start_matches("https://loadout.example.com")
        .split_once('?')
        .expect("query");
    InboundRequest {
        method: http::Method::GET,
        path: path.to_owned(),
        query: InboundRequest::parse_query(query),
        headers: http::HeaderMap::new(),
        body: bytes::Bytes::new(),
    }
}

fn link_for(w: &World, user: &str) -> String {
    w.notifier
        .notices()
        .iter()
        .find_map(|n| match &n.body {
            NoticeBody::Reclamation {
                user_id, keep_url, ..
            } if user_id.as_str() == user => keep_url.clone(),
            _ => None,
        })
        .expect("a notice with a link")
}

#[tokio::test]
async fn kept_through_the_link_is_not_reclaimed_and_a_forged_or_expired_link_is_refused() {
    let mut w = World::new(2, gong(terms()), Mode::Auto).await;
    w.run().await;
    let link = link_for(&w, "u00");
    let forged = link.replace("user=u00", "user=u01");
    let refused = keep::handle(&w.services, &keep_request(&forged)).await;
    assert_eq!(refused.status, 401, "{:?}", refused.body_json());
    let kept = keep::handle(&w.services, &keep_request(&link)).await;
    assert_eq!(kept.status, 200, "{:?}", kept.body_json());
    let again = keep::handle(&w.services, &keep_request(&link)).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body_json().expect("json")["repeat"], true);
    let r = w.day(14).await;
    assert_eq!(r.reclaimed(), 1);
    assert_eq!(w.state_of("u00").await.as_deref(), Some("kept"));
    // u01's link expired when its seat was due.
    let late = link_for(&w, "u01");
    w.clock.set(day(15));
    let expired = keep::handle(&w.services, &keep_request(&late)).await;
    assert_eq!(expired.status, 410, "{:?}", expired.body_json());
}

#[tokio::test]
async fn exempt_users_and_groups_are_not_candidates_and_the_minimum_is_kept() {
    let mut app = gong(crate::domain::LicenseTerms {
        exempt_users: vec![uid(0)],
        exempt_groups: vec!["Executives".into()],
        min_seats: 2,
        ..terms()
    });
    app.license.seats = Some(10);
    let w = World::with_extra(5, &[99], app, Mode::Auto).await;
    let r = w.run().await;
    let a = &r.apps[0];
    assert_eq!(a.holders, 6);
    assert_eq!(a.passed.exempt, 2, "u00 by name, u99 by group");
    // 6 holders, 2 kept at least: 4 may go; u00 and u99 are exempt, so u01..u04 go.
    assert_eq!(a.new_candidates.len(), 4);
    let mut w2 = World::new(
        5,
        gong(crate::domain::LicenseTerms {
            min_seats: 3,
            ..terms()
        }),
        Mode::Auto,
    )
    .await;
    let r = w2.run().await;
    assert_eq!(r.apps[0].new_candidates.len(), 2, "5 holders, 3 kept");
    assert_eq!(r.apps[0].passed.minimum_seats, 3);
    w2.day(7).await;
    w2.day(13).await;
    assert_eq!(w2.day(14).await.reclaimed(), 2);
}

#[tokio::test]
async fn the_waitlist_gets_the_freed_seat() {
    let mut app = gong(terms());
    app.license.seats = Some(1);
    let mut w = World::new(1, app.clone(), Mode::Auto).await;
    // u05 asked for Gong while the only seat was taken: the decision's seat gate held it.
    w.add_user(5, false).await;
    let held = Action {
        action_id: Action::derive_id(
            &CorrelationId::new("c9"),
            &uid(5),
            &app.id,
            crate::domain::ActionKind::Assign,
        ),
        correlation_id: CorrelationId::new("c9"),
        user_id: uid(5),
        app_id: app.id.clone(),
        kind: crate::domain::ActionKind::Assign,
        push_mode: PushMode::OnDemand,
        reasons: vec![],
        policy_version: "v1".into(),
        sequence: 1,
        uem_user: Some(crate::domain::UemTarget {
            id: 1005,
            username: "u05".into(),
        }),
    };
    let gate = waitlist::seat_gate(w.store(), &app, &held, day(0))
        .await
        .expect("gate");
    assert!(
        matches!(gate, Some(crate::governance::Gate::AwaitApproval { reason }) if reason.contains("waitlisted"))
    );
    w.run().await;
    w.day(7).await;
    w.day(13).await;
    let r = w.day(14).await;
    assert_eq!(r.apps[0].granted, vec![uid(5)]);
    let actions = w.removals().await;
    let kinds: Vec<(String, &str)> = actions
        .iter()
        .map(|a| (a.user_id.to_string(), a.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![("u00".into(), "remove"), ("u05".into(), "assign")]
    );
    assert!(
        waitlist::entries(w.store(), &app.id)
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn the_breaker_halts_a_mass_reclamation() {
    let mut w = World::new(12, gong(terms()), Mode::Auto).await;
    w.services.settings.breaker = BreakerPolicy {
        max_users: 5,
        max_share: 1.0,
        ..BreakerPolicy::default()
    };
    w.run().await;
    w.day(7).await;
    w.day(13).await;
    let r = w.day(14).await;
    assert_eq!(r.reclaimed(), 5, "the first five pass");
    assert_eq!(r.apps[0].held.len(), 7);
    assert!(
        r.apps[0].held[0].reason.contains("blast-radius breaker"),
        "{:?}",
        r.apps[0].held
    );
    assert_eq!(w.removals().await.len(), 5);
    let tripped = crate::stages::breaker::tripped(w.store())
        .await
        .expect("breakers");
    assert_eq!(tripped.len(), 1);
    assert_eq!(w.state_of("u11").await.as_deref(), Some("removing"));
}

#[tokio::test]
async fn a_stale_usage_source_stops_reclamation() {
    let w = World::new(2, gong(terms()), Mode::Auto).await;
    w.run().await;
    // Four days without a read: the source is old.
    w.clock.set(day(4));
    let r = w.run().await;
    assert!(
        r.apps[0]
            .stopped
            .as_deref()
            .is_some_and(|s| s.contains("not fresh")),
        "{:?}",
        r.apps[0].stopped
    );
    assert!(
        w.notifier
            .notices()
            .iter()
            .any(|n| matches!(n.body, NoticeBody::NeedsHuman { .. }))
    );
    // Still stale on the due day: nothing removed.
    w.clock.set(day(14));
    assert_eq!(w.run().await.reclaimed(), 0);
    assert!(w.removals().await.is_empty());
}

#[tokio::test]
async fn too_little_history_stops_reclamation() {
    let w = World::new(
        2,
        gong(crate::domain::LicenseTerms {
            inactivity_days: Some(120),
            ..terms()
        }),
        Mode::Auto,
    )
    .await;
    let r = w.run().await;
    assert!(
        r.apps[0]
            .stopped
            .as_deref()
            .is_some_and(|s| s.contains("observed only since")),
        "{:?}",
        r.apps[0].stopped
    );
    assert!(r.apps[0].new_candidates.is_empty());
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    let w = World::new(3, gong(terms()), Mode::Auto).await;
    let dry = w.reclaimer().run(&w.catalog, true).await.expect("dry run");
    assert_eq!(dry.apps[0].new_candidates.len(), 3);
    assert_eq!(dry.apps[0].notices.len(), 3);
    assert!(dry.apps[0].notices.iter().all(|n| n.delivery == "due"));
    assert!(w.notifier.notices().is_empty());
    assert!(
        seat::of_app(w.store(), &AppId::new("gong"))
            .await
            .expect("records")
            .is_empty()
    );
    assert!(w.removals().await.is_empty());
    // With removals due, a dry run shows them and still changes nothing.
    let mut w = w;
    w.run().await;
    w.clock.set(day(14));
    w.read().await;
    let gong = AppId::new("gong");
    let before = seat::of_app(w.store(), &gong).await.expect("records");
    let sent = w.notifier.notices().len();
    let dry = w.reclaimer().run(&w.catalog, true).await.expect("dry run");
    assert_eq!(dry.reclaimed(), 3);
    assert_eq!(
        seat::of_app(w.store(), &gong).await.expect("records"),
        before
    );
    assert_eq!(w.notifier.notices().len(), sent);
    assert!(w.removals().await.is_empty());
    assert!(
        savings::entries(w.store())
            .await
            .expect("ledger")
            .is_empty()
    );
}

/// Never answers: the run is killed while it sends.
struct Hangs(Arc<RecordingNotifier>, std::sync::atomic::AtomicUsize);

#[async_trait]
impl Notifier for Hangs {
    async fn send(&self, notice: &Notice) -> Result<(), NotifyError> {
        if self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
            std::future::pending::<()>().await;
        }
        self.0.send(notice).await
    }
}

#[tokio::test]
async fn a_run_killed_halfway_resumes_without_double_notices() {
    let w = World::new(5, gong(terms()), Mode::Auto).await;
    let hangs = Arc::new(Hangs(
        w.notifier.clone(),
        std::sync::atomic::AtomicUsize::new(0),
    ));
    let killed = Reclaimer::new(w.services.clone()).with_notifier(hangs);
    let outcome = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        killed.run(&w.catalog, false),
    )
    .await;
    assert!(outcome.is_err(), "the run was killed");
    assert_eq!(w.notifier.notices().len(), 2);
    let resumed = w.run().await;
    // The third notice was claimed when the run died: never sent twice; the other two users
    // get theirs now.
    assert_eq!(resumed.notices(), 2, "{resumed:?}");
    let mut told: Vec<String> = w
        .notifier
        .notices()
        .iter()
        .filter_map(|n| n.user_id().map(|u| u.to_string()))
        .collect();
    let all = told.len();
    told.sort();
    told.dedup();
    assert_eq!(told.len(), all, "nobody heard the same notice twice");
    assert_eq!(all, 4);
    let again = w.run().await;
    assert_eq!(again.notices(), 0);
}

/// A fleet above the point-read size has its last-seen records read shard by shard, a small
/// tenant by key; both are judged alike.
#[tokio::test]
async fn a_fleet_read_shard_by_shard_is_judged_as_a_small_tenant_read_by_key() {
    for n in [40, scan::POINT_READS_BELOW + 20] {
        let mut w = World::new(n, gong(terms()), Mode::Auto).await;
        let used: Vec<UserId> = w.users.iter().step_by(3).cloned().collect();
        for user in &used {
            w.used.insert(user.clone(), day(-2));
        }
        w.clock.set(day(1));
        w.read().await;
        let dry = w.reclaimer().run(&w.catalog, true).await.expect("dry run");
        let gong = &dry.apps[0];
        assert_eq!(gong.holders, n, "{n} holders");
        assert_eq!(gong.used, used.len(), "{n} holders");
        assert_eq!(gong.unused, n - used.len(), "{n} holders");
        assert_eq!(gong.new_candidates.len(), n - used.len(), "{n} holders");
        assert!(gong.new_candidates.iter().all(|c| !used.contains(c)));
    }
}
