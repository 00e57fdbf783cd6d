//! Reading every Loadout group in bulk: one paged name search for `loadout:`, one read per group.
//! Groups whose names are not Loadout's exact pattern are never touched.

use super::super::StageError;
use super::super::membership::OwnedGroup;
use super::super::observed::{self, GroupSnapshot, Source};
use super::super::shards;
use crate::domain::{AppId, PushMode};
use crate::keys;
use crate::ports::StateStore;
use crate::uem::{UemApi, UemError};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    pub app: AppId,
    pub mode: PushMode,
    pub shard: u32,
}

/// One group as the sweep read it.
#[derive(Debug, Clone)]
pub struct ReadGroup {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub members: BTreeSet<i64>,
}

/// Everything the sweep compares: UEM's groups now, Loadout's snapshots and records.
#[derive(Debug, Default)]
pub struct ReadGroups {
    pub groups: BTreeMap<GroupKey, ReadGroup>,
    pub snapshots: BTreeMap<GroupKey, (GroupSnapshot, u64)>,
    pub owned: BTreeMap<GroupKey, OwnedGroup>,
    /// UEM's name of every member seen (UEM fills member names in itself).
    pub names: BTreeMap<i64, String>,
}

pub async fn read_all(uem: &dyn UemApi, store: &dyn StateStore) -> Result<ReadGroups, StageError> {
    let mut read = ReadGroups::default();
    for (snapshot, version) in observed::snapshots(store).await? {
        let key = GroupKey {
            app: snapshot.app_id.clone(),
            mode: snapshot.push_mode,
            shard: snapshot.shard,
        };
        read.snapshots.insert(key, (snapshot, version));
    }
    for app in store.query("uemgroup-apps", "").await? {
        let app = AppId::new(&app.sk);
        for item in store.query(&keys::owned_groups_partition(&app), "").await? {
            let Some((mode, shard)) = item.sk.split_once('#') else {
                continue;
            };
            let (Some(mode), Ok(shard)) = (PushMode::parse(mode), shard.parse::<u32>()) else {
                continue;
            };
            if let Ok(owned) = item.decode::<OwnedGroup>() {
                read.owned.insert(
                    GroupKey {
                        app: app.clone(),
                        mode,
                        shard,
                    },
                    owned,
                );
            }
        }
    }
    for reference in uem.smart_groups_named("loadout:").await? {
        let Some((app, mode, shard)) = shards::parse_group_name(&reference.name) else {
            continue;
        };
        let key = GroupKey { app, mode, shard };
        // Two groups of one name: the one Loadout recorded is its own.
        if read.groups.contains_key(&key)
            && read.owned.get(&key).is_none_or(|o| o.id != reference.id)
        {
            tracing::warn!(name = %reference.name, id = reference.id, "a second group carries a Loadout name; ignored");
            continue;
        }
        let group = match uem.get_smart_group(reference.id).await {
            Ok(g) => g,
            // Deleted between the search and the read: as good as not there.
            Err(UemError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut members = BTreeSet::new();
        for m in &group.users {
            let id = m.id.trim().parse::<i64>().map_err(|_| {
                StageError::Retryable(format!(
                    "{}: member id {:?} is not numeric",
                    reference.name, m.id
                ))
            })?;
            members.insert(id);
            if !m.name.is_empty() {
                read.names.insert(id, m.name.clone());
            }
        }
        read.groups.insert(
            key,
            ReadGroup {
                id: reference.id,
                uuid: reference.uuid.clone(),
                name: reference.name.clone(),
                members,
            },
        );
    }
    Ok(read)
}

pub fn snapshot_of(key: &GroupKey, group: &ReadGroup, now: DateTime<Utc>) -> GroupSnapshot {
    GroupSnapshot {
        app_id: key.app.clone(),
        push_mode: key.mode,
        shard: key.shard,
        group_id: group.id,
        group_uuid: group.uuid.clone(),
        name: group.name.clone(),
        members: group.members.clone(),
        assigned: None,
        read_at: now,
        source: Source::Sweep,
    }
}
