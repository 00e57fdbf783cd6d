//! Queue an event once per key, however often it is delivered: the idempotent step behind
//! intake (one key per source event id) and the group fan-out (one key per member of a group
//! change). The key is claimed with a conditional put that records the envelope; what was never
//! sent is sent, all of a batch in one queue call; a repeat gets the ids of the first delivery.
//!
//! A key that comes back with *different* content is a conflict (the payload-hash check of AWS
//! Powertools' idempotency): the first event stands and the caller reports the second.

use super::{Services, StageError};
use crate::domain::{CorrelationId, DomainEvent, Envelope, EventId, MessageKind};
use crate::ports::queue::names;
use crate::ports::{Condition, OutgoingMessage, StateStoreExt};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// State-store calls in flight at once for one batch: enough to hide the round trips of a batch
/// of hundreds, few enough not to flood the table or the connection pool.
const CONCURRENCY: usize = 16;

/// What is remembered per key (the inbound idempotency record).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    event_id: EventId,
    correlation_id: CorrelationId,
    /// False until the event is on the queue: a crash in between is repaired by the redelivery.
    queued: bool,
    envelope: Envelope<DomainEvent>,
    /// What the event says (see [`fingerprint`]); absent in records written before it existed.
    #[serde(default)]
    fingerprint: Option<String>,
}

/// One event to queue once under `(pk, sk)`.
#[derive(Debug, Clone)]
pub struct Once {
    pub pk: String,
    pub sk: String,
    pub event: DomainEvent,
    /// The correlation id a first delivery gets (a repeat keeps the first one's).
    pub correlation_id: CorrelationId,
}

/// The ids an event was given: its own, or the first delivery's for a repeat.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub event_id: EventId,
    pub correlation_id: CorrelationId,
    /// The event as first queued.
    pub event: DomainEvent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// First seen now (and queued).
    New(Queued),
    /// Seen before with the same content: nothing new was queued (unless the first delivery
    /// crashed before queueing, which this one repairs).
    Repeat(Queued),
    /// Seen before with other content: nothing was queued; the first event stands.
    Conflict(Queued),
}

/// What an event says, for telling a redelivery from a reused id: its source, kind, subject,
/// profile and changed fields, hashed. Not its ids (new per delivery) nor its time (Graph's is the
/// arrival time), as Powertools hashes a chosen part of the payload.
pub fn fingerprint(event: &DomainEvent) -> String {
    let content = serde_json::to_vec(&(
        event.source.as_str(),
        event.kind.as_str(),
        &event.subject,
        &event.employee,
        &event.changed_fields,
    ))
    .unwrap_or_default();
    hex::encode(Sha256::digest(content))
}

/// Claims every key, queues (in one send) what was not queued before, and marks it queued. The
/// answer is in the order of `items`. Any store or queue failure is an error for the whole
/// batch: what was claimed is queued by the sender's retry.
pub async fn queue_once(
    s: &Services,
    queue: &str,
    items: Vec<Once>,
    ttl_seconds: i64,
) -> Result<Vec<Claim>, StageError> {
    let expires = s.clock.now().timestamp().saturating_add(ttl_seconds);
    // The futures are made first and then run: a closure making them inside the stream
    // combinator trips the compiler's Send inference for borrowed state ("implementation of
    // `Send` is not general enough" where the stage is spawned).
    let claiming: Vec<_> = items
        .into_iter()
        .map(|item| claim(s, item, expires))
        .collect();
    let claims: Vec<Result<(Once, Record, u64, Seen), StageError>> =
        futures::stream::iter(claiming)
            .buffered(CONCURRENCY)
            .collect()
            .await;
    let claims = claims.into_iter().collect::<Result<Vec<_>, _>>()?;
    let unsent: Vec<OutgoingMessage> = claims
        .iter()
        .filter(|(_, record, _, seen)| *seen != Seen::Conflict && !record.queued)
        .map(|(_, record, _, _)| {
            serde_json::to_string(&record.envelope)
                .map(OutgoingMessage::standard)
                .map_err(|e| StageError::Permanent(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    if !unsent.is_empty() {
        s.queue.send(queue, unsent).await?;
    }
    let marks: Vec<_> = claims
        .iter()
        .filter(|(_, record, _, seen)| *seen != Seen::Conflict && !record.queued)
        .map(|(item, record, version, _)| mark_queued(s, item, record, *version, expires))
        .collect();
    futures::stream::iter(marks)
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    Ok(claims
        .into_iter()
        .map(|(_, record, _, seen)| {
            let queued = Queued {
                event_id: record.event_id,
                correlation_id: record.correlation_id,
                event: record.envelope.payload,
            };
            match seen {
                Seen::First => Claim::New(queued),
                Seen::Again => Claim::Repeat(queued),
                Seen::Conflict => Claim::Conflict(queued),
            }
        })
        .collect())
}

/// The default `queue` of intake: enrichment.
pub async fn queue_for_enrichment(
    s: &Services,
    items: Vec<Once>,
) -> Result<Vec<Claim>, StageError> {
    let ttl = i64::try_from(s.settings.idempotency_ttl.as_secs()).unwrap_or(i64::MAX);
    queue_once(s, names::ENRICH, items, ttl).await
}

async fn mark_queued(s: &Services, item: &Once, record: &Record, version: u64, expires: i64) {
    let mut queued = record.clone();
    queued.queued = true;
    // Losing this race only means another delivery also queued it; downstream dedupes.
    let _ = s
        .store
        .put_as(
            &item.pk,
            &item.sk,
            &queued,
            Some(expires),
            Condition::Version(version),
        )
        .await;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    First,
    Again,
    Conflict,
}

async fn claim(
    s: &Services,
    item: Once,
    expires: i64,
) -> Result<(Once, Record, u64, Seen), StageError> {
    let event = &item.event;
    let record = Record {
        event_id: event.event_id.clone(),
        correlation_id: item.correlation_id.clone(),
        queued: false,
        envelope: Envelope::new(
            MessageKind::Event,
            event.event_id.clone(),
            item.correlation_id.clone(),
            event.occurred_at,
            event.clone(),
        ),
        fingerprint: Some(fingerprint(event)),
    };
    match s
        .store
        .put_as(
            &item.pk,
            &item.sk,
            &record,
            Some(expires),
            Condition::NotExists,
        )
        .await
    {
        Ok(version) => Ok((item, record, version, Seen::First)),
        Err(e) if e.is_condition_failed() => {
            let Some((existing, version)) = s.store.get_as::<Record>(&item.pk, &item.sk).await?
            else {
                return Err(StageError::Retryable("idempotency record vanished".into()));
            };
            let seen = match (&existing.fingerprint, &record.fingerprint) {
                (Some(first), Some(now)) if first != now => Seen::Conflict,
                _ => Seen::Again,
            };
            Ok((item, existing, version, seen))
        }
        Err(e) => Err(e.into()),
    }
}
