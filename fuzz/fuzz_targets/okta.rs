//! Okta's shared-secret check, the verification challenge and event hook deliveries. Input:
//! `authorization \0 challenge \0 body`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadout::ports::SecretString;
use loadout::ports::secrets::keys;
use loadout::webhook::{RotatingSecret, okta};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let authorization = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let challenge = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let body = parts.next().unwrap_or(data);
    let configured = RotatingSecret::new(
        keys::OKTA_AUTHORIZATION,
        SecretString::new("Basic b2t0YS1mdXp6LXNlY3JldA=="),
        Some(SecretString::new("okta-fuzz-previous-secret")),
    )
    .expect("valid secrets");
    if okta::verify(authorization, &configured).is_ok() {
        // Only a whole configured value passes, never a part of one.
        let presented = authorization.map(str::trim).unwrap_or_default();
        assert!(configured.values().any(|v| v == presented));
    }
    if let Ok(c) = okta::challenge(challenge) {
        assert!(c.len() <= 512);
    }
    if let Ok(n) = okta::normalize(body) {
        for e in &n.events {
            assert!(loadout::webhook::valid_source_event_id(&e.source_event_id));
        }
    }
});
