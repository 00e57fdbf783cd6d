//! BambooHR's signature scheme and both payload styles. Input: `timestamp \0 signature \0 body`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadout::webhook::bamboohr;

const KEY: &[u8] = b"bamboohr-fuzz-key";

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let timestamp = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let signature = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let body = parts.next().unwrap_or(data);
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
    let _ = bamboohr::verify(body, timestamp, signature, &[KEY.to_vec()], now);
    if let Some(t) = timestamp {
        let _ = bamboohr::parse_timestamp(t);
    }
    if let Ok(n) = bamboohr::normalize(body, now) {
        for e in &n.events {
            assert!(!e.source_event_id.is_empty());
        }
    }
    // A body signed with the current time always verifies.
    let ts = now.timestamp().to_string();
    let signed = bamboohr::sign(KEY, body, &ts);
    assert_eq!(
        bamboohr::verify(body, Some(&ts), Some(&signed), &[KEY.to_vec()], now),
        Ok(now)
    );
});
