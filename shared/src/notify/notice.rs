//! What a notice says, independent of where it goes. Ids only: never e-mail addresses or names
//! of people beyond the user id.

use crate::domain::{AppId, CorrelationId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Ties the notice to the audit trail of what caused it.
    pub correlation_id: CorrelationId,
    /// Overrides the notifier's default channel for this notice.
    #[serde(default)]
    pub channel: Option<String>,
    pub body: NoticeBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoticeBody {
    /// An approval request was opened; approvers follow the link.
    ApprovalNeeded {
        user_id: UserId,
        app_id: AppId,
        app_name: String,
        device_id: String,
        reason: String,
        ticket_number: Option<String>,
        ticket_url: Option<String>,
    },
    /// A decision run would change more than the configured share of users and halted.
    BreakerTripped {
        /// What was halted (a correlation id, a policy version).
        run: String,
        affected_users: usize,
        total_users: usize,
        limit_percent: f64,
    },
    /// An unused licensed app will be taken back.
    Reclamation {
        user_id: UserId,
        app_id: AppId,
        app_name: String,
        idle_days: u32,
        reclaim_at: DateTime<Utc>,
        /// The signed one-click "keep it" link (none when no link secret is configured).
        #[serde(default)]
        keep_url: Option<String>,
    },
    /// Something Loadout cannot fix by itself.
    NeedsHuman {
        summary: String,
        detail: String,
        user_id: Option<UserId>,
        app_id: Option<AppId>,
    },
}

impl Notice {
    pub fn new(correlation_id: CorrelationId, body: NoticeBody) -> Self {
        Self {
            correlation_id,
            channel: None,
            body,
        }
    }

    pub fn in_channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    pub fn kind(&self) -> &'static str {
        match self.body {
            NoticeBody::ApprovalNeeded { .. } => "approval_needed",
            NoticeBody::BreakerTripped { .. } => "breaker_tripped",
            NoticeBody::Reclamation { .. } => "reclamation",
            NoticeBody::NeedsHuman { .. } => "needs_human",
        }
    }

    pub fn user_id(&self) -> Option<&UserId> {
        match &self.body {
            NoticeBody::ApprovalNeeded { user_id, .. }
            | NoticeBody::Reclamation { user_id, .. } => Some(user_id),
            NoticeBody::NeedsHuman { user_id, .. } => user_id.as_ref(),
            NoticeBody::BreakerTripped { .. } => None,
        }
    }

    pub fn app_id(&self) -> Option<&AppId> {
        match &self.body {
            NoticeBody::ApprovalNeeded { app_id, .. } | NoticeBody::Reclamation { app_id, .. } => {
                Some(app_id)
            }
            NoticeBody::NeedsHuman { app_id, .. } => app_id.as_ref(),
            NoticeBody::BreakerTripped { .. } => None,
        }
    }
}
