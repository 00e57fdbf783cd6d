//! Inbound webhooks: one module per source. Each verifies the request as its sender signs or
//! authenticates it and normalizes the payload into domain events; nothing here does I/O.

pub mod bamboohr;
pub mod bounded;
pub mod error;
pub mod graph;
pub mod hris;
pub mod http;
pub mod okta;
pub mod secret;
pub mod standard_webhooks;
pub mod uem_events;

pub use error::WebhookError;
pub use http::{ApiResponse, InboundRequest};
pub use secret::RotatingSecret;

use crate::domain::DomainEvent;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Compares a presented credential with the configured one without revealing, through timing,
/// where they differ or how long the configured one is: both sides are hashed to 32 bytes first.
pub fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    let a = Sha256::digest(presented);
    let b = Sha256::digest(expected);
    a.ct_eq(&b).into()
}

/// Source event ids become idempotency keys: bounded, printable, no separators of our keys.
pub fn valid_source_event_id(id: &str) -> bool {
    !id.trim().is_empty() && id.len() <= 256 && id.chars().all(|c| !c.is_control() && c != '#')
}

/// Lowercase hex SHA-256, for deduplication keys of payloads that carry no id of their own.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// How long a payload without an id of its own is taken for a redelivery of an identical one.
/// Such a payload (a Graph notification without `id`, a BambooHR event without `timestamp`) has
/// nothing but its content to be known by, and the same change made twice has the same content:
/// so its key is its content hash *and* the window it arrived in. Senders retry within minutes
/// (Okta once, BambooHR after 5 and 10 minutes, Graph with backoff), and a redelivery that
/// lands in a later window is only read once more (enrichment reads the current state, and
/// decisions are idempotent), while a real repeat is no longer dropped for the 7 days
/// idempotency keys are kept.
pub const CONTENT_KEY_WINDOW_SECONDS: i64 = 300;

/// The key of a payload known only by its content: `sha256:<hash>:<window>`.
pub fn content_key(content: &[u8], arrived: chrono::DateTime<chrono::Utc>) -> String {
    let window = arrived.timestamp().div_euclid(CONTENT_KEY_WINDOW_SECONDS);
    format!("sha256:{}:{window}", sha256_hex(content))
}

/// What one request's payload normalized to. A bad item does not spoil the good ones: it is
/// listed in `skipped` with why, and the rest are queued.
#[derive(Debug, Default)]
pub struct Normalized {
    pub events: Vec<DomainEvent>,
    pub skipped: Vec<SkippedItem>,
    /// For each event, the position of the item it came from in the source's list (one item
    /// may give several events: Graph's `members@delta`).
    pub origins: Vec<usize>,
}

impl Normalized {
    pub fn one(event: DomainEvent) -> Self {
        Self {
            events: vec![event],
            skipped: Vec::new(),
            origins: vec![0],
        }
    }

    /// An event made of the item at `index`.
    pub fn push(&mut self, index: usize, event: DomainEvent) {
        self.events.push(event);
        self.origins.push(index);
    }

    /// The item the `n`th event came from.
    pub fn origin(&self, n: usize) -> usize {
        self.origins.get(n).copied().unwrap_or(n)
    }

    pub fn skip(&mut self, index: usize, source_event_id: Option<String>, error: WebhookError) {
        self.skipped.push(SkippedItem {
            index,
            source_event_id,
            error,
        });
    }
}

/// An item of a batch that was not turned into an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedItem {
    /// Position in the source's list (0 for single-event payloads).
    pub index: usize,
    pub source_event_id: Option<String>,
    pub error: WebhookError,
}

impl SkippedItem {
    /// Items of types Loadout does not act on are ignored; every other skip is a refusal that
    /// gets an audit record.
    pub fn is_refusal(&self) -> bool {
        !matches!(self.error, WebhookError::UnknownEventType(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_credentials_compare_equal_and_others_do_not() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret-and-more", b"s3cret"));
    }

    #[test]
    fn source_event_ids_are_bounded_and_printable() {
        assert!(valid_source_event_id(
            "f790999f-7270-11e8-a4b6-5d6b7dc9d5b3"
        ));
        assert!(!valid_source_event_id(""));
        assert!(!valid_source_event_id("a#b"));
        assert!(!valid_source_event_id("line\nbreak"));
        assert!(!valid_source_event_id(&"x".repeat(257)));
    }
}
