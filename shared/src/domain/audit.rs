//! The append-only audit trail. Each record says who or what decided, and why, without personal
//! data beyond the user id.

use super::ids::{AppId, CorrelationId, EventId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// An inbound event was accepted and queued.
    EventAccepted,
    /// A repeated delivery of an event already accepted.
    EventDuplicate,
    /// An inbound request was refused (bad signature, bad body, stale, ...).
    EventRejected,
    /// Context was gathered for a user.
    ContextEnriched,
    /// A decision was computed.
    Decision,
    /// An action was planned (and why it runs now, waits, or is only recommended).
    ActionPlanned,
    /// An action changed UEM.
    ActionApplied,
    /// An action failed for good.
    ActionFailed,
    /// A message was moved to a dead-letter queue.
    DeadLettered,
    /// A person UEM does not know yet was parked (or picked up again).
    Parked,
    /// The sweep found UEM different from what Loadout expects (and what it does about it).
    DriftFound,
    /// A sweep finished: what it read and found.
    SweepCompleted,
    /// An action was given up after failing; what Loadout expected was restored so the next
    /// pass tries again.
    ActionGivenUp,
    /// An approval request was opened in ServiceNow (or found open).
    ApprovalRequested,
    /// An approver's decision arrived and took effect (who: the detail's `updated_by`).
    ApprovalDecided,
    /// An approval moved without a decision: installed, expired, or failed to open.
    ApprovalChanged,
    /// An authenticated approval callback was refused (malformed, unknown request, conflict).
    ApprovalRefused,
    /// A notification (Slack) could not be delivered and was dropped.
    NoticeDropped,
    /// Too many users would gain or lose one app at once: its changes wait for an admin.
    BreakerTripped,
    /// An admin approved, rejected or released something (who is the actor).
    AdminDecision,
    /// An app's own `automation` setting passed its review date: it is gated again until an
    /// admin renews it.
    AutomationLapsed,
    /// License reclamation: a seat became a candidate, was noticed, kept, used again or
    /// reclaimed, or reclamation stopped for an app (the detail's `step` says which).
    Reclamation,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::EventAccepted => "event_accepted",
            AuditKind::EventDuplicate => "event_duplicate",
            AuditKind::EventRejected => "event_rejected",
            AuditKind::ContextEnriched => "context_enriched",
            AuditKind::Decision => "decision",
            AuditKind::ActionPlanned => "action_planned",
            AuditKind::ActionApplied => "action_applied",
            AuditKind::ActionFailed => "action_failed",
            AuditKind::DeadLettered => "dead_lettered",
            AuditKind::Parked => "parked",
            AuditKind::DriftFound => "drift_found",
            AuditKind::SweepCompleted => "sweep_completed",
            AuditKind::ActionGivenUp => "action_given_up",
            AuditKind::ApprovalRequested => "approval_requested",
            AuditKind::ApprovalDecided => "approval_decided",
            AuditKind::ApprovalChanged => "approval_changed",
            AuditKind::ApprovalRefused => "approval_refused",
            AuditKind::NoticeDropped => "notice_dropped",
            AuditKind::BreakerTripped => "breaker_tripped",
            AuditKind::AdminDecision => "admin_decision",
            AuditKind::AutomationLapsed => "automation_lapsed",
            AuditKind::Reclamation => "reclamation",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Unique and time-ordered within a correlation id.
    pub record_id: String,
    pub at: DateTime<Utc>,
    pub correlation_id: CorrelationId,
    #[serde(default)]
    pub event_id: Option<EventId>,
    pub kind: AuditKind,
    /// The stage or person that acted (`intake`, `decide`, `execute`, `admin:<name>`).
    pub actor: String,
    #[serde(default)]
    pub user_id: Option<UserId>,
    #[serde(default)]
    pub app_id: Option<AppId>,
    /// One line an admin can read.
    pub summary: String,
    #[serde(default)]
    pub policy_version: Option<String>,
    #[serde(default)]
    pub rule_ids: Vec<String>,
    /// Structured details (scores, action ids, error codes). Never secrets or full personal data.
    #[serde(default)]
    pub detail: serde_json::Value,
    /// When the record may be deleted. Only refusals of inbound requests carry one
    /// (`LOADOUT_AUDIT_REFUSAL_TTL_DAYS`), so a flood of forged requests cannot grow the trail
    /// for ever; every other record is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl AuditRecord {
    pub fn new(
        at: DateTime<Utc>,
        correlation_id: CorrelationId,
        kind: AuditKind,
        actor: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        // Sortable: the timestamp first, then randomness so two records in one microsecond differ.
        let record_id = format!(
            "{}-{}",
            at.format("%Y%m%dT%H%M%S%.6fZ"),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        Self {
            record_id,
            at,
            correlation_id,
            event_id: None,
            kind,
            actor: actor.into(),
            user_id: None,
            app_id: None,
            summary: summary.into(),
            policy_version: None,
            rule_ids: Vec::new(),
            detail: serde_json::Value::Null,
            expires_at: None,
        }
    }

    pub fn event(mut self, id: &EventId) -> Self {
        self.event_id = Some(id.clone());
        self
    }

    pub fn user(mut self, id: &UserId) -> Self {
        self.user_id = Some(id.clone());
        self
    }

    pub fn app(mut self, id: &AppId) -> Self {
        self.app_id = Some(id.clone());
        self
    }

    pub fn policy(mut self, version: &str, rule_ids: Vec<String>) -> Self {
        self.policy_version = Some(version.to_owned());
        self.rule_ids = rule_ids;
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }

    /// The record may be deleted after `at` (refusals only; see `expires_at`).
    pub fn expires(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }
}
