//! Waitlists: assignments of a licensed app held back because every seat bought is taken, oldest
//! first. The decision stage puts a request here when it finds no free seat (its gate says
//! "waitlisted"); a reclaimed seat goes to the oldest request whose user does not hold the app.

use crate::domain::{Action, AppId, CatalogApp, UserId};
use crate::governance::Gate;
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use crate::stages::{StageError, observed};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitlistEntry {
    pub app_id: AppId,
    pub user_id: UserId,
    pub held_at: DateTime<Utc>,
    /// The assignment that was held (its delivery mode and reasons are reused for the grant).
    pub action: Action,
}

/// The app's waitlist, oldest first, with versions.
pub async fn entries(
    store: &dyn StateStore,
    app: &AppId,
) -> Result<Vec<(WaitlistEntry, u64)>, StageError> {
    let mut out = Vec::new();
    for item in store.query(&keys::waitlist_partition(app), "").await? {
        out.push((item.decode()?, item.version));
    }
    Ok(out)
}

/// Puts `action`'s user on the app's waitlist unless they are on it already.
pub async fn join(
    store: &dyn StateStore,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<(), StageError> {
    let waiting = entries(store, &action.app_id).await?;
    if waiting.iter().any(|(e, _)| e.user_id == action.user_id) {
        return Ok(());
    }
    let entry = WaitlistEntry {
        app_id: action.app_id.clone(),
        user_id: action.user_id.clone(),
        held_at: now,
        action: action.clone(),
    };
    let (pk, sk) = keys::waitlist_entry(&action.app_id, now, &action.user_id);
    match store
        .put_as(&pk, &sk, &entry, None, Condition::NotExists)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_condition_failed() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Takes `entry` off the waitlist (if it is still at `version`; false when someone else did).
pub async fn leave(
    store: &dyn StateStore,
    entry: &WaitlistEntry,
    version: Option<u64>,
) -> Result<bool, StageError> {
    let (pk, sk) = keys::waitlist_entry(&entry.app_id, entry.held_at, &entry.user_id);
    let condition = version.map_or(Condition::None, Condition::Version);
    match store.delete(&pk, &sk, condition).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_condition_failed() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The UEM users holding the app through any of Loadout's groups (one query).
pub async fn holders(store: &dyn StateStore, app: &AppId) -> Result<BTreeSet<i64>, StageError> {
    let (pk, _) = keys::group_snapshot(app, crate::domain::PushMode::Auto, 0);
    let mut members = BTreeSet::new();
    for item in store.query(&pk, &format!("{app}#")).await? {
        let snapshot: observed::GroupSnapshot = item.decode()?;
        members.extend(snapshot.members);
    }
    Ok(members)
}

/// The seat gate of an assignment the other gates let through: with a seat count set and every
/// seat taken (as Loadout last observed its groups), the request joins the waitlist and waits.
/// A user who holds the app already (a change of delivery mode) takes no new seat.
pub async fn seat_gate(
    store: &dyn StateStore,
    app: &CatalogApp,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<Option<Gate>, StageError> {
    let Some(seats) = app.license.seats else {
        return Ok(None);
    };
    let held = holders(store, &app.id).await?;
    if action
        .uem_user
        .as_ref()
        .is_some_and(|t| held.contains(&t.id))
    {
        return Ok(None);
    }
    if held.len() < seats as usize {
        return Ok(None);
    }
    join(store, action, now).await?;
    Ok(Some(Gate::AwaitApproval {
        reason: format!(
            "no free seat of {} ({} of {seats} in use): waitlisted until one is reclaimed",
            app.name,
            held.len()
        ),
    }))
}
