//! What UEM really holds for each user in Loadout's groups ("observed"), as opposed to what
//! Loadout intends. Decisions reconcile against it; the sweep keeps it, from a full read of every
//! Loadout group, and the executor keeps it after each confirmed write (it reads the group fresh
//! before writing, so it knows the group exactly afterwards).
//!
//! Two records: a snapshot per group (its members by UEM user id, so the sweep can tell what
//! changed since the last read or write), and per user the apps they hold through Loadout.

use super::StageError;
use crate::domain::{AppId, PushMode, UserId};
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use crate::uem::AssignmentSpec;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where an observation came from, for explanations ("as of the 14:02 sweep").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The scheduled sweep read the group.
    Sweep,
    /// Loadout's executor read and wrote the group.
    Write,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Sweep => "sweep",
            Source::Write => "executor write",
        }
    }
}

/// One Loadout group as UEM held it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSnapshot {
    pub app_id: AppId,
    pub push_mode: PushMode,
    pub shard: u32,
    pub group_id: i64,
    pub group_uuid: String,
    pub name: String,
    /// UEM user ids in `UserAdditions`.
    pub members: BTreeSet<i64>,
    /// How the app is assigned to the group, as last seen.
    #[serde(default)]
    pub assigned: Option<AssignmentSpec>,
    pub read_at: DateTime<Utc>,
    pub source: Source,
}

/// An app a user holds through a Loadout group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldApp {
    pub push_mode: PushMode,
    /// The group's name (`loadout:slack#02`).
    pub group: String,
    pub seen_at: DateTime<Utc>,
    pub source: Source,
}

/// The apps one user holds through Loadout's groups.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Holdings {
    pub apps: BTreeMap<AppId, HeldApp>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A user's observed holdings, and whether they are known at all: before the first complete
/// sweep, a user with no record may hold apps nobody has read yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    Known(Holdings),
    Unknown,
}

impl Observation {
    pub fn known(&self) -> Option<&Holdings> {
        match self {
            Observation::Known(h) => Some(h),
            Observation::Unknown => None,
        }
    }
}

/// When the sweep last read every Loadout group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationMeta {
    pub complete_at: DateTime<Utc>,
}

pub async fn meta(store: &dyn StateStore) -> Result<Option<ObservationMeta>, StageError> {
    let (pk, sk) = keys::observation_meta();
    Ok(store.get_as(&pk, &sk).await?.map(|(m, _)| m))
}

pub async fn set_meta(store: &dyn StateStore, meta: &ObservationMeta) -> Result<(), StageError> {
    let (pk, sk) = keys::observation_meta();
    store.put_as(&pk, &sk, meta, None, Condition::None).await?;
    Ok(())
}

/// What UEM holds for `user` through Loadout, as far as Loadout has seen.
pub async fn observe(store: &dyn StateStore, user: &UserId) -> Result<Observation, StageError> {
    let (pk, sk) = keys::observed(user);
    if let Some((holdings, _)) = store.get_as::<Holdings>(&pk, &sk).await? {
        return Ok(Observation::Known(holdings));
    }
    Ok(match meta(store).await? {
        Some(_) => Observation::Known(Holdings::default()),
        None => Observation::Unknown,
    })
}

/// Changes a user's holdings with compare-and-swap (the sweep and executors may both write).
/// A user who never held anything has no record (it reads the same after a full sweep); one who
/// lost their last app keeps an empty one.
pub async fn update(
    store: &dyn StateStore,
    user: &UserId,
    now: DateTime<Utc>,
    change: impl Fn(&mut Holdings),
) -> Result<(), StageError> {
    let (pk, sk) = keys::observed(user);
    for _ in 0..16 {
        let current = store.get_as::<Holdings>(&pk, &sk).await?;
        let (mut holdings, condition) = match current {
            Some((h, v)) => (h, Condition::Version(v)),
            None => (Holdings::default(), Condition::NotExists),
        };
        let before = holdings.clone();
        change(&mut holdings);
        if holdings == before {
            return Ok(());
        }
        holdings.updated_at = Some(now);
        // A user whose last app Loadout saw go keeps an empty record: "holds nothing, as of
        // this write" is knowledge, which a missing record is not before the first full sweep.
        if holdings.apps.is_empty() && matches!(condition, Condition::NotExists) {
            return Ok(());
        }
        let result = store
            .put_as(&pk, &sk, &holdings, None, condition)
            .await
            .map(|_| ());
        match result {
            Ok(()) => return Ok(()),
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StageError::Retryable(format!(
        "the observed holdings of {user} keep changing concurrently"
    )))
}

/// Records that `user` holds (or no longer holds) `app` through `group`.
pub async fn record(
    store: &dyn StateStore,
    user: &UserId,
    app: &AppId,
    held: Option<HeldApp>,
    now: DateTime<Utc>,
) -> Result<(), StageError> {
    update(store, user, now, |h| match &held {
        Some(held) => {
            h.apps.insert(app.clone(), held.clone());
        }
        None => {
            h.apps.remove(app);
        }
    })
    .await
}

pub async fn snapshot(
    store: &dyn StateStore,
    app: &AppId,
    mode: PushMode,
    shard: u32,
) -> Result<Option<(GroupSnapshot, u64)>, StageError> {
    let (pk, sk) = keys::group_snapshot(app, mode, shard);
    Ok(store.get_as(&pk, &sk).await?)
}

/// Every group snapshot, for the sweep.
pub async fn snapshots(store: &dyn StateStore) -> Result<Vec<(GroupSnapshot, u64)>, StageError> {
    let (pk, _) = keys::group_snapshot(&AppId::new(""), PushMode::Auto, 0);
    let mut out = Vec::new();
    for item in store.query(&pk, "").await? {
        out.push((item.decode()?, item.version));
    }
    Ok(out)
}

/// Writes a snapshot; with `expected` the write happens only if nobody wrote one since that
/// version was read (a sweep's read must not overwrite a fresher executor write).
pub async fn save_snapshot(
    store: &dyn StateStore,
    snapshot: &GroupSnapshot,
    expected: Option<Option<u64>>,
) -> Result<bool, StageError> {
    let (pk, sk) = keys::group_snapshot(&snapshot.app_id, snapshot.push_mode, snapshot.shard);
    let condition = match expected {
        None => Condition::None,
        Some(None) => Condition::NotExists,
        Some(Some(v)) => Condition::Version(v),
    };
    match store.put_as(&pk, &sk, snapshot, None, condition).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_condition_failed() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn forget_snapshot(
    store: &dyn StateStore,
    app: &AppId,
    mode: PushMode,
    shard: u32,
) -> Result<(), StageError> {
    let (pk, sk) = keys::group_snapshot(app, mode, shard);
    store.delete(&pk, &sk, Condition::None).await?;
    Ok(())
}
