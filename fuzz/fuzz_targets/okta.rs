//! Okta's shared-secret check, the verification challenge and event hook deliveries. Input:
//! `authorization \0 challenge \0 body`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadout::webhook::okta;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let authorization = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let challenge = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let body = parts.next().unwrap_or(data);
    let _ = okta::verify(authorization, "okta-fuzz-secret other-secret");
    if let Ok(c) = okta::challenge(challenge) {
        assert!(c.len() <= 512);
    }
    if let Ok(n) = okta::normalize(body) {
        for e in &n.events {
            assert!(loadout::webhook::valid_source_event_id(&e.source_event_id));
        }
    }
});
