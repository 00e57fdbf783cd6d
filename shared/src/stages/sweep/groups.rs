//! Reading every Loadout group in bulk: one paged name search for `loadout:`, one read per group,
//! and Loadout's records of them by key.
//! Groups whose names are not Loadout's exact pattern are never touched.

use super::super::StageError;
use super::super::membership::OwnedGroup;
use super::super::observed::{self, GroupSnapshot, Source};
use super::super::shards;
use crate::domain::{AppId, PushMode};
use crate::keys;
use crate::ports::{StateStore, bulk_read};
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

pub async fn read_all(uem: &dyn UemApi, store: &dyn StateStore) -> Result<ReadGroups, StageError> {
    // Loadout's snapshots and UEM's search are independent: read side by side.
    let (snapshots, found) = futures::future::try_join(observed::snapshots(store), async {
        Ok::<_, StageError>(uem.smart_groups_named("loadout:").await?)
    })
    .await?;
    let mut read = ReadGroups::default();
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
    let candidates: BTreeSet<GroupKey> = ours
        .iter()
        .map(|(key, _)| key.clone())
        .chain(read.snapshots.keys().cloned())
        .collect();
    read.owned = owned_groups(store, candidates).await?;
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

/// Loadout's records of the groups it may own: every group UEM holds under a Loadout name and
/// every group Loadout last saw. Read by key, a hundred to a round trip: one query per app cost a
/// tenant of many apps a round trip each at every sweep. (A record and its snapshot are written
/// and forgotten together, so a group in neither place has no record to find.)
async fn owned_groups(
    store: &dyn StateStore,
    candidates: BTreeSet<GroupKey>,
) -> Result<BTreeMap<GroupKey, OwnedGroup>, StageError> {
    let candidates: Vec<GroupKey> = candidates.into_iter().collect();
    let keys = candidates
        .iter()
        .map(|k| keys::owned_group(&k.app, k.mode, k.shard))
        .collect();
    let records = bulk_read::read_many_text(store, keys).await?;
    Ok(candidates
        .into_iter()
        .zip(records)
        // An unreadable record is as good as none: the group is adopted again.
        .filter_map(|(key, record)| Some((key, record?.decode::<OwnedGroup>().ok()?)))
        .collect())
}

/// UEM holds the group as the snapshot says (the members and the group itself; what else a
/// snapshot carries is the writer's bookkeeping, which no reader relies on).
pub fn as_seen(snapshot: &GroupSnapshot, group: &ReadGroup) -> bool {
    snapshot.group_id == group.id
        && snapshot.group_uuid == group.uuid
        && snapshot.name == group.name
        && snapshot.members == group.members
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

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::adapters::local::{LocalDb, SqliteStateStore};
    use crate::domain::Device;
    use crate::ports::counting_store::CountingStore;
    use crate::ports::{Condition, StateStoreExt, SystemClock};
    use crate::uem::{
        Assignment, AssignmentSpec, EnrolledDevice, GroupMember, InstalledApp, Page, SmartGroup,
        SmartGroupRef, UemApp, UemUser, UserLookup,
    };
    use async_trait::async_trait;
    use std::sync::Arc;

    /// UEM holding `groups`, each readable by id.
    struct Groups(Vec<SmartGroupRef>);

    #[async_trait]
    impl UemApi for Groups {
        async fn find_users_by(&self, _: UserLookup, _: &str) -> Result<Vec<UemUser>, UemError> {
            Ok(vec![])
        }
        async fn users_page(&self, _: u32) -> Result<Page<UemUser>, UemError> {
            unimplemented!("not read here")
        }
        async fn devices_page(&self, _: u32) -> Result<Page<EnrolledDevice>, UemError> {
            unimplemented!("not read here")
        }
        async fn devices_of_user(&self, _: &str) -> Result<Vec<Device>, UemError> {
            Ok(vec![])
        }
        async fn installed_apps(&self, _: &str) -> Result<Vec<InstalledApp>, UemError> {
            Ok(vec![])
        }
        async fn find_app(&self, _: &str) -> Result<Option<UemApp>, UemError> {
            Ok(None)
        }
        async fn smart_groups_named(&self, _: &str) -> Result<Vec<SmartGroupRef>, UemError> {
            Ok(self.0.clone())
        }
        async fn create_smart_group(
            &self,
            _: &str,
            _: &[GroupMember],
        ) -> Result<SmartGroupRef, UemError> {
            unimplemented!("the sweep's read creates nothing")
        }
        async fn get_smart_group(&self, id: i64) -> Result<SmartGroup, UemError> {
            let group =
                self.0
                    .iter()
                    .find(|g| g.id == id)
                    .cloned()
                    .ok_or_else(|| UemError::NotFound {
                        what: format!("group {id}"),
                        activity_id: None,
                    })?;
            Ok(SmartGroup {
                group,
                users: vec![GroupMember {
                    id: "7".into(),
                    name: "someone".into(),
                }],
                raw: serde_json::json!({}),
            })
        }
        async fn update_smart_group(&self, _: &SmartGroup) -> Result<(), UemError> {
            unimplemented!("the sweep's read writes nothing")
        }
        async fn delete_smart_group(&self, _: i64) -> Result<(), UemError> {
            unimplemented!("the sweep's read deletes nothing")
        }
        async fn app_assignments(&self, _: &UemApp) -> Result<Vec<Assignment>, UemError> {
            Ok(vec![])
        }
        async fn assign_app(
            &self,
            _: &UemApp,
            _: &SmartGroupRef,
            _: AssignmentSpec,
        ) -> Result<(), UemError> {
            unimplemented!("the sweep's read assigns nothing")
        }
        async fn unassign_app(&self, _: &UemApp, _: &SmartGroupRef) -> Result<(), UemError> {
            unimplemented!("the sweep's read unassigns nothing")
        }
    }

    fn reference(app: &AppId, id: i64) -> SmartGroupRef {
        SmartGroupRef {
            id,
            uuid: format!("uuid-{id}"),
            name: shards::group_name(app, PushMode::Auto, 0),
        }
    }

    async fn own(store: &CountingStore, app: &AppId, group: &SmartGroupRef) {
        let (pk, _) = keys::owned_app(app);
        store
            .put_as(&pk, app.as_str(), &1, None, Condition::None)
            .await
            .unwrap();
        let key = GroupKey {
            app: app.clone(),
            mode: PushMode::Auto,
            shard: 0,
        };
        let read = ReadGroup {
            id: group.id,
            uuid: group.uuid.clone(),
            name: group.name.clone(),
            members: BTreeSet::from([7]),
        };
        super::super::record_owned(store, &key, &read, None)
            .await
            .unwrap();
        observed::save_snapshot(store, &snapshot_of(&key, &read, Utc::now()), None)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn loadouts_group_records_are_read_by_key_not_one_query_per_app() {
        let store = CountingStore::new(Arc::new(SqliteStateStore::new(
            LocalDb::in_memory().unwrap(),
            Arc::new(SystemClock),
        )));
        let mut in_uem = Vec::new();
        for n in 0..30 {
            let app = AppId::new(format!("app-{n:02}"));
            let group = reference(&app, 100 + n);
            own(&store, &app, &group).await;
            in_uem.push(group);
        }
        // An admin deleted one group in UEM: its record and snapshot are still Loadout's.
        let gone = AppId::new("app-gone");
        own(&store, &gone, &reference(&gone, 99)).await;
        // A group under Loadout's name with no record (state lost): found, to be adopted.
        let stray = AppId::new("app-stray");
        in_uem.push(reference(&stray, 500));
        store.reset();

        let read = read_all(&Groups(in_uem), &store).await.unwrap();

        assert_eq!(read.groups.len(), 31, "every Loadout-named group in UEM");
        assert_eq!(
            read.owned.len(),
            31,
            "every record: the 30 found and the deleted one"
        );
        assert!(
            read.owned.keys().any(|k| k.app == gone),
            "the deleted group's record"
        );
        assert!(
            !read.owned.keys().any(|k| k.app == stray),
            "no record for the stray"
        );
        assert_eq!(read.snapshots.len(), 31);
        assert_eq!(
            store.queries(),
            1,
            "one query (the snapshots); the records came by key"
        );
    }

    #[test]
    fn a_group_is_as_seen_only_with_the_same_members_and_identity() {
        let key = GroupKey {
            app: AppId::new("slack"),
            mode: PushMode::Auto,
            shard: 0,
        };
        let group = ReadGroup {
            id: 5,
            uuid: "uuid-5".into(),
            name: "loadout:slack".into(),
            members: BTreeSet::from([1, 2]),
        };
        let earlier = Utc::now() - chrono::Duration::hours(1);
        let mut snapshot = snapshot_of(&key, &group, earlier);
        snapshot.source = Source::Write;
        assert!(
            as_seen(&snapshot, &group),
            "bookkeeping aside, nothing changed"
        );
        let mut added = group.clone();
        added.members.insert(3);
        assert!(!as_seen(&snapshot, &added), "a member added by hand");
        let mut recreated = group.clone();
        recreated.id = 6;
        assert!(
            !as_seen(&snapshot, &recreated),
            "the group deleted and made again"
        );
    }
}
