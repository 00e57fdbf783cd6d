//! UEM's Basic credentials and event notifications. Input: `authorization \0 body`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadout::ports::secrets::keys;
use loadout::webhook::{RotatingSecret, uem_events};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |b| *b == 0);
    let authorization = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let body = parts.next().unwrap_or(data);
    let configured = RotatingSecret::single(keys::UEM_EVENTS_BASIC, "uem:fuzz-password-1234")
        .expect("valid");
    let _ = uem_events::verify(authorization, &configured);
    if let Some(text) = authorization {
        let _ = uem_events::parse_event_time(text);
    }
    if let Ok(n) = uem_events::normalize(body) {
        for e in &n.events {
            assert!(e.subject.device_id.is_some());
        }
    }
});
