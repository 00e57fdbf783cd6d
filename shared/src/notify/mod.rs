//! Notifications to people (Slack): an approval is needed, the blast-radius breaker tripped, an
//! app is about to be reclaimed, something needs a human. A notice is a courtesy, never a step
//! of the pipeline: [`announce`] never fails and never blocks past the notifier's deadline; a
//! notice that cannot be delivered is audited and dropped.

mod notice;
mod recording;
mod slack;

pub use notice::{Notice, NoticeBody};
pub use recording::{NoNotifier, RecordingNotifier};
pub use slack::{SlackNotifier, SlackSettings, render as render_slack, settings};

use crate::domain::{AuditKind, AuditRecord};
use crate::ports::{AuditLog, Clock};
use async_trait::async_trait;
use serde_json::json;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No destination is configured (no webhook URL): nothing to do.
    #[error("no notification channel is configured")]
    NotConfigured,
    /// The destination refused the notice for good (4xx other than throttling).
    #[error("refused with HTTP {status}: {code}")]
    Refused { status: u16, code: String },
    /// Every attempt allowed within the deadline failed (outage, throttling, timeouts).
    #[error("gave up after {attempts} attempt(s): {last}")]
    GaveUp { attempts: u32, last: String },
}

/// Where notices go.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Delivers one notice, retrying within the notifier's own bounds.
    async fn send(&self, notice: &Notice) -> Result<(), NotifyError>;
}

/// What became of a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// No notifier configured.
    Disabled,
    /// Not delivered; audited.
    Dropped(String),
}

/// Sends a notice and never fails: an undelivered notice is audited (`notice_dropped`) and
/// dropped. `limit` bounds the whole attempt, whatever the notifier's own settings.
pub async fn announce(
    notifier: &dyn Notifier,
    audit: &dyn AuditLog,
    clock: &dyn Clock,
    notice: &Notice,
    limit: Duration,
) -> Delivery {
    let outcome = match tokio::time::timeout(limit, notifier.send(notice)).await {
        Ok(Ok(())) => return Delivery::Delivered,
        Ok(Err(NotifyError::NotConfigured)) => return Delivery::Disabled,
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("not delivered within {limit:?}"),
    };
    tracing::warn!(kind = notice.kind(), reason = %outcome, "notice dropped");
    let mut record = AuditRecord::new(
        clock.now(),
        notice.correlation_id.clone(),
        AuditKind::NoticeDropped,
        "notify",
        format!("{} notice not delivered: {outcome}", notice.kind()),
    )
    .detail(json!({"notice": notice.kind(), "reason": outcome}));
    if let Some(user) = notice.user_id() {
        record = record.user(user);
    }
    if let Some(app) = notice.app_id() {
        record = record.app(app);
    }
    if let Err(e) = audit.append(&record).await {
        tracing::error!(error = %e, "could not audit a dropped notice");
    }
    Delivery::Dropped(outcome)
}
