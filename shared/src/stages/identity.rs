//! Identity in practice: the person's UEM enrollment user, remembered once matched, looked up in
//! the inventory first and in UEM only when the inventory misses; a person nobody in UEM answers
//! to is parked with the reason (visible in `loadout explain` and `loadout status`), and picked
//! up again by their enrollment notification or the next sweep.

use super::{Services, StageError};
use crate::domain::{AuditKind, AuditRecord, CorrelationId, Employee, UserId};
use crate::identity::{MatchOutcome, UserMatch, match_person};
use crate::inventory::Inventory;
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use crate::uem::{UemApi, UemUser, UserLookup};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A person's enrollment user, and how it was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityRecord {
    pub uem: UemUser,
    /// The attribute that matched (`username`, `email`, `upn`).
    pub matched_by: String,
    pub matched_at: DateTime<Utc>,
}

/// A person UEM does not know yet, or not unambiguously.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParkedRecord {
    pub user_id: UserId,
    pub reason: String,
    pub since: DateTime<Utc>,
    pub last_attempt: DateTime<Utc>,
    pub attempts: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IndexEntry {
    user_id: UserId,
}

pub async fn known(
    store: &dyn StateStore,
    user: &UserId,
) -> Result<Option<IdentityRecord>, StageError> {
    let (pk, sk) = keys::identity(user);
    Ok(store.get_as(&pk, &sk).await?.map(|(r, _)| r))
}

/// The Loadout user a UEM user id belongs to, if Loadout matched them.
pub async fn user_for_uem_id(
    store: &dyn StateStore,
    uem_id: i64,
) -> Result<Option<UserId>, StageError> {
    let (pk, sk) = keys::identity_index(uem_id);
    Ok(store
        .get_as::<IndexEntry>(&pk, &sk)
        .await?
        .map(|(e, _)| e.user_id))
}

/// Every UEM user id -> Loadout user mapping (for the sweep, one query).
pub async fn all_matches(store: &dyn StateStore) -> Result<BTreeMap<i64, UserId>, StageError> {
    let mut out = BTreeMap::new();
    for item in store.query(keys::IDENTITY_INDEX, "").await? {
        let Ok(id) = item.sk.parse::<i64>() else {
            continue;
        };
        out.insert(id, item.decode::<IndexEntry>()?.user_id);
    }
    Ok(out)
}

pub async fn remember(
    store: &dyn StateStore,
    user: &UserId,
    record: &IdentityRecord,
) -> Result<(), StageError> {
    if let Some(old) = known(store, user).await?
        && old.uem.id != record.uem.id
    {
        let (pk, sk) = keys::identity_index(old.uem.id);
        store.delete(&pk, &sk, Condition::None).await?;
    }
    let (pk, sk) = keys::identity(user);
    store
        .put_as(&pk, &sk, record, None, Condition::None)
        .await?;
    let (pk, sk) = keys::identity_index(record.uem.id);
    store
        .put_as(
            &pk,
            &sk,
            &IndexEntry {
                user_id: user.clone(),
            },
            None,
            Condition::None,
        )
        .await?;
    unpark(store, user).await
}

/// Forgets a match whose enrollment user is gone from UEM.
pub async fn forget(store: &dyn StateStore, user: &UserId) -> Result<(), StageError> {
    if let Some(old) = known(store, user).await? {
        let (pk, sk) = keys::identity_index(old.uem.id);
        store.delete(&pk, &sk, Condition::None).await?;
    }
    let (pk, sk) = keys::identity(user);
    store.delete(&pk, &sk, Condition::None).await?;
    Ok(())
}

pub async fn parked(
    store: &dyn StateStore,
    user: &UserId,
) -> Result<Option<ParkedRecord>, StageError> {
    let (pk, sk) = keys::parked(user);
    Ok(store.get_as(&pk, &sk).await?.map(|(r, _)| r))
}

pub async fn all_parked(store: &dyn StateStore) -> Result<Vec<ParkedRecord>, StageError> {
    let mut out = Vec::new();
    for item in store.query(keys::PARKED, "").await? {
        out.push(item.decode()?);
    }
    Ok(out)
}

async fn park(
    store: &dyn StateStore,
    user: &UserId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<ParkedRecord, StageError> {
    let previous = parked(store, user).await?;
    let record = ParkedRecord {
        user_id: user.clone(),
        reason: reason.to_owned(),
        since: previous.as_ref().map(|p| p.since).unwrap_or(now),
        last_attempt: now,
        attempts: previous.map(|p| p.attempts).unwrap_or(0) + 1,
    };
    let (pk, sk) = keys::parked(user);
    store
        .put_as(&pk, &sk, &record, None, Condition::None)
        .await?;
    Ok(record)
}

async fn unpark(store: &dyn StateStore, user: &UserId) -> Result<(), StageError> {
    let (pk, sk) = keys::parked(user);
    store.delete(&pk, &sk, Condition::None).await?;
    Ok(())
}

/// The outcome of resolving a person.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// `searched`: the inventory did not know the person and UEM was searched (their devices
    /// are then not in the inventory either).
    Matched {
        user: UemUser,
        searched: bool,
    },
    Parked(ParkedRecord),
}

impl Resolution {
    pub fn uem_user(&self) -> Option<&UemUser> {
        match self {
            Resolution::Matched { user, .. } => Some(user),
            Resolution::Parked(_) => None,
        }
    }
}

/// How a person is looked up: the rules, the inventory, and UEM for misses.
#[derive(Clone)]
pub struct Resolver {
    uem: Arc<dyn UemApi>,
    inventory: Inventory,
    rules: UserMatch,
    /// A parked person is searched in UEM again only this long after the last search (their
    /// enrollment notification or the sweep's fresh inventory find them sooner).
    research_after: Duration,
}

impl Resolver {
    pub fn new(uem: Arc<dyn UemApi>, inventory: Inventory, rules: UserMatch) -> Self {
        Self {
            uem,
            inventory,
            rules,
            research_after: Duration::from_secs(300),
        }
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    pub fn rules(&self) -> &UserMatch {
        &self.rules
    }

    /// The person's enrollment user: remembered, else matched in the inventory, else searched
    /// in UEM (unless searched moments ago); parked with the reason when nobody matches.
    /// `force` searches UEM even for a person searched moments ago (an enrollment event).
    pub async fn resolve(
        &self,
        services: &Services,
        person: &Employee,
        correlation: &CorrelationId,
        force: bool,
    ) -> Result<Resolution, StageError> {
        let store = services.store.as_ref();
        let now = services.clock.now();
        if let Some(record) = known(store, &person.id).await? {
            return Ok(Resolution::Matched {
                user: record.uem,
                searched: false,
            });
        }
        let mut outcome = self.match_in_inventory(person).await?;
        let mut searched = false;
        let recently_searched = parked(store, &person.id).await?.is_some_and(|p| {
            (now - p.last_attempt).to_std().unwrap_or_default() < self.research_after
        });
        if matches!(outcome, MatchOutcome::NotFound { .. }) && (force || !recently_searched) {
            outcome = self.match_in_uem(person).await?;
            searched = true;
        }
        match outcome {
            MatchOutcome::Matched { user, by, .. } => {
                let record = IdentityRecord {
                    uem: user.clone(),
                    matched_by: by.as_str().to_owned(),
                    matched_at: now,
                };
                remember(store, &person.id, &record).await?;
                Ok(Resolution::Matched { user, searched })
            }
            other => {
                let reason = other.describe();
                let was_parked = parked(store, &person.id).await?.is_some();
                let record = park(store, &person.id, &reason, now).await?;
                if !was_parked {
                    services
                        .audit(
                            AuditRecord::new(
                                now,
                                correlation.clone(),
                                AuditKind::Parked,
                                "enrich",
                                format!("parked until UEM knows the person: {reason}"),
                            )
                            .user(&person.id),
                        )
                        .await?;
                }
                Ok(Resolution::Parked(record))
            }
        }
    }

    async fn match_in_inventory(&self, person: &Employee) -> Result<MatchOutcome, StageError> {
        let mut found: BTreeMap<(UserLookup, String), Vec<UemUser>> = BTreeMap::new();
        for attribute in self.rules.attributes() {
            for (lookup, value) in attribute.candidates(person) {
                let users = self.inventory.find(lookup, &value).await?;
                found.insert((lookup, value.to_ascii_lowercase()), users);
            }
        }
        Ok(match_person(&self.rules, person, |lookup, value| {
            found
                .get(&(lookup, value.to_ascii_lowercase()))
                .cloned()
                .unwrap_or_default()
        }))
    }

    /// One search per candidate value until one finds someone; every user found goes into the
    /// inventory so the next look-up needs no call.
    async fn match_in_uem(&self, person: &Employee) -> Result<MatchOutcome, StageError> {
        let mut found: BTreeMap<(UserLookup, String), Vec<UemUser>> = BTreeMap::new();
        'search: for attribute in self.rules.attributes() {
            for (lookup, value) in attribute.candidates(person) {
                let users = self.uem.find_users_by(lookup, &value).await?;
                tracing::info!(
                    lookup = lookup.as_str(),
                    found = users.len(),
                    "inventory miss: searched UEM for one person"
                );
                for user in &users {
                    self.inventory.put_user(user).await?;
                }
                let hit = users.iter().any(|u| u.active);
                found.insert((lookup, value.to_ascii_lowercase()), users);
                if hit {
                    break 'search;
                }
            }
        }
        Ok(match_person(&self.rules, person, |lookup, value| {
            found
                .get(&(lookup, value.to_ascii_lowercase()))
                .cloned()
                .unwrap_or_default()
        }))
    }
}
