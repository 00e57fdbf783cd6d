//! Re-evaluating users without an inbound event: the first reconciliation after Loadout is set up,
//! or after a policy push. Each user gets an `update` event from the `admin` source on the enrich
//! queue, all under one correlation id so the whole run can be audited and rolled back as one.

use super::{Services, StageError};
use crate::domain::{
    AuditKind, AuditRecord, CorrelationId, DomainEvent, Envelope, EventId, EventKind, EventSource,
    MessageKind, Subject, UserId,
};
use crate::ports::OutgoingMessage;
use crate::ports::queue::names;
use serde_json::json;

/// Queues a re-evaluation of every user; returns the run's correlation id.
pub async fn enqueue(
    services: &Services,
    users: &[UserId],
    reason: &str,
) -> Result<CorrelationId, StageError> {
    let correlation = CorrelationId::generate();
    enqueue_under(services, users, reason, &correlation).await?;
    Ok(correlation)
}

/// Queues a re-evaluation of these users under an existing correlation id (a sweep's).
pub async fn enqueue_under(
    services: &Services,
    users: &[UserId],
    reason: &str,
    correlation: &CorrelationId,
) -> Result<(), StageError> {
    if users.is_empty() {
        return Ok(());
    }
    let now = services.clock.now();
    let mut messages = Vec::with_capacity(users.len());
    for user in users {
        let event = DomainEvent {
            event_id: EventId::generate(),
            source: EventSource::Admin,
            source_event_id: format!("resync-{correlation}-{user}"),
            kind: EventKind::Update,
            occurred_at: now,
            subject: Subject::user(user.clone()),
            employee: None,
            changed_fields: Vec::new(),
        };
        let envelope = Envelope::new(
            MessageKind::Event,
            event.event_id.clone(),
            correlation.clone(),
            now,
            event,
        );
        let body =
            serde_json::to_string(&envelope).map_err(|e| StageError::Permanent(e.to_string()))?;
        messages.push(OutgoingMessage::standard(body));
    }
    services.queue.send(names::ENRICH, messages).await?;
    services
        .audit(
            AuditRecord::new(
                now,
                correlation.clone(),
                AuditKind::EventAccepted,
                "admin",
                format!("re-evaluation of {} user(s): {reason}", users.len()),
            )
            .detail(json!({"users": users.len(), "reason": reason})),
        )
        .await?;
    Ok(())
}
