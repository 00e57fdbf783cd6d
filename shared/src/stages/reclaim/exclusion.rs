//! The apps reclaimed from a user. Decisions leave them out of the desired set, so the next
//! decision does not hand back the seat that was just taken; an admin's approval of an
//! assignment, or a seat from the waitlist, brings the app back.

use crate::domain::{AppId, Decision, UserId};
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use crate::stages::StageError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reclaimed {
    /// App -> when it was reclaimed.
    pub apps: BTreeMap<AppId, DateTime<Utc>>,
}

pub async fn load(store: &dyn StateStore, user: &UserId) -> Result<Reclaimed, StageError> {
    let (pk, sk) = keys::reclaimed_apps(user);
    Ok(store
        .get_as::<Reclaimed>(&pk, &sk)
        .await?
        .map(|(r, _)| r)
        .unwrap_or_default())
}

/// Adds (`Some`) or lifts (`None`) the exclusion of `app` for `user`, with compare-and-swap.
pub async fn set(
    store: &dyn StateStore,
    user: &UserId,
    app: &AppId,
    at: Option<DateTime<Utc>>,
) -> Result<(), StageError> {
    let (pk, sk) = keys::reclaimed_apps(user);
    for _ in 0..8 {
        let current = store.get_as::<Reclaimed>(&pk, &sk).await?;
        let (mut r, condition) = match current {
            Some((r, v)) => (r, Condition::Version(v)),
            None => (Reclaimed::default(), Condition::NotExists),
        };
        let before = r.clone();
        match at {
            Some(at) => {
                r.apps.entry(app.clone()).or_insert(at);
            }
            None => {
                r.apps.remove(app);
            }
        }
        if r == before {
            return Ok(());
        }
        match store.put_as(&pk, &sk, &r, None, condition).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StageError::Retryable(format!(
        "the reclaimed apps of {user} keep changing concurrently"
    )))
}

/// Leaves reclaimed apps out of a decision's desired set.
pub fn apply(decision: &mut Decision, reclaimed: &Reclaimed) {
    decision
        .desired
        .retain(|e| !reclaimed.apps.contains_key(&e.app_id));
}
