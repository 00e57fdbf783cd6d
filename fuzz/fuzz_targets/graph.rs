//! Graph's validation answer, clientState check and notification collections. Input:
//! `validation token \0 clientState \0 body`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadout::ports::secrets::keys;
use loadout::webhook::{RotatingSecret, graph};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let token = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let state = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let body = parts.next().unwrap_or(data);
    if let Some(answer) = token.and_then(|t| graph::validation_answer(t).ok()) {
        assert!(!answer.contains('<') && !answer.contains('>'));
    }
    let configured =
        RotatingSecret::single(keys::GRAPH_CLIENT_STATE, "graph-fuzz-state").expect("valid");
    let _ = graph::verify_client_state(state, &configured);
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
    let _ = graph::normalize(body, &configured, now);
    // Items with the fuzzer's own clientState reach the parser past the check as well.
    if let Some(own) = state.and_then(|s| RotatingSecret::single(keys::GRAPH_CLIENT_STATE, s).ok())
    {
        let _ = graph::normalize(body, &own, now);
    }
});
