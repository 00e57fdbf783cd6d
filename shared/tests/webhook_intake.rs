//! Webhook intake end to end through `Intake::handle` with the local (SQLite) adapters: for each
//! source, the documented payloads (tests/fixtures/webhooks/) signed or authenticated as the
//! sender does, and every way a request can be wrong. Each test asserts the answer, the audit
//! trail and what landed on the `enrich` queue.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use loadout::adapters::local::{
    LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
};
use loadout::config::Settings;
use loadout::domain::event::MembershipChange;
use loadout::domain::{AuditKind, AuditRecord, DomainEvent, Envelope, EventKind, UserId};
use loadout::ports::queue::names;
use loadout::ports::{AuditError, AuditLog, AuditQuery, Clock, ManualClock, Queue};
use loadout::stages::Services;
use loadout::stages::approval_callback::{self, ApprovalCallback};
use loadout::stages::intake::{Intake, ROUTES};
use loadout::webhook::{ApiResponse, InboundRequest, bamboohr, standard_webhooks, uem_events};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const OKTA_SECRET: &str = "okta-shared-secret-for-tests";
const GRAPH_STATE: &str = "graph-client-state-for-tests";
const BAMBOO_KEY: &str = "bamboohr-private-key-for-tests";
const UEM_BASIC: &str = "uem-notifier:uem-password-for-tests";
/// Two Standard Webhooks secrets: the old one and the new one, as during a rotation.
const HRIS_OLD: &[u8] = b"old-hris-key-old-hris-key-32bytes";
const HRIS_NEW: &[u8] = b"new-hris-key-new-hris-key-32bytes";

fn now() -> DateTime<Utc> {
    "2026-11-20T09:00:00Z".parse().expect("valid time")
}

fn fixture(path: &str) -> Vec<u8> {
    let full = format!(
        "{}/../tests/fixtures/webhooks/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&full).unwrap_or_else(|e| panic!("fixture {full}: {e}"))
}

struct Harness {
    intake: Intake,
    approvals: ApprovalCallback,
    audit: Arc<CountingAudit>,
    queue: Arc<CountingQueue>,
    clock: ManualClock,
}

fn secrets(with_bamboo: bool) -> HashMap<String, String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut values = HashMap::from([
        // Mid-rotation: the new key is current, the old one waits beside it.
        (
            "LOADOUT_HRIS_HMAC_SECRET".to_owned(),
            format!("whsec_{}", b64.encode(HRIS_NEW)),
        ),
        (
            "LOADOUT_HRIS_HMAC_SECRET_PREVIOUS".to_owned(),
            format!("whsec_{}", b64.encode(HRIS_OLD)),
        ),
        (
            "LOADOUT_OKTA_AUTHORIZATION".to_owned(),
            OKTA_SECRET.to_owned(),
        ),
        (
            "LOADOUT_GRAPH_CLIENT_STATE".to_owned(),
            GRAPH_STATE.to_owned(),
        ),
        ("LOADOUT_UEM_EVENTS_BASIC".to_owned(), UEM_BASIC.to_owned()),
    ]);
    if with_bamboo {
        values.insert(
            "LOADOUT_BAMBOOHR_HMAC_SECRET".to_owned(),
            BAMBOO_KEY.to_owned(),
        );
    }
    values
}

fn harness() -> Harness {
    harness_with(secrets(true))
}

/// The audit log, counting appends: how much an attacker's request makes Loadout write.
struct CountingAudit {
    log: SqliteAuditLog,
    appends: AtomicUsize,
}

#[async_trait::async_trait]
impl AuditLog for CountingAudit {
    async fn append(&self, record: &AuditRecord) -> Result<(), AuditError> {
        self.appends.fetch_add(1, Ordering::SeqCst);
        self.log.append(record).await
    }

    async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuditError> {
        self.log.query(query).await
    }
}

fn harness_with(values: HashMap<String, String>) -> Harness {
    harness_with_settings(
        values,
        Settings {
            max_body_bytes: 64 * 1024,
            ..Settings::default()
        },
    )
}

/// The queue, counting the calls that send: each is a round trip the sender waits for.
struct CountingQueue {
    queue: Arc<SqliteQueue>,
    sends: AtomicUsize,
}

#[async_trait::async_trait]
impl Queue for CountingQueue {
    async fn send(
        &self,
        queue: &str,
        messages: Vec<loadout::ports::OutgoingMessage>,
    ) -> Result<(), loadout::ports::QueueError> {
        self.sends.fetch_add(1, Ordering::SeqCst);
        self.queue.send(queue, messages).await
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<loadout::ports::ReceivedMessage>, loadout::ports::QueueError> {
        self.queue.receive(queue, max, visibility).await
    }

    async fn ack(&self, queue: &str, receipt: &str) -> Result<(), loadout::ports::QueueError> {
        self.queue.ack(queue, receipt).await
    }

    async fn release(
        &self,
        queue: &str,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), loadout::ports::QueueError> {
        self.queue.release(queue, receipt, delay).await
    }

    async fn depth(&self, queue: &str) -> Result<usize, loadout::ports::QueueError> {
        self.queue.depth(queue).await
    }
}

fn harness_with_settings(values: HashMap<String, String>, settings: Settings) -> Harness {
    let db = LocalDb::in_memory().expect("in-memory db");
    let clock = ManualClock::at(now());
    let clock_port: Arc<dyn Clock> = Arc::new(clock.clone());
    let audit = Arc::new(CountingAudit {
        log: SqliteAuditLog::new(db.clone()).with_clock(clock_port.clone()),
        appends: AtomicUsize::new(0),
    });
    let queue = Arc::new(CountingQueue {
        queue: Arc::new(SqliteQueue::new(
            db.clone(),
            clock_port.clone(),
            QueueSpec::pipeline(5),
        )),
        sends: AtomicUsize::new(0),
    });
    let services = Services {
        store: Arc::new(SqliteStateStore::new(db, clock_port.clone())),
        audit: audit.clone(),
        queue: queue.clone(),
        secrets: Arc::new(LocalSecrets::with_loader(Box::new(move || values.clone()))),
        clock: clock_port,
        settings,
    };
    Harness {
        intake: Intake::new(services.clone()),
        approvals: ApprovalCallback::new(services),
        audit,
        queue,
        clock,
    }
}

fn request(method: Method, target: &str, headers: &[(&str, &str)], body: &[u8]) -> InboundRequest {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    InboundRequest {
        method,
        path: path.to_owned(),
        query: InboundRequest::parse_query(query),
        headers: map,
        body: Bytes::copy_from_slice(body),
    }
}

impl Harness {
    /// Routes as local mode and API Gateway do: the approval callback's routes (ServiceNow, the
    /// reclamation "keep it" link) to its own stage.
    async fn send(&self, request: InboundRequest) -> ApiResponse {
        let path = request.path.trim_end_matches('/');
        if approval_callback::ROUTES.iter().any(|(_, p)| *p == path) {
            self.approvals.handle(request).await
        } else {
            self.intake.handle(request).await
        }
    }

    /// Everything waiting on the enrich queue (received, so each is seen once per test).
    async fn enrich_queue(&self) -> Vec<DomainEvent> {
        let messages = self
            .queue
            .receive(names::ENRICH, 100, Duration::from_secs(300))
            .await
            .expect("receive");
        messages
            .into_iter()
            .map(|m| {
                serde_json::from_str::<Envelope<DomainEvent>>(&m.body)
                    .expect("envelope")
                    .payload
            })
            .collect()
    }

    async fn audit_of(&self, kind: AuditKind) -> Vec<AuditRecord> {
        self.audit
            .query(&AuditQuery::default())
            .await
            .expect("audit")
            .into_iter()
            .filter(|r| r.kind == kind)
            .collect()
    }

    /// The refusals in the audit trail, checked to hold no secret and no e-mail address.
    async fn refusals(&self) -> Vec<AuditRecord> {
        let records = self.audit_of(AuditKind::EventRejected).await;
        for record in &records {
            let text = serde_json::to_string(record).expect("json");
            for secret in [
                OKTA_SECRET,
                GRAPH_STATE,
                BAMBOO_KEY,
                UEM_BASIC,
                "uem-password",
            ] {
                assert!(!text.contains(secret), "audit holds a secret: {text}");
            }
            assert!(!text.contains('@'), "audit holds an e-mail address: {text}");
        }
        records
    }
}

fn body_of(response: &ApiResponse) -> Value {
    response.body_json().unwrap_or(Value::Null)
}

/// The `{"error": {"code", "message"}}` body of every 4xx.
fn assert_error(response: &ApiResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "body: {:?}", response.body);
    assert_eq!(response.content_type, "application/json");
    let body = body_of(response);
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

const JSON: (&str, &str) = ("content-type", "application/json");

// ---- Okta ----------------------------------------------------------------------------------

fn okta_post(body: &[u8], secret: &str) -> InboundRequest {
    request(
        Method::POST,
        "/webhooks/okta",
        &[JSON, ("authorization", secret)],
        body,
    )
}

#[tokio::test]
async fn okta_verification_echoes_the_challenge_once_the_secret_matches() {
    let h = harness();
    let challenge = "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg";
    let headers = [
        ("accept", "application/json"),
        ("x-okta-verification-challenge", challenge),
        ("authorization", OKTA_SECRET),
    ];
    let response = h
        .send(request(Method::GET, "/webhooks/okta", &headers, b""))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(body_of(&response), json!({"verification": challenge}));

    let response = h
        .send(request(Method::GET, "/webhooks/okta", &headers[..2], b""))
        .await;
    assert_error(&response, 401, "missing_credentials");
    let wrong = [headers[1], ("authorization", "guess")];
    let response = h
        .send(request(Method::GET, "/webhooks/okta", &wrong, b""))
        .await;
    assert_error(&response, 401, "invalid_signature");
    assert_eq!(h.refusals().await.len(), 2);
}

#[tokio::test]
async fn okta_delivery_queues_one_event_per_event_loadout_acts_on() {
    let h = harness();
    let response = h
        .send(okta_post(
            &fixture("okta/event_hook_delivery.json"),
            OKTA_SECRET,
        ))
        .await;
    assert_eq!(response.status, 202, "{:?}", response.body);
    let body = body_of(&response);
    assert_eq!(body["accepted"].as_array().map(Vec::len), Some(4));
    assert_eq!(body["skipped"][0]["code"], "unknown_event_type");
    assert_eq!(body["skipped"][0]["index"], 4);

    let queued = h.enrich_queue().await;
    let kinds: Vec<_> = queued.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::Joiner,
            EventKind::Update,
            EventKind::GroupChange,
            EventKind::Leaver
        ]
    );
    assert_eq!(
        queued[0].source_event_id,
        "f790999f-7270-11e8-a4b6-5d6b7dc9d5b3"
    );
    assert_eq!(queued[0].subject.email.as_deref(), Some("jdoe@example.com"));
    let group = queued[2].subject.group.clone().expect("group");
    assert_eq!(group.name.as_deref(), Some("Sales"));
    assert_eq!(group.change, Some(MembershipChange::Added));
    assert_eq!(h.audit_of(AuditKind::EventAccepted).await.len(), 4);
    // Ignoring a type is not a refusal.
    assert!(h.refusals().await.is_empty());
}

#[tokio::test]
async fn okta_a_delivery_of_many_events_is_answered_after_one_queue_send_not_one_per_event() {
    let h = harness();
    let mut delivery: Value =
        serde_json::from_slice(&fixture("okta/event_hook_delivery.json")).expect("json");
    let template = delivery["data"]["events"][0].clone();
    let events: Vec<Value> = (0..20)
        .map(|i| {
            let mut e = template.clone();
            e["uuid"] = format!("bulk-{i}").into();
            e
        })
        .collect();
    delivery["data"]["events"] = events.into();
    let response = h
        .send(okta_post(delivery.to_string().as_bytes(), OKTA_SECRET))
        .await;
    assert_eq!(response.status, 202, "{:?}", response.body);
    assert_eq!(
        h.queue.sends.load(Ordering::SeqCst),
        1,
        "Okta waits ~3 s: the events go to the queue in one call before the answer"
    );
    assert_eq!(h.enrich_queue().await.len(), 20);
}

#[tokio::test]
async fn okta_redelivery_returns_the_original_ids_and_queues_nothing_new() {
    let h = harness();
    let body = fixture("okta/event_hook_delivery.json");
    let first = body_of(&h.send(okta_post(&body, OKTA_SECRET)).await);
    let again = h.send(okta_post(&body, OKTA_SECRET)).await;
    assert_eq!(again.status, 202);
    let again = body_of(&again);
    for (a, b) in first["accepted"]
        .as_array()
        .expect("list")
        .iter()
        .zip(again["accepted"].as_array().expect("list"))
    {
        assert_eq!(a["event_id"], b["event_id"]);
        assert_eq!(a["correlation_id"], b["correlation_id"]);
        assert_eq!(b["duplicate"], true);
    }
    assert_eq!(h.enrich_queue().await.len(), 4);
    assert_eq!(h.audit_of(AuditKind::EventDuplicate).await.len(), 4);
}

#[tokio::test]
async fn okta_with_a_wrong_secret_is_refused_audited_and_queues_nothing() {
    let h = harness();
    let response = h
        .send(okta_post(
            &fixture("okta/event_hook_delivery.json"),
            "not-the-secret",
        ))
        .await;
    assert_error(&response, 401, "invalid_signature");
    assert!(h.enrich_queue().await.is_empty());
    let refusals = h.refusals().await;
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].detail["code"], "invalid_signature");
    assert_eq!(refusals[0].detail["source"], "okta");
}

#[tokio::test]
async fn okta_bad_events_are_refused_one_by_one_and_good_ones_kept() {
    let h = harness();
    let mut delivery: Value =
        serde_json::from_slice(&fixture("okta/event_hook_delivery.json")).expect("json");
    delivery["data"]["events"][1]["target"] = json!([]);
    delivery["data"]["events"][3]
        .as_object_mut()
        .expect("event")
        .remove("published");
    let response = h
        .send(okta_post(delivery.to_string().as_bytes(), OKTA_SECRET))
        .await;
    assert_eq!(response.status, 202);
    let body = body_of(&response);
    assert_eq!(body["accepted"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["skipped"].as_array().map(Vec::len), Some(3));
    assert_eq!(h.enrich_queue().await.len(), 2);
    // One record for the request, naming each refused event.
    let refusals = h.refusals().await;
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].detail["item_count"], 2);
    let items = refusals[0].detail["items"].as_array().expect("items");
    assert!(items.iter().all(|i| i["code"] == "malformed_body"));
}

#[tokio::test]
async fn okta_deliveries_of_only_other_types_are_acknowledged_without_queueing() {
    let h = harness();
    let response = h
        .send(okta_post(
            &fixture("okta/session_events_only.json"),
            OKTA_SECRET,
        ))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(body_of(&response)["accepted"], json!([]));
    assert!(h.enrich_queue().await.is_empty());
}

#[tokio::test]
async fn okta_malformed_oversized_and_non_json_bodies_are_refused() {
    let h = harness();
    assert_error(
        &h.send(okta_post(b"{\"data\":", OKTA_SECRET)).await,
        400,
        "malformed_body",
    );
    let big = vec![b' '; 64 * 1024 + 1];
    assert_error(
        &h.send(okta_post(&big, OKTA_SECRET)).await,
        413,
        "payload_too_large",
    );
    let form = request(
        Method::POST,
        "/webhooks/okta",
        &[
            ("content-type", "text/plain"),
            ("authorization", OKTA_SECRET),
        ],
        b"{}",
    );
    assert_error(&h.send(form).await, 415, "unsupported_media_type");
    assert_eq!(h.refusals().await.len(), 3);
    assert!(h.enrich_queue().await.is_empty());
}

/// Okta's own setup suggests an `Authorization` value such as `Basic <base64>`.
const OKTA_BASIC_VALUE: &str = "Basic b2t0YS1ob29rOnMzY3JldC12YWx1ZS1mb3ItdGVzdHM=";

#[tokio::test]
async fn okta_a_part_of_a_configured_basic_value_is_refused_and_the_whole_value_accepted() {
    let mut values = secrets(true);
    values.insert("LOADOUT_OKTA_AUTHORIZATION".into(), OKTA_BASIC_VALUE.into());
    let h = harness_with(values);
    let body = fixture("okta/event_hook_delivery.json");
    assert_error(
        &h.send(okta_post(&body, "Basic")).await,
        401,
        "invalid_signature",
    );
    let (_, encoded) = OKTA_BASIC_VALUE.split_once(' ').expect("two parts");
    assert_error(
        &h.send(okta_post(&body, encoded)).await,
        401,
        "invalid_signature",
    );
    assert!(
        h.enrich_queue().await.is_empty(),
        "nothing forged is queued"
    );
    let whole = h.send(okta_post(&body, OKTA_BASIC_VALUE)).await;
    assert_eq!(whole.status, 202, "{:?}", whole.body);
}

#[tokio::test]
async fn okta_the_previous_secret_is_accepted_while_it_is_rotated() {
    let mut values = secrets(true);
    values.insert(
        "LOADOUT_OKTA_AUTHORIZATION_PREVIOUS".into(),
        "okta-previous-secret-for-tests".into(),
    );
    let h = harness_with(values);
    let body = fixture("okta/event_hook_delivery.json");
    let old = h
        .send(okta_post(&body, "okta-previous-secret-for-tests"))
        .await;
    assert_eq!(old.status, 202, "{:?}", old.body);
    let new = h.send(okta_post(&body, OKTA_SECRET)).await;
    assert_eq!(new.status, 202, "{:?}", new.body);
    assert_error(
        &h.send(okta_post(&body, "okta-other-secret-for-tests"))
            .await,
        401,
        "invalid_signature",
    );
}

#[tokio::test]
async fn a_configured_secret_shorter_than_16_bytes_is_not_used_and_named() {
    let mut values = secrets(true);
    values.insert("LOADOUT_OKTA_AUTHORIZATION".into(), "Basic".into());
    let h = harness_with(values);
    let response = h
        .send(okta_post(
            &fixture("okta/event_hook_delivery.json"),
            "Basic",
        ))
        .await;
    assert_error(&response, 503, "not_configured");
    let message = body_of(&response)["error"]["message"].to_string();
    assert!(
        message.contains("LOADOUT_OKTA_AUTHORIZATION"),
        "names the setting: {message}"
    );
    assert!(h.enrich_queue().await.is_empty());
}

// ---- Microsoft Graph -----------------------------------------------------------------------

fn graph_post(body: &[u8]) -> InboundRequest {
    request(Method::POST, "/webhooks/graph", &[JSON], body)
}

#[tokio::test]
async fn graph_validation_echoes_the_decoded_token_as_text_before_reading_the_body() {
    let h = harness();
    let response = h
        .send(request(
            Method::POST,
            "/webhooks/graph?validationToken=Validation%3A+Testing+client+application+reachability",
            &[("content-type", "text/plain; charset=utf-8")],
            b"",
        ))
        .await;
    assert_eq!(response.status, 200);
    assert!(response.content_type.starts_with("text/plain"));
    assert_eq!(
        &response.body[..],
        b"Validation: Testing client application reachability"
    );
    assert!(h.enrich_queue().await.is_empty());
}

#[tokio::test]
async fn graph_user_notifications_become_updates_and_leavers_by_object_id() {
    let h = harness();
    let response = h
        .send(graph_post(&fixture("graph/users_changed.json")))
        .await;
    assert_eq!(response.status, 202, "{:?}", response.body);
    let queued = h.enrich_queue().await;
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[0].kind, EventKind::Update);
    assert_eq!(queued[1].kind, EventKind::Leaver);
    assert_eq!(
        queued[1].subject.external_id.as_deref(),
        Some("9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f")
    );
    // Never trusted from the notification: enrichment reads the user.
    assert!(queued.iter().all(|e| e.employee.is_none()));
}

#[tokio::test]
async fn graph_group_member_deltas_become_group_changes_per_member() {
    let h = harness();
    let response = h
        .send(graph_post(&fixture("graph/group_members_delta.json")))
        .await;
    assert_eq!(response.status, 202);
    let queued = h.enrich_queue().await;
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|e| e.kind == EventKind::GroupChange));
    let changes: Vec<_> = queued
        .iter()
        .map(|e| e.subject.group.as_ref().and_then(|g| g.change))
        .collect();
    assert_eq!(
        changes,
        vec![
            Some(MembershipChange::Added),
            Some(MembershipChange::Removed)
        ]
    );
}

#[tokio::test]
async fn graph_items_with_a_wrong_client_state_are_dropped_and_audited_the_rest_kept() {
    let h = harness();
    let mut body: Value =
        serde_json::from_slice(&fixture("graph/users_changed.json")).expect("json");
    body["value"][0]["clientState"] = "forged".into();
    let response = h.send(graph_post(body.to_string().as_bytes())).await;
    assert_eq!(response.status, 202);
    let answer = body_of(&response);
    assert_eq!(answer["accepted"].as_array().map(Vec::len), Some(1));
    assert_eq!(answer["skipped"][0]["code"], "invalid_signature");
    assert_eq!(h.enrich_queue().await.len(), 1);
    let refusals = h.refusals().await;
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].detail["items"][0]["index"], 0);
    assert_eq!(refusals[0].detail["item_count"], 1);
}

#[tokio::test]
async fn graph_notifications_that_all_fail_the_client_state_are_unauthorized() {
    let h = harness();
    let forged = fixture("graph/users_changed.json");
    let forged = String::from_utf8(forged)
        .expect("utf8")
        .replace(GRAPH_STATE, "forged");
    let response = h.send(graph_post(forged.as_bytes())).await;
    assert_error(&response, 401, "invalid_signature");
    assert!(h.enrich_queue().await.is_empty());
    // One request, one refusal: not one record per forged item.
    assert_eq!(h.refusals().await.len(), 1);
}

/// `{"value":[{},{},...]}` of about `bytes` bytes: items that carry no clientState at all.
fn empty_items(bytes: usize) -> Vec<u8> {
    let count = (bytes - 12) / 3;
    let mut body = b"{\"value\":[".to_vec();
    for i in 0..count {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(b"{}");
    }
    body.extend_from_slice(b"]}");
    body
}

#[tokio::test]
async fn graph_a_256_kib_body_of_empty_items_costs_one_audit_write() {
    let h = harness_with_settings(secrets(true), Settings::default());
    let body = empty_items(256 * 1024 - 16);
    assert!(body.len() <= Settings::default().max_body_bytes);
    let response = h.send(graph_post(&body)).await;
    assert_error(&response, 413, "too_many_items");
    assert_eq!(h.audit.appends.load(Ordering::SeqCst), 1);
    assert!(h.enrich_queue().await.is_empty());
}

#[tokio::test]
async fn graph_items_that_all_fail_the_client_state_are_one_401_and_one_audit_write() {
    let h = harness_with_settings(secrets(true), Settings::default());
    // Under the item cap: every item is read, none authenticates.
    let body = empty_items(2_000);
    let response = h.send(graph_post(&body)).await;
    assert_error(&response, 401, "missing_credentials");
    assert_eq!(h.audit.appends.load(Ordering::SeqCst), 1);
    let refusals = h.refusals().await;
    assert_eq!(refusals[0].detail["status"], 401);
}

#[tokio::test]
async fn a_flood_of_unauthenticated_requests_writes_a_bounded_audit_and_then_a_count() {
    let h = harness();
    let body = fixture("okta/event_hook_delivery.json");
    for _ in 0..200 {
        let response = h.send(okta_post(&body, "okta-guessed-secret-123")).await;
        assert_error(&response, 401, "invalid_signature");
    }
    let written = h.audit.appends.load(Ordering::SeqCst);
    assert!(
        (1..=10).contains(&written),
        "200 refusals in a minute wrote {written} audit records"
    );
    // The next minute's first request records how many were not written one by one.
    h.clock.advance(Duration::from_secs(61));
    h.send(okta_post(&body, "okta-guessed-secret-123")).await;
    let summaries: Vec<_> = h
        .refusals()
        .await
        .into_iter()
        .filter(|r| r.detail["suppressed"].is_u64())
        .collect();
    assert_eq!(summaries.len(), 1, "one count for the minute");
    assert_eq!(
        summaries[0].detail["suppressed"].as_u64(),
        Some(200 - written as u64)
    );
    assert_eq!(summaries[0].detail["source"], "okta");
}

#[tokio::test]
async fn refusal_records_expire_after_the_configured_days_and_accepted_events_do_not() {
    let settings = Settings::from_lookup(|name| {
        (name == "LOADOUT_AUDIT_REFUSAL_TTL_DAYS").then(|| "7".to_owned())
    })
    .expect("settings");
    let h = harness_with_settings(secrets(true), settings);
    let body = fixture("okta/event_hook_delivery.json");
    h.send(okta_post(&body, "okta-guessed-secret-123")).await;
    h.send(okta_post(&body, OKTA_SECRET)).await;
    let refusal = &h.refusals().await[0];
    assert_eq!(
        refusal.expires_at,
        Some(now() + chrono::Duration::days(7)),
        "a refusal is kept for the configured days"
    );
    for accepted in h.audit_of(AuditKind::EventAccepted).await {
        assert_eq!(accepted.expires_at, None, "accepted events are kept");
    }
}

#[tokio::test]
async fn graph_the_previous_client_state_is_accepted_while_it_is_rotated() {
    let mut values = secrets(true);
    values.insert(
        "LOADOUT_GRAPH_CLIENT_STATE_PREVIOUS".into(),
        "graph-previous-state-for-tests".into(),
    );
    values.insert(
        "LOADOUT_GRAPH_CLIENT_STATE".into(),
        format!("{GRAPH_STATE} graph-second-half"),
    );
    let h = harness_with(values);
    let mut body: Value =
        serde_json::from_slice(&fixture("graph/users_changed.json")).expect("json");
    body["value"][0]["clientState"] = "graph-previous-state-for-tests".into();
    // A part of the current value (split at its space) is not the value.
    body["value"][1]["clientState"] = GRAPH_STATE.into();
    let response = h.send(graph_post(body.to_string().as_bytes())).await;
    assert_eq!(response.status, 202, "{:?}", response.body);
    let answer = body_of(&response);
    assert_eq!(answer["accepted"].as_array().map(Vec::len), Some(1));
    assert_eq!(answer["skipped"][0]["index"], 1);
    assert_eq!(answer["skipped"][0]["code"], "invalid_signature");
}

#[tokio::test]
async fn graph_redelivery_returns_the_original_ids() {
    let h = harness();
    let body = fixture("graph/users_changed.json");
    let first = body_of(&h.send(graph_post(&body)).await);
    let again = body_of(&h.send(graph_post(&body)).await);
    assert_eq!(
        first["accepted"][0]["event_id"],
        again["accepted"][0]["event_id"]
    );
    assert_eq!(again["accepted"][1]["duplicate"], true);
    assert_eq!(h.enrich_queue().await.len(), 2);
}

/// A Graph notification with no `id` of its own: nothing but its content and its arrival tell
/// two of them apart.
fn id_less_group_change() -> Vec<u8> {
    json!({"value": [{
        "subscriptionId": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "clientState": GRAPH_STATE, "changeType": "updated",
        "resource": "Groups/2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
        "resourceData": {"@odata.type": "#Microsoft.Graph.Group",
                         "id": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a"}
    }]})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn graph_an_id_less_notification_is_deduplicated_only_within_the_redelivery_window() {
    let h = harness();
    let body = id_less_group_change();
    let first = body_of(&h.send(graph_post(&body)).await);
    // Graph's redelivery shortly after: the same notification.
    h.clock.advance(Duration::from_secs(30));
    let redelivered = body_of(&h.send(graph_post(&body)).await);
    assert_eq!(redelivered["accepted"][0]["duplicate"], true);
    assert_eq!(redelivered["event_id"], first["event_id"]);
    // The same change again, an hour later, is a new change, not a repeat for 7 days.
    h.clock.advance(Duration::from_secs(3600));
    let later = body_of(&h.send(graph_post(&body)).await);
    assert_eq!(later["accepted"][0]["duplicate"], false, "{later}");
    assert_ne!(later["event_id"], first["event_id"]);
    assert_eq!(h.enrich_queue().await.len(), 2);
}

#[tokio::test]
async fn graph_lifecycle_notifications_are_acknowledged_and_audited() {
    let h = harness();
    let response = h
        .send(graph_post(&fixture(
            "graph/lifecycle_reauthorization_required.json",
        )))
        .await;
    assert_eq!(response.status, 200);
    assert!(h.enrich_queue().await.is_empty());
    let notices = h.audit_of(AuditKind::EventAccepted).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(
        notices[0].detail["lifecycle_event"],
        "reauthorizationRequired"
    );
}

#[tokio::test]
async fn graph_notifications_about_other_resources_are_ignored() {
    let h = harness();
    let response = h
        .send(graph_post(&fixture("graph/messages_changed.json")))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        body_of(&response)["skipped"][0]["code"],
        "unknown_event_type"
    );
    assert!(h.enrich_queue().await.is_empty());
    assert!(h.refusals().await.is_empty());
}

#[tokio::test]
async fn graph_malformed_oversized_and_text_bodies_are_refused() {
    let h = harness();
    assert_error(
        &h.send(graph_post(b"{\"value\": 1}")).await,
        400,
        "malformed_body",
    );
    assert_error(
        &h.send(graph_post(&vec![b'x'; 64 * 1024 + 1])).await,
        413,
        "payload_too_large",
    );
    let text = request(
        Method::POST,
        "/webhooks/graph",
        &[("content-type", "text/plain")],
        b"hello",
    );
    assert_error(&h.send(text).await, 415, "unsupported_media_type");
    assert_eq!(h.refusals().await.len(), 3);
}

// ---- HR systems: Standard Webhooks ---------------------------------------------------------

fn hris_post(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> InboundRequest {
    let signature = standard_webhooks::sign(key, id, timestamp, body);
    let timestamp = timestamp.to_string();
    request(
        Method::POST,
        "/webhooks/hris",
        &[
            JSON,
            ("webhook-id", id),
            ("webhook-timestamp", &timestamp),
            ("webhook-signature", &signature),
        ],
        body,
    )
}

#[tokio::test]
async fn hris_joiner_signed_with_either_rotated_secret_is_queued_once() {
    let h = harness();
    let body = fixture("hris/joiner.json");
    let ts = now().timestamp();
    let first = h.send(hris_post(HRIS_OLD, "msg_1", ts, &body)).await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    let first = body_of(&first);
    assert!(first["event_id"].is_string() && first["correlation_id"].is_string());

    // The same message, re-signed with the new secret by a sender mid-rotation: a repeat.
    let again = h.send(hris_post(HRIS_NEW, "msg_1", ts, &body)).await;
    assert_eq!(again.status, 202);
    assert_eq!(body_of(&again), first);

    let queued = h.enrich_queue().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].kind, EventKind::Joiner);
    assert_eq!(queued[0].subject.user_id, Some(UserId::from("jdoe")));
    assert_eq!(h.audit_of(AuditKind::EventDuplicate).await.len(), 1);
}

#[tokio::test]
async fn hris_bad_signature_stale_timestamp_and_unknown_type_are_refused() {
    let h = harness();
    let body = fixture("hris/joiner.json");
    let ts = now().timestamp();
    let forged = hris_post(b"some-other-key-some-other-key-32b", "msg_2", ts, &body);
    assert_error(&h.send(forged).await, 401, "invalid_signature");
    let stale = hris_post(HRIS_NEW, "msg_3", ts - 301, &body);
    assert_error(&h.send(stale).await, 401, "stale_timestamp");
    h.clock.advance(Duration::from_secs(400));
    let replayed_late = hris_post(HRIS_NEW, "msg_4", ts, &body);
    assert_error(&h.send(replayed_late).await, 401, "stale_timestamp");
    let unknown = hris_post(HRIS_NEW, "msg_5", ts + 400, &fixture("hris/promotion.json"));
    assert_error(&h.send(unknown).await, 400, "unknown_event_type");
    let malformed = hris_post(HRIS_NEW, "msg_6", ts + 400, b"{\"type\":\"joiner\"}");
    assert_error(&h.send(malformed).await, 400, "malformed_body");
    assert_eq!(h.refusals().await.len(), 5);
    assert!(h.enrich_queue().await.is_empty());
}

#[tokio::test]
async fn hris_a_webhook_id_that_cannot_be_a_key_is_refused_with_400() {
    let h = harness();
    let body = fixture("hris/joiner.json");
    let ts = now().timestamp();
    for id in ["x".repeat(2000), "msg#1".to_owned()] {
        let response = h.send(hris_post(HRIS_NEW, &id, ts, &body)).await;
        assert_error(&response, 400, "malformed_body");
    }
    assert!(h.enrich_queue().await.is_empty());
}

#[tokio::test]
async fn hris_a_signature_header_of_many_entries_is_answered_by_its_first_ones() {
    let h = harness();
    let body = fixture("hris/joiner.json");
    let ts = now().timestamp();
    let forged = standard_webhooks::sign(b"some-other-key-some-other-key-32b", "m", ts, &body);
    let mut request = hris_post(HRIS_NEW, "msg_many", ts, &body);
    let good = request
        .header("webhook-signature")
        .expect("signed")
        .to_owned();
    let header = format!("{good} {}", vec![forged.as_str(); 199].join(" "));
    request.headers.insert(
        "webhook-signature",
        HeaderValue::from_str(&header).expect("header"),
    );
    assert_eq!(h.send(request).await.status, 202);
    let mut only_forged = hris_post(HRIS_NEW, "msg_forged", ts, &body);
    only_forged.headers.insert(
        "webhook-signature",
        HeaderValue::from_str(&vec![forged.as_str(); 200].join(" ")).expect("header"),
    );
    assert_error(&h.send(only_forged).await, 401, "invalid_signature");
}

#[tokio::test]
async fn hris_a_reused_webhook_id_with_a_different_body_is_a_conflict_not_a_silent_repeat() {
    let h = harness();
    let ts = now().timestamp();
    let joiner = fixture("hris/joiner.json");
    assert_eq!(
        h.send(hris_post(HRIS_NEW, "msg_1", ts, &joiner))
            .await
            .status,
        202
    );
    let mut other: Value = serde_json::from_slice(&joiner).expect("json");
    other["type"] = "leaver".into();
    let other = other.to_string().into_bytes();
    let response = h.send(hris_post(HRIS_NEW, "msg_1", ts, &other)).await;
    assert_error(&response, 409, "idempotency_key_conflict");
    let queued = h.enrich_queue().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].kind, EventKind::Joiner, "the first stands");
    let conflicts: Vec<_> = h
        .refusals()
        .await
        .into_iter()
        .filter(|r| r.detail["code"] == "idempotency_key_conflict")
        .collect();
    assert_eq!(conflicts.len(), 1, "the conflict is audited");
    // The same body again is still a plain repeat.
    let again = h.send(hris_post(HRIS_NEW, "msg_1", ts, &joiner)).await;
    assert_eq!(again.status, 202);
}

#[tokio::test]
async fn okta_an_event_uuid_reused_for_other_content_is_skipped_as_a_conflict() {
    let h = harness();
    let body = fixture("okta/event_hook_delivery.json");
    assert_eq!(h.send(okta_post(&body, OKTA_SECRET)).await.status, 202);
    let mut changed: Value = serde_json::from_slice(&body).expect("json");
    changed["data"]["events"][0]["eventType"] = "user.lifecycle.deactivate".into();
    let response = h
        .send(okta_post(changed.to_string().as_bytes(), OKTA_SECRET))
        .await;
    assert_eq!(response.status, 202, "{:?}", response.body);
    let answer = body_of(&response);
    let conflict: Vec<_> = answer["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .filter(|s| s["code"] == "idempotency_key_conflict")
        .collect();
    assert_eq!(conflict.len(), 1, "{answer}");
    assert_eq!(conflict[0]["index"], 0);
    assert_eq!(h.enrich_queue().await.len(), 4, "nothing more was queued");
}

#[tokio::test]
async fn hris_oversized_bodies_are_refused_before_verification() {
    let h = harness();
    let big = vec![b' '; 64 * 1024 + 1];
    let response = h
        .send(hris_post(HRIS_NEW, "msg_7", now().timestamp(), &big))
        .await;
    assert_error(&response, 413, "payload_too_large");
}

// ---- HR systems: BambooHR ------------------------------------------------------------------

fn bamboo_post(body: &[u8], timestamp: &str, key: &str) -> InboundRequest {
    let signature = bamboohr::sign(key.as_bytes(), body, timestamp);
    request(
        Method::POST,
        "/webhooks/hris",
        &[
            JSON,
            (
                "user-agent",
                "BambooHR-WebHooks/1.0 (+https://www.bamboohr.com)",
            ),
            ("x-bamboohr-timestamp", timestamp),
            ("x-bamboohr-signature", &signature),
        ],
        body,
    )
}

#[tokio::test]
async fn bamboohr_event_based_update_of_department_is_a_mover() {
    let h = harness();
    let ts = now().timestamp().to_string();
    let response = h
        .send(bamboo_post(
            &fixture("bamboohr/employee_updated.json"),
            &ts,
            BAMBOO_KEY,
        ))
        .await;
    assert_eq!(response.status, 202, "{:?}", response.body);
    assert!(body_of(&response)["event_id"].is_string());
    let queued = h.enrich_queue().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].kind, EventKind::Mover);
    assert_eq!(queued[0].subject.external_id.as_deref(), Some("67890"));
    assert_eq!(queued[0].changed_fields, vec!["department", "jobTitle"]);
}

#[tokio::test]
async fn bamboohr_iso_timestamps_are_accepted_and_redelivery_keeps_the_ids() {
    let h = harness();
    let body = fixture("bamboohr/employee_created.json");
    let first = h
        .send(bamboo_post(&body, "2026-11-20T08:59:00+0000", BAMBOO_KEY))
        .await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    // BambooHR retries with a new timestamp and signature; the event is the same.
    let again = h
        .send(bamboo_post(&body, "2026-11-20T09:00:00Z", BAMBOO_KEY))
        .await;
    assert_eq!(body_of(&again), body_of(&first));
    let queued = h.enrich_queue().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].kind, EventKind::Joiner);
}

#[tokio::test]
async fn bamboohr_field_based_batches_queue_one_event_per_employee() {
    let h = harness();
    let ts = now().timestamp().to_string();
    let response = h
        .send(bamboo_post(
            &fixture("bamboohr/field_based.json"),
            &ts,
            BAMBOO_KEY,
        ))
        .await;
    assert_eq!(response.status, 202);
    assert_eq!(
        body_of(&response)["accepted"].as_array().map(Vec::len),
        Some(3)
    );
    let kinds: Vec<_> = h.enrich_queue().await.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![EventKind::Joiner, EventKind::Mover, EventKind::Leaver]
    );
}

#[tokio::test]
async fn bamboohr_bad_signature_stale_and_malformed_are_refused() {
    let h = harness();
    let body = fixture("bamboohr/employee_updated.json");
    let ts = now().timestamp();
    let forged = bamboo_post(&body, &ts.to_string(), "wrong-key");
    assert_error(&h.send(forged).await, 401, "invalid_signature");
    // Stripe-style `timestamp.body` is not BambooHR's scheme.
    let mut dotted = bamboo_post(&body, &ts.to_string(), BAMBOO_KEY);
    let mut stripe_style = format!("{ts}.").into_bytes();
    stripe_style.extend_from_slice(&body);
    let wrong = bamboohr::sign(BAMBOO_KEY.as_bytes(), &stripe_style, "");
    dotted.headers.insert(
        "x-bamboohr-signature",
        HeaderValue::from_str(&wrong).expect("hv"),
    );
    assert_error(&h.send(dotted).await, 401, "invalid_signature");
    let stale = bamboo_post(&body, &(ts - 301).to_string(), BAMBOO_KEY);
    assert_error(&h.send(stale).await, 401, "stale_timestamp");
    let malformed = bamboo_post(b"{\"type\":", &ts.to_string(), BAMBOO_KEY);
    assert_error(&h.send(malformed).await, 400, "malformed_body");
    let big = vec![b' '; 64 * 1024 + 1];
    let oversized = bamboo_post(&big, &ts.to_string(), BAMBOO_KEY);
    assert_error(&h.send(oversized).await, 413, "payload_too_large");
    assert_eq!(h.refusals().await.len(), 5);
    assert!(h.enrich_queue().await.is_empty());
}

#[tokio::test]
async fn bamboohr_the_previous_key_is_accepted_while_it_is_rotated() {
    let mut values = secrets(true);
    values.insert(
        "LOADOUT_BAMBOOHR_HMAC_SECRET_PREVIOUS".into(),
        "bamboohr-previous-key-for-tests".into(),
    );
    let h = harness_with(values);
    let ts = now().timestamp().to_string();
    let body = fixture("bamboohr/employee_updated.json");
    let old = h
        .send(bamboo_post(&body, &ts, "bamboohr-previous-key-for-tests"))
        .await;
    assert_eq!(old.status, 202, "{:?}", old.body);
}

#[tokio::test]
async fn bamboohr_an_event_without_a_timestamp_is_new_again_after_the_redelivery_window() {
    let h = harness();
    let body = br#"{"type":"employee.updated","data":{"companyId":"12345","employeeId":"67890","changedFields":["department"]}}"#;
    let first = body_of(
        &h.send(bamboo_post(
            body,
            &now().timestamp().to_string(),
            BAMBOO_KEY,
        ))
        .await,
    );
    h.clock.advance(Duration::from_secs(2 * 3600));
    let later_ts = (now().timestamp() + 2 * 3600).to_string();
    let later = h.send(bamboo_post(body, &later_ts, BAMBOO_KEY)).await;
    assert_eq!(later.status, 202, "{:?}", later.body);
    assert_ne!(body_of(&later)["event_id"], first["event_id"]);
    assert_eq!(h.enrich_queue().await.len(), 2);
}

#[tokio::test]
async fn bamboohr_unknown_types_are_acknowledged_without_queueing() {
    let h = harness();
    let ts = now().timestamp().to_string();
    let response = h
        .send(bamboo_post(
            &fixture("bamboohr/timeoff_requested.json"),
            &ts,
            BAMBOO_KEY,
        ))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        body_of(&response)["skipped"][0]["code"],
        "unknown_event_type"
    );
    assert!(h.enrich_queue().await.is_empty());
}

#[tokio::test]
async fn bamboohr_without_a_configured_key_is_not_configured_not_accepted() {
    let h = harness_with(secrets(false));
    let ts = now().timestamp().to_string();
    let response = h
        .send(bamboo_post(
            &fixture("bamboohr/employee_updated.json"),
            &ts,
            BAMBOO_KEY,
        ))
        .await;
    assert_error(&response, 503, "not_configured");
    assert!(h.enrich_queue().await.is_empty());
}

// ---- UEM event notifications ---------------------------------------------------------------

fn uem_post(body: &[u8], credentials: &str) -> InboundRequest {
    let authorization = uem_events::basic_header(credentials);
    request(
        Method::POST,
        "/webhooks/uem",
        &[JSON, ("authorization", &authorization)],
        body,
    )
}

#[tokio::test]
async fn uem_test_connection_answers_after_basic_auth() {
    let h = harness();
    let authorization = uem_events::basic_header(UEM_BASIC);
    let ok = h
        .send(request(
            Method::GET,
            "/webhooks/uem",
            &[("authorization", &authorization)],
            b"",
        ))
        .await;
    assert_eq!(ok.status, 200);
    let anonymous = h
        .send(request(Method::GET, "/webhooks/uem", &[], b""))
        .await;
    assert_error(&anonymous, 401, "missing_credentials");
    assert_eq!(h.refusals().await.len(), 1);
}

#[tokio::test]
async fn uem_enrollment_is_a_device_change_for_the_enrollment_user() {
    let h = harness();
    let response = h
        .send(uem_post(
            &fixture("uem/mdm_enrollment_complete.json"),
            UEM_BASIC,
        ))
        .await;
    assert_eq!(response.status, 202, "{:?}", response.body);
    let queued = h.enrich_queue().await;
    assert_eq!(queued.len(), 1);
    let event = &queued[0];
    assert_eq!(event.kind, EventKind::DeviceChange);
    // UEM's enrollment user name is UEM's id of the person, not Loadout's: enrichment maps it.
    assert_eq!(event.subject.external_id.as_deref(), Some("jdoe"));
    assert_eq!(event.subject.user_id, None);
    assert_eq!(event.subject.device_id.as_deref(), Some("616"));
    assert_eq!(event.changed_fields[0], "enrollment");
    let accepted = h.audit_of(AuditKind::EventAccepted).await;
    assert_eq!(accepted.len(), 1);
}

#[tokio::test]
async fn uem_legacy_unenrollment_names_the_user_by_email() {
    let h = harness();
    let response = h
        .send(uem_post(
            &fixture("uem/break_mdm_confirmed_legacy.json"),
            UEM_BASIC,
        ))
        .await;
    assert_eq!(response.status, 202);
    let queued = h.enrich_queue().await;
    assert_eq!(queued[0].subject.user_id, None);
    assert_eq!(queued[0].subject.email.as_deref(), Some("rroe@example.com"));
    assert_eq!(queued[0].changed_fields[0], "unenrollment");
    assert_eq!(
        queued[0].occurred_at,
        "2026-11-20T08:59:30Z".parse::<DateTime<Utc>>().expect("t")
    );
}

#[tokio::test]
async fn uem_repeats_keep_their_ids_and_compliance_changes_queue_separately() {
    let h = harness();
    let enrollment = fixture("uem/mdm_enrollment_complete.json");
    let first = body_of(&h.send(uem_post(&enrollment, UEM_BASIC)).await);
    let again = h.send(uem_post(&enrollment, UEM_BASIC)).await;
    assert_eq!(again.status, 202);
    assert_eq!(body_of(&again), first);
    let compliance = h
        .send(uem_post(
            &fixture("uem/compliance_status_changed.json"),
            UEM_BASIC,
        ))
        .await;
    assert_eq!(compliance.status, 202);
    assert_ne!(body_of(&compliance)["event_id"], first["event_id"]);
    assert_eq!(h.enrich_queue().await.len(), 2);
}

#[tokio::test]
async fn uem_wrong_credentials_malformed_and_oversized_are_refused() {
    let h = harness();
    let body = fixture("uem/mdm_enrollment_complete.json");
    assert_error(
        &h.send(uem_post(&body, "uem-notifier:guess")).await,
        401,
        "invalid_signature",
    );
    assert_error(
        &h.send(uem_post(b"{\"EventId\":1}", UEM_BASIC)).await,
        400,
        "malformed_body",
    );
    assert_error(
        &h.send(uem_post(&vec![b' '; 64 * 1024 + 1], UEM_BASIC))
            .await,
        413,
        "payload_too_large",
    );
    let xml = request(
        Method::POST,
        "/webhooks/uem",
        &[
            ("content-type", "application/xml"),
            ("authorization", &uem_events::basic_header(UEM_BASIC)),
        ],
        b"<Event/>",
    );
    assert_error(&h.send(xml).await, 415, "unsupported_media_type");
    assert_eq!(h.refusals().await.len(), 4);
    assert!(h.enrich_queue().await.is_empty());
}

#[tokio::test]
async fn uem_credentials_are_the_whole_configured_pair_or_the_previous_one() {
    let mut values = secrets(true);
    values.insert(
        "LOADOUT_UEM_EVENTS_BASIC".into(),
        "uem-notifier:correct horse battery staple".into(),
    );
    values.insert(
        "LOADOUT_UEM_EVENTS_BASIC_PREVIOUS".into(),
        "uem-notifier:previous-password-for-tests".into(),
    );
    let h = harness_with(values);
    let body = fixture("uem/mdm_enrollment_complete.json");
    for part in ["uem-notifier:correct", "horse", "battery"] {
        assert_error(
            &h.send(uem_post(&body, part)).await,
            401,
            "invalid_signature",
        );
    }
    assert!(h.enrich_queue().await.is_empty());
    let old = h
        .send(uem_post(&body, "uem-notifier:previous-password-for-tests"))
        .await;
    assert_eq!(old.status, 202, "{:?}", old.body);
    let whole = h
        .send(uem_post(&body, "uem-notifier:correct horse battery staple"))
        .await;
    assert_eq!(whole.status, 202, "{:?}", whole.body);
}

#[tokio::test]
async fn uem_event_types_loadout_does_not_act_on_are_acknowledged() {
    let h = harness();
    let response = h
        .send(uem_post(
            &fixture("uem/device_friendly_name_changed.json"),
            UEM_BASIC,
        ))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        body_of(&response)["skipped"][0]["code"],
        "unknown_event_type"
    );
    assert!(h.enrich_queue().await.is_empty());
}

// ---- routing and the OpenAPI document ------------------------------------------------------

#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors() {
    let h = harness();
    let missing = h.send(request(Method::GET, "/nowhere", &[], b"")).await;
    assert_error(&missing, 404, "not_found");
    let wrong = h
        .send(request(Method::DELETE, "/webhooks/uem", &[], b""))
        .await;
    assert_error(&wrong, 405, "method_not_allowed");
    assert!(
        wrong
            .headers
            .iter()
            .any(|(k, v)| k == "allow" && v == "GET, POST")
    );
    let health = h.send(request(Method::GET, "/healthz", &[], b"")).await;
    assert_eq!(health.status, 200);
}

fn openapi() -> serde_yaml_ng::Value {
    let path = format!("{}/../openapi.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml_ng::from_str(&text).expect("openapi.yaml is YAML")
}

/// (method, path) of every operation in the document.
fn documented_operations(doc: &serde_yaml_ng::Value) -> Vec<(String, String)> {
    let paths = doc["paths"].as_mapping().expect("paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        let path = path.as_str().expect("path").to_owned();
        for (method, _) in item.as_mapping().expect("path item") {
            let method = method.as_str().expect("method").to_ascii_uppercase();
            if ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                .contains(&method.as_str())
            {
                out.push((method, path.clone()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_intake_serves() {
    let doc = openapi();
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(
        version.starts_with("3."),
        "OpenAPI 3 expected, got {version}"
    );
    let documented = documented_operations(&doc);
    let mut served: Vec<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .chain(
            approval_callback::ROUTES
                .iter()
                .map(|(m, p)| ((*m).to_owned(), (*p).to_owned())),
        )
        .collect();
    served.sort();
    assert_eq!(documented, served);
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_answers_a_documented_status() {
    let doc = openapi();
    let h = harness();
    for (method, path) in documented_operations(&doc) {
        let m = Method::from_bytes(method.as_bytes()).expect("method");
        let response = h.send(request(m, &path, &[], b"")).await;
        assert!(
            response.status != 404 && response.status != 405,
            "{method} {path} is documented but not routed ({})",
            response.status
        );
        let responses =
            &doc["paths"][path.as_str()][method.to_ascii_lowercase().as_str()]["responses"];
        let code = response.status.to_string();
        assert!(
            !responses[code.as_str()].is_null(),
            "{method} {path} answered {code}, which the document does not list"
        );
        if response.status >= 400 {
            assert!(body_of(&response)["error"]["code"].is_string());
        }
    }
}

#[tokio::test]
async fn every_error_response_in_the_document_uses_the_error_schema() {
    let doc = openapi();
    for (method, path) in documented_operations(&doc) {
        let responses =
            doc["paths"][path.as_str()][method.to_ascii_lowercase().as_str()]["responses"]
                .as_mapping()
                .expect("responses");
        for (code, response) in responses {
            let code = code
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| code.as_u64().map(|c| c.to_string()).expect("status code"));
            if code.starts_with('4') || code.starts_with('5') {
                let target = resolve(&doc, response);
                let schema = &target["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema.as_str(),
                    Some("#/components/schemas/Error"),
                    "{method} {path} {code}"
                );
            }
        }
    }
}

/// Follows one `$ref` to `#/components/responses/...`.
fn resolve<'a>(
    doc: &'a serde_yaml_ng::Value,
    value: &'a serde_yaml_ng::Value,
) -> &'a serde_yaml_ng::Value {
    match value["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/responses/")
                .expect("response refs point at components/responses");
            &doc["components"]["responses"][name]
        }
        None => value,
    }
}
