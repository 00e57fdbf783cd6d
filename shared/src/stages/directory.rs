//! The directory Loadout keeps: the newest profile of every user it has heard of, so that thin
//! events (UEM, Okta, Graph) can be decided, and out-of-order HR events never roll a user back.

use super::StageError;
use crate::domain::{AppUsage, Employee, UserId};
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredProfile {
    pub employee: Employee,
    /// When the source says this version became true; newer wins.
    pub as_of: DateTime<Utc>,
    /// False once a leaver event arrived.
    pub active: bool,
}

/// Writes `employee` unless a newer version is stored; returns the profile now in force and
/// whether this write changed it.
pub async fn upsert_profile(
    store: &dyn StateStore,
    employee: &Employee,
    as_of: DateTime<Utc>,
    active: bool,
) -> Result<(StoredProfile, bool), StageError> {
    let (pk, sk) = keys::profile(&employee.id);
    let incoming = StoredProfile {
        employee: employee.clone(),
        as_of,
        active,
    };
    for _ in 0..8 {
        let current: Option<(StoredProfile, u64)> = store.get_as(&pk, &sk).await?;
        let condition = match &current {
            Some((stored, _)) if stored.as_of > as_of => return Ok((stored.clone(), false)),
            Some((stored, _)) if *stored == incoming => return Ok((stored.clone(), false)),
            Some((_, version)) => Condition::Version(*version),
            None => Condition::NotExists,
        };
        match store.put_as(&pk, &sk, &incoming, None, condition).await {
            Ok(_) => {
                index(store, employee).await?;
                return Ok((incoming, true));
            }
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StageError::Retryable(format!(
        "profile of {} is being updated concurrently",
        employee.id
    )))
}

async fn index(store: &dyn StateStore, employee: &Employee) -> Result<(), StageError> {
    let (pk, sk) = keys::person(&employee.id);
    store.put_as(&pk, &sk, &true, None, Condition::None).await?;
    if !employee.email.is_empty() {
        let (pk, sk) = keys::email_index(&employee.email);
        store
            .put_as(&pk, &sk, &employee.id, None, Condition::None)
            .await?;
    }
    if !employee.location.trim().is_empty() && !employee.region.trim().is_empty() {
        let (pk, sk) = keys::location_region(&employee.location);
        store
            .put_as(&pk, &sk, &employee.region, None, Condition::None)
            .await?;
    }
    if let Some(manager) = &employee.manager_id {
        let (pk, sk) = keys::manager_marker(manager);
        store.put_as(&pk, &sk, &true, None, Condition::None).await?;
    }
    Ok(())
}

/// Every user the directory holds.
pub async fn all_users(store: &dyn StateStore) -> Result<Vec<UserId>, StageError> {
    let items = store.query(keys::PEOPLE, "").await?;
    Ok(items.into_iter().map(|i| UserId::new(&i.sk)).collect())
}

pub async fn load_profile(
    store: &dyn StateStore,
    user: &UserId,
) -> Result<Option<StoredProfile>, StageError> {
    let (pk, sk) = keys::profile(user);
    Ok(store.get_as(&pk, &sk).await?.map(|(p, _)| p))
}

pub async fn resolve_email(
    store: &dyn StateStore,
    email: &str,
) -> Result<Option<UserId>, StageError> {
    let (pk, sk) = keys::email_index(email);
    Ok(store.get_as(&pk, &sk).await?.map(|(u, _)| u))
}

/// The region people at `location` are in, as the directory last saw it.
pub async fn region_of_location(
    store: &dyn StateStore,
    location: &str,
) -> Result<Option<String>, StageError> {
    let (pk, sk) = keys::location_region(location);
    Ok(store.get_as(&pk, &sk).await?.map(|(r, _)| r))
}

pub async fn resolve_external_id(
    store: &dyn StateStore,
    source: &str,
    external_id: &str,
) -> Result<Option<UserId>, StageError> {
    let (pk, sk) = keys::external_id_index(source, external_id);
    Ok(store.get_as(&pk, &sk).await?.map(|(u, _)| u))
}

pub async fn remember_external_id(
    store: &dyn StateStore,
    source: &str,
    external_id: &str,
    user: &UserId,
) -> Result<(), StageError> {
    let (pk, sk) = keys::external_id_index(source, external_id);
    store.put_as(&pk, &sk, user, None, Condition::None).await?;
    Ok(())
}

pub async fn is_manager(store: &dyn StateStore, user: &UserId) -> Result<bool, StageError> {
    let (pk, sk) = keys::manager_marker(user);
    Ok(store
        .get_as::<bool>(&pk, &sk)
        .await?
        .map(|(b, _)| b)
        .unwrap_or(false))
}

pub async fn load_usage(
    store: &dyn StateStore,
    user: &UserId,
) -> Result<Vec<AppUsage>, StageError> {
    let (pk, sk) = keys::usage(user);
    Ok(store
        .get_as::<Vec<AppUsage>>(&pk, &sk)
        .await?
        .map(|(u, _)| u)
        .unwrap_or_default())
}

pub async fn store_usage(
    store: &dyn StateStore,
    user: &UserId,
    usage: &[AppUsage],
) -> Result<(), StageError> {
    let (pk, sk) = keys::usage(user);
    store
        .put_as(&pk, &sk, &usage, None, Condition::None)
        .await?;
    Ok(())
}

/// Seeds the directory from org data (local mode, demo). Existing newer profiles are kept.
pub async fn seed(
    store: &dyn StateStore,
    employees: &[Employee],
    as_of: DateTime<Utc>,
) -> Result<usize, StageError> {
    let mut written = 0;
    for e in employees {
        if upsert_profile(store, e, as_of, true).await?.1 {
            written += 1;
        }
    }
    Ok(written)
}
