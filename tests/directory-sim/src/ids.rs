//! Deterministic identifiers. Tests and Loadout's e2e suite must know a person's Entra object id
//! and BambooHR employee id before any request is made, so ids derive from names, never from
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
    fn hire_dates_are_dates() {
        assert!(chrono::NaiveDate::parse_from_str(&hire_date(101), "%Y-%m-%d").is_ok());
    }
}
