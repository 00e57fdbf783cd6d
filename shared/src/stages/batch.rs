//! Processing a batch of queued messages the way SQS + Lambda expect: each message on its own,
//! failures reported per message (never the whole batch for one bad record), FIFO batches stopped
//! at the first failure so order holds, and messages that can never succeed dead-lettered with
//! their reason in the audit.

use super::{Services, StageError};
use crate::domain::{AuditKind, AuditRecord, CorrelationId, Envelope, EventId, SCHEMA_VERSION};
use crate::ports::OutgoingMessage;
use crate::ports::queue::names;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::future::Future;

/// One delivered message, from an SQS event record or the local queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub message_id: String,
    pub body: String,
    /// 1 on first delivery.
    pub receive_count: u32,
}

/// Which messages must be delivered again (SQS `batchItemFailures`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub failed: Vec<String>,
    pub dead_lettered: Vec<String>,
    pub succeeded: usize,
}

/// Decodes an envelope, refusing unknown schema versions (a newer producer than this consumer).
pub fn decode_envelope<P: DeserializeOwned>(body: &str) -> Result<Envelope<P>, StageError> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| StageError::Permanent(format!("message is not JSON: {e}")))?;
    let version = value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| StageError::Permanent("message has no schema_version".into()))?;
    if version != u64::from(SCHEMA_VERSION) {
        return Err(StageError::Permanent(format!(
            "schema_version {version} is not supported (this build reads {SCHEMA_VERSION})"
        )));
    }
    serde_json::from_value(value)
        .map_err(|e| StageError::Permanent(format!("message does not match its schema: {e}")))
}

/// The correlation and event ids of a message body, as far as they can be read.
fn ids_of(body: &str) -> (CorrelationId, Option<EventId>) {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let correlation = value
        .get("correlation_id")
        .and_then(|v| v.as_str())
        .map(CorrelationId::from)
        .unwrap_or_else(|| CorrelationId::new("unattributed"));
    let event = value
        .get("event_id")
        .and_then(|v| v.as_str())
        .map(EventId::from);
    (correlation, event)
}

/// Moves a message to the queue's dead-letter queue now, with an audit record saying why.
pub async fn dead_letter(
    services: &Services,
    queue: &str,
    message: &InboundMessage,
    reason: &str,
) -> Result<(), StageError> {
    let (correlation, event) = ids_of(&message.body);
    let dlq = names::dead_letter(queue);
    let outgoing = if names::is_fifo(&dlq) {
        OutgoingMessage::fifo(
            message.body.clone(),
            "dead-letter",
            format!("dl-{}", message.message_id),
        )
    } else {
        OutgoingMessage::standard(message.body.clone())
    };
    services.queue.send(&dlq, vec![outgoing]).await?;
    let mut record = AuditRecord::new(
        services.clock.now(),
        correlation,
        AuditKind::DeadLettered,
        queue,
        format!("message moved to {dlq}: {reason}"),
    )
    .detail(json!({"message_id": message.message_id, "queue": queue, "reason": reason, "receive_count": message.receive_count}));
    if let Some(event) = event {
        record = record.event(&event);
    }
    services.audit(record).await
}

/// Records that a message failed on its last allowed delivery, so the redrive to the dead-letter
/// queue (done by SQS or the local queue) has its reason in the audit.
async fn note_final_attempt(
    services: &Services,
    queue: &str,
    message: &InboundMessage,
    reason: &str,
) {
    let (correlation, event) = ids_of(&message.body);
    let mut record = AuditRecord::new(
        services.clock.now(),
        correlation,
        AuditKind::DeadLettered,
        queue,
        format!(
            "failed on delivery {} of {}; moving to {}: {reason}",
            message.receive_count,
            services.settings.max_receives,
            names::dead_letter(queue)
        ),
    )
    .detail(json!({"message_id": message.message_id, "queue": queue, "reason": reason, "receive_count": message.receive_count}));
    if let Some(event) = event {
        record = record.event(&event);
    }
    if let Err(e) = services.audit(record).await {
        tracing::error!(error = %e, queue, "could not audit a final delivery failure");
    }
}

/// Runs `process` on every message and reports which to retry.
pub async fn process_each<F, Fut>(
    services: &Services,
    queue: &str,
    messages: Vec<InboundMessage>,
    process: F,
) -> BatchReport
where
    F: Fn(InboundMessage) -> Fut,
    Fut: Future<Output = Result<(), StageError>>,
{
    let fifo = names::is_fifo(queue);
    let mut report = BatchReport::default();
    let mut stopped = false;
    for message in messages {
        if stopped {
            // FIFO: everything after a failure is retried too, so the group keeps its order.
            // Held back on its last delivery, it is dead-lettered for another message's failure:
            // the audit says so.
            if message.receive_count >= services.settings.max_receives {
                note_final_attempt(
                    services,
                    queue,
                    &message,
                    "held back behind an earlier message of its FIFO batch that failed",
                )
                .await;
            }
            report.failed.push(message.message_id);
            continue;
        }
        let span = tracing::info_span!("message", queue, message_id = %message.message_id);
        let _guard = span.enter();
        match process(message.clone()).await {
            Ok(()) => report.succeeded += 1,
            Err(StageError::Permanent(reason)) => {
                tracing::warn!(reason = %reason, "dead-lettering a message that cannot succeed");
                match dead_letter(services, queue, &message, &reason).await {
                    Ok(()) => report.dead_lettered.push(message.message_id),
                    Err(e) => {
                        tracing::error!(error = %e, "dead-lettering failed; will retry");
                        report.failed.push(message.message_id);
                        stopped = fifo;
                    }
                }
            }
            Err(StageError::Retryable(reason)) => {
                tracing::warn!(reason = %reason, receive_count = message.receive_count, "will retry");
                if message.receive_count >= services.settings.max_receives {
                    note_final_attempt(services, queue, &message, &reason).await;
                }
                report.failed.push(message.message_id);
                stopped = fifo;
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_schema_versions_are_permanent_failures() {
        let body = json!({"schema_version": 99, "kind": "event"}).to_string();
        let err = decode_envelope::<serde_json::Value>(&body).expect_err("refused");
        assert!(err.is_permanent());
        assert!(err.to_string().contains("99"));
    }

    #[test]
    fn garbage_is_a_permanent_failure_not_a_panic() {
        assert!(
            decode_envelope::<serde_json::Value>("{{{")
                .expect_err("refused")
                .is_permanent()
        );
    }

    #[cfg(feature = "local")]
    #[tokio::test]
    async fn a_fifo_message_held_back_on_its_last_delivery_has_its_reason_audited() {
        use crate::adapters::local::{
            LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
        };
        use crate::config::Settings;
        use crate::domain::AuditKind;
        use crate::ports::{AuditQuery, Clock, SystemClock};
        use std::sync::Arc;

        let db = LocalDb::in_memory().expect("db");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let settings = Settings::default();
        let services = Services {
            store: Arc::new(SqliteStateStore::new(db.clone(), clock.clone())),
            audit: Arc::new(SqliteAuditLog::new(db.clone())),
            queue: Arc::new(SqliteQueue::new(
                db,
                clock.clone(),
                QueueSpec::pipeline(settings.max_receives),
            )),
            secrets: Arc::new(LocalSecrets::with_loader(Box::new(Default::default))),
            clock,
            settings: settings.clone(),
        };
        let message = |id: &str, receive_count| InboundMessage {
            message_id: id.into(),
            body: json!({"correlation_id": format!("c-{id}")}).to_string(),
            receive_count,
        };
        let last = settings.max_receives;
        let report = process_each(
            &services,
            names::EXECUTE,
            vec![message("first", 1), message("second", last)],
            |m| async move {
                if m.message_id == "first" {
                    Err(StageError::Retryable("UEM is down".into()))
                } else {
                    Ok(())
                }
            },
        )
        .await;
        assert_eq!(report.failed, ["first", "second"]);
        let audited: Vec<String> = services
            .audit
            .query(&AuditQuery::default())
            .await
            .expect("audit")
            .into_iter()
            .filter(|r| r.kind == AuditKind::DeadLettered)
            .map(|r| r.summary)
            .collect();
        assert_eq!(audited.len(), 1, "{audited:?}");
        assert!(audited[0].contains("held back"), "{}", audited[0]);
    }
}
