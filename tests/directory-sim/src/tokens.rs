//! Issued Graph access tokens. The simulator remembers what it issued rather than verifying a
//! signature: a client cannot tell the difference, and a test can expire every token at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What Entra reports as `expires_in` for an app-only Graph token.
pub(crate) const TOKEN_LIFETIME_SECS: u64 = 3599;

/// Why a bearer token is refused, or that it is fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Valid,
    Empty,
    Invalid,
    Expired,
}

#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    issued: HashMap<String, Instant>,
}

impl TokenStore {
    pub fn remember(&mut self, token: String) {
        self.issued.insert(
            token,
            Instant::now() + Duration::from_secs(TOKEN_LIFETIME_SECS),
        );
    }

    /// Every token issued so far is past its lifetime from now on.
    pub fn expire_all(&mut self) {
        let now = Instant::now();
        for at in self.issued.values_mut() {
            *at = now;
        }
    }

    pub fn check(&self, bearer: Option<&str>) -> TokenCheck {
        let Some(token) = bearer.map(str::trim).filter(|t| !t.is_empty()) else {
            return TokenCheck::Empty;
        };
        match self.issued.get(token) {
            None => TokenCheck::Invalid,
            Some(at) if Instant::now() >= *at => TokenCheck::Expired,
            Some(_) => TokenCheck::Valid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_valid_until_expired() {
        let mut s = TokenStore::default();
        assert_eq!(s.check(None), TokenCheck::Empty);
        assert_eq!(s.check(Some(" ")), TokenCheck::Empty);
        assert_eq!(s.check(Some("nope")), TokenCheck::Invalid);
        s.remember("t".into());
        assert_eq!(s.check(Some("t")), TokenCheck::Valid);
        s.expire_all();
        assert_eq!(s.check(Some("t")), TokenCheck::Expired);
    }
}
