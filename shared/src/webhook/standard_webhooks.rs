//! The Standard Webhooks signature scheme (v1, HMAC-SHA256): headers `webhook-id`,
//! `webhook-timestamp`, `webhook-signature` (space-separated `v1,<base64>` values, several allowed
//! for secret rotation) over `"<id>.<timestamp>.<raw body>"`, with a `whsec_<base64 key>` secret.
//!
//! Work per request is bounded whatever the headers hold: the body is hashed once per configured
//! key (at most two: current and previous), and at most [`MAX_SIGNATURES`] entries are compared.

use super::error::WebhookError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Timestamps further than this from now are refused (replay window).
pub const TOLERANCE_SECONDS: i64 = 300;

/// Entries of `webhook-signature` looked at, at most. A sender puts one per key it signs with
/// (two while it rotates); the rest of a longer header is ignored, so hundreds of entries cost
/// no more than eight. (The body is hashed once per configured key whatever the header holds.)
pub const MAX_SIGNATURES: usize = 8;

/// An HMAC-SHA256 signature's length.
const SIGNATURE_BYTES: usize = 32;

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

/// How a MAC is computed: `(key, parts of the signed content)`.
type MacFn<'a> = dyn FnMut(&[u8], &[&[u8]]) -> Vec<u8> + 'a;

/// HMAC-SHA256 of `parts` joined, under `key`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
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
    verify_with(id, timestamp, signature, body, keys, now, &mut hmac_sha256)
}

/// [`verify`] with the MAC function passed in, so tests can count how often the body is hashed.
fn verify_with(
    id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    keys: &[Vec<u8>],
    now: DateTime<Utc>,
    mac: &mut MacFn<'_>,
) -> Result<Verified, WebhookError> {
    let id = id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WebhookError::MissingCredentials("webhook-id header".into()))?;
    // The id becomes an idempotency key: checked before anything is hashed.
    if !super::valid_source_event_id(id) {
        return Err(WebhookError::Malformed(
            "webhook-id must be 1-256 printable characters without '#'".into(),
        ));
    }
    let timestamp_text = timestamp
        .ok_or_else(|| WebhookError::MissingCredentials("webhook-timestamp header".into()))?;
    let signature = signature
        .ok_or_else(|| WebhookError::MissingCredentials("webhook-signature header".into()))?;
    let timestamp: i64 = timestamp_text.trim().parse().map_err(|_| {
        WebhookError::Malformed("webhook-timestamp must be integer unix seconds".into())
    })?;
    // Checked: a timestamp near the ends of i64 is far from now, not an overflow.
    let fresh = now
        .timestamp()
        .checked_sub(timestamp)
        .is_some_and(|age| age.unsigned_abs() <= TOLERANCE_SECONDS.unsigned_abs());
    if !fresh {
        return Err(WebhookError::Stale {
            tolerance_s: TOLERANCE_SECONDS,
        });
    }
    let presented = parse_signatures(signature);
    if presented.is_empty() {
        return Err(WebhookError::BadSignature);
    }
    let signed: [&[u8]; 5] = [
        id.as_bytes(),
        b".",
        timestamp_text.trim().as_bytes(),
        b".",
        body,
    ];
    // The body is hashed once per key; each presented entry is then a 32-byte comparison.
    let mut ok = false;
    for key in keys {
        let expected = mac(key, &signed);
        for candidate in &presented {
            ok |= bool::from(expected.ct_eq(candidate));
        }
    }
    if ok {
        Ok(Verified {
            id: id.to_owned(),
            timestamp,
        })
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// The decoded `v1,` signatures among the first [`MAX_SIGNATURES`] entries of a
/// `webhook-signature` header. Entries of other versions, and values that are not base64 of a
/// SHA-256 MAC, are skipped; entries past the cap are not looked at.
pub fn parse_signatures(header: &str) -> Vec<[u8; SIGNATURE_BYTES]> {
    header
        .split_ascii_whitespace()
        .take(MAX_SIGNATURES)
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .filter_map(|bytes| <[u8; SIGNATURE_BYTES]>::try_from(bytes).ok())
        .collect()
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
    fn two_hundred_entries_cost_one_mac_per_key() {
        let keys = [
            b"old-key-old-key-old-key-".to_vec(),
            b"new-key-new-key-new-key-".to_vec(),
        ];
        let body = vec![b'x'; 64 * 1024];
        let wrong = sign(b"some-other-key-some-other", "m", 1_800_000_000, &body);
        let header = vec![wrong; 200].join(" ");
        let mut macs = 0;
        let mut counting = |key: &[u8], parts: &[&[u8]]| {
            macs += 1;
            hmac_sha256(key, parts)
        };
        let outcome = verify_with(
            Some("m"),
            Some("1800000000"),
            Some(&header),
            &body,
            &keys,
            now(),
            &mut counting,
        );
        assert_eq!(outcome, Err(WebhookError::BadSignature));
        assert_eq!(
            macs,
            keys.len(),
            "the body is hashed once per key, not per entry"
        );
    }

    #[test]
    fn a_timestamp_at_the_edge_of_the_integers_is_stale_not_a_panic() {
        let key = b"k".repeat(24);
        for ts in [i64::MIN, i64::MAX, i64::MIN + 1] {
            let err = verify(
                Some("m"),
                Some(&ts.to_string()),
                Some(&sign(&key, "m", 0, b"{}")),
                b"{}",
                std::slice::from_ref(&key),
                now(),
            );
            assert!(
                matches!(err, Err(WebhookError::Stale { .. })),
                "{ts}: {err:?}"
            );
        }
    }

    #[test]
    fn webhook_ids_that_cannot_be_keys_are_malformed() {
        let key = b"k".repeat(24);
        for id in ["a#b", "line\nbreak", &"x".repeat(257)] {
            let sig = sign(&key, id, 1_800_000_000, b"{}");
            let err = verify(
                Some(id),
                Some("1800000000"),
                Some(&sig),
                b"{}",
                std::slice::from_ref(&key),
                now(),
            );
            assert!(
                matches!(err, Err(WebhookError::Malformed(_))),
                "{id:?}: {err:?}"
            );
        }
    }

    #[test]
    fn whsec_prefix_is_stripped() {
        assert_eq!(decode_secret("whsec_AAEC").ok(), Some(vec![0, 1, 2]));
    }
}
