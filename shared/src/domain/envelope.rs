//! The JSON envelope of every queued message (DESIGN.md, Messages).

use super::ids::{CorrelationId, EventId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Bumped when a payload changes incompatibly; consumers refuse versions they do not know.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A normalized inbound event, for the enricher.
    Event,
    /// An event with the user's context, for the decision engine.
    Enriched,
    /// One assign/remove action, for the executor.
    Action,
    /// A nudge to apply one app's pending changes (the executor's flush queue).
    Flush,
    /// An assignment the gates hold for approval: the executor opens ServiceNow requests for it.
    ApprovalRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<P> {
    pub schema_version: u32,
    pub kind: MessageKind,
    pub event_id: EventId,
    pub correlation_id: CorrelationId,
    pub occurred_at: DateTime<Utc>,
    pub attempt: u32,
    pub payload: P,
}

impl<P> Envelope<P> {
    pub fn new(
        kind: MessageKind,
        event_id: EventId,
        correlation_id: CorrelationId,
        occurred_at: DateTime<Utc>,
        payload: P,
    ) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            kind,
            event_id,
            correlation_id,
            occurred_at,
            attempt: 1,
            payload,
        }
    }

    /// The next stage's envelope: same ids, new kind and payload.
    pub fn forward<Q>(&self, kind: MessageKind, payload: Q) -> Envelope<Q> {
        Envelope {
            schema_version: SCHEMA_VERSION,
            kind,
            event_id: self.event_id.clone(),
            correlation_id: self.correlation_id.clone(),
            occurred_at: self.occurred_at,
            attempt: 1,
            payload,
        }
    }
}
