//! A durable local queue with SQS semantics on SQLite: at-least-once delivery, batch receive,
//! visibility timeout, redelivery of what was not acknowledged, FIFO groups with deduplication,
//! and dead-lettering after a maximum receive count.

use super::db::LocalDb;
use crate::ports::queue::names;
use crate::ports::queue::{delay_refusal, delay_seconds};
use crate::ports::{Clock, OutgoingMessage, Queue, QueueError, ReceivedMessage};
use async_trait::async_trait;
use rusqlite::params;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// SQS keeps FIFO deduplication ids for five minutes.
const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub name: String,
    pub fifo: bool,
    /// Receives after which a message moves to `dead_letter` instead of being delivered again.
    pub max_receives: u32,
    pub dead_letter: Option<String>,
}

impl QueueSpec {
    /// A queue and its dead-letter queue, as the infra template defines them.
    pub fn with_dead_letter(name: &str, fifo: bool, max_receives: u32) -> [QueueSpec; 2] {
        let dlq = names::dead_letter(name);
        [
            QueueSpec {
                name: name.to_owned(),
                fifo,
                max_receives,
                dead_letter: Some(dlq.clone()),
            },
            QueueSpec {
                name: dlq,
                fifo,
                max_receives: u32::MAX,
                dead_letter: None,
            },
        ]
    }

    /// Loadout's pipeline queues: enrich and decide (standard), execute (FIFO), each with a DLQ.
    pub fn pipeline(max_receives: u32) -> Vec<QueueSpec> {
        let mut specs = Vec::new();
        specs.extend(Self::with_dead_letter(names::ENRICH, false, max_receives));
        specs.extend(Self::with_dead_letter(names::DECIDE, false, max_receives));
        specs.extend(Self::with_dead_letter(names::EXECUTE, true, max_receives));
        specs.extend(Self::with_dead_letter(names::FLUSH, false, max_receives));
        specs
    }
}

pub struct SqliteQueue {
    db: LocalDb,
    clock: Arc<dyn Clock>,
    specs: HashMap<String, QueueSpec>,
}

impl SqliteQueue {
    pub fn new(db: LocalDb, clock: Arc<dyn Clock>, specs: Vec<QueueSpec>) -> Self {
        Self {
            db,
            clock,
            specs: specs.into_iter().map(|s| (s.name.clone(), s)).collect(),
        }
    }

    fn spec(&self, queue: &str) -> Result<QueueSpec, QueueError> {
        self.specs
            .get(queue)
            .cloned()
            .ok_or_else(|| QueueError::UnknownQueue(queue.to_owned()))
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }
}

fn unavailable(e: rusqlite::Error) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

fn insert(
    tx: &rusqlite::Connection,
    queue: &str,
    body: &str,
    group: Option<&str>,
    now: i64,
    visible_at: i64,
) -> Result<(), QueueError> {
    tx.prepare_cached(
        "INSERT INTO queue_messages (queue, message_id, body, group_id, visible_at, receive_count, sent_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![queue, uuid::Uuid::new_v4().to_string(), body, group, visible_at, now])
    })
    .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send(&self, queue: &str, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
        let spec = self.spec(queue)?;
        if spec.fifo && messages.iter().any(|m| m.group_id.is_none()) {
            return Err(QueueError::Rejected {
                queue: queue.to_owned(),
                message: "a FIFO queue needs a message group id".into(),
            });
        }
        if let Some(message) = delay_refusal(spec.fifo, &messages) {
            return Err(QueueError::Rejected {
                queue: queue.to_owned(),
                message,
            });
        }
        let now = self.now_ms();
        self.db
            .with(move |conn| {
                let tx = conn.savepoint().map_err(unavailable)?;
                // By the expiry index: a send must not read every id still in the window.
                tx.execute(
                    "DELETE FROM queue_dedup WHERE queue = ?1 AND expires_at < ?2",
                    params![spec.name, now],
                )
                .map_err(unavailable)?;
                for m in &messages {
                    if spec.fifo
                        && let Some(dedup) = &m.dedup_id {
                            let fresh = tx
                                .execute(
                                    "INSERT INTO queue_dedup (queue, dedup_id, expires_at) VALUES (?1, ?2, ?3)
                                     ON CONFLICT DO NOTHING",
                                    params![spec.name, dedup, now + DEDUP_WINDOW_MS],
                                )
                                .map_err(unavailable)?;
                            if fresh == 0 {
                                continue; // a repeat within the window: accepted, not delivered
                            }
                        }
                    let visible_at = now + delay_seconds(m.delay) * 1000;
                    insert(&tx, &spec.name, &m.body, m.group_id.as_deref(), now, visible_at)?;
                }
                tx.commit().map_err(unavailable)
            })
            .await
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let spec = self.spec(queue)?;
        let now = self.now_ms();
        let visible_until = now + visibility.as_millis() as i64;
        self.db
            .with(move |conn| {
                let tx = conn.savepoint().map_err(unavailable)?;
                // FIFO: a group with a message in flight (or delayed) is blocked, so order within
                // it holds.
                let mut blocked: BTreeSet<String> = BTreeSet::new();
                if spec.fifo {
                    let mut stmt = tx
                        .prepare(
                            "SELECT DISTINCT group_id FROM queue_messages
                             WHERE queue = ?1 AND visible_at > ?2",
                        )
                        .map_err(unavailable)?;
                    let rows = stmt
                        .query_map(params![spec.name, now], |r| r.get::<_, Option<String>>(0))
                        .map_err(unavailable)?;
                    for g in rows {
                        if let Some(g) = g.map_err(unavailable)? {
                            blocked.insert(g);
                        }
                    }
                }
                // Only visible messages are candidates, oldest first, and only a bounded slice of
                // them: a backlog of thousands must not make every receive read them all.
                // (In-flight and delayed messages of a FIFO group are in `blocked` already.)
                // Walked in queue order: the planner's own choice (the visible ones by time, then
                // sorted) reads and sorts the whole backlog at every receive, 100,000 rows for a
                // tenant's first reconciliation.
                let candidates: Vec<(i64, String, String, Option<String>, u32)> = {
                    let mut stmt = tx
                        .prepare_cached(
                            "SELECT seq, message_id, body, group_id, receive_count
                             FROM queue_messages INDEXED BY queue_order
                             WHERE queue = ?1 AND visible_at <= ?2
                             ORDER BY seq LIMIT ?3",
                        )
                        .map_err(unavailable)?;
                    let window = (max.max(1) * 20) as i64;
                    let rows = stmt
                        .query_map(params![spec.name, now, window], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                        })
                        .map_err(unavailable)?;
                    rows.collect::<Result<_, _>>().map_err(unavailable)?
                };
                let mut out = Vec::new();
                for (seq, message_id, body, group, count) in candidates {
                    if out.len() >= max {
                        break;
                    }
                    if group.as_ref().is_some_and(|g| blocked.contains(g)) {
                        continue;
                    }
                    if count >= spec.max_receives {
                        if let Some(dlq) = &spec.dead_letter {
                            insert(&tx, dlq, &body, group.as_deref(), now, now)?;
                        }
                        tx.execute("DELETE FROM queue_messages WHERE seq = ?1", params![seq])
                            .map_err(unavailable)?;
                        continue;
                    }
                    let receipt = uuid::Uuid::new_v4().to_string();
                    tx.execute(
                        "UPDATE queue_messages SET receive_count = receive_count + 1, receipt = ?1,
                         visible_at = ?2 WHERE seq = ?3",
                        params![receipt, visible_until, seq],
                    )
                    .map_err(unavailable)?;
                    out.push(ReceivedMessage {
                        message_id,
                        receipt,
                        body,
                        receive_count: count + 1,
                        group_id: group,
                    });
                }
                tx.commit().map_err(unavailable)?;
                Ok(out)
            })
            .await
    }

    async fn ack(&self, queue: &str, receipt: &str) -> Result<(), QueueError> {
        let spec = self.spec(queue)?;
        let receipt = receipt.to_owned();
        self.db
            .with(move |conn| {
                let deleted = conn
                    .execute(
                        "DELETE FROM queue_messages WHERE queue = ?1 AND receipt = ?2",
                        params![spec.name, receipt],
                    )
                    .map_err(unavailable)?;
                if deleted == 0 {
                    Err(QueueError::InvalidReceipt)
                } else {
                    Ok(())
                }
            })
            .await
    }

    async fn release(&self, queue: &str, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let spec = self.spec(queue)?;
        let receipt = receipt.to_owned();
        let visible_at = self.now_ms() + delay.as_millis() as i64;
        self.db
            .with(move |conn| {
                let updated = conn
                    .execute(
                        "UPDATE queue_messages SET visible_at = ?1 WHERE queue = ?2 AND receipt = ?3",
                        params![visible_at, spec.name, receipt],
                    )
                    .map_err(unavailable)?;
                if updated == 0 {
                    Err(QueueError::InvalidReceipt)
                } else {
                    Ok(())
                }
            })
            .await
    }

    async fn depth(&self, queue: &str) -> Result<usize, QueueError> {
        let spec = self.spec(queue)?;
        self.db
            .with(move |conn| {
                let n: i64 = conn
                    .query_row(
                        "SELECT COUNT(*) FROM queue_messages WHERE queue = ?1",
                        params![spec.name],
                        |r| r.get(0),
                    )
                    .map_err(unavailable)?;
                Ok(n as usize)
            })
            .await
    }
}
