//! What Loadout does to UEM: assign an app to a user or remove it, each with a reason.

use super::decision::Reason;
use super::ids::{ActionId, AppId, CorrelationId, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How UEM delivers an app: pushed automatically (core apps) or offered in Intelligent Hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushMode {
    Auto,
    OnDemand,
}

impl PushMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "auto" | "core" | "required" => Some(PushMode::Auto),
            "on_demand" | "ondemand" | "optional" | "available" => Some(PushMode::OnDemand),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PushMode::Auto => "auto",
            PushMode::OnDemand => "on_demand",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Assign,
    Remove,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Assign => "assign",
            ActionKind::Remove => "remove",
        }
    }

    pub fn inverse(self) -> Self {
        match self {
            ActionKind::Assign => ActionKind::Remove,
            ActionKind::Remove => ActionKind::Assign,
        }
    }
}

/// Pending -> Dispatched -> Done | Failed (DESIGN.md, State).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Pending,
    Dispatched,
    Done,
    Failed,
}

/// The UEM enrollment user an action changes, resolved before the action is sent (the executor
/// writes group members by UEM user id, never by a name it would have to guess).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UemTarget {
    pub id: i64,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub action_id: ActionId,
    pub correlation_id: CorrelationId,
    pub user_id: UserId,
    pub app_id: AppId,
    pub kind: ActionKind,
    pub push_mode: PushMode,
    pub reasons: Vec<Reason>,
    pub policy_version: String,
    /// Orders one user's actions: the version of the user's intent the decision wrote. The
    /// executor applies, per user and app, the change with the highest sequence.
    #[serde(default)]
    pub sequence: u64,
    #[serde(default)]
    pub uem_user: Option<UemTarget>,
}

impl Action {
    /// Deterministic id: the same correlation, user, app and kind always give the same id, so a
    /// redelivered decision produces the same actions and the executor can deduplicate them.
    pub fn derive_id(
        correlation: &CorrelationId,
        user: &UserId,
        app: &AppId,
        kind: ActionKind,
    ) -> ActionId {
        let mut hash = Sha256::new();
        for part in [
            correlation.as_str(),
            user.as_str(),
            app.as_str(),
            kind.as_str(),
        ] {
            hash.update(part.as_bytes());
            hash.update([0u8]);
        }
        let digest = hash.finalize();
        ActionId(format!("act-{}", hex::encode(&digest[..12])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_ids_are_stable_and_distinct_per_kind() {
        let c = CorrelationId::from("c1");
        let u = UserId::from("u1");
        let a = AppId::from("slack");
        let assign = Action::derive_id(&c, &u, &a, ActionKind::Assign);
        assert_eq!(assign, Action::derive_id(&c, &u, &a, ActionKind::Assign));
        assert_ne!(assign, Action::derive_id(&c, &u, &a, ActionKind::Remove));
    }

    #[test]
    fn push_mode_accepts_admin_spellings() {
        assert_eq!(PushMode::parse("On-Demand"), Some(PushMode::OnDemand));
        assert_eq!(PushMode::parse("auto"), Some(PushMode::Auto));
        assert_eq!(PushMode::parse("sometimes"), None);
    }
}
