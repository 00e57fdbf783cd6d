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
use futures::StreamExt;
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

/// UEM reads in flight: UEM's rate budget paces them; a few at a time hide its latency.
const UEM_READS_IN_FLIGHT: usize = 4;
/// Store queries in flight (one per app with Loadout groups).
const QUERIES_IN_FLIGHT: usize = 8;

pub async fn read_all(uem: &dyn UemApi, store: &dyn StateStore) -> Result<ReadGroups, StageError> {
    // Loadout's records and UEM's search are independent: read side by side.
    let (snapshots, owned, found) =
        futures::future::try_join3(observed::snapshots(store), owned_groups(store), async {
            Ok::<_, StageError>(uem.smart_groups_named("loadout:").await?)
        })
        .await?;
    let mut read = ReadGroups {
        owned,
        ..ReadGroups::default()
    };
    for (snapshot, version) in snapshots {
        let key = GroupKey {
            app: snapshot.app_id.clone(),
            mode: snapshot.push_mode,
            shard: snapshot.shard,
        };
        read.snapshots.insert(key, (snapshot, version));
    }
    let mut ours = Vec::new();
    for reference in found {
        let Some((app, mode, shard)) = shards::parse_group_name(&reference.name) else {
            continue;
        };
        ours.push((GroupKey { app, mode, shard }, reference));
    }
    let mut reads = futures::stream::iter(ours)
        .map(|(key, reference)| async move {
            let group = uem.get_smart_group(reference.id).await;
            (key, reference, group)
        })
        .buffered(UEM_READS_IN_FLIGHT);
    while let Some((key, reference, group)) = reads.next().await {
        // Two groups of one name: the one Loadout recorded is its own.
        if read.groups.contains_key(&key)
            && read.owned.get(&key).is_none_or(|o| o.id != reference.id)
        {
            tracing::warn!(name = %reference.name, id = reference.id, "a second group carries a Loadout name; ignored");
            continue;
        }
        let group = match group {
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

/// Loadout's record of every group it created, per app (one query per app, a few at a time).
async fn owned_groups(
    store: &dyn StateStore,
) -> Result<BTreeMap<GroupKey, OwnedGroup>, StageError> {
    let apps: Vec<AppId> = store
        .query("uemgroup-apps", "")
        .await?
        .into_iter()
        .map(|item| AppId::new(&item.sk))
        .collect();
    let mut queries = futures::stream::iter(apps)
        .map(|app| async move {
            let items = store.query(&keys::owned_groups_partition(&app), "").await;
            (app, items)
        })
        .buffer_unordered(QUERIES_IN_FLIGHT);
    let mut owned = BTreeMap::new();
    while let Some((app, items)) = queries.next().await {
        for item in items? {
            let Some((mode, shard)) = item.sk.split_once('#') else {
                continue;
            };
            let (Some(mode), Ok(shard)) = (PushMode::parse(mode), shard.parse::<u32>()) else {
                continue;
            };
            if let Ok(group) = item.decode::<OwnedGroup>() {
                owned.insert(
                    GroupKey {
                        app: app.clone(),
                        mode,
                        shard,
                    },
                    group,
                );
            }
        }
    }
    Ok(owned)
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
