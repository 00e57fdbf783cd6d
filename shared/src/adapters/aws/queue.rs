//! `Queue` on SQS. Logical queue names (`enrich`, `execute`, `enrich-dlq`, ...) map to queue URLs
//! given at construction; dead-lettering is the queues' RedrivePolicy (maxReceiveCount), set when
//! they are created (infra/template.yaml, `provision`).

use super::sdk_error::describe;
use crate::ports::queue::{OutgoingMessage, Queue, QueueError, ReceivedMessage};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// SQS takes at most 10 entries per SendMessageBatch and returns at most 10 per ReceiveMessage.
const SQS_BATCH: usize = 10;
/// SQS's limit on the summed bodies of one SendMessageBatch (256 KiB).
const SQS_BATCH_BYTES: usize = 262_144;
/// SendMessageBatch attempts for entries that failed through no fault of ours.
const SEND_ATTEMPTS: u32 = 4;
/// SQS's ceiling for a visibility timeout (12 hours).
const MAX_VISIBILITY_SECS: u64 = 43_200;

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    urls: BTreeMap<String, String>,
    receive_wait: Duration,
}

impl SqsQueue {
    /// `urls`: logical name -> queue URL.
    pub fn new(client: Client, urls: BTreeMap<String, String>) -> Self {
        Self {
            client,
            urls,
            receive_wait: Duration::ZERO,
        }
    }

    /// Long polling for `receive` (at most 20 s). The default, zero, returns at once, which is what
    /// the port promises; a poller that loops on `receive` should wait a few seconds instead, so it
    /// does not spin and so SQS looks at all of its servers.
    pub fn with_receive_wait(mut self, wait: Duration) -> Self {
        self.receive_wait = wait.min(Duration::from_secs(20));
        self
    }

    pub fn url(&self, queue: &str) -> Result<&str, QueueError> {
        self.urls
            .get(queue)
            .map(String::as_str)
            .ok_or_else(|| QueueError::UnknownQueue(queue.to_owned()))
    }

    /// Sends one batch of at most 10, retrying the entries SQS failed on its side. Entry ids are
    /// the messages' positions in the batch.
    async fn send_batch(
        &self,
        queue: &str,
        url: &str,
        batch: &[OutgoingMessage],
    ) -> Result<(), QueueError> {
        let mut pending: Vec<usize> = (0..batch.len()).collect();
        let mut last_failure = String::new();
        for attempt in 0..SEND_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            let entries = pending
                .iter()
                .map(|&i| {
                    let m = &batch[i];
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&m.body)
                        .set_message_group_id(m.group_id.clone())
                        .set_message_deduplication_id(m.dedup_id.clone())
                        .set_delay_seconds(
                            m.delay
                                .map(|_| crate::ports::queue::delay_seconds(m.delay) as i32),
                        )
                        .build()
                        .map_err(|e| QueueError::Rejected {
                            queue: queue.to_owned(),
                            message: e.to_string(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| match e.as_service_error() {
                    Some(se) if se.is_queue_does_not_exist() => {
                        QueueError::UnknownQueue(queue.to_owned())
                    }
                    _ => QueueError::Unavailable(describe("SendMessageBatch", &e)),
                })?;
            if let Some(refused) = out.failed().iter().find(|f| f.sender_fault()) {
                return Err(QueueError::Rejected {
                    queue: queue.to_owned(),
                    message: format!(
                        "{}: {}",
                        refused.code(),
                        refused.message().unwrap_or("no message")
                    ),
                });
            }
            pending = out
                .failed()
                .iter()
                .filter_map(|f| f.id().parse::<usize>().ok())
                .filter(|&i| i < batch.len())
                .collect();
            if pending.is_empty() {
                return Ok(());
            }
            last_failure = out
                .failed()
                .iter()
                .map(|f| f.code().to_owned())
                .collect::<Vec<_>>()
                .join(", ");
            tracing::warn!(
                queue,
                failed = pending.len(),
                codes = %last_failure,
                attempt = attempt + 1,
                "SQS failed part of a batch; retrying those entries"
            );
        }
        Err(QueueError::Unavailable(format!(
            "SendMessageBatch to {queue}: {} entries still failing after {SEND_ATTEMPTS} attempts ({last_failure})",
            pending.len()
        )))
    }
}

/// Consecutive runs of at most 10 messages whose bodies sum to at most 256 KiB (a larger single
/// message goes alone, and SQS judges it). Order is kept, which FIFO groups need.
fn batches(messages: &[OutgoingMessage]) -> Vec<&[OutgoingMessage]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, m) in messages.iter().enumerate() {
        let size = m.body.len();
        if i > start && (i - start == SQS_BATCH || bytes + size > SQS_BATCH_BYTES) {
            out.push(&messages[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < messages.len() {
        out.push(&messages[start..]);
    }
    out
}

fn whole_seconds(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    // Bounded by MAX_VISIBILITY_SECS, so the cast cannot truncate.
    secs.min(MAX_VISIBILITY_SECS) as i32
}

#[async_trait]
impl Queue for SqsQueue {
    #[tracing::instrument(level = "debug", name = "sqs.send", skip_all)]
    async fn send(&self, queue: &str, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
        let url = self.url(queue)?;
        // SQS names every FIFO queue `*.fifo`.
        if let Some(message) = crate::ports::queue::delay_refusal(url.ends_with(".fifo"), &messages)
        {
            return Err(QueueError::Rejected {
                queue: queue.to_owned(),
                message,
            });
        }
        for batch in batches(&messages) {
            self.send_batch(queue, url, batch).await?;
        }
        Ok(())
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let url = self.url(queue)?;
        if max == 0 {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.min(SQS_BATCH) as i32)
            .visibility_timeout(whole_seconds(visibility))
            .wait_time_seconds(whole_seconds(self.receive_wait))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_queue_does_not_exist() => {
                    QueueError::UnknownQueue(queue.to_owned())
                }
                _ => QueueError::Unavailable(describe("ReceiveMessage", &e)),
            })?;
        Ok(out
            .messages()
            .iter()
            .map(|m| {
                let attribute = |name: &MessageSystemAttributeName| {
                    m.attributes().and_then(|a| a.get(name)).cloned()
                };
                ReceivedMessage {
                    message_id: m.message_id().unwrap_or_default().to_owned(),
                    receipt: m.receipt_handle().unwrap_or_default().to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    receive_count: attribute(&MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                    group_id: attribute(&MessageSystemAttributeName::MessageGroupId),
                }
            })
            .collect())
    }

    async fn ack(&self, queue: &str, receipt: &str) -> Result<(), QueueError> {
        let url = self.url(queue)?;
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_receipt_handle_is_invalid() => QueueError::InvalidReceipt,
                Some(se) if se.is_queue_does_not_exist() => {
                    QueueError::UnknownQueue(queue.to_owned())
                }
                _ => QueueError::Unavailable(describe("DeleteMessage", &e)),
            })?;
        Ok(())
    }

    async fn release(&self, queue: &str, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let url = self.url(queue)?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(whole_seconds(delay))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_receipt_handle_is_invalid() || se.is_message_not_inflight() => {
                    QueueError::InvalidReceipt
                }
                Some(se) if se.is_queue_does_not_exist() => {
                    QueueError::UnknownQueue(queue.to_owned())
                }
                _ => QueueError::Unavailable(describe("ChangeMessageVisibility", &e)),
            })?;
        Ok(())
    }

    async fn depth(&self, queue: &str) -> Result<usize, QueueError> {
        let url = self.url(queue)?;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_queue_does_not_exist() => {
                    QueueError::UnknownQueue(queue.to_owned())
                }
                _ => QueueError::Unavailable(describe("GetQueueAttributes", &e)),
            })?;
        let count = |name: &QueueAttributeName| {
            out.attributes()
                .and_then(|a| a.get(name))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0)
        };
        Ok(count(&QueueAttributeName::ApproximateNumberOfMessages)
            + count(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_at_most_ten_messages_and_256_kib() {
        let small: Vec<OutgoingMessage> = (0..25)
            .map(|i| OutgoingMessage::standard(format!("m{i}")))
            .collect();
        let sizes: Vec<usize> = batches(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [10, 10, 5]);
        let big: Vec<OutgoingMessage> = (0..5)
            .map(|_| OutgoingMessage::standard("x".repeat(100_000)))
            .collect();
        let sizes: Vec<usize> = batches(&big).iter().map(|b| b.len()).collect();
        assert_eq!(
            sizes,
            [2, 2, 1],
            "two 100 kB bodies fit in 256 KiB, three do not"
        );
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn visibility_rounds_up_to_whole_seconds_within_the_sqs_limit() {
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(30)), 30);
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(100_000)), 43_200);
    }
}
