//! What Loadout keeps per approval request, and what it queues once one is approved.

use super::state::ApprovalState;
use crate::domain::{Action, AppId, UserId};
use crate::servicenow::{ApprovalRequest, Ticket};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One request for one user, app and device. The action is the one that was requested and is
/// the only thing an approval can run: nothing in a callback changes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub request_id: String,
    /// 1 for the first request of this user, app and device; a new round follows an expiry.
    pub round: u32,
    pub state: ApprovalState,
    pub action: Action,
    /// UEM's device id.
    pub device_id: String,
    /// UEM's id of the enrollment user.
    pub uem_user_id: String,
    pub app_name: String,
    /// Exactly what is sent to ServiceNow (re-sent unchanged when an earlier send was lost).
    pub request: ApprovalRequest,
    #[serde(default)]
    pub ticket: Option<Ticket>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// After this the request expires.
    pub due_at: DateTime<Utc>,
    /// The approver (`updated_by` of the callback).
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    /// The approver's notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// The approved action is on the execute queue (false between the move and the send, so a
    /// repeated callback or a retry sends it).
    #[serde(default)]
    pub queued: bool,
    /// Why the request could not be opened (state Error).
    #[serde(default)]
    pub last_error: Option<String>,
    /// An opener is posting the request until then; others leave it alone.
    #[serde(default)]
    pub claim_until: Option<DateTime<Utc>>,
}

impl ApprovalRecord {
    pub fn ticket_number(&self) -> Option<&str> {
        self.ticket.as_ref().map(|t| t.number.as_str())
    }

    pub fn user_id(&self) -> &UserId {
        &self.action.user_id
    }

    pub fn app_id(&self) -> &AppId {
        &self.action.app_id
    }
}

/// The request id of a user, app, device and round: `lo-` and 32 hex digits of a SHA-256, so
/// 35 characters (ServiceNow's column holds 40), the same on every retry, and unique per user,
/// app and device.
pub fn request_id(user: &UserId, app: &AppId, device_id: &str, round: u32) -> String {
    let mut hash = Sha256::new();
    for part in [user.as_str(), app.as_str(), device_id, &round.to_string()] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    format!("lo-{}", hex::encode(&hash.finalize()[..16]))
}

/// A request id as Loadout makes them (checked before it becomes a key).
pub fn is_request_id(id: &str) -> bool {
    id.len() == 35
        && id.starts_with("lo-")
        && id[3..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// Which request is current for a user, app and device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetPointer {
    pub request_id: String,
    pub round: u32,
}

/// Who approved an action, carried with it to the executor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalMark {
    pub request_id: String,
    #[serde(default)]
    pub ticket: Option<String>,
    pub approved_by: String,
    pub approved_at: DateTime<Utc>,
}

/// The payload of an `execute` message: the action's own fields, plus `approval` when an approver
/// allowed it. An executor that reads only `Action` ignores the extra field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedAction {
    #[serde(flatten)]
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalMark>,
}

/// The FIFO deduplication id of an approved action. Not the bare action id: the same action may
/// have been queued (and deduplicated on its id) minutes earlier, when it was held for approval,
/// and SQS would silently drop the approved copy inside its 5-minute window.
pub fn approved_dedup_id(action: &Action) -> String {
    format!("{}:approved", action.action_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ActionId, ActionKind, CorrelationId, PushMode};

    #[test]
    fn request_ids_are_stable_bounded_and_distinct() {
        let (u, a) = (UserId::from("jdoe"), AppId::from("visio"));
        let id = request_id(&u, &a, "10003", 1);
        assert_eq!(id, request_id(&u, &a, "10003", 1));
        assert!(id.len() <= 40 && is_request_id(&id));
        assert_ne!(id, request_id(&u, &a, "10004", 1));
        assert_ne!(id, request_id(&u, &a, "10003", 2));
        assert_ne!(id, request_id(&UserId::from("jdoe2"), &a, "10003", 1));
        assert!(!is_request_id("lo-XYZ"));
        assert!(!is_request_id(&format!("{id}#")));
    }

    #[test]
    fn a_queued_action_reads_as_a_plain_action() {
        let action = Action {
            action_id: ActionId::from("act-1"),
            correlation_id: CorrelationId::from("c"),
            user_id: UserId::from("jdoe"),
            app_id: AppId::from("visio"),
            kind: ActionKind::Assign,
            push_mode: PushMode::Auto,
            reasons: vec![],
            policy_version: "v1".into(),
            sequence: 1,
            uem_user: None,
        };
        let queued = QueuedAction {
            action: action.clone(),
            approval: Some(ApprovalMark {
                request_id: "lo-1".into(),
                ticket: Some("REQ0010001".into()),
                approved_by: "alice".into(),
                approved_at: Utc::now(),
            }),
        };
        let json = serde_json::to_string(&queued).expect("serializes");
        let plain: Action = serde_json::from_str(&json).expect("an Action");
        assert_eq!(plain, action);
        let back: QueuedAction = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, queued);
        assert_eq!(approved_dedup_id(&action), "act-1:approved");
    }
}
