//! The Standard Webhooks signature scheme (v1, HMAC-SHA256): headers `webhook-id`,
//! `webhook-timestamp`, `webhook-signature` (space-separated `v1,<base64>` values, several allowed
//! for secret rotation) over `"<id>.<timestamp>.<raw body>"`, with a `whsec_<base64 key>` secret.

use super::error::WebhookError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// Timestamps further than this from now are refused (replay window).
pub const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `webhook-id`: the sender's idempotency key.
    pub id: String,
    pub timestamp: i64,
}

/// The key bytes of a `whsec_...` secret (a bare base64 key is accepted too).
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, WebhookError> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    STANDARD
        .decode(b64.trim())
        .map_err(|_| WebhookError::NotConfigured("a valid whsec_ secret"))
}

/// `v1,<base64 signature>` for the given parts; what a sender puts in `webhook-signature`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Verifies the three headers against one or more keys (old and new during rotation).
pub fn verify(
    id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    keys: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Result<Verified, WebhookError> {
    let id = id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WebhookError::MissingCredentials("webhook-id header".into()))?;
    let timestamp_text = timestamp
        .ok_or_else(|| WebhookError::MissingCredentials("webhook-timestamp header".into()))?;
    let signature = signature
        .ok_or_else(|| WebhookError::MissingCredentials("webhook-signature header".into()))?;
    let timestamp: i64 = timestamp_text.trim().parse().map_err(|_| {
        WebhookError::Malformed("webhook-timestamp must be integer unix seconds".into())
    })?;
    if (now.timestamp() - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::Stale {
            tolerance_s: TOLERANCE_SECONDS,
        });
    }
    let presented: Vec<Vec<u8>> = signature
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .collect();
    for key in keys {
        for candidate in &presented {
            let mut mac =
                hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp_text.trim().as_bytes());
            mac.update(b".");
            mac.update(body);
            // verify_slice compares in constant time.
            if mac.verify_slice(candidate).is_ok() {
                return Ok(Verified {
                    id: id.to_owned(),
                    timestamp,
                });
            }
        }
    }
    Err(WebhookError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid")
    }

    #[test]
    fn a_correct_signature_verifies() {
        let key = b"0123456789abcdef0123456789abcdef".to_vec();
        let sig = sign(&key, "msg_1", 1_800_000_000, b"{}");
        let ok = verify(
            Some("msg_1"),
            Some("1800000000"),
            Some(&sig),
            b"{}",
            &[key],
            now(),
        );
        assert_eq!(ok.map(|v| v.id), Ok("msg_1".into()));
    }

    #[test]
    fn any_of_several_signatures_may_match_during_rotation() {
        let old = b"old-key-old-key-old-key-".to_vec();
        let new = b"new-key-new-key-new-key-".to_vec();
        let header = format!(
            "{} {}",
            sign(&old, "m", 1_800_000_000, b"x"),
            sign(&new, "m", 1_800_000_000, b"x")
        );
        assert!(
            verify(
                Some("m"),
                Some("1800000000"),
                Some(&header),
                b"x",
                &[new],
                now()
            )
            .is_ok()
        );
    }

    #[test]
    fn a_changed_body_fails() {
        let key = b"k".repeat(24);
        let sig = sign(&key, "m", 1_800_000_000, b"{\"a\":1}");
        let err = verify(
            Some("m"),
            Some("1800000000"),
            Some(&sig),
            b"{\"a\":2}",
            &[key],
            now(),
        );
        assert_eq!(err, Err(WebhookError::BadSignature));
    }

    #[test]
    fn timestamps_outside_five_minutes_are_stale() {
        let key = b"k".repeat(24);
        let ts = 1_800_000_000 - 301;
        let sig = sign(&key, "m", ts, b"{}");
        let err = verify(
            Some("m"),
            Some(&ts.to_string()),
            Some(&sig),
            b"{}",
            &[key],
            now(),
        );
        assert!(matches!(err, Err(WebhookError::Stale { .. })));
    }

    #[test]
    fn whsec_prefix_is_stripped() {
        assert_eq!(decode_secret("whsec_AAEC").ok(), Some(vec![0, 1, 2]));
    }
}
