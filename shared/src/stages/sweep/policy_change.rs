//! After a policy push, the users decided under an older policy version. Deciding each of them
//! again would cost one Cedar evaluation and one decision per user; instead the stale users are
//! evaluated as a fleet, once per cohort of users the policies cannot tell apart (equal decision
//! attributes, groups and devices), and only those whose desired apps differ from their latest
//! decision are queued for a new one. The others already hold what the new version wants.
//!
//! A user the fleet cannot speak for is queued as before: a leaver (no active profile), a user
//! whose latest decision does not load, or every stale user when the active set does not load
//! as a fleet (the decision stage reports why).

use super::super::directory::{self, StoredProfile};
use super::super::policy_repo::{self, PolicySetRecord};
use super::super::{StageError, identity};
use crate::domain::{AppId, Catalog, Decision, Device, Employee, PushMode, UserId};
use crate::inventory::Inventory;
use crate::keys;
use crate::policy::{CatalogFacts, FleetMember, PolicyEngine};
use crate::ports::StateStore;
use crate::ports::bulk_read::{read_many, read_many_text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};

/// What the re-evaluation after a policy change cost and found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChangeReport {
    /// Users whose latest decision was made under another policy version.
    pub stale_users: usize,
    /// Cohorts the stale users with an active profile fell into (one evaluation each).
    pub cohorts: usize,
    /// Cedar requests answered for them.
    pub evaluations: usize,
    /// Stale users whose desired apps the active version leaves as they were.
    pub unchanged: usize,
}

/// The stale users to decide again, and what finding them cost.
pub async fn changed_users(
    store: &dyn StateStore,
    inventory: &Inventory,
    active_version: &str,
    now: DateTime<Utc>,
) -> Result<(Vec<UserId>, PolicyChangeReport), StageError> {
    let mut report = PolicyChangeReport::default();
    let mut queue: Vec<UserId> = Vec::new();
    let mut stale: Vec<(Employee, Decision)> = Vec::new();
    let mut managers: HashSet<UserId> = HashSet::new();
    // Every user's profile and latest decision, read in batches: one read per user each would be
    // two round trips per person in the tenant on every sweep.
    let users = directory::all_users(store).await?;
    let (profiles, decisions) = futures::future::try_join(
        read_many::<StoredProfile>(store, users.iter().map(keys::profile).collect()),
        read_many_text(store, users.iter().map(keys::latest_decision).collect()),
    )
    .await?;
    for ((user, profile), item) in users.into_iter().zip(profiles).zip(decisions) {
        if let Some(manager) = profile
            .as_ref()
            .filter(|p| p.active)
            .and_then(|p| p.employee.manager_id.clone())
        {
            managers.insert(manager);
        }
        let Some(item) = item else {
            continue;
        };
        // Only the version first: most users are current, and their decisions need no decoding.
        let version = item
            .decode::<DecidedUnder>()
            .ok()
            .and_then(|d| d.policy_version);
        if version.is_none_or(|v| v == active_version) {
            continue;
        }
        report.stale_users += 1;
        let (Some(profile), Ok(decision)) = (profile, item.decode::<Decision>()) else {
            queue.push(user);
            continue;
        };
        if !profile.active {
            queue.push(user);
            continue;
        }
        stale.push((profile.employee, decision));
    }
    if stale.is_empty() {
        return Ok((queue, report));
    }
    let devices = devices_of(store, inventory, &stale).await?;
    let stale: Vec<(Employee, Vec<Device>, Decision)> = stale
        .into_iter()
        .zip(devices)
        .map(|((employee, decision), devices)| (employee, devices, decision))
        .collect();
    let fleet = match Fleet::load(store, active_version).await? {
        Some(fleet) => fleet,
        None => {
            queue.extend(stale.into_iter().map(|(e, _, _)| e.id));
            return Ok((queue, report));
        }
    };
    let members: Vec<FleetMember> = stale
        .iter()
        .map(|(employee, devices, _)| FleetMember {
            employee,
            is_manager: managers.contains(&employee.id),
            devices,
        })
        .collect();
    let decided = match fleet
        .engine
        .desired_for_fleet(&members, &fleet.facts, now, &|_| {})
    {
        Ok(decided) => decided,
        Err(e) => {
            tracing::warn!(error = %e, "the stale users could not be evaluated as a fleet; each is decided again");
            queue.extend(stale.into_iter().map(|(e, _, _)| e.id));
            return Ok((queue, report));
        }
    };
    report.cohorts = decided.cohorts().len();
    report.evaluations = decided.evaluations();
    for (index, (employee, _, latest)) in stale.iter().enumerate() {
        let wanted: BTreeSet<(AppId, PushMode)> = decided
            .entitled(index)
            .map(|(app, mode)| (app.clone(), mode))
            .collect();
        let had: BTreeSet<(AppId, PushMode)> = latest
            .desired
            .iter()
            .map(|e| (e.app_id.clone(), e.push_mode))
            .collect();
        if wanted == had {
            report.unchanged += 1;
        } else {
            queue.push(employee.id.clone());
        }
    }
    Ok((queue, report))
}

/// The active policy set as a fleet evaluator.
struct Fleet {
    engine: PolicyEngine,
    facts: CatalogFacts,
}

impl Fleet {
    /// `None` when the active record is not `version` any more or does not load.
    async fn load(store: &dyn StateStore, version: &str) -> Result<Option<Self>, StageError> {
        let Some(record) = policy_repo::active(store).await? else {
            return Ok(None);
        };
        Ok(Self::build(&record, version))
    }

    fn build(record: &PolicySetRecord, version: &str) -> Option<Self> {
        if record.version != version {
            return None;
        }
        let engine = PolicyEngine::from_sources(&record.schema, &record.policies).ok()?;
        let catalog = Catalog::from_yaml(&record.catalog_yaml).ok()?;
        let facts = CatalogFacts::new(&catalog).ok()?;
        Some(Self { engine, facts })
    }
}

/// The part of a decision record that says which policy version made it.
#[derive(Deserialize)]
struct DecidedUnder {
    policy_version: Option<String>,
}

/// Each stale user's enrolled devices as the inventory knows them (what enrichment would read),
/// in order; a user Loadout never matched in UEM has none.
async fn devices_of(
    store: &dyn StateStore,
    inventory: &Inventory,
    stale: &[(Employee, Decision)],
) -> Result<Vec<Vec<Device>>, StageError> {
    let matched: Vec<Option<identity::IdentityRecord>> = read_many(
        store,
        stale.iter().map(|(e, _)| keys::identity(&e.id)).collect(),
    )
    .await?;
    let owners: Vec<String> = matched
        .iter()
        .flatten()
        .map(|r| r.uem.username.clone())
        .collect();
    let mut listed = inventory
        .devices_of_many(owners)
        .await?
        .unwrap_or_default()
        .into_iter();
    Ok(stale
        .iter()
        .zip(matched)
        .map(|((employee, _), record)| {
            // `listed` holds one list per matched user, in order (none at all without a device
            // inventory).
            let Some(_) = record else {
                return Vec::new();
            };
            let mut devices = listed.next().unwrap_or_default();
            for device in &mut devices {
                device.user_id = employee.id.clone();
            }
            devices
        })
        .collect())
}
