//! `loadout dlq list|replay [--queue Q]`: what sits in the dead-letter queues and why (the reason
//! is in the audit record written when the message was moved), and sending it back to its queue
//! once the cause is fixed. Works on the ports, so the same code reads SQS or the local queue.

use crate::domain::{AuditKind, AuditRecord, CorrelationId};
use crate::ports::queue::names;
use crate::ports::{AuditQuery, OutgoingMessage};
use crate::stages::{Services, StageError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// The queues that have a dead-letter queue.
pub const QUEUES: [&str; 4] = [names::ENRICH, names::DECIDE, names::EXECUTE, names::FLUSH];

/// How long listed messages stay hidden from other readers of the dead-letter queue.
const PEEK: Duration = Duration::from_secs(5);

/// Most messages read from one dead-letter queue at a time.
const MAX_LISTED: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub queue: String,
    pub message_id: String,
    pub correlation_id: Option<String>,
    pub kind: Option<String>,
    /// Why it was dead-lettered, from the audit (when it can be found).
    pub reason: Option<String>,
    pub receive_count: u32,
    pub body_bytes: usize,
}

fn correlation_of(body: &str) -> (Option<String>, Option<String>, Option<String>) {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    (text("correlation_id"), text("kind"), text("event_id"))
}

/// The reasons of the dead-letter records of a correlation id, by message id.
async fn reasons(
    services: &Services,
    correlation: &str,
) -> Result<BTreeMap<String, String>, StageError> {
    let records = services
        .audit
        .query(&AuditQuery {
            correlation_id: Some(CorrelationId::new(correlation)),
            ..AuditQuery::default()
        })
        .await?;
    let mut out = BTreeMap::new();
    for r in records
        .into_iter()
        .filter(|r| r.kind == AuditKind::DeadLettered)
    {
        let id = r.detail.get("message_id").and_then(|m| m.as_str());
        let reason = r.detail.get("reason").and_then(|m| m.as_str());
        if let (Some(id), Some(reason)) = (id, reason) {
            out.insert(id.to_owned(), reason.to_owned());
        }
    }
    Ok(out)
}

/// Every message in the dead-letter queues of `queues` (all when empty), left where it is.
pub async fn list(services: &Services, queues: &[&str]) -> Result<Vec<DeadLetter>, StageError> {
    let queues: Vec<&str> = if queues.is_empty() {
        QUEUES.to_vec()
    } else {
        queues.to_vec()
    };
    let mut out = Vec::new();
    for queue in queues {
        let dlq = names::dead_letter(queue);
        let mut seen = Vec::new();
        while seen.len() < MAX_LISTED {
            let batch = services.queue.receive(&dlq, 10, PEEK).await?;
            if batch.is_empty() {
                break;
            }
            seen.extend(batch);
        }
        for m in &seen {
            let (correlation, kind, _) = correlation_of(&m.body);
            let reason = match &correlation {
                Some(c) => {
                    let mut known = reasons(services, c).await?;
                    // A redrive may give the message a new id: then the correlation's latest
                    // dead-letter reason is the best there is.
                    known
                        .remove(&m.message_id)
                        .or_else(|| known.into_values().last())
                }
                None => None,
            };
            out.push(DeadLetter {
                queue: queue.to_owned(),
                message_id: m.message_id.clone(),
                correlation_id: correlation.clone(),
                kind,
                reason,
                receive_count: m.receive_count,
                body_bytes: m.body.len(),
            });
        }
        // Put them back at once: listing moves nothing.
        for m in seen {
            services
                .queue
                .release(&dlq, &m.receipt, Duration::ZERO)
                .await?;
        }
    }
    Ok(out)
}

/// Sends every message of the dead-letter queues of `queues` back to its queue (or only
/// `dry_run` counts them); each replay is audited. Returns how many were (or would be) replayed.
pub async fn replay(
    services: &Services,
    queues: &[&str],
    actor: &str,
    dry_run: bool,
) -> Result<usize, StageError> {
    let queues: Vec<&str> = if queues.is_empty() {
        QUEUES.to_vec()
    } else {
        queues.to_vec()
    };
    let mut replayed = 0;
    for queue in queues {
        let dlq = names::dead_letter(queue);
        loop {
            let batch = services
                .queue
                .receive(&dlq, 10, Duration::from_secs(30))
                .await?;
            if batch.is_empty() {
                break;
            }
            for m in batch {
                if dry_run {
                    services.queue.release(&dlq, &m.receipt, PEEK).await?;
                    replayed += 1;
                    continue;
                }
                let outgoing = if names::is_fifo(queue) {
                    OutgoingMessage::fifo(
                        m.body.clone(),
                        m.group_id.clone().unwrap_or_else(|| "replay".into()),
                        format!("replay-{}", m.message_id),
                    )
                } else {
                    OutgoingMessage::standard(m.body.clone())
                };
                services.queue.send(queue, vec![outgoing]).await?;
                services.queue.ack(&dlq, &m.receipt).await?;
                let (correlation, _, _) = correlation_of(&m.body);
                services
                    .audit(
                        AuditRecord::new(
                            services.clock.now(),
                            CorrelationId::new(
                                correlation.unwrap_or_else(|| "unattributed".into()),
                            ),
                            AuditKind::EventAccepted,
                            actor,
                            format!("replayed from {dlq} to {queue}"),
                        )
                        .detail(json!({"message_id": m.message_id, "queue": queue})),
                    )
                    .await?;
                replayed += 1;
            }
            if dry_run {
                // Released messages come back after PEEK; one pass counts each once.
                break;
            }
        }
    }
    Ok(replayed)
}
