//! The secret a sender authenticates with (Okta's `Authorization` value, Graph's clientState, UEM's
//! Basic credentials, an HMAC key). A configured secret is one value and is compared whole: it is
//! never split, so no part of it (`Basic` of `Basic <base64>`) passes for the whole. A rotation
//! keeps the value being retired beside it, under `<NAME>_PREVIOUS`, until the sender has
//! switched (DESIGN.md, Secrets and settings).

use super::constant_time_eq;
use super::standard_webhooks;
use crate::ports::SecretString;
use crate::ports::secrets::keys;

/// The shortest secret Loadout accepts; anything shorter is refused at start-up (and the route
/// answers 503 if one appears later), naming the setting.
pub const MIN_SECRET_BYTES: usize = 16;

/// Why a configured secret cannot be used. Names the setting, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSecret {
    #[error("{setting} is shorter than {MIN_SECRET_BYTES} bytes; configure a longer, random value")]
    TooShort { setting: String },
    #[error("{setting} is not a Standard Webhooks key (whsec_ followed by base64)")]
    NotAKey { setting: String },
}

impl InvalidSecret {
    pub fn setting(&self) -> &str {
        match self {
            InvalidSecret::TooShort { setting } | InvalidSecret::NotAKey { setting } => setting,
        }
    }
}

/// Checks one configured value of `setting` (the current or the `_PREVIOUS` one). Surrounding
/// whitespace (a pasted newline) is not part of a secret; everything between is. An HMAC key of
/// Standard Webhooks is checked by its decoded key bytes, the rest by their own bytes.
pub fn validate(setting: &str, value: &str) -> Result<(), InvalidSecret> {
    let value = value.trim();
    let base = setting
        .strip_suffix(keys::PREVIOUS_SUFFIX)
        .unwrap_or(setting);
    let length = if base == keys::HRIS_HMAC_SECRET {
        standard_webhooks::decode_secret(value)
            .map_err(|_| InvalidSecret::NotAKey {
                setting: setting.to_owned(),
            })?
            .len()
    } else {
        value.len()
    };
    if length < MIN_SECRET_BYTES {
        return Err(InvalidSecret::TooShort {
            setting: setting.to_owned(),
        });
    }
    Ok(())
}

/// A configured secret: its current value and, during a rotation, the previous one.
#[derive(Clone, PartialEq, Eq)]
pub struct RotatingSecret {
    name: &'static str,
    current: SecretString,
    previous: Option<SecretString>,
}

impl std::fmt::Debug for RotatingSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatingSecret")
            .field("name", &self.name)
            .field("rotating", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

impl RotatingSecret {
    /// Both values checked with [`validate`]; an empty previous value counts as none.
    pub fn new(
        name: &'static str,
        current: SecretString,
        previous: Option<SecretString>,
    ) -> Result<Self, InvalidSecret> {
        validate(name, current.expose())?;
        let previous = previous.filter(|p| !p.expose().trim().is_empty());
        if let Some(previous) = &previous {
            validate(&keys::previous(name), previous.expose())?;
        }
        Ok(Self {
            name,
            current,
            previous,
        })
    }

    /// A secret with no previous value (tests, and senders that never rotate).
    pub fn single(name: &'static str, value: &str) -> Result<Self, InvalidSecret> {
        Self::new(name, SecretString::new(value), None)
    }

    /// The setting's name, for errors.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The accepted values, current first, each whole.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .map(|s| s.expose().trim())
    }

    /// Whether `presented` is exactly one of the accepted values, compared in constant time and
    /// without an early exit, so timing says neither which one matched nor how long they are.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let mut ok = false;
        for value in self.values() {
            ok |= constant_time_eq(presented, value.as_bytes());
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OKTA: &str = keys::OKTA_AUTHORIZATION;

    #[test]
    fn a_secret_is_compared_whole_never_split() {
        let s = RotatingSecret::single(OKTA, "Basic b2t0YS1ob29rOnMzY3JldC12YWx1ZQ==").expect("ok");
        assert!(s.matches(b"Basic b2t0YS1ob29rOnMzY3JldC12YWx1ZQ=="));
        assert!(!s.matches(b"Basic"));
        assert!(!s.matches(b"b2t0YS1ob29rOnMzY3JldC12YWx1ZQ=="));
        assert!(!s.matches(b""));
    }

    #[test]
    fn the_previous_value_is_accepted_beside_the_current_one() {
        let s = RotatingSecret::new(
            OKTA,
            SecretString::new("new-okta-secret-value"),
            Some(SecretString::new("old-okta-secret-value")),
        )
        .expect("ok");
        assert!(s.matches(b"new-okta-secret-value"));
        assert!(s.matches(b"old-okta-secret-value"));
        assert!(!s.matches(b"new-okta-secret-value old-okta-secret-value"));
    }

    #[test]
    fn short_secrets_are_refused_naming_the_setting() {
        let err = RotatingSecret::single(OKTA, "Basic").expect_err("short");
        assert_eq!(err.setting(), OKTA);
        assert!(err.to_string().contains(OKTA), "{err}");
        assert!(!err.to_string().contains("Basic"), "never the value: {err}");
        let err = RotatingSecret::new(
            OKTA,
            SecretString::new("a-long-enough-current-value"),
            Some(SecretString::new("short")),
        )
        .expect_err("short previous");
        assert_eq!(err.setting(), "LOADOUT_OKTA_AUTHORIZATION_PREVIOUS");
    }

    #[test]
    fn hmac_keys_are_measured_by_their_decoded_bytes() {
        // 12 key bytes behind a 22-character setting.
        assert!(matches!(
            validate(keys::HRIS_HMAC_SECRET, "whsec_AAAAAAAAAAAAAAAA"),
            Err(InvalidSecret::TooShort { .. })
        ));
        assert!(matches!(
            validate(keys::HRIS_HMAC_SECRET, "whsec_not base64!"),
            Err(InvalidSecret::NotAKey { .. })
        ));
        assert_eq!(
            validate(
                keys::HRIS_HMAC_SECRET,
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
            ),
            Ok(())
        );
    }

    #[test]
    fn surrounding_whitespace_is_not_part_of_the_secret() {
        let s = RotatingSecret::single(OKTA, "  okta-secret-value-123\n").expect("ok");
        assert!(s.matches(b"okta-secret-value-123"));
    }
}
