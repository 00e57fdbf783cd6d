//! BambooHR webhooks on `POST /webhooks/hris`, told apart from Standard Webhooks by their
//! `X-BambooHR-Signature` header: lowercase hex HMAC-SHA256, keyed with the webhook's private
//! key, of the raw body followed directly (no separator) by the `X-BambooHR-Timestamp` value as
//! sent. The timestamp is unix seconds in some deployments and ISO 8601 in others; the MAC is over
//! the header text either way, and both forms are parsed for the replay window.
//!
//! Payloads are thin (ids and changed field names); enrichment reads the employee.

use super::bounded::MAX_BATCH_ITEMS;
use super::error::WebhookError;
use super::hris::valid_user_id;
use super::{Normalized, content_key, valid_source_event_id};
use crate::domain::{DomainEvent, EventId, EventKind, EventSource, Subject};
use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-bamboohr-signature";
pub const TIMESTAMP_HEADER: &str = "x-bamboohr-timestamp";

/// Timestamps further than this from now are refused (replay window).
pub const TOLERANCE_SECONDS: i64 = 300;

/// `hex(HMAC-SHA256(key, body ‖ timestamp))`, what BambooHR puts in `X-BambooHR-Signature`.
pub fn sign(key: &[u8], body: &[u8], timestamp: &str) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(body);
    mac.update(timestamp.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Unix seconds (or milliseconds), RFC 3339, or ISO 8601 with a `+0000` offset or none (UTC).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if !text.is_empty() && text.len() <= 16 && text.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = text.parse().ok()?;
        return if text.len() >= 13 {
            DateTime::from_timestamp_millis(n)
        } else {
            DateTime::from_timestamp(n, 0)
        };
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    None
}

/// Verifies the signature with any of the configured keys, then the replay window. Returns the
/// signed timestamp.
pub fn verify(
    body: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    keys: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, WebhookError> {
    let signature = signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WebhookError::MissingCredentials("X-BambooHR-Signature header".into()))?;
    let timestamp_text = timestamp
        .filter(|t| !t.is_empty())
        .ok_or_else(|| WebhookError::MissingCredentials("X-BambooHR-Timestamp header".into()))?;
    let presented = hex::decode(signature).map_err(|_| WebhookError::BadSignature)?;
    let mut ok = false;
    for key in keys {
        let mut mac =
            hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
        mac.update(body);
        mac.update(timestamp_text.as_bytes());
        // verify_slice compares in constant time; every key is tried.
        ok |= mac.verify_slice(&presented).is_ok();
    }
    if !ok {
        return Err(WebhookError::BadSignature);
    }
    let signed_at = parse_timestamp(timestamp_text).ok_or_else(|| {
        WebhookError::Malformed(
            "X-BambooHR-Timestamp must be unix seconds or an ISO 8601 time".into(),
        )
    })?;
    if (now - signed_at).num_seconds().abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::Stale {
            tolerance_s: TOLERANCE_SECONDS,
        });
    }
    Ok(signed_at)
}

/// Changed fields that make an update a move (API aliases and display names, compared without
/// case, spaces or underscores).
fn is_mover_field(field: &str) -> bool {
    let key: String = field
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    matches!(
        key.as_str(),
        "department" | "jobtitle" | "title" | "location" | "division"
    )
}

fn kind_of(action: &str, changed_fields: &[String]) -> Option<EventKind> {
    match action.to_ascii_lowercase().as_str() {
        "employee.created" | "created" => Some(EventKind::Joiner),
        "employee.deleted" | "deleted" => Some(EventKind::Leaver),
        "employee.updated" | "updated" => {
            Some(if changed_fields.iter().any(|f| is_mover_field(f)) {
                EventKind::Mover
            } else {
                EventKind::Update
            })
        }
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventBased {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    timestamp: Option<String>,
    data: EventData,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventData {
    employee_id: IdValue,
    #[serde(default)]
    changed_fields: Vec<String>,
}

/// BambooHR sends ids as strings; tolerate numbers.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IdValue {
    Text(String),
    Number(u64),
}

impl IdValue {
    fn into_string(self) -> String {
        match self {
            IdValue::Text(s) => s,
            IdValue::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldBasedEmployee {
    id: IdValue,
    action: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    changed_fields: Vec<String>,
    #[serde(default)]
    fields: Map<String, Value>,
}

/// Parses either payload style. `signed_at` stands in for an event time the body lacks.
pub fn normalize(body: &[u8], signed_at: DateTime<Utc>) -> Result<Normalized, WebhookError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("BambooHR body: {e}")))?;
    if value.get("employees").is_some() {
        return field_based(value, body, signed_at);
    }
    let payload: EventBased = serde_json::from_value(value)
        .map_err(|e| WebhookError::Malformed(format!("BambooHR event: {e}")))?;
    let employee_id = payload.data.employee_id.into_string();
    let mut out = Normalized::default();
    let source_event_id = match payload.timestamp.as_deref() {
        Some(ts) => format!("{employee_id}:{}:{ts}", payload.kind),
        // Nothing but the content: the content and the window it was signed in.
        None => content_key(body, signed_at),
    };
    let Some(kind) = kind_of(&payload.kind, &payload.data.changed_fields) else {
        let error = WebhookError::UnknownEventType(payload.kind.chars().take(64).collect());
        out.skip(0, None, error);
        return Ok(out);
    };
    let occurred_at = payload
        .timestamp
        .as_deref()
        .and_then(parse_timestamp)
        .unwrap_or(signed_at);
    match event(
        source_event_id,
        kind,
        &employee_id,
        None,
        occurred_at,
        payload.data.changed_fields,
    ) {
        Ok(e) => out.push(0, e),
        Err(error) => out.skip(0, None, error),
    }
    Ok(out)
}

fn field_based(
    value: Value,
    body: &[u8],
    signed_at: DateTime<Utc>,
) -> Result<Normalized, WebhookError> {
    let Some(Value::Array(employees)) = value.get("employees").cloned() else {
        return Err(WebhookError::Malformed("employees must be a list".into()));
    };
    if employees.len() > MAX_BATCH_ITEMS {
        return Err(WebhookError::TooManyItems {
            count: employees.len(),
            limit: MAX_BATCH_ITEMS,
        });
    }
    let body_key = content_key(body, signed_at);
    let mut out = Normalized::default();
    for (index, raw) in employees.into_iter().enumerate() {
        let employee: FieldBasedEmployee = match serde_json::from_value(raw) {
            Ok(e) => e,
            Err(e) => {
                out.skip(
                    index,
                    None,
                    WebhookError::Malformed(format!("BambooHR employee: {e}")),
                );
                continue;
            }
        };
        let id = employee.id.into_string();
        let source_event_id = match employee.timestamp.as_deref() {
            Some(ts) => format!("{id}:{}:{ts}", employee.action),
            None => format!("{body_key}:{index}"),
        };
        let Some(kind) = kind_of(&employee.action, &employee.changed_fields) else {
            let error = WebhookError::UnknownEventType(employee.action.chars().take(64).collect());
            out.skip(index, None, error);
            continue;
        };
        let occurred_at = employee
            .timestamp
            .as_deref()
            .and_then(parse_timestamp)
            .unwrap_or(signed_at);
        let email = work_email(&employee.fields);
        match event(
            source_event_id,
            kind,
            &id,
            email,
            occurred_at,
            employee.changed_fields,
        ) {
            Ok(e) => out.push(index, e),
            Err(error) => out.skip(index, None, error),
        }
    }
    Ok(out)
}

/// The work e-mail among the posted fields, under its display name or API alias.
fn work_email(fields: &Map<String, Value>) -> Option<String> {
    ["Work Email", "workEmail", "Email", "email"]
        .iter()
        .filter_map(|k| fields.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .find(|v| v.contains('@') && v.len() <= 320)
        .map(str::to_owned)
}

fn event(
    source_event_id: String,
    kind: EventKind,
    employee_id: &str,
    email: Option<String>,
    occurred_at: DateTime<Utc>,
    changed_fields: Vec<String>,
) -> Result<DomainEvent, WebhookError> {
    if !valid_user_id(employee_id) {
        return Err(WebhookError::Malformed(
            "employeeId is not a valid id".into(),
        ));
    }
    if !valid_source_event_id(&source_event_id) {
        return Err(WebhookError::Malformed(
            "timestamp or type is not usable in an id".into(),
        ));
    }
    Ok(DomainEvent {
        event_id: EventId::generate(),
        source: EventSource::Bamboohr,
        source_event_id,
        kind,
        occurred_at,
        subject: Subject {
            external_id: Some(employee_id.to_owned()),
            email,
            ..Subject::default()
        },
        employee: None,
        changed_fields: changed_fields
            .into_iter()
            .filter(|f| f.len() <= 128)
            .take(64)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"bamboo-private-key";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid")
    }

    const UPDATED: &str = r#"{"type":"employee.updated","timestamp":"2027-01-15T08:00:00+0000","data":{"companyId":"12345","employeeId":"67890","changedFields":["firstName"]}}"#;

    #[test]
    fn the_signature_is_over_the_body_then_the_timestamp_without_separator() {
        let sig = sign(KEY, b"{}", "1800000000");
        assert_eq!(
            verify(
                b"{}",
                Some("1800000000"),
                Some(&sig),
                &[KEY.to_vec()],
                now()
            ),
            Ok(now())
        );
        // The Stripe-style `timestamp.body` some guides describe must not verify.
        let wrong = sign(KEY, b"1800000000.{}", "");
        assert_eq!(
            verify(
                b"{}",
                Some("1800000000"),
                Some(&wrong),
                &[KEY.to_vec()],
                now()
            ),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn uppercase_hex_and_rotated_keys_verify() {
        let sig = sign(KEY, b"{}", "1800000000").to_uppercase();
        let keys = [b"old".to_vec(), KEY.to_vec()];
        assert!(verify(b"{}", Some("1800000000"), Some(&sig), &keys, now()).is_ok());
    }

    #[test]
    fn iso_timestamps_are_signed_verbatim_and_windowed() {
        let ts = "2027-01-15T08:00:00+0000";
        let signed_at = parse_timestamp(ts).expect("parses");
        let sig = sign(KEY, b"{}", ts);
        assert_eq!(
            verify(b"{}", Some(ts), Some(&sig), &[KEY.to_vec()], signed_at),
            Ok(signed_at)
        );
        let late = signed_at + chrono::Duration::seconds(301);
        assert!(matches!(
            verify(b"{}", Some(ts), Some(&sig), &[KEY.to_vec()], late),
            Err(WebhookError::Stale { .. })
        ));
    }

    #[test]
    fn timestamps_parse_in_every_documented_form() {
        let t = DateTime::from_timestamp(1_658_248_023, 0);
        assert_eq!(parse_timestamp("1658248023"), t);
        assert_eq!(parse_timestamp("1658248023000"), t);
        assert_eq!(parse_timestamp("2022-07-19T16:27:03Z"), t);
        assert_eq!(parse_timestamp("2022-07-19T16:27:03+0000"), t);
        assert_eq!(parse_timestamp("2022-07-19 16:27:03"), t);
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn missing_headers_are_missing_credentials() {
        assert!(matches!(
            verify(b"{}", None, Some("ab"), &[KEY.to_vec()], now()),
            Err(WebhookError::MissingCredentials(_))
        ));
        assert!(matches!(
            verify(b"{}", Some("1"), None, &[KEY.to_vec()], now()),
            Err(WebhookError::MissingCredentials(_))
        ));
        assert_eq!(
            verify(b"{}", Some("1"), Some("not hex"), &[KEY.to_vec()], now()),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn event_based_updates_name_the_employee_and_their_changed_fields() {
        let out = normalize(UPDATED.as_bytes(), now()).expect("valid");
        let e = &out.events[0];
        assert_eq!(e.kind, EventKind::Update);
        assert_eq!(e.subject.external_id.as_deref(), Some("67890"));
        assert_eq!(e.changed_fields, vec!["firstName"]);
        assert_eq!(
            e.source_event_id,
            "67890:employee.updated:2027-01-15T08:00:00+0000"
        );
        assert_eq!(
            e.occurred_at,
            parse_timestamp("2027-01-15T08:00:00Z").expect("t")
        );
    }

    #[test]
    fn department_title_or_location_changes_are_moves() {
        for field in ["department", "jobTitle", "location", "Job Title"] {
            let body = UPDATED.replace("\"firstName\"", &format!("\"{field}\""));
            let out = normalize(body.as_bytes(), now()).expect("valid");
            assert_eq!(out.events[0].kind, EventKind::Mover, "{field}");
        }
    }

    #[test]
    fn created_and_deleted_are_joiner_and_leaver() {
        let created = UPDATED.replace("employee.updated", "employee.created");
        let deleted = UPDATED.replace("employee.updated", "employee.deleted");
        assert_eq!(
            normalize(created.as_bytes(), now()).expect("ok").events[0].kind,
            EventKind::Joiner
        );
        assert_eq!(
            normalize(deleted.as_bytes(), now()).expect("ok").events[0].kind,
            EventKind::Leaver
        );
    }

    #[test]
    fn unknown_types_are_ignored() {
        let body = UPDATED.replace("employee.updated", "timeoff.requested");
        let out = normalize(body.as_bytes(), now()).expect("valid");
        assert!(out.events.is_empty());
        assert!(!out.skipped[0].is_refusal());
    }

    #[test]
    fn field_based_batches_become_one_event_per_employee() {
        let body = r#"{"employees":[
            {"id":"1","action":"Created","timestamp":"2027-01-15T08:00:00Z","changedFields":[],
             "fields":{"First Name":"Bryony","Work Email":"bryony@example.com"}},
            {"id":"2","action":"Updated","timestamp":"2027-01-15T08:00:00Z","changedFields":["Department"],"fields":{}},
            {"id":"3","action":"Deleted","timestamp":"2027-01-15T08:00:00Z","fields":{}},
            {"id":"4","action":"Promoted","fields":{}},
            {"action":"Updated"}
        ]}"#;
        let out = normalize(body.as_bytes(), now()).expect("valid");
        let kinds: Vec<_> = out.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![EventKind::Joiner, EventKind::Mover, EventKind::Leaver]
        );
        assert_eq!(
            out.events[0].subject.email.as_deref(),
            Some("bryony@example.com")
        );
        assert_eq!(out.skipped.len(), 2);
        assert!(!out.skipped[0].is_refusal());
        assert!(out.skipped[1].is_refusal());
    }

    #[test]
    fn bodies_of_neither_style_are_malformed() {
        assert!(matches!(
            normalize(b"[]", now()),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            normalize(b"{\"employees\":3}", now()),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            normalize(b"{\"type\":\"employee.created\"}", now()),
            Err(WebhookError::Malformed(_))
        ));
    }
}
