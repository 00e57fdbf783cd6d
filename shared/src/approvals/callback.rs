//! The ServiceNow callback, read and checked without I/O: who may call
//! (`Authorization: Bearer <token>`, or Basic with the token as the password), and the body
//! `{"request_id", "device_id", "approval_status", "updated_by", "notes", "updated_at"}`.
//!
//! The body is Loadout's own contract (no public source documents the one Intelligence expects):
//! `request_id` names the request and is all that decides what runs; `device_id` is compared
//! with the request's and a mismatch is recorded but changes nothing; unknown fields (an app id,
//! a user) are ignored for the same reason.

use super::record::is_request_id;
use super::state::Verdict;
use crate::ports::SecretString;
use crate::webhook::constant_time_eq;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// `updated_by` is a ServiceNow user name (40 characters); room for a display name.
const UPDATED_BY_MAX: usize = 255;
const NOTES_MAX: usize = 4000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No usable `Authorization` header.
    Missing,
    /// Credentials that match no configured token.
    Invalid,
}

/// Checks the `Authorization` header against the current token and, during a rotation, the
/// previous one. Every configured token is compared, in constant time, whatever the outcome.
pub fn authenticate(
    header: Option<&str>,
    current: &SecretString,
    previous: Option<&SecretString>,
) -> Result<(), AuthFailure> {
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    let Some(header) = header else {
        return Err(AuthFailure::Missing);
    };
    let (scheme, rest) = header.split_once(' ').ok_or(AuthFailure::Missing)?;
    let presented: Vec<u8> = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().as_bytes().to_vec()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| AuthFailure::Invalid)?;
        // user:password; the user name is free, the password is the token.
        let colon = decoded
            .iter()
            .position(|b| *b == b':')
            .ok_or(AuthFailure::Invalid)?;
        if colon == 0 {
            return Err(AuthFailure::Invalid);
        }
        decoded[colon + 1..].to_vec()
    } else {
        return Err(AuthFailure::Missing);
    };
    if presented.is_empty() {
        return Err(AuthFailure::Invalid);
    }
    let current_ok = constant_time_eq(&presented, current.expose().as_bytes());
    let previous_ok = previous.is_some_and(|p| constant_time_eq(&presented, p.expose().as_bytes()));
    if current_ok | previous_ok {
        Ok(())
    } else {
        Err(AuthFailure::Invalid)
    }
}

/// A callback body that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackBody {
    pub request_id: String,
    /// As sent (a string or a number); compared with the request's, never acted on.
    pub device_id: Option<String>,
    pub verdict: Verdict,
    pub updated_by: String,
    pub notes: Option<String>,
    /// When ServiceNow recorded the decision, if it said.
    pub updated_at: Option<DateTime<Utc>>,
}

/// RFC 3339, or ServiceNow's `YYYY-MM-DD HH:MM:SS` (taken as UTC).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

fn string(value: &Value, name: &str, max: usize) -> Result<String, String> {
    match value {
        Value::String(s) if s.trim().is_empty() => Err(format!("{name} is empty")),
        Value::String(s) if s.chars().count() > max => {
            Err(format!("{name} is longer than {max} characters"))
        }
        Value::String(s) => Ok(s.trim().to_owned()),
        Value::Null => Err(format!("{name} is required")),
        _ => Err(format!("{name} must be a string")),
    }
}

/// Reads a callback body; the error names the first problem (for a 400).
pub fn parse_body(body: &[u8]) -> Result<CallbackBody, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("the body must be a JSON object".into());
    };
    let get = |key: &str| fields.get(key).unwrap_or(&Value::Null);
    let request_id = string(get("request_id"), "request_id", 40)?;
    if !is_request_id(&request_id) {
        return Err("request_id is not one of Loadout's request ids".into());
    }
    let device_id = match get("device_id") {
        Value::Null => None,
        Value::String(s) if s.chars().count() <= 40 => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        _ => return Err("device_id must be a string or a whole number".into()),
    };
    let verdict: Verdict = string(get("approval_status"), "approval_status", 40)?
        .parse()
        .map_err(|e: super::state::UnknownVerdict| e.to_string())?;
    let updated_by = string(get("updated_by"), "updated_by", UPDATED_BY_MAX)?;
    let notes = match get("notes") {
        Value::Null => None,
        Value::String(s) if s.chars().count() > NOTES_MAX => {
            return Err(format!("notes is longer than {NOTES_MAX} characters"));
        }
        Value::String(s) => Some(s.clone()).filter(|s| !s.trim().is_empty()),
        _ => return Err("notes must be a string".into()),
    };
    let updated_at = match get("updated_at") {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(
            parse_time(s)
                .ok_or_else(|| "updated_at must be RFC 3339 or YYYY-MM-DD HH:MM:SS".to_owned())?,
        ),
        _ => return Err("updated_at must be a string".into()),
    };
    Ok(CallbackBody {
        request_id,
        device_id,
        verdict,
        updated_by,
        notes,
        updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "lo-0123456789abcdef0123456789abcdef";

    fn body(v: Value) -> Result<CallbackBody, String> {
        parse_body(v.to_string().as_bytes())
    }

    #[test]
    fn a_servicenow_body_is_read() {
        let b = body(
            json!({"request_id": ID, "device_id": "10003", "approval_status": "APPROVED",
            "updated_by": "alice", "notes": "ok", "updated_at": "2026-12-01 10:00:00"}),
        )
        .expect("valid");
        assert_eq!(b.verdict, Verdict::Approved);
        assert_eq!(b.device_id.as_deref(), Some("10003"));
        assert_eq!(
            b.updated_at.map(|t| t.to_rfc3339()),
            Some("2026-12-01T10:00:00+00:00".into())
        );
    }

    #[test]
    fn status_is_case_insensitive_and_device_may_be_a_number() {
        let b = body(
            json!({"request_id": ID, "device_id": 10003, "approval_status": "rejected",
            "updated_by": "bob"}),
        )
        .expect("valid");
        assert_eq!(b.verdict, Verdict::Rejected);
        assert_eq!(b.device_id.as_deref(), Some("10003"));
    }

    #[test]
    fn malformed_bodies_name_the_problem() {
        assert!(parse_body(b"not json").unwrap_err().contains("not JSON"));
        assert!(body(json!([1])).unwrap_err().contains("object"));
        assert!(
            body(json!({"request_id": ID, "approval_status": "MAYBE", "updated_by": "a"}))
                .unwrap_err()
                .contains("APPROVED or REJECTED")
        );
        assert!(
            body(json!({"request_id": "REQ0010001", "approval_status": "APPROVED", "updated_by": "a"}))
                .unwrap_err()
                .contains("request_id")
        );
        assert!(
            body(json!({"request_id": ID, "approval_status": "APPROVED"}))
                .unwrap_err()
                .contains("updated_by")
        );
        assert!(
            body(json!({"request_id": ID, "approval_status": "APPROVED", "updated_by": "a", "updated_at": "yesterday"}))
                .unwrap_err()
                .contains("updated_at")
        );
    }

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[test]
    fn bearer_or_basic_with_the_current_or_previous_token() {
        let current = SecretString::new("new-token");
        let previous = SecretString::new("old-token");
        assert_eq!(
            authenticate(Some("Bearer new-token"), &current, Some(&previous)),
            Ok(())
        );
        assert_eq!(
            authenticate(Some("bearer old-token"), &current, Some(&previous)),
            Ok(())
        );
        assert_eq!(
            authenticate(Some(&basic("servicenow", "new-token")), &current, None),
            Ok(())
        );
        assert_eq!(
            authenticate(Some("Bearer old-token"), &current, None),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            authenticate(Some(&basic("", "new-token")), &current, None),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            authenticate(None, &current, None),
            Err(AuthFailure::Missing)
        );
        // A secret with a space in it is one value: half of it is not a token.
        let spaced = SecretString::new("part-one part-two");
        assert_eq!(
            authenticate(Some("Bearer part-one"), &spaced, None),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            authenticate(Some("Bearer part-one part-two"), &spaced, None),
            Ok(())
        );
    }
}
