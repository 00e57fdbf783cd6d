//! The Standard Webhooks header parser on its own: `webhook-signature` (any number of entries,
//! any versions, any bytes) and `webhook-timestamp` (any integer text). Input: `timestamp \0
//! signature`. Nothing may panic, at most `MAX_SIGNATURES` entries are kept, and a header whose
//! first entry is what we sign always yields that signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadout::webhook::standard_webhooks::{self, MAX_SIGNATURES};

const KEY: &[u8] = b"fuzz-key-fuzz-key-fuzz-key-32byt";

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |b| *b == 0);
    let timestamp = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let header = String::from_utf8_lossy(parts.next().unwrap_or(data));
    let parsed = standard_webhooks::parse_signatures(&header);
    assert!(parsed.len() <= MAX_SIGNATURES);
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
    let _ = standard_webhooks::verify(
        Some("msg_fuzz"),
        timestamp,
        Some(&header),
        b"{}",
        &[KEY.to_vec()],
        now,
    );
    // Our own signature in front of whatever follows is found and verifies.
    let ours = standard_webhooks::sign(KEY, "msg_fuzz", now.timestamp(), b"{}");
    let combined = format!("{ours} {header}");
    assert!(!standard_webhooks::parse_signatures(&combined).is_empty());
    let ts = now.timestamp().to_string();
    assert!(
        standard_webhooks::verify(
            Some("msg_fuzz"),
            Some(&ts),
            Some(&combined),
            b"{}",
            &[KEY.to_vec()],
            now
        )
        .is_ok()
    );
});
