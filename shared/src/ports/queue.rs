//! Queues with SQS semantics: at-least-once delivery, batch receive, a visibility timeout,
//! redelivery of what was not acknowledged, and dead-lettering after a maximum receive count.

use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    /// FIFO queues: messages of one group are delivered in order, one batch at a time.
    pub group_id: Option<String>,
    /// FIFO queues: a repeated id within the deduplication window is dropped.
    pub dedup_id: Option<String>,
    /// Standard queues: delivered no sooner than this after sending (SQS `DelaySeconds`, whole
    /// seconds, at most 15 minutes).
    pub delay: Option<Duration>,
}

impl OutgoingMessage {
    pub fn standard(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            group_id: None,
            dedup_id: None,
            delay: None,
        }
    }

    /// A standard-queue message delivered after `delay` (rounded up to whole seconds).
    pub fn delayed(body: impl Into<String>, delay: Duration) -> Self {
        Self {
            delay: Some(delay),
            ..Self::standard(body)
        }
    }

    pub fn fifo(
        body: impl Into<String>,
        group: impl Into<String>,
        dedup: impl Into<String>,
    ) -> Self {
        Self {
            body: body.into(),
            group_id: Some(group.into()),
            dedup_id: Some(dedup.into()),
            delay: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    /// Names this delivery; acknowledging needs it.
    pub receipt: String,
    pub body: String,
    /// 1 on first delivery.
    pub receive_count: u32,
    pub group_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("unknown queue {0:?}")]
    UnknownQueue(String),
    #[error("receipt is not valid (already acknowledged, or its visibility timed out)")]
    InvalidReceipt,
    #[error("queue {queue:?} rejected a message: {message}")]
    Rejected { queue: String, message: String },
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// SQS rounds delays to whole seconds (up, here, so a debounce is never shortened).
pub fn delay_seconds(delay: Option<Duration>) -> i64 {
    delay.map_or(0, |d| d.as_millis().div_ceil(1000) as i64)
}

/// SQS refuses per-message delays on FIFO queues and delays over 15 minutes.
pub fn delay_refusal(fifo: bool, messages: &[OutgoingMessage]) -> Option<String> {
    let delayed = messages.iter().filter_map(|m| m.delay);
    for delay in delayed {
        if fifo {
            return Some("FIFO queues take no per-message delay".into());
        }
        if delay > Duration::from_secs(900) {
            return Some("a message delay is at most 15 minutes".into());
        }
    }
    None
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends messages, batching as the backend allows; fails if any message was not accepted.
    async fn send(&self, queue: &str, messages: Vec<OutgoingMessage>) -> Result<(), QueueError>;

    /// Up to `max` visible messages; each becomes invisible for `visibility`. A message received
    /// more than the queue's maximum receive count moves to its dead-letter queue instead.
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Deletes a received message (it was processed).
    async fn ack(&self, queue: &str, receipt: &str) -> Result<(), QueueError>;

    /// Makes a received message visible again after `delay` (it failed and should be retried).
    async fn release(&self, queue: &str, receipt: &str, delay: Duration) -> Result<(), QueueError>;

    /// Approximate number of messages waiting (visible or in flight).
    async fn depth(&self, queue: &str) -> Result<usize, QueueError>;
}

/// Logical queue names; adapters map them to URLs or tables.
pub mod names {
    pub const ENRICH: &str = "enrich";
    pub const DECIDE: &str = "decide";
    pub const EXECUTE: &str = "execute";
    /// Nudges to apply an app's pending changes, delayed by the debounce window.
    pub const FLUSH: &str = "flush";

    /// The dead-letter queue of a queue.
    pub fn dead_letter(queue: &str) -> String {
        format!("{queue}-dlq")
    }

    /// Whether a queue is FIFO (ordered per group, deduplicated).
    pub fn is_fifo(queue: &str) -> bool {
        queue == EXECUTE || queue == "execute-dlq"
    }
}
