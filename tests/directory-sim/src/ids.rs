//! Deterministic identifiers. Tests and Loadout's e2e suite must know a person's Entra object id,
//! Okta user id and BambooHR employee id before any request is made, so ids derive from names, never from
//! randomness or start order.

use sha2::{Digest, Sha256};

/// A GUID derived from a kind and a name (a v4-shaped UUID over the name's SHA-256), so the same
/// user name always has the same Entra object id.
pub(crate) fn derived_guid(kind: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{kind}:{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

pub(crate) fn user_guid(user_name: &str) -> String {
    derived_guid("entra-user", user_name)
}

pub(crate) fn group_guid(display_name: &str) -> String {
    derived_guid("entra-group", display_name)
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// An Okta-shaped id: a three-character type prefix (`00u` users, `00g` groups, `oty` user
/// types) and 17 alphanumerics from the name's SHA-256, 20 characters in all like Okta's.
pub(crate) fn okta_shaped(prefix: &str, kind: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{kind}:{name}").as_bytes());
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| char::from(BASE62[usize::from(*b) % BASE62.len()]))
        .collect();
    format!("{prefix}{tail}")
}

pub(crate) fn okta_user_id(user_name: &str) -> String {
    okta_shaped("00u", "okta-user", user_name)
}

pub(crate) fn okta_group_id(name: &str) -> String {
    okta_shaped("00g", "okta-group", name)
}

/// `len` random alphanumerics: Okta's request ids and error ids are opaque and never repeat.
pub(crate) fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in uuid::Uuid::new_v4().as_bytes() {
            if out.len() < len {
                out.push(char::from(BASE62[usize::from(*b) % BASE62.len()]));
            }
        }
    }
    out
}

/// Hex of a name's SHA-256, cut to `len` characters: stable secrets and API keys.
pub(crate) fn derived_hex(name: &str, len: usize) -> String {
    let mut text = hex::encode(Sha256::digest(name.as_bytes()));
    text.truncate(len);
    text
}

/// BambooHR's first seeded employee id; later ones follow in seed order.
pub(crate) const FIRST_BAMBOO_ID: u64 = 101;

/// A stable hire date per employee (`YYYY-MM-DD`); `Person` has no hire date of its own.
pub(crate) fn hire_date(bamboo_id: u64) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(2019, 1, 7).unwrap_or_default();
    let days = i64::try_from((bamboo_id * 37) % 2000).unwrap_or(0);
    (start + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_stable_and_distinct() {
        assert_eq!(user_guid("rchen"), user_guid("rchen"));
        assert_ne!(user_guid("rchen"), user_guid("amiller"));
        assert_ne!(user_guid("x"), group_guid("x"));
        assert_eq!(user_guid("rchen").len(), 36);
        assert!(uuid::Uuid::parse_str(&user_guid("rchen")).is_ok());
    }

    #[test]
    fn okta_ids_look_like_okta_ids() {
        let id = okta_user_id("rchen");
        assert_eq!(id, okta_user_id("rchen"));
        assert_ne!(id, okta_user_id("amiller"));
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("00u"));
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(okta_group_id("Engineering").starts_with("00g"));
        let r = random_base62(25);
        assert_eq!(r.len(), 25);
        assert_ne!(r, random_base62(25));
    }

    #[test]
    fn hire_dates_are_dates() {
        assert!(chrono::NaiveDate::parse_from_str(&hire_date(101), "%Y-%m-%d").is_ok());
    }
}
