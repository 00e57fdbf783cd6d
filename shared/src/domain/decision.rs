//! A decision knows why it was made: every entitlement and every denial carries its reasons.

use super::action::PushMode;
use super::ids::{AppId, CorrelationId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One reason behind a decision: which rule (or model) said so, in words an admin understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The rule id (`@id` annotation of a Cedar policy), or a model id.
    pub rule_id: String,
    pub text: String,
}

/// An app the user should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    pub app_id: AppId,
    pub push_mode: PushMode,
    pub reasons: Vec<Reason>,
    /// Devices (ids) on which the policies allowed the app; empty for users not yet enrolled.
    #[serde(default)]
    pub devices: Vec<String>,
}

/// An app a `permit` would grant but a `forbid` guardrail blocked, kept so the admin can see why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    pub app_id: AppId,
    pub reasons: Vec<Reason>,
}

/// The desired app set of one user, computed from their context and one policy version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub user_id: UserId,
    pub correlation_id: CorrelationId,
    pub policy_version: String,
    pub decided_at: DateTime<Utc>,
    pub desired: Vec<Entitlement>,
    pub denied: Vec<Denial>,
}

impl Decision {
    pub fn entitlement(&self, app: &AppId) -> Option<&Entitlement> {
        self.desired.iter().find(|e| &e.app_id == app)
    }

    /// Every rule id that contributed, for the audit record.
    pub fn rule_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .desired
            .iter()
            .flat_map(|e| e.reasons.iter())
            .chain(self.denied.iter().flat_map(|d| d.reasons.iter()))
            .map(|r| r.rule_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}
