//! Workspace ONE UEM event notifications (`GET|POST /webhooks/uem`). UEM authenticates with the
//! HTTP Basic credentials configured on the notification target, sends a GET for the console's
//! "Test Connection" and a flat PascalCase JSON object per event. Nothing is signed and the
//! payload has drifted between versions (event names, `/Date(ms)/` vs ISO times), so the
//! event only says "re-evaluate this user's devices"; enrichment re-reads them from UEM.

use super::error::WebhookError;
use super::hris::valid_user_id;
use super::{Normalized, RotatingSecret, valid_source_event_id};
use crate::domain::{DomainEvent, EventId, EventKind, EventSource, Subject};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

/// Checks `Authorization: Basic base64(user:password)` against the configured `user:password`,
/// whole (or its previous value while it is rotated).
pub fn verify(
    authorization: Option<&str>,
    configured: &RotatingSecret,
) -> Result<(), WebhookError> {
    let header = authorization
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| WebhookError::MissingCredentials("Authorization: Basic header".into()))?;
    let (scheme, encoded) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(WebhookError::MissingCredentials(
            "Authorization: Basic header".into(),
        ));
    }
    let presented = STANDARD
        .decode(encoded.trim())
        .map_err(|_| WebhookError::BadSignature)?;
    if configured.matches(&presented) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// The `Authorization` value a sender puts for `user:password`.
pub fn basic_header(user_and_password: &str) -> String {
    format!("Basic {}", STANDARD.encode(user_and_password))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Notification {
    event_id: NumberOrText,
    event_type: String,
    device_id: NumberOrText,
    #[serde(default)]
    enrollment_user_name: Option<String>,
    #[serde(default)]
    enrollment_email_address: Option<String>,
    event_time: String,
    #[serde(default)]
    enrollment_status: Option<String>,
    #[serde(default)]
    compliance_status: Option<String>,
    #[serde(default)]
    compromised_status: Option<String>,
    #[serde(default)]
    platform: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(i64),
    Text(String),
}

impl NumberOrText {
    fn text(&self) -> String {
        match self {
            NumberOrText::Number(n) => n.to_string(),
            NumberOrText::Text(s) => s.trim().to_owned(),
        }
    }
}

/// What changed on the device, for the audit trail and the decision's explanation.
fn change_of(event_type: &str) -> Option<&'static str> {
    // Older payloads use compact names (`MDMEnrollmentComplete`), newer ones spaced labels
    // (`MDM Enrollment Complete`): compare without spaces or case.
    let key: String = event_type
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    Some(match key.as_str() {
        "mdmenrollmentcomplete" | "enrollmentcomplete" | "deviceenrolled" => "enrollment",
        "breakmdmconfirmed"
        | "deviceenterprisewiperequested"
        | "deviceunenrolledenterprisewipe"
        | "devicewipe"
        | "devicewiped"
        | "devicedelete"
        | "devicedeleted" => "unenrollment",
        "compliancestatuschanged" | "compromisedstatuschanged" => "compliance",
        "deviceoperatingsystemchanged" | "deviceoschanged" => "os_version",
        "deviceownershipchanged" | "ownershipchanged" => "ownership",
        "deviceplatformchanged" | "platformchanged" => "platform",
        "deviceorganizationgroupchanged" => "organization_group",
        _ => return None,
    })
}

/// `/Date(1368076195887)/` (optionally with an offset such as `+0000`), or ISO 8601 with up to 7
/// fractional digits and with or without an offset (UTC when absent).
pub fn parse_event_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Some(inner) = text
        .strip_prefix("/Date(")
        .and_then(|t| t.strip_suffix(")/"))
    {
        let millis_end = inner
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-')
            .map(|(i, _)| i)
            .unwrap_or(inner.len());
        // The offset only says how to display the instant; the milliseconds are UTC.
        return DateTime::from_timestamp_millis(inner[..millis_end].parse().ok()?);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = text.trim_end_matches('Z');
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// Parses one notification into a device change for its enrollment user.
pub fn normalize(body: &[u8]) -> Result<Normalized, WebhookError> {
    let n: Notification = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("UEM event notification: {e}")))?;
    let event_id = n.event_id.text();
    let device_id = n.device_id.text();
    if !valid_user_id(&event_id) || !valid_user_id(&device_id) {
        return Err(WebhookError::Malformed(
            "EventId and DeviceId must be plain ids".into(),
        ));
    }
    let Some(change) = change_of(&n.event_type) else {
        let mut out = Normalized::default();
        let error = WebhookError::UnknownEventType(n.event_type.chars().take(64).collect());
        out.skip(0, None, error);
        return Ok(out);
    };
    let occurred_at = parse_event_time(&n.event_time).ok_or_else(|| {
        WebhookError::Malformed("EventTime must be ISO 8601 or /Date(milliseconds)/".into())
    })?;
    let user_name = n
        .enrollment_user_name
        .as_deref()
        .map(str::trim)
        .filter(|u| valid_user_id(u));
    let email = n
        .enrollment_email_address
        .as_deref()
        .map(str::trim)
        .filter(|e| e.contains('@') && e.len() <= 320);
    if user_name.is_none() && email.is_none() {
        return Err(WebhookError::Malformed(
            "neither EnrollmentUserName nor EnrollmentEmailAddress names a user".into(),
        ));
    }
    let source_event_id = format!("{event_id}:{device_id}:{}", n.event_time.trim());
    if !valid_source_event_id(&source_event_id) {
        return Err(WebhookError::Malformed(
            "EventTime is not usable in an id".into(),
        ));
    }
    let mut changed_fields = vec![change.to_owned()];
    for (name, value) in [
        ("enrollment_status", &n.enrollment_status),
        ("compliance_status", &n.compliance_status),
        ("compromised_status", &n.compromised_status),
        ("platform", &n.platform),
    ] {
        if value.as_deref().is_some_and(|v| !v.trim().is_empty())
            && !changed_fields.iter().any(|f| f == name)
        {
            // Only that the device reported it, not the value: enrichment reads the device.
            changed_fields.push(name.to_owned());
        }
    }
    Ok(Normalized::one(DomainEvent {
        event_id: EventId::generate(),
        source: EventSource::Uem,
        source_event_id,
        kind: EventKind::DeviceChange,
        occurred_at,
        // UEM names people by its enrollment user name, which is not Loadout's user id (HR ids
        // rarely are UEM user names): it is UEM's own id of the person, resolved in enrichment.
        subject: Subject {
            email: email.map(str::to_owned),
            device_id: Some(device_id),
            external_id: user_name.map(str::to_owned),
            ..Subject::default()
        },
        employee: None,
        changed_fields,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enrollment() -> serde_json::Value {
        json!({
            "EventId": 148, "EventType": "MDM Enrollment Complete", "DeviceId": 616,
            "DeviceFriendlyName": "jdoe iPhone", "EnrollmentEmailAddress": "jdoe@example.com",
            "EnrollmentUserName": "jdoe", "EventTime": "2026-11-20T09:00:00.1234567",
            "EnrollmentStatus": "Enrolled", "CompromisedStatus": "", "ComplianceStatus": "Compliant",
            "PhoneNumber": "", "Udid": "0F1E2D3C", "SerialNumber": "C39XK0AAJCL6",
            "MACAddress": "", "Platform": "Apple", "OrganizationGroupName": "Corp"
        })
    }

    #[test]
    fn basic_credentials_must_match() {
        const PAIR: &str = "uem:pa55-word-for-tests";
        let configured =
            RotatingSecret::single(crate::ports::secrets::keys::UEM_EVENTS_BASIC, PAIR)
                .expect("valid");
        let header = basic_header(PAIR);
        assert_eq!(verify(Some(&header), &configured), Ok(()));
        assert_eq!(
            verify(Some(&basic_header("uem:nope")), &configured),
            Err(WebhookError::BadSignature)
        );
        assert!(matches!(
            verify(Some("Bearer x"), &configured),
            Err(WebhookError::MissingCredentials(_))
        ));
        assert!(matches!(
            verify(None, &configured),
            Err(WebhookError::MissingCredentials(_))
        ));
        assert_eq!(
            verify(Some("Basic !!!"), &configured),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn an_enrollment_is_a_device_change_of_the_enrollment_user() {
        let out = normalize(enrollment().to_string().as_bytes()).expect("valid");
        let e = &out.events[0];
        assert_eq!(e.kind, EventKind::DeviceChange);
        assert_eq!(e.subject.external_id.as_deref(), Some("jdoe"));
        assert_eq!(e.subject.user_id, None);
        assert_eq!(e.subject.device_id.as_deref(), Some("616"));
        assert_eq!(e.source_event_id, "148:616:2026-11-20T09:00:00.1234567");
        assert_eq!(e.changed_fields[0], "enrollment");
    }

    #[test]
    fn old_compact_names_and_dotnet_dates_are_understood() {
        let mut old = enrollment();
        old["EventId"] = 39.into();
        old["EventType"] = "BreakMDMConfirmed".into();
        old["EventTime"] = "/Date(1368076258271)/".into();
        let out = normalize(old.to_string().as_bytes()).expect("valid");
        assert_eq!(out.events[0].changed_fields[0], "unenrollment");
        assert_eq!(
            out.events[0].occurred_at.timestamp_millis(),
            1_368_076_258_271
        );
    }

    #[test]
    fn compliance_os_ownership_and_platform_changes_are_device_changes() {
        for (label, change) in [
            ("Compliance Status Changed", "compliance"),
            ("Compromised Status Changed", "compliance"),
            ("Device Operating System Changed", "os_version"),
            ("Device Ownership Changed", "ownership"),
            ("Device Platform Changed", "platform"),
        ] {
            let mut n = enrollment();
            n["EventType"] = label.into();
            let out = normalize(n.to_string().as_bytes()).expect("valid");
            assert_eq!(out.events[0].changed_fields[0], change, "{label}");
        }
    }

    #[test]
    fn a_user_name_that_is_not_an_id_falls_back_to_the_email() {
        let mut n = enrollment();
        n["EnrollmentUserName"] = "CORP\\jdoe".into();
        let out = normalize(n.to_string().as_bytes()).expect("valid");
        assert_eq!(out.events[0].subject.user_id, None);
        assert_eq!(
            out.events[0].subject.email.as_deref(),
            Some("jdoe@example.com")
        );
    }

    #[test]
    fn event_types_loadout_does_not_act_on_are_ignored() {
        let mut n = enrollment();
        n["EventType"] = "Device Friendly Name Changed".into();
        let out = normalize(n.to_string().as_bytes()).expect("valid");
        assert!(out.events.is_empty());
        assert!(!out.skipped[0].is_refusal());
    }

    #[test]
    fn event_times_parse_in_both_forms() {
        let t = parse_event_time("2026-11-20T09:00:00Z").expect("iso");
        assert_eq!(parse_event_time("2026-11-20T09:00:00"), Some(t));
        assert_eq!(parse_event_time("/Date(1795165200000+0000)/"), Some(t));
        assert_eq!(parse_event_time("/Date(1795165200000)/"), Some(t));
        assert_eq!(parse_event_time("/Date()/"), None);
        assert_eq!(parse_event_time("soon"), None);
    }

    #[test]
    fn bodies_without_ids_or_users_are_malformed() {
        assert!(matches!(normalize(b"{}"), Err(WebhookError::Malformed(_))));
        let mut n = enrollment();
        n["EnrollmentUserName"] = "".into();
        n["EnrollmentEmailAddress"] = "".into();
        assert!(matches!(
            normalize(n.to_string().as_bytes()),
            Err(WebhookError::Malformed(_))
        ));
        let mut n = enrollment();
        n["EventTime"] = "tomorrow".into();
        assert!(matches!(
            normalize(n.to_string().as_bytes()),
            Err(WebhookError::Malformed(_))
        ));
    }
}
