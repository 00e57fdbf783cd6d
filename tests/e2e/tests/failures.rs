//! What happens when something cannot succeed: the rest still arrives, and the audit says why.

use loadout::domain::{AuditKind, CatalogApp};
use loadout::governance::Mode;
use loadout::ports::AuditQuery;
use loadout::ports::queue::names;
use loadout::uem::UemConfig;
use loadout_cli::local::UemTarget;
use loadout_e2e::{Examples, TempDir, hr_event, normalize_modes, start};
use std::time::Duration;
use uem_sim::{SimConfig, Tenant, UemSim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_uem_does_not_know_is_given_up_with_its_reason_and_the_rest_arrives() {
    let ex = Examples::load();
    let user = ex.with_devices("Sales").remove(0);
    let mut expected = ex.expected_apps(&user);
    // Take one of the user's apps out of the tenant, as if an admin deleted it in UEM.
    let missing: CatalogApp = ex
        .catalog
        .apps()
        .find(|a| expected.contains_key(&a.uem_app_id))
        .cloned()
        .expect("an entitled app");
    let tenant = Tenant::from_dir(loadout_e2e::examples_dir()).expect("tenant");
    let sim = UemSim::start(SimConfig::new(tenant).requests_per_minute(6000))
        .await
        .expect("sim");
    let gone: i64 = missing.uem_app_id.parse().expect("numeric id");
    sim.with_state_mut(|s| s.apps.retain(|a| a.id != gone));
    let config = UemConfig::oauth(
        &sim.base_url,
        &sim.token_url,
        &sim.credentials.client_id,
        loadout::ports::SecretString::new(&sim.credentials.client_secret),
    );
    let h = start(
        Mode::Auto,
        UemTarget::Config(Box::new(config)),
        TempDir::new("missing-app"),
    )
    .await;
    h.sender
        .send(&hr_event("joiner", &user, &[]), "missing-app-1")
        .await
        .expect("send");
    assert!(
        h.local.wait_idle(Duration::from_secs(60)).await,
        "{}",
        h.local.diagnostics().await
    );
    expected.remove(&missing.uem_app_id);
    assert_eq!(
        normalize_modes(sim.effective_apps(user.id.as_str())),
        expected,
        "every other app arrived"
    );
    // A permanent refusal is not retried for ever nor left in a queue: the change is given up,
    // audited with UEM's reason, and the person is flagged for the next sweep to try again.
    let dead = h
        .local
        .services
        .queue
        .depth(&names::dead_letter(names::EXECUTE))
        .await
        .expect("depth");
    assert_eq!(dead, 0, "nothing is stuck in the dead-letter queue");
    let trail = h
        .local
        .services
        .audit
        .query(&AuditQuery::app(&missing.id))
        .await
        .expect("audit");
    let given_up = trail
        .iter()
        .find(|r| r.kind == AuditKind::ActionGivenUp)
        .unwrap_or_else(|| panic!("an ActionGivenUp record: {trail:#?}"));
    assert_eq!(given_up.user_id.as_ref(), Some(&user.id));
    assert!(
        trail
            .iter()
            .filter(|r| matches!(r.kind, AuditKind::ActionFailed | AuditKind::ActionGivenUp))
            .any(|r| r.summary.contains(&missing.uem_app_id)
                || r.detail.to_string().contains(&missing.uem_app_id)),
        "the reason names the missing UEM app: {trail:#?}"
    );
    h.local.shutdown().await;
    sim.shutdown().await;
}

/// `loadout dlq list` shows a dead-lettered message with why it was moved; `loadout dlq replay`
/// sends it back to its queue (audited with who did it), where it is processed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_message_is_listed_with_its_reason_and_replayed() {
    use loadout::domain::CorrelationId;
    use loadout::ports::OutgoingMessage;
    use loadout::stages::admin::dlq;
    let h = start(
        Mode::Auto,
        loadout_cli::local::UemTarget::Simulator,
        TempDir::new("dlq-replay"),
    )
    .await;
    let services = &h.local.services;
    // A message of a schema this version does not know (as after a rollback of a deploy).
    let body = serde_json::json!({
        "schema_version": 99,
        "correlation_id": "dlq-poison-1",
        "event_id": "evt-dlq-poison-1",
        "kind": "enriched",
        "payload": {},
    })
    .to_string();
    services
        .queue
        .send(names::DECIDE, vec![OutgoingMessage::standard(body.clone())])
        .await
        .expect("send");
    assert!(
        h.local.wait_idle(Duration::from_secs(60)).await,
        "{}",
        h.local.diagnostics().await
    );

    let letters = dlq::list(services, &[]).await.expect("list");
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter.queue, names::DECIDE);
    assert_eq!(letter.correlation_id.as_deref(), Some("dlq-poison-1"));
    assert_eq!(letter.body_bytes, body.len());
    let reason = letter.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("schema"),
        "the reason is listed: {letter:?}"
    );
    // Listing moves nothing; listing another queue shows nothing of this one.
    assert_eq!(dlq::list(services, &[]).await.expect("list").len(), 1);
    assert!(
        dlq::list(services, &[names::EXECUTE])
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        dlq::replay(services, &[], "admin:test", true)
            .await
            .expect("dry run"),
        1
    );
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        dlq::list(services, &[]).await.expect("list").len(),
        1,
        "a dry run replays nothing"
    );

    assert_eq!(
        dlq::replay(services, &[names::DECIDE], "admin:test", false)
            .await
            .expect("replay"),
        1
    );
    assert!(
        h.local.wait_idle(Duration::from_secs(60)).await,
        "{}",
        h.local.diagnostics().await
    );
    let trail = services
        .audit
        .query(&AuditQuery::correlation(&CorrelationId::new(
            "dlq-poison-1",
        )))
        .await
        .expect("audit");
    assert!(
        trail
            .iter()
            .any(|r| r.actor == "admin:test" && r.summary.contains("replayed from")),
        "the replay is audited with who did it: {trail:?}"
    );
    assert_eq!(
        trail
            .iter()
            .filter(|r| r.kind == AuditKind::DeadLettered)
            .count(),
        2,
        "the replayed message was processed again (and, still unreadable, moved back): {trail:?}"
    );
    assert_eq!(dlq::list(services, &[]).await.expect("list").len(), 1);
    h.local.shutdown().await;
}
