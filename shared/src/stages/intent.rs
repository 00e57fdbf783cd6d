//! Loadout's intent per user: the apps it has decided the user should hold through Loadout, ahead
//! of what the executor has applied. Decisions reconcile against the intent, not against UEM's
//! applied state, so a mover whose joiner actions are still queued loses the joiner's apps too:
//! the actions of both decisions run in order (FIFO per user) and end where the newest one wants.

use super::StageError;
use crate::domain::{Action, ActionKind, AppId, UserId};
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use crate::reconcile::ManagedApp;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub apps: Vec<ManagedApp>,
    /// The profile version (HR `as_of`) of the decision that wrote it: an older decision arriving
    /// late must not roll the user back.
    pub as_of: Option<DateTime<Utc>>,
}

impl Intent {
    /// Whether a decision made from a profile of `as_of` is older than this intent.
    pub fn supersedes(&self, as_of: Option<DateTime<Utc>>) -> bool {
        matches!((self.as_of, as_of), (Some(mine), Some(theirs)) if theirs < mine)
    }

    /// The intent after the actions that were sent for execution.
    pub fn after(
        &self,
        executed: &[&Action],
        as_of: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Intent {
        let mut apps = self.apps.clone();
        for action in executed {
            apps.retain(|m| m.app_id != action.app_id);
            if action.kind == ActionKind::Assign {
                apps.push(ManagedApp {
                    app_id: action.app_id.clone(),
                    push_mode: action.push_mode,
                    assigned_by: action.correlation_id.clone(),
                    assigned_at: now,
                });
            }
        }
        apps.sort_by(|a, b| a.app_id.cmp(&b.app_id));
        Intent {
            apps,
            as_of: match (self.as_of, as_of) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

/// The user's intent and its version (`None` when never written). A user decided before intents
/// existed starts from what the executor applied.
pub async fn load(
    store: &dyn StateStore,
    user: &UserId,
) -> Result<(Intent, Option<u64>), StageError> {
    let (pk, sk) = keys::intent(user);
    if let Some((intent, version)) = store.get_as::<Intent>(&pk, &sk).await? {
        return Ok((intent, Some(version)));
    }
    let applied = store.query(&keys::managed_partition(user), "").await?;
    let mut apps = Vec::with_capacity(applied.len());
    for item in &applied {
        apps.push(item.decode::<ManagedApp>()?);
    }
    Ok((Intent { apps, as_of: None }, None))
}

/// Writes the intent if nobody else did since `version` was read; false when someone did.
pub async fn save(
    store: &dyn StateStore,
    user: &UserId,
    intent: &Intent,
    version: Option<u64>,
) -> Result<bool, StageError> {
    let (pk, sk) = keys::intent(user);
    let condition = version
        .map(Condition::Version)
        .unwrap_or(Condition::NotExists);
    match store.put_as(&pk, &sk, intent, None, condition).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_condition_failed() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Drops an app from the intent (an assignment that can never be applied), so the next decision
/// proposes it again instead of believing it done.
pub async fn forget(store: &dyn StateStore, user: &UserId, app: &AppId) -> Result<(), StageError> {
    for _ in 0..8 {
        let (mut intent, version) = load(store, user).await?;
        if !intent.apps.iter().any(|m| &m.app_id == app) {
            return Ok(());
        }
        intent.apps.retain(|m| &m.app_id != app);
        if save(store, user, &intent, version).await? {
            return Ok(());
        }
    }
    Err(StageError::Retryable(format!(
        "intent of {user} is changing concurrently"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ActionId, CorrelationId, PushMode};

    fn action(app: &str, kind: ActionKind) -> Action {
        Action {
            action_id: ActionId::from(format!("a-{app}").as_str()),
            correlation_id: CorrelationId::from("c"),
            user_id: UserId::from("u"),
            app_id: AppId::from(app),
            kind,
            push_mode: PushMode::Auto,
            reasons: vec![],
            policy_version: "v".into(),
        }
    }

    #[test]
    fn executed_assigns_and_removes_move_the_intent() {
        let now = Utc::now();
        let start = Intent::default().after(
            &[
                &action("a", ActionKind::Assign),
                &action("b", ActionKind::Assign),
            ],
            None,
            now,
        );
        let next = start.after(
            &[
                &action("a", ActionKind::Remove),
                &action("c", ActionKind::Assign),
            ],
            None,
            now,
        );
        let apps: Vec<&str> = next.apps.iter().map(|m| m.app_id.as_str()).collect();
        assert_eq!(apps, vec!["b", "c"]);
    }

    #[test]
    fn an_older_profile_does_not_supersede_a_newer_intent() {
        let now = Utc::now();
        let intent = Intent {
            apps: vec![],
            as_of: Some(now),
        };
        assert!(intent.supersedes(Some(now - chrono::Duration::seconds(1))));
        assert!(!intent.supersedes(Some(now)));
        assert!(!intent.supersedes(None));
    }
}
