//! App approvals driven by HR events through local mode: in gated mode a joiner's licensed apps
//! are held, and the executor opens one ServiceNow request per device each app targets (in the
//! ServiceNow simulator); the approver's decision comes back through `/approvals/servicenow`.
//! Approved: the app appears in the UEM simulator for that user, and the sweep marks it
//! Installed once UEM's device apps show it. Rejected: it never appears. ServiceNow failing
//! while a request is opened: retried without a second ticket, Error when it stays down, opened
//! by the next decision once it is back. Unanswered for 14 days: the sweep expires it.
//! Also: the catalog's `approval_on_request` sets UEM's "Require Approval To Install".

use chrono::Utc;
use loadout::approvals::{ApprovalRecord, ApprovalState, request_id, uem_platform};
use loadout::domain::{AppId, AuditKind, Employee, UserId};
use loadout::governance::Mode;
use loadout::notify::{NoticeBody, RecordingNotifier, SlackNotifier, SlackSettings};
use loadout::ports::secrets::keys;
use loadout::servicenow::ServiceNowConfig;
use loadout::stages::approve::Approvals;
use loadout::stages::sweep::SweepOptions;
use loadout_cli::local::{ServiceNowTarget, UemTarget};
use loadout_e2e::{
    Examples, Harness, OffsetClock, TempDir, examples_dir, records_of_kind, start_configured,
};
use servicenow_sim::ServiceNowSim;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn snow(h: &Harness) -> &ServiceNowSim {
    h.local
        .servicenow_sim
        .as_ref()
        .expect("the ServiceNow simulator")
}

fn uem_has(h: &Harness, user: &UserId, uem_app_id: &str) -> bool {
    h.local
        .sim
        .as_ref()
        .expect("UEM simulator")
        .effective_apps(user.as_str())
        .contains_key(uem_app_id)
}

async fn settle(h: &Harness) {
    h.settle_within(Duration::from_secs(120)).await;
}

/// The request ids (round 1) Loadout makes for a user's app: one per device UEM has for the
/// user on a platform the app runs on.
fn request_ids(h: &Harness, ex: &Examples, user: &Employee, app: &str) -> Vec<String> {
    let entry = ex.catalog.get(&AppId::from(app)).expect("catalog app");
    let platforms: Vec<&str> = entry.platforms.iter().map(|p| uem_platform(*p)).collect();
    let devices: Vec<String> = h
        .local
        .sim
        .as_ref()
        .expect("UEM simulator")
        .with_state(|s| {
            s.devices
                .iter()
                .filter(|d| d.username.eq_ignore_ascii_case(user.id.as_str()))
                .filter(|d| platforms.contains(&d.platform.as_str()))
                .map(|d| d.id.to_string())
                .collect()
        });
    assert!(
        !devices.is_empty(),
        "{} has a device {app} runs on",
        user.id
    );
    devices
        .iter()
        .map(|d| request_id(&user.id, &entry.id, d, 1))
        .collect()
}

fn uem_id(ex: &Examples, app: &str) -> String {
    ex.catalog
        .get(&AppId::from(app))
        .expect("catalog app")
        .uem_app_id
        .clone()
}

/// A Sales employee with devices whom the policies give both licensed apps.
fn seller(ex: &Examples, skip: usize) -> Employee {
    let (salesforce, gong) = (uem_id(ex, "salesforce"), uem_id(ex, "gong"));
    ex.with_devices("Sales")
        .into_iter()
        .filter(|e| {
            let apps = ex.expected_apps(e);
            apps.contains_key(&salesforce) && apps.contains_key(&gong)
        })
        .nth(skip)
        .expect("the sample has such salespeople")
}

async fn records(h: &Harness, user: &UserId, app: &str) -> Vec<ApprovalRecord> {
    loadout::approvals::store::of_user_app(h.local.services.store.as_ref(), user, &AppId::from(app))
        .await
        .expect("read")
}

fn quick_retries(config: ServiceNowConfig) -> ServiceNowConfig {
    config
        .with_deadline(Duration::from_millis(1500))
        .with_timeout(Duration::from_millis(500))
        .with_backoff(Duration::from_millis(20), Duration::from_millis(100))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_s_licensed_app_approved_in_servicenow_reaches_uem_and_a_rejected_one_never_does()
{
    let ex = Examples::load();
    let notices = Arc::new(RecordingNotifier::default());
    let recorder = notices.clone();
    let h = start_configured(
        Mode::Gated,
        UemTarget::Simulator,
        TempDir::new("snow-approve"),
        move |o| {
            o.servicenow = ServiceNowTarget::Simulator { adjust: None };
            o.notifier = Some(recorder);
        },
    )
    .await;
    // Devices install an Auto app as soon as it reaches them (no check-in wait).
    h.local
        .sim
        .as_ref()
        .expect("UEM simulator")
        .set_check_in_delay(Duration::ZERO);
    let joiner = seller(&ex, 0);
    h.send_hr("joiner", &joiner).await;
    settle(&h).await;

    let (approve, reject) = (
        request_ids(&h, &ex, &joiner, "salesforce"),
        request_ids(&h, &ex, &joiner, "gong"),
    );
    for id in approve.iter().chain(&reject) {
        assert_eq!(
            snow(&h).ticket_count(id),
            1,
            "one ticket for {id}: {} in all",
            snow(&h).tickets().len()
        );
    }
    let ticket = snow(&h).ticket(&approve[0]).expect("ticket");
    let body = &ticket.body;
    assert_eq!(body["CatalogItem"]["Id"], uem_id(&ex, "salesforce"));
    assert_eq!(body["CatalogItem"]["Name"], "Salesforce");
    assert_eq!(
        body["RequestFor"]["UserAttributes"]["user_name"],
        joiner.id.as_str()
    );
    assert!(
        body["Notes"]
            .as_str()
            .is_some_and(|n| n.starts_with("Requested by Loadout: ") && n.contains("(sales-")),
        "the notes give Loadout's reason and rule: {}",
        body["Notes"]
    );
    let due = body["DueDate"].as_i64().expect("epoch ms");
    let days = (due - Utc::now().timestamp_millis()) / 86_400_000;
    assert!((13..=14).contains(&days), "due in 14 days: {days}");
    // Low-risk, unlicensed apps run without asking anybody.
    let hub = ex
        .catalog
        .get(&AppId::from("workspace-one-hub"))
        .expect("hub");
    assert!(uem_has(&h, &joiner.id, &hub.uem_app_id));
    assert!(
        snow(&h)
            .tickets()
            .iter()
            .all(|t| t.body["CatalogItem"]["Id"] != hub.uem_app_id.as_str())
    );
    // "Approval needed" went to Slack with the ticket's link, once per request.
    let needed: Vec<_> = notices
        .notices()
        .into_iter()
        .filter_map(|n| match n.body {
            NoticeBody::ApprovalNeeded {
                app_id, ticket_url, ..
            } if app_id.as_str() == "salesforce" => Some(ticket_url),
            _ => None,
        })
        .collect();
    assert_eq!(needed.len(), approve.len());
    assert!(
        needed
            .iter()
            .all(|u| u.as_ref().is_some_and(|u| u.contains("sc_request")))
    );

    for id in &approve {
        let d = snow(&h)
            .approve(id, "it.approver")
            .await
            .expect("known")
            .expect("called back");
        assert_eq!(d.status, Some(200), "{}", d.response);
    }
    for id in &reject {
        let d = snow(&h)
            .reject(id, "it.approver")
            .await
            .expect("known")
            .expect("called back");
        assert_eq!(d.status, Some(200), "{}", d.response);
    }
    settle(&h).await;
    assert!(
        uem_has(&h, &joiner.id, &uem_id(&ex, "salesforce")),
        "approved: in UEM for the user\n{}",
        h.local.diagnostics().await
    );
    assert!(!uem_has(&h, &joiner.id, &uem_id(&ex, "gong")));
    // The same person decided again (an update, the same joiner delivered twice): no second
    // ticket, the approved app stays, the rejected one stays away.
    h.send_hr("update", &joiner).await;
    h.send_hr("joiner", &joiner).await;
    settle(&h).await;
    for id in approve.iter().chain(&reject) {
        assert_eq!(snow(&h).ticket_count(id), 1, "still one ticket for {id}");
    }
    assert!(
        snow(&h).duplicates().is_empty(),
        "{:?}",
        snow(&h).duplicates()
    );
    assert!(uem_has(&h, &joiner.id, &uem_id(&ex, "salesforce")));
    assert!(!uem_has(&h, &joiner.id, &uem_id(&ex, "gong")));

    // Installed only when UEM's device apps say so: the sweep reads them.
    let report = h
        .local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    let pushed = ex.expected_apps(&joiner).get(&uem_id(&ex, "salesforce")) == Some(&"auto".into());
    let states: Vec<ApprovalState> = records(&h, &joiner.id, "salesforce")
        .await
        .iter()
        .map(|r| r.state)
        .collect();
    if pushed {
        assert_eq!(report.approvals_installed, approve.len(), "{report:?}");
        assert!(
            states.iter().all(|s| *s == ApprovalState::Installed),
            "{states:?}"
        );
    } else {
        // Offered in the Hub: nothing is installed until the user asks for it.
        assert!(
            states
                .iter()
                .all(|s| *s == ApprovalState::InstallCommandDispatched),
            "{states:?}"
        );
    }
    assert!(
        records(&h, &joiner.id, "gong")
            .await
            .iter()
            .all(|r| r.state == ApprovalState::Rejected)
    );
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servicenow_failing_while_opening_is_retried_into_one_ticket_and_down_ends_in_error() {
    let ex = Examples::load();
    let notices = Arc::new(RecordingNotifier::default());
    let recorder = notices.clone();
    let h = start_configured(
        Mode::Gated,
        UemTarget::Simulator,
        TempDir::new("snow-down"),
        move |o| {
            o.servicenow = ServiceNowTarget::Simulator {
                adjust: Some(quick_retries),
            };
            o.notifier = Some(recorder);
        },
    )
    .await;
    // 5xx before anything is stored, then one stored whose answer is lost: retried, and the
    // lost one found in sc_request rather than posted again.
    snow(&h).fail_next(2, 503);
    snow(&h).fail_after_insert_next(1, 502);
    let first = seller(&ex, 0);
    h.send_hr("joiner", &first).await;
    settle(&h).await;
    let ids = request_ids(&h, &ex, &first, "salesforce");
    for id in &ids {
        assert_eq!(snow(&h).ticket_count(id), 1, "one ticket for {id}");
    }
    assert!(
        snow(&h).duplicates().is_empty(),
        "{:?}",
        snow(&h).duplicates()
    );
    assert!(
        records(&h, &first.id, "salesforce")
            .await
            .iter()
            .all(|r| r.state == ApprovalState::PendingApproval && r.ticket.is_some())
    );

    // Down for good: the requests end in Error, audited, and a human is told.
    snow(&h).go_down().await;
    let second = seller(&ex, 1);
    h.send_hr("joiner", &second).await;
    settle(&h).await;
    let failed = records(&h, &second.id, "salesforce").await;
    assert!(!failed.is_empty());
    assert!(
        failed
            .iter()
            .all(|r| r.state == ApprovalState::Error && r.last_error.is_some()),
        "{failed:?}"
    );
    assert!(notices.notices().iter().any(|n| matches!(
        &n.body,
        NoticeBody::NeedsHuman { user_id: Some(u), .. } if u == &second.id
    )));
    assert!(
        !uem_has(&h, &second.id, &uem_id(&ex, "salesforce")),
        "nothing runs without an approval"
    );

    // Back up: the next decision for the person opens them, once.
    snow(&h).come_up().await.expect("up again");
    h.send_hr("update", &second).await;
    settle(&h).await;
    for id in request_ids(&h, &ex, &second, "salesforce") {
        assert_eq!(snow(&h).ticket_count(&id), 1, "one ticket for {id}");
    }
    assert!(
        records(&h, &second.id, "salesforce")
            .await
            .iter()
            .all(|r| r.state == ApprovalState::PendingApproval && r.ticket.is_some())
    );
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_request_expires_at_the_sweep_after_14_days_and_slack_down_changes_nothing() {
    let ex = Examples::load();
    let clock = OffsetClock::default();
    let stage_clock = clock.clone();
    // Slack is unreachable: notices are dropped (audited), the pipeline goes on.
    let slack_secrets = Arc::new(loadout::adapters::local::LocalSecrets::with_loader(
        Box::new(|| {
            std::collections::HashMap::from([(
                keys::SLACK_WEBHOOK_URL.to_owned(),
                "http://127.0.0.1:9/services/T000/B000/XXXX".to_owned(),
            )])
        }),
    ));
    let slack = SlackNotifier::new(
        slack_secrets,
        Arc::new(clock.clone()),
        SlackSettings {
            deadline: Duration::from_millis(300),
            base_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(50),
            ..SlackSettings::default()
        },
    )
    .expect("notifier");
    let h = start_configured(
        Mode::Gated,
        UemTarget::Simulator,
        TempDir::new("snow-expire"),
        move |o| {
            o.servicenow = ServiceNowTarget::Simulator { adjust: None };
            o.notifier = Some(Arc::new(slack));
            o.clock = Some(Arc::new(stage_clock));
        },
    )
    .await;
    let joiner = seller(&ex, 0);
    h.send_hr("joiner", &joiner).await;
    settle(&h).await;
    let ids = request_ids(&h, &ex, &joiner, "salesforce");
    for id in &ids {
        assert_eq!(snow(&h).ticket_count(id), 1);
    }
    assert!(
        !records_of_kind(h.local.services.audit.as_ref(), AuditKind::NoticeDropped)
            .await
            .is_empty(),
        "undelivered notices are audited"
    );

    // Day 13: nothing expires yet.
    clock.advance(chrono::Duration::days(13));
    let report = h
        .local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    assert_eq!(report.approvals_expired, 0);
    // Day 15: every request of the joiner has waited past its 14 days.
    clock.advance(chrono::Duration::days(2));
    let report = h
        .local
        .sweep(&SweepOptions::default())
        .await
        .expect("sweep");
    let listed = Approvals::new(h.local.services.clone())
        .list(None)
        .await
        .expect("list");
    assert_eq!(report.approvals_expired, listed.len(), "{report:?}");
    assert!(listed.iter().all(|r| r.state == ApprovalState::Expired));
    // An approval arriving after the expiry is refused, and nothing reaches UEM.
    let late = snow(&h)
        .approve(&ids[0], "late.approver")
        .await
        .expect("known")
        .expect("called back");
    assert_eq!(late.status, Some(409), "{}", late.response);
    settle(&h).await;
    assert!(!uem_has(&h, &joiner.id, &uem_id(&ex, "salesforce")));
    h.local.shutdown().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_demand_app_marked_approval_on_request_requires_approval_to_install_in_uem() {
    let ex = Examples::load();
    // The sample, with Notion (offered in the Hub) needing approval when a user asks for it.
    let dir = TempDir::new("approval-on-request-examples");
    copy_dir(&examples_dir(), &dir.0);
    let catalog = std::fs::read_to_string(dir.0.join("catalog.yaml")).expect("catalog");
    let marked: Vec<String> = catalog
        .lines()
        .map(|l| {
            if l.starts_with("- {id: notion,") {
                format!(
                    "{}, approval_on_request: true}}",
                    l.trim_end().trim_end_matches('}')
                )
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert_ne!(
        marked.join("\n"),
        catalog.trim_end(),
        "notion is in the catalog"
    );
    std::fs::write(dir.0.join("catalog.yaml"), marked.join("\n") + "\n").expect("write");
    let examples = dir.0.clone();
    let h = start_configured(
        Mode::Auto,
        UemTarget::Simulator,
        TempDir::new("approval-on-request"),
        move |o| o.examples_dir = examples,
    )
    .await;
    let (notion, miro) = (uem_id(&ex, "notion"), uem_id(&ex, "miro"));
    let joiner = ex
        .with_devices("Sales")
        .into_iter()
        .find(|e| {
            let apps = ex.expected_apps(e);
            apps.get(&notion) == Some(&"on_demand".into())
                && apps.get(&miro) == Some(&"on_demand".into())
        })
        .expect("a salesperson offered Notion and Miro in the Hub");
    h.send_hr("joiner", &joiner).await;
    settle(&h).await;
    let sim = h.local.sim.as_ref().expect("UEM simulator");
    let requires_approval = |app: &str| -> Vec<bool> {
        let id: i64 = app.parse().expect("numeric app id");
        sim.with_state(|s| {
            s.assignments
                .get(&id)
                .map(|a| {
                    a.rules
                        .iter()
                        .map(|r| r.distribution["requires_approval"] == serde_json::json!(true))
                        .collect()
                })
                .unwrap_or_default()
        })
    };
    assert_eq!(
        requires_approval(&notion),
        vec![true],
        "Notion's Hub assignment"
    );
    assert_eq!(
        requires_approval(&miro),
        vec![false],
        "Miro's is not marked"
    );
    assert!(uem_has(&h, &joiner.id, &notion));
    h.local.shutdown().await;
}
