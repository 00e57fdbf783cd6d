//! Okta Event Hooks (`GET|POST /webhooks/okta`). Okta signs nothing: it sends the static secret
//! configured on the hook in the `Authorization` header, on the one-time verification GET and on
//! every delivery. A delivery carries System Log events in `data.events[]`, at least once, possibly
//! batched and out of order; each event's `uuid` is its idempotency key.

use super::bounded::BoundedList;
use super::error::WebhookError;
use super::hris::valid_user_id;
use super::{Normalized, RotatingSecret, valid_source_event_id};
use crate::domain::event::{GroupRef, MembershipChange};
use crate::domain::{DomainEvent, EventId, EventKind, EventSource, Subject, UserId};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// The header of the one-time verification request; its value goes back as `{"verification"}`.
pub const CHALLENGE_HEADER: &str = "x-okta-verification-challenge";

/// Checks the `Authorization` header against the configured secret, whole (current or previous
/// value): with `Basic <base64>` configured, `Basic` alone is refused like any other guess.
pub fn verify(
    authorization: Option<&str>,
    configured: &RotatingSecret,
) -> Result<(), WebhookError> {
    let presented = authorization
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| WebhookError::MissingCredentials("Authorization header".into()))?;
    if configured.matches(presented.as_bytes()) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// The challenge of the verification request, bounded so it cannot be used to reflect a body.
pub fn challenge(header: Option<&str>) -> Result<&str, WebhookError> {
    let value = header
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            WebhookError::Malformed("X-Okta-Verification-Challenge header is missing".into())
        })?;
    if value.len() > 512 || value.chars().any(char::is_control) {
        return Err(WebhookError::Malformed(
            "X-Okta-Verification-Challenge header is not a plausible challenge".into(),
        ));
    }
    Ok(value)
}

#[derive(Debug, Deserialize)]
struct Delivery {
    data: DeliveryData,
}

#[derive(Debug, Deserialize)]
struct DeliveryData {
    events: BoundedList,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEvent {
    uuid: String,
    published: DateTime<Utc>,
    event_type: String,
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    target: Vec<Target>,
}

#[derive(Debug, Deserialize)]
struct Outcome {
    #[serde(default)]
    result: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(default)]
    id: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    alternate_id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

/// What an Okta event type means to Loadout; `None` for types it does not act on.
fn kind_of(event_type: &str) -> Option<(EventKind, Option<MembershipChange>)> {
    Some(match event_type {
        "user.lifecycle.create"
        | "user.lifecycle.activate"
        | "user.lifecycle.reactivate"
        | "user.lifecycle.unsuspend" => (EventKind::Joiner, None),
        "user.account.update_profile" => (EventKind::Update, None),
        "user.lifecycle.deactivate"
        | "user.lifecycle.suspend"
        | "user.lifecycle.delete.initiated" => (EventKind::Leaver, None),
        "group.user_membership.add" => (EventKind::GroupChange, Some(MembershipChange::Added)),
        "group.user_membership.remove" => (EventKind::GroupChange, Some(MembershipChange::Removed)),
        _ => return None,
    })
}

/// Parses a delivery into one domain event per event Loadout acts on. Unknown types are skipped
/// (ignored), malformed events are skipped (refused); neither affects the others. Only a body
/// that is not an Okta delivery at all is an error.
pub fn normalize(body: &[u8]) -> Result<Normalized, WebhookError> {
    let delivery: Delivery = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("Okta event hook body: {e}")))?;
    let mut out = Normalized::default();
    for (index, raw) in delivery.data.events.into_items()?.into_iter().enumerate() {
        let uuid = raw
            .get("uuid")
            .and_then(Value::as_str)
            .filter(|id| valid_source_event_id(id))
            .map(str::to_owned);
        match event(raw) {
            Ok(Some(event)) => out.push(index, event),
            Ok(None) => {}
            Err(error) => out.skip(index, uuid, error),
        }
    }
    Ok(out)
}

fn event(raw: Value) -> Result<Option<DomainEvent>, WebhookError> {
    let event: LogEvent = serde_json::from_value(raw)
        .map_err(|e| WebhookError::Malformed(format!("Okta event: {e}")))?;
    if !valid_source_event_id(&event.uuid) {
        return Err(WebhookError::Malformed(
            "Okta event uuid is not a valid id".into(),
        ));
    }
    let Some((kind, change)) = kind_of(&event.event_type) else {
        return Err(WebhookError::UnknownEventType(
            event.event_type.chars().take(64).collect(),
        ));
    };
    // A failed deactivation did not deactivate anybody.
    if let Some("FAILURE" | "DENY") = event.outcome.as_ref().and_then(|o| o.result.as_deref()) {
        return Ok(None);
    }
    let user = event
        .target
        .iter()
        .find(|t| t.kind.as_deref() == Some("User"))
        .ok_or_else(|| WebhookError::Malformed("Okta event has no User target".into()))?;
    let mut subject = subject_of(user)?;
    if let Some(change) = change {
        let group = event
            .target
            .iter()
            .find(|t| t.kind.as_deref() == Some("UserGroup"))
            .ok_or_else(|| {
                WebhookError::Malformed(
                    "Okta group membership event has no UserGroup target".into(),
                )
            })?;
        let id = group
            .id
            .clone()
            .filter(|id| valid_user_id(id))
            .ok_or_else(|| WebhookError::Malformed("Okta group id is not a valid id".into()))?;
        subject.group = Some(GroupRef {
            id,
            name: group.display_name.clone().filter(|n| n.len() <= 256),
            change: Some(change),
            members_cursor: None,
        });
    }
    Ok(Some(DomainEvent {
        event_id: EventId::generate(),
        source: EventSource::Okta,
        source_event_id: event.uuid,
        kind,
        occurred_at: event.published,
        subject,
        // Okta's profile-update event does not say what changed; enrichment re-reads the user.
        employee: None,
        changed_fields: match kind {
            EventKind::GroupChange => vec!["groups".to_owned()],
            _ => Vec::new(),
        },
    }))
}

/// Okta names users by login (`alternateId`, normally the e-mail address) and by its own id.
fn subject_of(user: &Target) -> Result<Subject, WebhookError> {
    let login = user
        .alternate_id
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.len() <= 320);
    let external_id = user.id.clone().filter(|id| valid_user_id(id));
    let mut subject = Subject {
        external_id,
        ..Subject::default()
    };
    match login {
        Some(login) if login.contains('@') => subject.email = Some(login.to_owned()),
        Some(login) if valid_user_id(login) => subject.user_id = Some(UserId::new(login)),
        _ => {}
    }
    if subject.email.is_none() && subject.user_id.is_none() && subject.external_id.is_none() {
        return Err(WebhookError::Malformed(
            "Okta User target names nobody".into(),
        ));
    }
    Ok(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(events: &[Value]) -> Vec<u8> {
        serde_json::json!({
            "eventType": "com.okta.event_hook", "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1", "contentType": "application/json",
            "eventId": "b5a188b9-5ece-4636-b041-482ffda96311",
            "eventTime": "2026-11-20T16:59:53.032Z",
            "source": "https://example.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3",
            "data": {"events": events}
        })
        .to_string()
        .into_bytes()
    }

    fn user_event(uuid: &str, event_type: &str) -> Value {
        serde_json::json!({
            "uuid": uuid, "published": "2026-11-20T16:59:52.000Z", "eventType": event_type,
            "version": "0", "severity": "INFO", "displayMessage": "…",
            "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@example.com"},
            "outcome": {"result": "SUCCESS"},
            "target": [{"id": "00u1abcd", "type": "User", "alternateId": "jdoe@example.com",
                        "displayName": "Jane Doe"}]
        })
    }

    fn secret(current: &str, previous: Option<&str>) -> RotatingSecret {
        RotatingSecret::new(
            crate::ports::secrets::keys::OKTA_AUTHORIZATION,
            crate::ports::SecretString::new(current),
            previous.map(crate::ports::SecretString::new),
        )
        .expect("a valid secret")
    }

    #[test]
    fn the_authorization_secret_must_match_exactly() {
        let s = secret("s3cret-okta-secret", None);
        assert_eq!(verify(Some("s3cret-okta-secret"), &s), Ok(()));
        assert_eq!(
            verify(Some("s3cret-okta-secre"), &s),
            Err(WebhookError::BadSignature)
        );
        assert!(matches!(
            verify(None, &s),
            Err(WebhookError::MissingCredentials(_))
        ));
    }

    #[test]
    fn a_part_of_a_configured_value_is_not_the_value() {
        let s = secret("Basic b2t0YS1ob29rOnMzY3JldA==", None);
        assert_eq!(verify(Some("Basic"), &s), Err(WebhookError::BadSignature));
        assert_eq!(
            verify(Some("b2t0YS1ob29rOnMzY3JldA=="), &s),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(verify(Some("Basic b2t0YS1ob29rOnMzY3JldA=="), &s), Ok(()));
    }

    #[test]
    fn either_secret_verifies_while_it_is_rotated() {
        let s = secret("new-okta-secret-value", Some("old-okta-secret-value"));
        assert_eq!(verify(Some("new-okta-secret-value"), &s), Ok(()));
        assert_eq!(verify(Some("old-okta-secret-value"), &s), Ok(()));
    }

    #[test]
    fn the_challenge_is_required_and_bounded() {
        assert_eq!(
            challenge(Some("Me_rShK8JHsTnbyYrWXC")),
            Ok("Me_rShK8JHsTnbyYrWXC")
        );
        assert!(challenge(None).is_err());
        assert!(challenge(Some(&"x".repeat(600))).is_err());
    }

    #[test]
    fn lifecycle_events_become_joiners_updates_and_leavers_named_by_email() {
        let body = delivery(&[
            user_event("u-1", "user.lifecycle.create"),
            user_event("u-2", "user.account.update_profile"),
            user_event("u-3", "user.lifecycle.deactivate"),
            user_event("u-4", "user.lifecycle.suspend"),
            user_event("u-5", "user.lifecycle.delete.initiated"),
        ]);
        let out = normalize(&body).expect("valid");
        let kinds: Vec<_> = out.events.iter().map(|e| e.kind).collect();
        use EventKind::*;
        assert_eq!(kinds, vec![Joiner, Update, Leaver, Leaver, Leaver]);
        let first = &out.events[0];
        assert_eq!(first.source_event_id, "u-1");
        assert_eq!(first.subject.email.as_deref(), Some("jdoe@example.com"));
        assert_eq!(first.subject.external_id.as_deref(), Some("00u1abcd"));
        assert!(out.skipped.is_empty());
    }

    #[test]
    fn group_membership_events_carry_the_group_and_the_direction() {
        let mut add = user_event("g-1", "group.user_membership.add");
        add["target"].as_array_mut().expect("array").push(
            serde_json::json!({"id": "00g1sales", "type": "UserGroup", "displayName": "Sales"}),
        );
        let mut remove = add.clone();
        remove["uuid"] = "g-2".into();
        remove["eventType"] = "group.user_membership.remove".into();
        let out = normalize(&delivery(&[add, remove])).expect("valid");
        assert_eq!(out.events.len(), 2);
        let group = out.events[0].subject.group.clone().expect("group");
        assert_eq!(group.id, "00g1sales");
        assert_eq!(group.name.as_deref(), Some("Sales"));
        assert_eq!(group.change, Some(MembershipChange::Added));
        assert_eq!(
            out.events[1].subject.group.as_ref().and_then(|g| g.change),
            Some(MembershipChange::Removed)
        );
        assert_eq!(out.events[1].kind, EventKind::GroupChange);
    }

    #[test]
    fn unknown_types_are_ignored_without_spoiling_the_batch() {
        let body = delivery(&[
            user_event("s-1", "user.session.start"),
            user_event("u-1", "user.lifecycle.activate"),
        ]);
        let out = normalize(&body).expect("valid");
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.skipped.len(), 1);
        assert_eq!(out.skipped[0].index, 0);
        assert!(!out.skipped[0].is_refusal());
    }

    #[test]
    fn a_malformed_event_is_refused_and_the_others_kept() {
        let mut broken = user_event("b-1", "user.lifecycle.create");
        broken["target"] = serde_json::json!([]);
        let no_time = serde_json::json!({"uuid": "b-2", "eventType": "user.lifecycle.create"});
        let body = delivery(&[broken, no_time, user_event("u-1", "user.lifecycle.create")]);
        let out = normalize(&body).expect("valid");
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.skipped.len(), 2);
        assert!(out.skipped.iter().all(|s| s.is_refusal()));
        assert_eq!(out.skipped[0].source_event_id.as_deref(), Some("b-1"));
    }

    #[test]
    fn failed_outcomes_change_nothing() {
        let mut failed = user_event("f-1", "user.lifecycle.deactivate");
        failed["outcome"]["result"] = "FAILURE".into();
        let out = normalize(&delivery(&[failed])).expect("valid");
        assert!(out.events.is_empty());
        assert!(out.skipped.is_empty());
    }

    #[test]
    fn a_body_that_is_not_a_delivery_is_malformed() {
        assert!(matches!(normalize(b"{}"), Err(WebhookError::Malformed(_))));
        assert!(matches!(
            normalize(b"\xff"),
            Err(WebhookError::Malformed(_))
        ));
    }
}
