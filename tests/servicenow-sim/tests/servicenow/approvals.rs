//! The approval flow end to end over 127.0.0.1: Loadout opens requests in the simulated
//! instance, an approver decides there, the flow calls Loadout back, and the approved action
//! lands on the execute queue exactly as it was stored.

use crate::support::{CALLBACK_TOKEN, Harness, action, queued_action, subject};
use loadout::approvals::{ApprovalState, QueuedAction, StateFilter};
use loadout::domain::{AppId, AuditKind, AuditRecord, Envelope, UserId};
use loadout::notify::NoticeBody;
use loadout::ports::queue::names;
use loadout::ports::secrets::keys;
use loadout::ports::{AuditQuery, ReceivedMessage};
use serde_json::{Value, json};
use servicenow_sim::{Decision, Order};
use std::time::Duration;

async fn execute_messages(h: &Harness) -> Vec<ReceivedMessage> {
    h.services
        .queue
        .receive(names::EXECUTE, 10, Duration::from_secs(60))
        .await
        .expect("queue")
}

async fn audit(h: &Harness) -> Vec<AuditRecord> {
    h.services
        .audit
        .query(&AuditQuery::user(&UserId::from("jdoe")))
        .await
        .expect("audit")
}

async fn callback(h: &Harness, authorization: Option<&str>, body: &[u8]) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(&h.callback_url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(a) = authorization {
        request = request.header("authorization", a);
    }
    let response = request.send().await.expect("answer");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn bearer() -> String {
    format!("Bearer {CALLBACK_TOKEN}")
}

fn answer(delivery: Option<servicenow_sim::CallbackDelivery>) -> (u16, Value) {
    let d = delivery.expect("sent now");
    (
        d.status.expect("answered"),
        serde_json::from_str(&d.response).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn an_opened_request_reaches_servicenow_as_the_documented_payload() {
    let h = Harness::start().await;
    let records = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened");
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.state, ApprovalState::PendingApproval);
    assert_eq!(record.action, action());
    let ticket = h.sim.ticket(&record.request_id).expect("in ServiceNow");
    assert_eq!(record.ticket_number(), Some(ticket.number.as_str()));
    let row = ticket.table_row();
    assert_eq!(row["u_uem_request_id"], record.request_id.as_str());
    assert_eq!(row["u_uem_device_id"], "10003");
    assert_eq!(row["u_uem_user_id"], "15");
    assert_eq!(row["u_requesting_user"], "jdoe");
    assert_eq!(row["u_uem_callback_url"], h.callback_url.as_str());
    assert!(h.callback_url.ends_with("/approvals/servicenow"));
    let due = h.clock_now() + chrono::Duration::days(14);
    assert_eq!(ticket.fields.due_millis, due.timestamp_millis());
    assert!(
        ticket
            .fields
            .notes
            .contains("Engineers draw architecture diagrams")
    );
    assert_eq!(ticket.body["CatalogItem"]["Id"], "267");
    assert_eq!(
        ticket.body["CatalogItem"]["Properties"]["platform"],
        "WinRT"
    );
    // Audited, and the approvers were told where the ticket is.
    assert!(
        audit(&h)
            .await
            .iter()
            .any(|r| r.kind == AuditKind::ApprovalRequested
                && r.detail["ticket"] == json!(ticket.number))
    );
    let notices = h.notifier.notices();
    assert_eq!(notices.len(), 1);
    match &notices[0].body {
        NoticeBody::ApprovalNeeded {
            ticket_number,
            ticket_url,
            ..
        } => {
            assert_eq!(ticket_number.as_deref(), Some(ticket.number.as_str()));
            assert!(
                ticket_url
                    .as_deref()
                    .is_some_and(|u| u.contains(&ticket.sys_id))
            );
        }
        other => panic!("unexpected notice {other:?}"),
    }
    h.stop().await;
}

impl Harness {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use loadout::ports::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn one_request_per_device_and_opening_again_changes_nothing() {
    let h = Harness::start().await;
    let first = h
        .approvals
        .open(&subject(&["10003", "10007"]))
        .await
        .expect("opened");
    assert_eq!(first.len(), 2);
    assert_ne!(first[0].request_id, first[1].request_id);
    let again = h
        .approvals
        .open(&subject(&["10003", "10007"]))
        .await
        .expect("again");
    assert_eq!(
        again.iter().map(|r| &r.request_id).collect::<Vec<_>>(),
        first.iter().map(|r| &r.request_id).collect::<Vec<_>>()
    );
    assert_eq!(h.sim.tickets().len(), 2);
    assert!(h.sim.duplicates().is_empty());
    assert_eq!(h.notifier.notices().len(), 2, "one notice per ticket");
    h.stop().await;
}

#[tokio::test]
async fn servicenow_failing_while_opening_is_retried_into_exactly_one_ticket() {
    let h = Harness::start().await;
    h.sim.fail_next(2, 503);
    h.sim.fail_next(1, 429);
    h.sim.fail_after_insert_next(1, 500);
    let records = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened");
    assert_eq!(records[0].state, ApprovalState::PendingApproval);
    assert_eq!(h.sim.ticket_count(&records[0].request_id), 1);
    assert_eq!(h.sim.tickets().len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn servicenow_down_ends_in_error_audited_and_noticed_then_a_later_open_recovers() {
    let h = Harness::start_with(|c| c.with_deadline(Duration::from_secs(2))).await;
    h.sim.go_down().await;
    let records = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("stored");
    let record = &records[0];
    assert_eq!(record.state, ApprovalState::Error);
    assert!(
        record
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("gave up"))
    );
    assert!(
        audit(&h)
            .await
            .iter()
            .any(|r| r.kind == AuditKind::ApprovalChanged && r.detail["state"] == "error")
    );
    assert!(matches!(
        h.notifier.notices().last().map(|n| &n.body),
        Some(NoticeBody::NeedsHuman { .. })
    ));
    assert_eq!(
        loadout::approvals::list(h.services.store.as_ref(), Some(StateFilter::Error))
            .await
            .expect("list")
            .len(),
        1
    );
    h.sim.come_up().await.expect("up");
    let again = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened");
    assert_eq!(again[0].request_id, record.request_id);
    assert_eq!(again[0].state, ApprovalState::PendingApproval);
    assert!(again[0].ticket.is_some());
    assert_eq!(h.sim.ticket_count(&record.request_id), 1);
    h.stop().await;
}

#[tokio::test]
async fn an_approval_queues_exactly_the_stored_action_once() {
    let h = Harness::start().await;
    let record = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened")[0]
        .clone();
    let (status, body) = answer(
        h.sim
            .approve(&record.request_id, "alice.approver")
            .await
            .expect("known"),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "install_command_dispatched");
    assert_eq!(body["changed"], true);
    let messages = execute_messages(&h).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].group_id.as_deref(), Some("jdoe"));
    let envelope: Envelope<QueuedAction> =
        serde_json::from_str(&messages[0].body).expect("an action envelope");
    assert_eq!(envelope.payload.action, queued_action());
    assert_eq!(envelope.correlation_id, action().correlation_id);
    let mark = envelope.payload.approval.expect("marked as approved");
    assert_eq!(mark.approved_by, "alice.approver");
    assert_eq!(mark.request_id, record.request_id);
    assert_eq!(mark.ticket.as_deref(), record.ticket_number());

    let stored = loadout::approvals::list(h.services.store.as_ref(), Some(StateFilter::Approved))
        .await
        .expect("list");
    assert_eq!(stored.len(), 1);
    assert!(stored[0].queued);
    assert_eq!(stored[0].decided_by.as_deref(), Some("alice.approver"));
    let decided = audit(&h)
        .await
        .into_iter()
        .find(|r| r.kind == AuditKind::ApprovalDecided)
        .expect("audited");
    assert_eq!(decided.detail["updated_by"], "alice.approver");
    assert_eq!(decided.actor, "servicenow:alice.approver");
    assert_eq!(
        h.approvals
            .approval_for(&UserId::from("jdoe"), &AppId::from("visio"))
            .await
            .expect("read"),
        Some(ApprovalState::InstallCommandDispatched)
    );

    // The same callback again: 200, nothing new queued.
    let repeat = h
        .sim
        .repeat_callback(&record.request_id)
        .await
        .expect("sent");
    assert_eq!(repeat.status, Some(200));
    assert!(repeat.response.contains("\"changed\":false"));
    for m in &messages {
        h.services
            .queue
            .ack(names::EXECUTE, &m.receipt)
            .await
            .expect("ack");
    }
    assert!(execute_messages(&h).await.is_empty());
    assert!(
        audit(&h)
            .await
            .iter()
            .any(|r| r.kind == AuditKind::EventDuplicate)
    );
    h.stop().await;
}

#[tokio::test]
async fn a_rejection_ends_the_request_and_nothing_is_queued() {
    let h = Harness::start().await;
    let record = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened")[0]
        .clone();
    let (status, body) = answer(
        h.sim
            .reject(&record.request_id, "bob.approver")
            .await
            .expect("known"),
    );
    assert_eq!((status, body["state"].clone()), (200, json!("rejected")));
    assert!(execute_messages(&h).await.is_empty());
    assert_eq!(
        h.approvals
            .approval_for(&UserId::from("jdoe"), &AppId::from("visio"))
            .await
            .expect("read"),
        Some(ApprovalState::Rejected)
    );
    // A rejection stands: opening again does not ask again.
    let again = h.approvals.open(&subject(&["10003"])).await.expect("open");
    assert_eq!(again[0].state, ApprovalState::Rejected);
    assert_eq!(h.sim.tickets().len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn callbacks_out_of_order_a_later_different_verdict_is_a_conflict() {
    let h = Harness::start().await;
    let record = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened")[0]
        .clone();
    h.sim.hold_callbacks();
    h.sim
        .approve(&record.request_id, "alice")
        .await
        .expect("held");
    h.sim.reject(&record.request_id, "bob").await.expect("held");
    let sent = h.sim.release_callbacks(Order::Reversed).await;
    let statuses: Vec<Option<u16>> = sent.iter().map(|d| d.status).collect();
    assert_eq!(statuses, vec![Some(200), Some(409)]);
    assert_eq!(sent[0].body["approval_status"], "REJECTED");
    let conflict: Value = serde_json::from_str(&sent[1].response).expect("json");
    assert_eq!(conflict["error"]["code"], "conflict");
    assert!(
        execute_messages(&h).await.is_empty(),
        "the late approval ran nothing"
    );
    assert!(
        audit(&h)
            .await
            .iter()
            .any(|r| r.kind == AuditKind::ApprovalRefused)
    );
    h.stop().await;
}

#[tokio::test]
async fn forged_callbacks_are_refused_and_change_nothing() {
    let h = Harness::start().await;
    let record = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened")[0]
        .clone();
    let body = json!({"request_id": record.request_id, "device_id": "10003",
        "approval_status": "APPROVED", "updated_by": "mallory"})
    .to_string();
    let before = audit(&h).await.len();
    for authorization in [
        None,
        Some("Bearer not-the-token".to_owned()),
        Some(format!("Bearer {CALLBACK_TOKEN}x")),
        Some("Basic bWFsbG9yeTpndWVzcw==".to_owned()),
        Some(format!("Token {CALLBACK_TOKEN}")),
    ] {
        let (status, answer) = callback(&h, authorization.as_deref(), body.as_bytes()).await;
        assert_eq!(status, 401, "{authorization:?}");
        assert!(answer["error"]["code"].is_string());
    }
    assert!(execute_messages(&h).await.is_empty());
    assert_eq!(
        h.approvals
            .approval_for(&UserId::from("jdoe"), &AppId::from("visio"))
            .await
            .expect("read"),
        Some(ApprovalState::PendingApproval)
    );
    assert_eq!(
        audit(&h).await.len(),
        before,
        "strangers do not write to the audit"
    );
    h.stop().await;
}

#[tokio::test]
async fn the_previous_token_works_during_a_rotation_and_a_rotated_one_is_picked_up() {
    let h = Harness::start().await;
    let record = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened")[0]
        .clone();
    // Operators move the old token aside and set a new one; ServiceNow still sends the old one.
    h.secrets
        .set(keys::SERVICENOW_CALLBACK_TOKEN, "brand-new-token");
    h.secrets.set(
        &keys::previous(keys::SERVICENOW_CALLBACK_TOKEN),
        CALLBACK_TOKEN,
    );
    let (status, _) = answer(
        h.sim
            .approve(&record.request_id, "alice")
            .await
            .expect("known"),
    );
    assert_eq!(
        status, 200,
        "accepted with the previous token after re-reading the secret"
    );
    h.secrets
        .remove(&keys::previous(keys::SERVICENOW_CALLBACK_TOKEN));
    h.services.secrets.refresh().await.expect("refresh");
    let body = json!({"request_id": record.request_id, "approval_status": "APPROVED",
        "updated_by": "alice"})
    .to_string();
    let (old, _) = callback(&h, Some(&bearer()), body.as_bytes()).await;
    assert_eq!(old, 401, "the previous token is gone");
    let (new, _) = callback(&h, Some("Bearer brand-new-token"), body.as_bytes()).await;
    assert_eq!(new, 200);
    h.stop().await;
}

#[tokio::test]
async fn unknown_requests_are_404_and_malformed_bodies_400() {
    let h = Harness::start().await;
    let unknown = json!({"request_id": "lo-ffffffffffffffffffffffffffffffff",
        "approval_status": "APPROVED", "updated_by": "alice"})
    .to_string();
    let (status, body) = callback(&h, Some(&bearer()), unknown.as_bytes()).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("unknown_request"))
    );
    let cases: [&[u8]; 5] = [
        b"not json",
        b"[]",
        br#"{"request_id": "lo-ffffffffffffffffffffffffffffffff", "approval_status": "MAYBE", "updated_by": "a"}"#,
        br#"{"request_id": "lo-ffffffffffffffffffffffffffffffff", "approval_status": "APPROVED"}"#,
        br#"{"request_id": 12, "approval_status": "APPROVED", "updated_by": "a"}"#,
    ];
    for case in cases {
        let (status, body) = callback(&h, Some(&bearer()), case).await;
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(case));
        assert_eq!(body["error"]["code"], "malformed_body");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let refused = h
        .services
        .audit
        .query(&AuditQuery {
            limit: Some(50),
            ..AuditQuery::default()
        })
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.kind == AuditKind::ApprovalRefused)
        .count();
    assert_eq!(refused, 6, "every authenticated refusal is audited");
    h.stop().await;
}

#[tokio::test]
async fn a_callback_naming_another_device_or_app_runs_the_requested_action() {
    let h = Harness::start().await;
    let record = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened")[0]
        .clone();
    let delivery = h
        .sim
        .send_edited_callback(&record.request_id, Decision::Approved, "alice", |body| {
            body["device_id"] = json!("99999");
            body["app_id"] = json!("photoshop");
            body["user_id"] = json!("mallory");
            body["approval_status"] = json!("approved");
        })
        .await
        .expect("sent");
    assert_eq!(delivery.status, Some(200));
    let answer: Value = serde_json::from_str(&delivery.response).expect("json");
    assert_eq!(answer["ignored"], json!(["device_id"]));
    let messages = execute_messages(&h).await;
    assert_eq!(messages.len(), 1);
    let envelope: Envelope<QueuedAction> = serde_json::from_str(&messages[0].body).expect("json");
    assert_eq!(
        envelope.payload.action,
        queued_action(),
        "the stored action, unchanged"
    );
    let decided = audit(&h)
        .await
        .into_iter()
        .find(|r| r.kind == AuditKind::ApprovalDecided)
        .expect("audited");
    assert_eq!(
        decided.detail["device_id_mismatch"],
        json!({"sent": "99999", "requested": "10003"})
    );
    h.stop().await;
}

#[tokio::test]
async fn requests_nobody_decides_expire_after_14_days_and_are_asked_again() {
    let h = Harness::start().await;
    let record = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened")[0]
        .clone();
    h.clock.advance(Duration::from_secs(13 * 24 * 3600));
    assert!(h.approvals.expire().await.expect("sweep").is_empty());
    h.clock.advance(Duration::from_secs(24 * 3600 + 60));
    let expired = h.approvals.expire().await.expect("sweep");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].state, ApprovalState::Expired);
    assert!(h.approvals.expire().await.expect("again").is_empty());
    // A late approval is refused: the request is over.
    let (status, _) = answer(
        h.sim
            .approve(&record.request_id, "alice")
            .await
            .expect("known"),
    );
    assert_eq!(status, 409);
    assert!(execute_messages(&h).await.is_empty());
    // The next open asks again, as a new request.
    let again = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened");
    assert_eq!(again[0].round, 2);
    assert_ne!(again[0].request_id, record.request_id);
    assert_eq!(again[0].state, ApprovalState::PendingApproval);
    assert_eq!(h.sim.tickets().len(), 2);
    let listed = h
        .approvals
        .list(Some(StateFilter::Expired))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn installed_only_after_an_approval_and_only_when_uem_shows_it() {
    let h = Harness::start().await;
    let (user, app) = (UserId::from("jdoe"), AppId::from("visio"));
    assert_eq!(
        h.approvals
            .mark_installed(&user, &app, "10003")
            .await
            .expect("read"),
        None,
        "never asked"
    );
    let record = h
        .approvals
        .open(&subject(&["10003"]))
        .await
        .expect("opened")[0]
        .clone();
    assert_eq!(
        h.approvals
            .mark_installed(&user, &app, "10003")
            .await
            .expect("read"),
        Some(ApprovalState::PendingApproval),
        "not approved yet: stays pending"
    );
    answer(
        h.sim
            .approve(&record.request_id, "alice")
            .await
            .expect("known"),
    );
    assert_eq!(
        h.approvals
            .mark_installed(&user, &app, "10003")
            .await
            .expect("moved"),
        Some(ApprovalState::Installed)
    );
    assert_eq!(
        h.approvals.approval_for(&user, &app).await.expect("read"),
        Some(ApprovalState::Installed)
    );
    // A repeated APPROVED after the install still answers 200 with no effect.
    let repeat = h
        .sim
        .repeat_callback(&record.request_id)
        .await
        .expect("sent");
    assert_eq!(repeat.status, Some(200));
    h.stop().await;
}
