//! One worker per queue: receive a batch, hand it to the stage, acknowledge what succeeded or was
//! dead-lettered, and release the rest with a growing delay (as SQS redelivery would).

use loadout::ports::queue::ReceivedMessage;
use loadout::stages::Services;
use loadout::stages::batch::{BatchReport, InboundMessage};
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub poll_interval: Duration,
    pub visibility: Duration,
    /// Messages handed to the stage at once (SQS batches hold at most 10).
    pub max_batch: usize,
    /// How long a batch may take, as a Lambda timeout would bound it: waits inside the stage end
    /// before it and hand the rest back. Independent of the visibility timeout, which the
    /// heartbeat extends while the batch runs.
    pub deadline: Duration,
}

/// SQS's largest batch for FIFO queues, and Lambda's default.
const BATCH_SIZE: usize = 10;

pub fn spawn<F, Fut>(
    services: Services,
    queue: &'static str,
    config: WorkerConfig,
    mut stopped: watch::Receiver<bool>,
    handle: F,
) -> JoinHandle<()>
where
    F: Fn(Vec<InboundMessage>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = BatchReport> + Send,
{
    tokio::spawn(async move {
        loop {
            if *stopped.borrow() {
                break;
            }
            let mut received = Vec::new();
            while received.len() < config.max_batch.max(1) {
                match services
                    .queue
                    .receive(queue, BATCH_SIZE, config.visibility)
                    .await
                {
                    Ok(r) if r.is_empty() => break,
                    Ok(r) => received.extend(r),
                    Err(e) => {
                        tracing::error!(queue, error = %e, "receive failed");
                        break;
                    }
                }
            }
            if received.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(config.poll_interval) => {}
                    _ = stopped.changed() => {}
                }
                continue;
            }
            let batch: Vec<InboundMessage> = received
                .iter()
                .map(|m: &ReceivedMessage| InboundMessage {
                    message_id: m.message_id.clone(),
                    body: m.body.clone(),
                    receive_count: m.receive_count,
                    group_id: m.group_id.clone(),
                })
                .collect();
            // Keep the batch invisible while the stage works on it (SQS's visibility extension):
            // a large batch may take longer than one visibility timeout. The heartbeat runs in
            // this task, so it dies with the worker, as it would with a crashed process.
            let heartbeat = async {
                loop {
                    tokio::time::sleep(config.visibility / 2).await;
                    for m in &received {
                        let _ = services
                            .queue
                            .release(queue, &m.receipt, config.visibility)
                            .await;
                    }
                }
            };
            // The batch's deadline, as Lambda gives one: waits inside the stage end before it.
            let deadline = services.clock.now()
                + chrono::Duration::from_std(config.deadline).unwrap_or_default();
            let report = tokio::select! {
                report = loadout::deadline::within(deadline, handle(batch)) => report,
                never = heartbeat => never,
            };
            for message in &received {
                let result = if report.failed.contains(&message.message_id) {
                    // Back off a little more on every failed delivery.
                    let delay = Duration::from_millis(250 * u64::from(message.receive_count));
                    services.queue.release(queue, &message.receipt, delay).await
                } else {
                    services.queue.ack(queue, &message.receipt).await
                };
                if let Err(e) = result {
                    tracing::warn!(queue, error = %e, "could not settle a message; it will be redelivered");
                }
            }
        }
    })
}
