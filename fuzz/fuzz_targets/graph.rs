//! Graph's validation answer, clientState check and notification collections. Input:
//! `validation token \0 clientState \0 body`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadout::webhook::graph;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let token = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let state = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let body = parts.next().unwrap_or(data);
    if let Some(answer) = token.and_then(|t| graph::validation_answer(t).ok()) {
        assert!(!answer.contains('<') && !answer.contains('>'));
    }
    let _ = graph::verify_client_state(state, "graph-fuzz-state");
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
    let _ = graph::normalize(body, "graph-fuzz-state", now);
    // Items with the fuzzer's own clientState reach the parser past the check as well.
    if let Some(state) = state.filter(|s| !s.trim().is_empty()) {
        let _ = graph::normalize(body, state, now);
    }
});
