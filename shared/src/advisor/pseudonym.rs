//! Stable pseudonyms: a keyed hash of the user id with a per-deployment key, so the same person
//! gets the same pseudonym in every prompt of a deployment (audit records and any model
//! invocation logs can be joined), while nobody without the key can go back to the id or test a
//! guess.

use crate::domain::UserId;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

/// A person as the model sees them: `p-` and 24 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pseudonym(pub String);

impl Pseudonym {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the adviser's pseudonym key must be at least {min} bytes, not {len}")]
pub struct PseudonymKeyError {
    pub len: usize,
    pub min: usize,
}

/// Turns user ids into pseudonyms with the deployment's key.
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: hmac::Hmac<Sha256>,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer(***)")
    }
}

/// Separates these hashes from any other use of the same key.
const DOMAIN: &[u8] = b"loadout-advisor-pseudonym-v1\0";

impl Pseudonymizer {
    pub const MIN_KEY_BYTES: usize = 16;

    pub fn new(key: &[u8]) -> Result<Self, PseudonymKeyError> {
        let short = PseudonymKeyError {
            len: key.len(),
            min: Self::MIN_KEY_BYTES,
        };
        if key.len() < Self::MIN_KEY_BYTES {
            return Err(short);
        }
        let mac = hmac::Hmac::<Sha256>::new_from_slice(key).map_err(|_| short)?;
        Ok(Self { mac })
    }

    pub fn pseudonym(&self, user: &UserId) -> Pseudonym {
        let mut mac = self.mac.clone();
        mac.update(DOMAIN);
        mac.update(user.as_str().as_bytes());
        let digest = mac.finalize().into_bytes();
        Pseudonym(format!("p-{}", hex::encode(&digest[..12])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_per_key_and_differ_between_keys() {
        let a = Pseudonymizer::new(b"deployment-key-one-0123").expect("key");
        let b = Pseudonymizer::new(b"deployment-key-two-0123").expect("key");
        let user = UserId::new("u-4821");
        assert_eq!(a.pseudonym(&user), a.pseudonym(&user));
        assert_ne!(a.pseudonym(&user), b.pseudonym(&user));
        assert_ne!(a.pseudonym(&user), a.pseudonym(&UserId::new("u-4822")));
        let p = a.pseudonym(&user);
        assert_eq!(p.as_str().len(), 2 + 24);
        assert!(!p.as_str().contains("4821"));
    }

    #[test]
    fn a_short_key_is_refused() {
        assert!(Pseudonymizer::new(b"short").is_err());
    }
}
