//! License reclamation end to end: local mode over HTTP against the UEM simulator. Two
//! salespeople hold Gong (licensed, assigned by Loadout long ago) and never use it; a run puts
//! both on notice, one keeps the seat through the notice's signed link (served by local mode's
//! /reclaim/keep), a forged link is refused, and after the notice period the other's seat is
//! taken back through the executor, stays taken at their next decision, and shows in the
//! savings report.

use chrono::{Duration, Utc};
use loadout::domain::{AppId, AuditKind, Catalog, Employee, LicenseTerms, UserId};
use loadout::governance::Mode;
use loadout::ports::secrets::keys;
use loadout::ports::{StateStore, StateStoreExt};
use loadout::stages::reclaim::{link, seat};
use loadout::stages::{intent, observed};
use loadout::usage::last_seen;
use loadout::usage::{Coverage, Signal};
use loadout_cli::local::UemTarget;
use loadout_cli::target::Target;
use loadout_e2e::{Examples, Harness, TempDir, normalize_modes, start};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

fn uem_apps(h: &Harness, user: &str) -> BTreeMap<String, String> {
    normalize_modes(
        h.local
            .sim
            .as_ref()
            .expect("simulator")
            .effective_apps(user),
    )
}

async fn settle(h: &Harness) {
    h.settle_within(StdDuration::from_secs(120)).await;
}

/// Salespeople the policies give Gong and whom the sample's usage.csv never shows using it.
fn idle_gong_holders(ex: &Examples, n: usize) -> Vec<Employee> {
    let gong = ex
        .catalog
        .get(&AppId::from("gong"))
        .expect("gong")
        .uem_app_id
        .clone();
    let usage =
        std::fs::read_to_string(loadout_e2e::examples_dir().join("usage.csv")).expect("usage.csv");
    let users_of_gong: BTreeSet<&str> = usage
        .lines()
        .filter_map(|l| {
            let mut f = l.split(',');
            let user = f.next()?;
            (f.next()? == "gong").then_some(user)
        })
        .collect();
    let people: Vec<Employee> = ex
        .with_devices("Sales")
        .into_iter()
        .filter(|e| ex.expected_apps(e).contains_key(&gong))
        .filter(|e| !users_of_gong.contains(e.id.as_str()))
        .take(n)
        .collect();
    assert_eq!(people.len(), n, "the sample has {n} idle Gong holders");
    people
}

/// What earlier Intelligence reads would have left: 60 days of Gong usage observed, unused.
async fn sixty_days_of_no_use(store: &dyn StateStore, users: &[UserId]) {
    let now = Utc::now();
    let coverage = Coverage {
        source: "intelligence".into(),
        signal: Signal::Foreground,
        apps: BTreeSet::from([AppId::from("gong")]),
        from: now - Duration::days(60),
        to: now,
        read_at: now,
    };
    for user in users {
        last_seen::record_user(store, user, &BTreeMap::new(), &coverage)
            .await
            .expect("last seen");
    }
    last_seen::record_history(store, &coverage)
        .await
        .expect("history");
    last_seen::record_success(store, &coverage)
        .await
        .expect("fresh");
}

/// The seats were assigned long ago (the joiner ran a moment ago in this test).
async fn assigned_long_ago(store: &dyn StateStore, user: &UserId) {
    let (mut current, version) = intent::load(store, user).await.expect("intent");
    for m in &mut current.apps {
        m.assigned_at -= Duration::days(200);
    }
    assert!(
        intent::save(store, user, &current, version)
            .await
            .expect("save")
    );
}

/// The notice period has passed.
async fn notice_period_over(store: &dyn StateStore, user: &UserId) {
    let app = AppId::from("gong");
    let (mut record, version) = seat::load(store, &app, user)
        .await
        .expect("load")
        .expect("a seat record");
    record.reclaim_at = Utc::now() - Duration::minutes(1);
    let (pk, sk) = loadout::keys::reclaim_seat(&app, user);
    store
        .put_as(
            &pk,
            &sk,
            &record,
            None,
            loadout::ports::Condition::Version(version),
        )
        .await
        .expect("backdate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_seat_is_reclaimed_after_its_notice_and_a_kept_one_stays() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("reclaim")).await;
    let people = idle_gong_holders(&ex, 2);
    let (idle, keeper) = (people[0].clone(), people[1].clone());
    for p in &people {
        h.send_hr("joiner", p).await;
    }
    settle(&h).await;
    let gong_uem = ex
        .catalog
        .get(&AppId::from("gong"))
        .expect("gong")
        .uem_app_id
        .clone();
    for p in &people {
        assert!(
            uem_apps(&h, p.id.as_str()).contains_key(&gong_uem),
            "{} holds Gong",
            p.id
        );
    }
    let store = h.local.services.store.as_ref();
    let ids: Vec<UserId> = people.iter().map(|p| p.id.clone()).collect();
    sixty_days_of_no_use(store, &ids).await;
    for id in &ids {
        assigned_long_ago(store, id).await;
    }
    // Gong with a 30-day threshold and a week's notice.
    let mut apps: Vec<_> = ex.catalog.apps().cloned().collect();
    for app in &mut apps {
        if app.id.as_str() == "gong" {
            app.license = LicenseTerms {
                inactivity_days: Some(30),
                notice_days: vec![7],
                ..LicenseTerms::default()
            };
        }
    }
    let catalog = Catalog::from_apps(apps).expect("catalog");

    let first = h.local.reclaimer().run(&catalog, false).await.expect("run");
    let gong = first
        .apps
        .iter()
        .find(|a| a.app.as_str() == "gong")
        .expect("gong scanned");
    assert!(gong.stopped.is_none(), "{gong:?}");
    for id in &ids {
        assert!(
            gong.new_candidates.contains(id),
            "{id} is a candidate: {gong:?}"
        );
        assert!(gong.notices.iter().any(|n| &n.user == id), "{id} is told");
    }

    // The keep link, as the notice carries it, through local mode's HTTP server.
    let secret = h
        .local
        .services
        .secrets
        .get(keys::RECLAIM_LINK_SECRET)
        .await
        .expect("secrets")
        .expect("local mode generates the link secret");
    let (record, _) = seat::load(store, &AppId::from("gong"), &keeper.id)
        .await
        .expect("load")
        .expect("record");
    let claim = link::KeepClaim {
        app: AppId::from("gong"),
        user: keeper.id.clone(),
        cycle: record.cycle.timestamp(),
        expires_at: record.reclaim_at,
    };
    let http = reqwest::Client::new();
    let forged = link::url(&h.local.base_url, b"not the secret", &claim);
    let refused = http.get(&forged).send().await.expect("get");
    assert_eq!(refused.status().as_u16(), 401);
    let genuine = link::url(&h.local.base_url, secret.expose().as_bytes(), &claim);
    let kept = http.get(&genuine).send().await.expect("get");
    assert_eq!(kept.status().as_u16(), 200, "{:?}", kept.text().await);

    for id in &ids {
        notice_period_over(store, id).await;
    }
    let second = h.local.reclaimer().run(&catalog, false).await.expect("run");
    let gong = second
        .apps
        .iter()
        .find(|a| a.app.as_str() == "gong")
        .expect("gong");
    assert_eq!(gong.reclaimed, vec![idle.id.clone()], "{gong:?}");
    settle(&h).await;
    assert!(
        !uem_apps(&h, idle.id.as_str()).contains_key(&gong_uem),
        "the idle seat left UEM"
    );
    assert!(
        uem_apps(&h, keeper.id.as_str()).contains_key(&gong_uem),
        "the kept seat stays"
    );
    // The next decision for the idle user does not hand the seat back.
    h.send_hr("update", &idle).await;
    settle(&h).await;
    assert!(!uem_apps(&h, idle.id.as_str()).contains_key(&gong_uem));
    let holdings = observed::observe(store, &idle.id).await.expect("observe");
    assert!(
        !holdings
            .known()
            .is_some_and(|h| h.apps.contains_key(&AppId::from("gong")))
    );

    // Audited with the reason; counted in the savings report.
    let cycle = seat::load(store, &AppId::from("gong"), &idle.id)
        .await
        .expect("load")
        .expect("record")
        .0
        .correlation();
    let trail = loadout_e2e::trail_of(h.local.services.audit.as_ref(), cycle.as_str()).await;
    let kinds: Vec<AuditKind> = trail.iter().map(|r| r.kind).collect();
    assert!(kinds.contains(&AuditKind::Reclamation), "{kinds:?}");
    assert!(kinds.contains(&AuditKind::ActionPlanned), "{kinds:?}");
    assert!(kinds.contains(&AuditKind::ActionApplied), "{kinds:?}");
    let report = loadout_cli::reclaim_cmd::report(&Target::Local(h.data.0.clone()))
        .await
        .expect("report");
    assert_eq!(report.total.seats, 1);
    assert_eq!(report.total.cost_saved, 100.0);
    h.local.shutdown().await;
}
