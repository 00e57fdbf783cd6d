//! Standard Webhooks verification and the generic HR body. Input: `id \0 timestamp \0
//! signature \0 body`; missing parts are absent headers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadout::webhook::{hris, standard_webhooks};

const KEY: &[u8] = b"fuzz-key-fuzz-key-fuzz-key-32byt";

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |b| *b == 0);
    let id = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let timestamp = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let signature = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let body = parts.next().unwrap_or(data);
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
    let _ = standard_webhooks::verify(id, timestamp, signature, body, &[KEY.to_vec()], now);
    let _ = standard_webhooks::decode_secret(id.unwrap_or(""));
    let _ = hris::normalize(body, id.unwrap_or("fuzz"));
    // What we sign, we accept (with an id that can be an idempotency key; others are refused
    // before any hashing).
    let id = id
        .filter(|i| loadout::webhook::valid_source_event_id(i))
        .unwrap_or("msg");
    let signed = standard_webhooks::sign(KEY, id, now.timestamp(), body);
    let ts = now.timestamp().to_string();
    assert!(
        standard_webhooks::verify(
            Some(id),
            Some(&ts),
            Some(&signed),
            body,
            &[KEY.to_vec()],
            now
        )
        .is_ok()
    );
});
