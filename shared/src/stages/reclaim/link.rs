//! The signed, expiring "keep it" link of a reclamation notice: `GET /reclaim/keep?app=..&user=..
//! &exp=<unix seconds>&sig=<base64url HMAC-SHA256>`. The signature covers the app, the user, the
//! expiry and the cycle (when the seat became a candidate), so a link cannot be edited to keep
//! someone else's seat, and a link from an earlier cycle keeps nothing in a later one. The key is
//! the whole secret as stored (`LOADOUT_RECLAIM_LINK_SECRET`, never trimmed or split, spaces
//! included); during a rotation a link signed with the previous value is still honoured.

use crate::domain::{AppId, UserId};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

/// The route of the link (served by the approval-callback function and local mode).
pub const KEEP_PATH: &str = "/reclaim/keep";

/// What a link says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepClaim {
    pub app: AppId,
    pub user: UserId,
    /// The cycle of the seat record (unix seconds of when it became a candidate).
    pub cycle: i64,
    pub expires_at: DateTime<Utc>,
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is incomplete: {0} is missing or malformed")]
    Malformed(&'static str),
    #[error("the link's signature does not match")]
    Forged,
    #[error("the link expired at {0}")]
    Expired(DateTime<Utc>),
}

fn mac(key: &[u8], claim: &KeepClaim) -> Vec<u8> {
    // HMAC takes a key of any length; the error arm cannot happen but must not panic either.
    let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    // Length-prefixed fields: no two different claims sign the same bytes.
    for field in [
        claim.app.as_str(),
        claim.user.as_str(),
        &claim.cycle.to_string(),
        &claim.expires_at.timestamp().to_string(),
    ] {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field.as_bytes());
    }
    mac.finalize().into_bytes().to_vec()
}

/// The query string of a link for `claim` (without the leading `?`).
pub fn sign(key: &[u8], claim: &KeepClaim) -> String {
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    format!(
        "app={}&user={}&cycle={}&exp={}&sig={}",
        enc(claim.app.as_str()),
        enc(claim.user.as_str()),
        claim.cycle,
        claim.expires_at.timestamp(),
        URL_SAFE_NO_PAD.encode(mac(key, claim))
    )
}

/// The full URL under `base` (`LOADOUT_PUBLIC_BASE_URL`).
pub fn url(base: &str, key: &[u8], claim: &KeepClaim) -> String {
    format!(
        "{}{KEEP_PATH}?{}",
        base.trim_end_matches('/'),
        sign(key, claim)
    )
}

/// Checks a link's decoded query parameters against the current key (and the previous one during
/// a rotation). The signature is checked before the expiry, so a forged link is always "forged".
pub fn verify(
    query: &[(String, String)],
    keys: &[&[u8]],
    now: DateTime<Utc>,
) -> Result<KeepClaim, LinkError> {
    let param = |name: &'static str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
            .ok_or(LinkError::Malformed(name))
    };
    let number = |name: &'static str| {
        param(name)?
            .parse::<i64>()
            .map_err(|_| LinkError::Malformed(name))
    };
    let app = AppId::new(param("app")?);
    let user = UserId::new(param("user")?);
    let cycle = number("cycle")?;
    let expires_at =
        DateTime::<Utc>::from_timestamp(number("exp")?, 0).ok_or(LinkError::Malformed("exp"))?;
    let sig = URL_SAFE_NO_PAD
        .decode(param("sig")?)
        .map_err(|_| LinkError::Malformed("sig"))?;
    let claim = KeepClaim {
        app,
        user,
        cycle,
        expires_at,
    };
    let genuine = keys
        .iter()
        .any(|key| crate::webhook::constant_time_eq(&sig, &mac(key, &claim)));
    if !genuine {
        return Err(LinkError::Forged);
    }
    if now > expires_at {
        return Err(LinkError::Expired(expires_at));
    }
    Ok(claim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::InboundRequest;

    fn claim(now: DateTime<Utc>) -> KeepClaim {
        KeepClaim {
            app: AppId::new("gong"),
            user: UserId::new("ana.lopez@example.com"),
            cycle: 1_700_000_000,
            expires_at: now + chrono::Duration::days(14),
        }
    }

    fn query_of(link: &str) -> Vec<(String, String)> {
        let raw = link.split_once('?').map(|(_, q)| q).unwrap_or(link);
        InboundRequest::parse_query(raw)
    }

    #[test]
    fn a_signed_link_verifies_with_a_secret_that_has_spaces() {
        let now = DateTime::<Utc>::from_timestamp(Utc::now().timestamp(), 0).expect("now");
        let key = b"correct horse battery staple ";
        let link = url("https://loadout.example.com/", key, &claim(now));
        assert!(
            link.starts_with(
                "https://loadout.example.com/reclaim/keep?app=gong&user=ana%2Elopez%40example%2Ecom"
            ),
            "{link}"
        );
        assert_eq!(verify(&query_of(&link), &[key], now), Ok(claim(now)));
        let trimmed: &[u8] = b"correct horse battery staple";
        assert_eq!(
            verify(&query_of(&link), &[trimmed], now),
            Err(LinkError::Forged),
            "the secret is used whole"
        );
    }

    #[test]
    fn an_edited_link_is_forged_and_an_old_one_expired() {
        let now = Utc::now();
        let key = b"k3y with spaces";
        let link = sign(key, &claim(now));
        let edited = link.replace("user=ana", "user=bob");
        assert_eq!(
            verify(&query_of(&edited), &[key], now),
            Err(LinkError::Forged)
        );
        let later = now + chrono::Duration::days(15);
        assert!(matches!(
            verify(&query_of(&link), &[key], later),
            Err(LinkError::Expired(_))
        ));
        assert_eq!(
            verify(&query_of("app=gong&user=x"), &[key], now),
            Err(LinkError::Malformed("cycle"))
        );
    }

    #[test]
    fn a_link_signed_with_the_previous_secret_still_works_during_a_rotation() {
        let now = Utc::now();
        let link = sign(b"old secret", &claim(now));
        let keys: [&[u8]; 2] = [b"new secret", b"old secret"];
        assert!(verify(&query_of(&link), &keys, now).is_ok());
    }
}
