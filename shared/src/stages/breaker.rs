//! The blast-radius breaker's counts: per app and direction, the users who gained (or lost) the
//! app within the current window. The change that would go past the limit trips the breaker; from
//! then on the app's changes in that direction wait for approval until an admin releases it
//! (`loadout breaker release`, or approving the held recommendations), since an automatic reset
//! after the window would let the next wave of the same mistake through.

use super::StageError;
use crate::domain::{ActionKind, AppId, UserId};
use crate::governance::{BreakerPolicy, Tripped};
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakerState {
    pub window_start: Option<DateTime<Utc>>,
    /// The users counted in the window (at most the limit: the next one trips).
    pub users: Vec<UserId>,
    #[serde(default)]
    pub tripped: Option<Tripped>,
}

/// Every tripped breaker, by app and direction (one query, for a decision's gates).
pub async fn tripped(
    store: &dyn StateStore,
) -> Result<BTreeMap<(AppId, ActionKind), Tripped>, StageError> {
    let mut out = BTreeMap::new();
    for item in store.query(keys::BREAKERS, "").await? {
        let state: BreakerState = item.decode()?;
        let Some(t) = state.tripped else {
            continue;
        };
        let Some((app, kind)) = item.sk.rsplit_once('#') else {
            continue;
        };
        let kind = match kind {
            "assign" => ActionKind::Assign,
            "remove" => ActionKind::Remove,
            _ => continue,
        };
        out.insert((AppId::new(app), kind), t);
    }
    Ok(out)
}

/// Counts `user` changing `app` in direction `kind`; `Some` when this change trips the breaker
/// (it must then wait for approval, as must every later one).
#[allow(clippy::too_many_arguments)]
pub async fn count(
    store: &dyn StateStore,
    policy: &BreakerPolicy,
    app: &AppId,
    app_name: &str,
    kind: ActionKind,
    user: &UserId,
    population: usize,
    now: DateTime<Utc>,
) -> Result<Option<Tripped>, StageError> {
    let (pk, sk) = keys::breaker(app, kind);
    let window = chrono::Duration::from_std(policy.window).unwrap_or_default();
    let limit = policy.limit(population) as usize;
    for _ in 0..16 {
        let current = store.get_as::<BreakerState>(&pk, &sk).await?;
        let (mut state, condition) = match current {
            Some((s, v)) => (s, Condition::Version(v)),
            None => (BreakerState::default(), Condition::NotExists),
        };
        if let Some(t) = &state.tripped {
            return Ok(Some(t.clone()));
        }
        if state.window_start.is_none_or(|start| start + window <= now) {
            state.window_start = Some(now);
            state.users.clear();
        }
        if state.users.contains(user) {
            return Ok(None);
        }
        let trips = state.users.len() >= limit;
        let verb = match kind {
            ActionKind::Assign => "gain",
            ActionKind::Remove => "lose",
        };
        if trips {
            state.tripped = Some(Tripped {
                at: now,
                reason: format!(
                    "blast-radius breaker: more than {limit} users would {verb} {app_name} within {} min; its changes wait for an admin (loadout breaker release {app})",
                    policy.window.as_secs() / 60
                ),
            });
        } else {
            state.users.push(user.clone());
        }
        match store.put_as(&pk, &sk, &state, None, condition).await {
            Ok(_) => return Ok(state.tripped),
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StageError::Retryable(format!(
        "the breaker of {app} keeps changing concurrently"
    )))
}

/// Releases a tripped breaker (its count starts again).
pub async fn release(
    store: &dyn StateStore,
    app: &AppId,
    kind: ActionKind,
) -> Result<bool, StageError> {
    let (pk, sk) = keys::breaker(app, kind);
    let Some((state, version)) = store.get_as::<BreakerState>(&pk, &sk).await? else {
        return Ok(false);
    };
    if state.tripped.is_none() {
        return Ok(false);
    }
    store
        .delete(&pk, &sk, Condition::Version(version))
        .await
        .map_err(StageError::from)?;
    Ok(true)
}

/// The kill switch: when on, nothing executes (the gates hold everything, the executor writes
/// nothing) until an admin turns it off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillSwitch {
    pub on: bool,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub reason: Option<String>,
}

pub async fn kill_switch(store: &dyn StateStore) -> Result<Option<KillSwitch>, StageError> {
    let (pk, sk) = keys::kill_switch();
    Ok(store
        .get_as::<KillSwitch>(&pk, &sk)
        .await?
        .map(|(k, _)| k)
        .filter(|k| k.on))
}

pub async fn set_kill_switch(store: &dyn StateStore, state: &KillSwitch) -> Result<(), StageError> {
    let (pk, sk) = keys::kill_switch();
    store.put_as(&pk, &sk, state, None, Condition::None).await?;
    Ok(())
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::adapters::local::{LocalDb, SqliteStateStore};
    use crate::ports::SystemClock;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_change_past_the_limit_trips_and_stays_tripped_until_released() {
        let store = SqliteStateStore::new(LocalDb::in_memory().expect("db"), Arc::new(SystemClock));
        let policy = BreakerPolicy {
            max_users: 5,
            ..BreakerPolicy::default()
        };
        let app = AppId::new("gong");
        let now = Utc::now();
        for i in 0..5 {
            let user = UserId::new(format!("u{i}"));
            let t = count(
                &store,
                &policy,
                &app,
                "Gong",
                ActionKind::Remove,
                &user,
                1_000,
                now,
            )
            .await
            .expect("count");
            assert!(t.is_none(), "user {i} is within the limit");
        }
        let sixth = UserId::new("u5");
        let t = count(
            &store,
            &policy,
            &app,
            "Gong",
            ActionKind::Remove,
            &sixth,
            1_000,
            now,
        )
        .await
        .expect("count")
        .expect("tripped");
        assert!(t.reason.contains("Gong"), "{}", t.reason);
        let later = now + chrono::Duration::hours(5);
        assert!(
            count(
                &store,
                &policy,
                &app,
                "Gong",
                ActionKind::Remove,
                &sixth,
                1_000,
                later
            )
            .await
            .expect("count")
            .is_some(),
            "a new window does not release it"
        );
        assert!(
            count(
                &store,
                &policy,
                &app,
                "Gong",
                ActionKind::Assign,
                &sixth,
                1_000,
                later
            )
            .await
            .expect("count")
            .is_none(),
            "the other direction has its own breaker"
        );
        assert_eq!(tripped(&store).await.expect("read").len(), 1);
        assert!(
            release(&store, &app, ActionKind::Remove)
                .await
                .expect("release")
        );
        assert!(tripped(&store).await.expect("read").is_empty());
    }
}
