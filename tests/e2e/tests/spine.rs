//! The spine, end to end: HR events over HTTP into local mode, through enrich, decide and execute,
//! into the UEM simulator; assertions are on what UEM holds and on the audit trail.

use loadout::domain::{AuditKind, UserId};
use loadout::governance::Mode;
use loadout::ports::AuditQuery;
use loadout::uem::UemConfig;
use loadout_cli::local::UemTarget;
use loadout_e2e::{Examples, TempDir, hr_event, normalize_modes, start};
use std::collections::BTreeMap;
use std::time::Duration;
use uem_sim::{SimConfig, Tenant, UemSim};

const SETTLE: Duration = Duration::from_secs(60);

fn uem_apps(h: &loadout_e2e::Harness, user: &str) -> BTreeMap<String, String> {
    normalize_modes(
        h.local
            .sim
            .as_ref()
            .expect("simulator")
            .effective_apps(user),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joiner_gets_exactly_the_apps_the_policies_entitle() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("joiner")).await;
    let joiner = ex.with_devices("Sales").remove(0);
    let sent = h
        .sender
        .send(&hr_event("joiner", &joiner, &[]), "joiner-1")
        .await
        .expect("send");
    assert_eq!(sent.status, 202, "{}", sent.body);
    assert!(sent.body["event_id"].is_string() && sent.body["correlation_id"].is_string());
    assert!(h.local.wait_idle(SETTLE).await, "pipeline settles");
    let expected = ex.expected_apps(&joiner);
    assert!(
        !expected.is_empty(),
        "the sample policies entitle a Sales user to something"
    );
    assert_eq!(uem_apps(&h, joiner.id.as_str()), expected);

    // Every stage left its mark under the event's correlation id, with the deciding rules.
    let trail = loadout_e2e::trail_of(
        h.local.services.audit.as_ref(),
        sent.body["correlation_id"].as_str().expect("id"),
    )
    .await;
    loadout_e2e::assert_every_stage_left_its_mark(&trail);
    let decision = trail
        .iter()
        .find(|r| r.kind == AuditKind::Decision)
        .expect("decision record");
    assert!(
        !decision.rule_ids.is_empty(),
        "the decision names its rules"
    );
    assert!(
        decision
            .policy_version
            .as_deref()
            .is_some_and(|v| v.starts_with("pv-"))
    );
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mover_loses_old_department_apps_and_gains_the_new_ones() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("mover")).await;
    let before = ex.with_devices("Sales").remove(1);
    h.sender
        .send(&hr_event("update", &before, &[]), "mover-baseline")
        .await
        .expect("send");
    assert!(h.local.wait_idle(SETTLE).await);
    assert_eq!(uem_apps(&h, before.id.as_str()), ex.expected_apps(&before));

    let mut after = before.clone();
    after.department = "Marketing".into();
    after.title = "Marketing Manager".into();
    after.groups = after
        .groups
        .iter()
        .filter(|g| g.as_str() != "sales")
        .cloned()
        .chain(["marketing".to_owned()])
        .collect();
    let sent = h
        .sender
        .send(
            &hr_event("mover", &after, &["department", "title"]),
            "mover-1",
        )
        .await
        .expect("send");
    assert_eq!(sent.status, 202);
    assert!(h.local.wait_idle(SETTLE).await);
    let expected_after = ex.expected_apps(&after);
    assert_ne!(
        ex.expected_apps(&before),
        expected_after,
        "the sample policies treat Sales and Marketing differently"
    );
    assert_eq!(uem_apps(&h, after.id.as_str()), expected_after);
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaver_ends_with_no_loadout_managed_apps() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("leaver")).await;
    let user = ex.with_devices("Engineering").remove(0);
    h.sender
        .send(&hr_event("update", &user, &[]), "leaver-baseline")
        .await
        .expect("send");
    assert!(h.local.wait_idle(SETTLE).await);
    assert!(!uem_apps(&h, user.id.as_str()).is_empty());
    let sent = h
        .sender
        .send(&hr_event("leaver", &user, &[]), "leaver-1")
        .await
        .expect("send");
    assert_eq!(sent.status, 202);
    assert!(h.local.wait_idle(SETTLE).await);
    assert!(
        uem_apps(&h, user.id.as_str()).is_empty(),
        "left with {:?}",
        uem_apps(&h, user.id.as_str())
    );
    let observed = loadout::stages::observed::observe(
        h.local.services.store.as_ref(),
        &UserId::new(user.id.as_str()),
    )
    .await
    .expect("observed");
    assert!(
        observed.known().is_some_and(|h| h.apps.is_empty()),
        "Loadout knows the leaver holds nothing in its groups: {observed:?}"
    );
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_delivery_changes_nothing() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("dup")).await;
    let user = ex.with_devices("Sales").remove(2);
    let body = hr_event("joiner", &user, &[]);
    let first = h.sender.send(&body, "dup-1").await.expect("send");
    assert!(h.local.wait_idle(SETTLE).await);
    let sim = h.local.sim.as_ref().expect("sim");
    let mutations = sim.mutation_count();
    let second = h.sender.send(&body, "dup-1").await.expect("send");
    assert_eq!(second.status, 202);
    assert_eq!(
        second.body, first.body,
        "a duplicate answers with the original ids"
    );
    assert!(h.local.wait_idle(SETTLE).await);
    assert_eq!(
        sim.mutation_count(),
        mutations,
        "no UEM change for a duplicate"
    );
    let trail = h
        .local
        .services
        .audit
        .query(&AuditQuery::user(&user.id))
        .await
        .expect("audit");
    assert_eq!(
        trail
            .iter()
            .filter(|r| r.kind == AuditKind::Decision)
            .count(),
        1,
        "decided once"
    );
    assert!(trail.iter().any(|r| r.kind == AuditKind::EventDuplicate));
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signature_gets_401_with_a_json_error_and_an_audit_record() {
    let ex = Examples::load();
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("forged")).await;
    let user = ex.org[0].clone();
    let forged = h
        .sender
        .send_forged(&hr_event("joiner", &user, &[]), "forged-1")
        .await
        .expect("send");
    assert_eq!(forged.status, 401);
    assert_eq!(forged.body["error"]["code"], "invalid_signature");
    assert!(forged.body["error"]["message"].is_string());
    let rejected =
        loadout_e2e::records_of_kind(h.local.services.audit.as_ref(), AuditKind::EventRejected)
            .await;
    assert_eq!(rejected.len(), 1);
    let text = serde_json::to_string(&rejected[0]).expect("json");
    assert!(
        !text.contains(&user.email),
        "no personal data in the rejection audit"
    );
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_gets_400_and_wrong_content_type_415() {
    let h = start(Mode::Auto, UemTarget::Simulator, TempDir::new("malformed")).await;
    let bad = h
        .sender
        .send(b"{\"type\": \"joiner\", ", "bad-1")
        .await
        .expect("send");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["code"], "malformed_body");
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/webhooks/hris", h.local.base_url))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 415);
    let body: serde_json::Value = response.json().await.expect("json error body");
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    h.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_local_mode_mid_run_loses_no_accepted_event() {
    let ex = Examples::load();
    // UEM outlives local mode, as a real tenant would.
    let tenant = Tenant::from_dir(loadout_e2e::examples_dir()).expect("tenant");
    let sim = UemSim::start(SimConfig::new(tenant).requests_per_minute(6000))
        .await
        .expect("sim");
    let config = UemConfig::oauth(
        &sim.base_url,
        &sim.token_url,
        &sim.credentials.client_id,
        loadout::ports::SecretString::new(&sim.credentials.client_secret),
    );
    let data = TempDir::new("restart");
    let data_path = data.0.clone();
    let h = start(
        Mode::Auto,
        UemTarget::Config(Box::new(config.clone())),
        data,
    )
    .await;
    let users: Vec<_> = ex
        .with_devices("Sales")
        .into_iter()
        .take(3)
        .chain(ex.with_devices("Engineering").into_iter().take(3))
        .collect();
    for (i, user) in users.iter().enumerate() {
        let sent = h
            .sender
            .send(&hr_event("joiner", user, &[]), &format!("restart-{i}"))
            .await
            .expect("send");
        assert_eq!(sent.status, 202);
    }
    // Crash right after accepting: batches in flight are abandoned mid-way.
    let sender = h.sender;
    let dir_guard = h.data;
    h.local.kill().await;
    std::mem::forget(dir_guard); // keep the data directory for the restart
    let again = start(
        Mode::Auto,
        UemTarget::Config(Box::new(config)),
        TempDir(data_path.clone()),
    )
    .await;
    drop(sender);
    assert!(
        again.local.wait_idle(SETTLE).await,
        "the backlog drains after restart:\n{}",
        again.local.diagnostics().await
    );
    for user in &users {
        assert_eq!(
            normalize_modes(sim.effective_apps(user.id.as_str())),
            ex.expected_apps(user),
            "{} got its apps after the restart",
            user.id
        );
    }
    assert!(
        sim.duplicates().is_empty(),
        "no duplicate memberships: {:?}",
        sim.duplicates()
    );
    again.local.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gated_mode_holds_licensed_apps_for_approval() {
    let ex = Examples::load();
    let h = start(Mode::Gated, UemTarget::Simulator, TempDir::new("gated")).await;
    let user = ex.with_devices("Sales").remove(0);
    h.sender
        .send(&hr_event("joiner", &user, &[]), "gated-1")
        .await
        .expect("send");
    assert!(h.local.wait_idle(SETTLE).await);
    let expected = ex.expected_apps(&user);
    let licensed: Vec<String> = ex
        .catalog
        .apps()
        .filter(|a| a.licensed || a.risk == loadout::domain::Risk::High)
        .map(|a| a.uem_app_id.clone())
        .collect();
    let held: Vec<&String> = expected.keys().filter(|id| licensed.contains(id)).collect();
    assert!(
        !held.is_empty(),
        "a Sales user is entitled to at least one licensed app"
    );
    let got = uem_apps(&h, user.id.as_str());
    for id in &held {
        assert!(
            !got.contains_key(*id),
            "licensed app {id} waits for approval"
        );
    }
    for (id, mode) in &expected {
        if !licensed.contains(id) {
            assert_eq!(got.get(id), Some(mode), "free app {id} runs at once");
        }
    }
    // The policies' held actions (the relevance model's suggestions live beside them).
    let waiting: Vec<loadout::stages::recommendations::Recommendation> = h
        .local
        .services
        .store
        .query("recommendations", "")
        .await
        .expect("query")
        .iter()
        .map(|item| item.decode().expect("a recommendation"))
        .filter(|r: &loadout::stages::recommendations::Recommendation| {
            r.origin == loadout::stages::recommendations::Origin::Policy
        })
        .collect();
    assert_eq!(
        waiting.len(),
        held.len(),
        "each held app waits as a recommendation: {waiting:#?}"
    );
    h.local.shutdown().await;
}
