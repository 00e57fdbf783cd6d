//! Generic HR webhooks (`POST /webhooks/hris`): Standard Webhooks signatures and the body of
//! DESIGN.md (joiner, mover, leaver, update with the employee's attributes).

use super::error::WebhookError;
use crate::domain::{DomainEvent, Employee, EventId, EventKind, EventSource, Subject, UserId};
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Payload {
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    occurred_at: DateTime<Utc>,
    employee: PayloadEmployee,
    #[serde(default)]
    changed_fields: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct PayloadEmployee {
    id: String,
    email: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    employment_type: String,
    #[serde(default)]
    manager_id: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    /// The directory account name, when the HR system knows it (optional).
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    upn: Option<String>,
}

/// User ids become parts of storage keys and UEM user names: keep them to a safe alphabet.
pub fn valid_user_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

fn kind_of(name: &str) -> Result<EventKind, WebhookError> {
    match name {
        "joiner" => Ok(EventKind::Joiner),
        "mover" => Ok(EventKind::Mover),
        "leaver" => Ok(EventKind::Leaver),
        "update" => Ok(EventKind::Update),
        other => Err(WebhookError::UnknownEventType(
            other.chars().take(64).collect(),
        )),
    }
}

/// Parses a verified body into one domain event. `idempotency_key` is the `webhook-id`.
pub fn normalize(body: &[u8], idempotency_key: &str) -> Result<DomainEvent, WebhookError> {
    let payload: Payload = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("HR event body: {e}")))?;
    let kind = kind_of(&payload.kind)?;
    let e = payload.employee;
    if !valid_user_id(&e.id) {
        return Err(WebhookError::Malformed(
            "employee.id must be 1-128 characters of letters, digits, '.', '_', '-' or '@'".into(),
        ));
    }
    if !e.email.contains('@') {
        return Err(WebhookError::Malformed(
            "employee.email is not an e-mail address".into(),
        ));
    }
    if let Some(manager) = e.manager_id.as_deref().filter(|m| !m.is_empty())
        && !valid_user_id(manager)
    {
        return Err(WebhookError::Malformed(
            "employee.manager_id is not a valid id".into(),
        ));
    }
    if payload.event_id.trim().is_empty() {
        return Err(WebhookError::Malformed("event_id is empty".into()));
    }
    let employee = Employee {
        id: UserId::new(&e.id),
        email: e.email.trim().to_owned(),
        department: e.department,
        title: e.title,
        location: e.location,
        region: e.region,
        employment_type: e.employment_type,
        manager_id: e.manager_id.filter(|m| !m.is_empty()).map(UserId::new),
        groups: e.groups,
        account_name: e
            .username
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty()),
        upn: e.upn.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()),
    };
    Ok(DomainEvent {
        event_id: EventId::generate(),
        source: EventSource::Hris,
        source_event_id: idempotency_key.to_owned(),
        kind,
        occurred_at: payload.occurred_at,
        subject: Subject::user(employee.id.clone()),
        employee: Some(employee),
        changed_fields: payload.changed_fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOINER: &str = r#"{"event_id":"e1","type":"joiner","occurred_at":"2026-11-20T09:00:00Z",
        "employee":{"id":"jdoe","email":"jdoe@example.com","department":"Sales","title":"AE",
        "location":"Austin","region":"NA","employment_type":"Full-time","manager_id":"boss","groups":["sales"]},
        "changed_fields":[]}"#;

    #[test]
    fn a_joiner_becomes_a_joiner_event_with_the_employee() {
        let event = normalize(JOINER.as_bytes(), "msg_1").expect("valid");
        assert_eq!(event.kind, EventKind::Joiner);
        assert_eq!(event.source_event_id, "msg_1");
        let employee = event.employee.expect("employee");
        assert_eq!(employee.department, "Sales");
        assert_eq!(employee.manager_id, Some(UserId::from("boss")));
    }

    #[test]
    fn unknown_types_are_named_in_the_error() {
        let body = JOINER.replace("\"joiner\"", "\"promotion\"");
        assert_eq!(
            normalize(body.as_bytes(), "m").err(),
            Some(WebhookError::UnknownEventType("promotion".into()))
        );
    }

    #[test]
    fn ids_that_could_break_storage_keys_are_refused() {
        let body = JOINER.replace("\"id\":\"jdoe\"", "\"id\":\"a#b\"");
        assert!(matches!(
            normalize(body.as_bytes(), "m"),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn missing_fields_are_malformed_not_a_crash() {
        assert!(matches!(
            normalize(br#"{"type":"joiner"}"#, "m"),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            normalize(b"not json", "m"),
            Err(WebhookError::Malformed(_))
        ));
    }
}
