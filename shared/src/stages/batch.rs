//! Processing a batch of queued messages the way SQS + Lambda expect: each message on its own,
//! failures reported per message (never the whole batch for one bad record), a FIFO message group
//! stopped at its first failure so its order holds (other groups, other users, go on), messages
//! that can never succeed dead-lettered with their reason in the audit, and messages the
//! invocation has no time left for handed back untouched instead of cut off mid-way.

use super::{Services, StageError};
use crate::deadline;
use crate::domain::{AuditKind, AuditRecord, CorrelationId, Envelope, EventId, SCHEMA_VERSION};
use crate::ports::OutgoingMessage;
use crate::ports::queue::names;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;
use tracing::Instrument;

/// A message is started only with this much of the invocation left (beyond the deadline's own
/// safety margin); the rest of the batch goes back to the queue.
const PER_MESSAGE_BUDGET: Duration = Duration::from_secs(1);

/// One delivered message, from an SQS event record or the local queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub message_id: String,
    pub body: String,
    /// 1 on first delivery.
    pub receive_count: u32,
    /// FIFO queues: the message group (one user's actions).
    pub group_id: Option<String>,
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
    // FIFO: the groups that failed in this batch; their later messages wait so the group keeps
    // its order. Other groups are other users and go on.
    let mut stopped: BTreeSet<String> = BTreeSet::new();
    for message in messages {
        let group = message.group_id.clone().unwrap_or_default();
        if fifo && stopped.contains(&group) {
            // Held back on its last delivery, it is dead-lettered for another message's failure:
            // the audit says so.
            if message.receive_count >= services.settings.max_receives {
                note_final_attempt(
                    services,
                    queue,
                    &message,
                    "held back behind an earlier message of its FIFO group that failed",
                )
                .await;
            }
            report.failed.push(message.message_id);
            continue;
        }
        if !deadline::allows(services.clock.now(), PER_MESSAGE_BUDGET) {
            // Not started: handed back whole, without counting as a failure of its own.
            tracing::info!(message_id = %message.message_id, "no time left in this invocation; handed back");
            report.failed.push(message.message_id);
            if fifo {
                stopped.insert(group);
            }
            continue;
        }
        let span = tracing::info_span!("message", queue, message_id = %message.message_id);
        match process(message.clone()).instrument(span).await {
            Ok(()) => report.succeeded += 1,
            Err(StageError::Permanent(reason)) => {
                tracing::warn!(reason = %reason, "dead-lettering a message that cannot succeed");
                match dead_letter(services, queue, &message, &reason).await {
                    Ok(()) => report.dead_lettered.push(message.message_id),
                    Err(e) => {
                        tracing::error!(error = %e, "dead-lettering failed; will retry");
                        report.failed.push(message.message_id);
                        if fifo {
                            stopped.insert(group);
                        }
                    }
                }
            }
            Err(StageError::Retryable(reason)) => {
                tracing::warn!(reason = %reason, receive_count = message.receive_count, "will retry");
                if message.receive_count >= services.settings.max_receives {
                    note_final_attempt(services, queue, &message, &reason).await;
                }
                report.failed.push(message.message_id);
                if fifo {
                    stopped.insert(group);
                }
            }
        }
    }
    report
}

#[cfg(test)]
pub(crate) mod tests {
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
        let message = |id: &str, group: &str, receive_count| InboundMessage {
            message_id: id.into(),
            body: json!({"correlation_id": format!("c-{id}")}).to_string(),
            receive_count,
            group_id: Some(group.into()),
        };
        let last = settings.max_receives;
        let report = process_each(
            &services,
            names::EXECUTE,
            vec![message("first", "ann", 1), message("second", "ann", last)],
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

    /// Services on an in-memory embedded store (shared with the lanes' tests).
    #[cfg(feature = "local")]
    pub(crate) fn local_services() -> Services {
        use crate::adapters::local::{
            LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
        };
        use crate::config::Settings;
        use crate::ports::{Clock, SystemClock};
        use std::sync::Arc;
        let db = LocalDb::in_memory().expect("db");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let settings = Settings::default();
        Services {
            store: Arc::new(SqliteStateStore::new(db.clone(), clock.clone())),
            audit: Arc::new(SqliteAuditLog::new(db.clone())),
            queue: Arc::new(SqliteQueue::new(
                db,
                clock.clone(),
                QueueSpec::pipeline(settings.max_receives),
            )),
            secrets: Arc::new(LocalSecrets::with_loader(Box::new(Default::default))),
            clock,
            settings,
        }
    }

    fn fifo_message(id: &str, group: &str) -> InboundMessage {
        InboundMessage {
            message_id: id.into(),
            body: json!({"correlation_id": format!("c-{id}")}).to_string(),
            receive_count: 1,
            group_id: Some(group.into()),
        }
    }

    #[cfg(feature = "local")]
    #[tokio::test]
    async fn a_failing_user_holds_back_only_their_own_fifo_group() {
        let services = local_services();
        let report = process_each(
            &services,
            names::EXECUTE,
            vec![
                fifo_message("ann-1", "ann"),
                fifo_message("bob-1", "bob"),
                fifo_message("ann-2", "ann"),
                fifo_message("bob-2", "bob"),
            ],
            |m| async move {
                if m.message_id == "ann-1" {
                    Err(StageError::Retryable("UEM refused ann for now".into()))
                } else {
                    Ok(())
                }
            },
        )
        .await;
        assert_eq!(report.failed, ["ann-1", "ann-2"]);
        assert_eq!(report.succeeded, 2, "bob's messages went on");
    }

    #[cfg(feature = "local")]
    #[tokio::test]
    async fn messages_the_invocation_has_no_time_for_are_handed_back_unstarted() {
        let services = local_services();
        let started = std::sync::Mutex::new(Vec::new());
        let deadline = services.clock.now() + chrono::Duration::seconds(1);
        let report = crate::deadline::within(
            deadline,
            process_each(
                &services,
                names::DECIDE,
                vec![fifo_message("a", "x"), fifo_message("b", "y")],
                |m| {
                    started.lock().unwrap().push(m.message_id.clone());
                    async { Ok(()) }
                },
            ),
        )
        .await;
        assert_eq!(report.failed, ["a", "b"]);
        assert!(started.lock().unwrap().is_empty());
    }
}
