//! Applying one app's net membership changes to its Loadout-owned smart groups in UEM: a group
//! per push mode (`loadout:<app>` pushed automatically, `loadout:<app>:on-demand` offered in
//! Intelligent Hub), split into shards in large tenants (`shards`). Members are written by UEM
//! user id. Every write is read-modify-write of the whole group from a fresh, strictly read copy,
//! so nothing is ever dropped that was not asked to go; it happens under the app's lease, fenced
//! right before the write. An emptied group is unassigned and deleted (UEM may reject user groups
//! with no users) and recreated when someone is entitled again. After each write the group's
//! snapshot and its members' observed holdings are updated: Loadout knows what UEM holds.

use super::app_lease::AppLease;
use super::observed::{self, GroupSnapshot, HeldApp, Source};
use super::shards;
use super::{Services, StageError};
use crate::domain::{AppId, PushMode, UemTarget, UserId};
use crate::keys;
use crate::ports::{Condition, StateStoreExt};
use crate::uem::{AssignmentSpec, GroupMember, SmartGroupRef, UemApi, UemApp, UemError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The net change for one user of one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Assign(PushMode),
    Remove,
}

/// One user's net change, with their UEM user when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserChange {
    pub change: Change,
    pub uem: Option<UemTarget>,
}

/// Why a user's change did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    /// Retrying the same change cannot succeed (it is given up; the next decision tries anew).
    pub permanent: bool,
}

impl Failure {
    fn permanent(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: true,
        }
    }
}

/// What happened to a user's membership, for the audit: the notes of every group write that
/// carried their change (one group write serves every user of the flush).
pub type Outcomes = BTreeMap<UserId, Result<Vec<String>, Failure>>;

/// One shard's share of a flush: the members to add and the members to remove.
type ShardChanges<'a> = (
    Vec<(&'a UserId, &'a UemTarget)>,
    Vec<(&'a UserId, &'a UemTarget)>,
);

/// The app as the executor needs it: the catalog's view, or (for an app no longer in the
/// catalog) what Loadout remembered when it created the app's groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppTarget {
    pub app_id: AppId,
    pub uem_app_id: String,
    pub name: String,
    /// UEM's "Require Approval To Install" on the on-demand assignment.
    #[serde(default)]
    pub require_approval_on_demand: bool,
}

impl From<&crate::domain::CatalogApp> for AppTarget {
    /// The catalog's view: its `approval_on_request` is UEM's "Require Approval To Install".
    fn from(app: &crate::domain::CatalogApp) -> Self {
        Self {
            app_id: app.id.clone(),
            uem_app_id: app.uem_app_id.clone(),
            name: app.name.clone(),
            require_approval_on_demand: app.approval_on_request,
        }
    }
}

impl AppTarget {
    fn spec(&self, mode: PushMode) -> AssignmentSpec {
        AssignmentSpec {
            push_mode: mode,
            requires_approval: mode == PushMode::OnDemand && self.require_approval_on_demand,
        }
    }
}

/// A group Loadout created in UEM, remembered so that no look-up by name is needed next time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnedGroup {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    #[serde(default)]
    pub assigned: Option<AssignmentSpec>,
}

impl OwnedGroup {
    fn reference(&self) -> SmartGroupRef {
        SmartGroupRef {
            id: self.id,
            uuid: self.uuid.clone(),
            name: self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Layout {
    shards: u32,
}

/// Everything a flush of one app works with.
pub struct AppWriter<'a> {
    pub services: &'a Services,
    pub uem: &'a dyn UemApi,
    pub lease: &'a AppLease<'a>,
    pub target: &'a AppTarget,
}

fn uem_failure(e: UemError) -> Result<Failure, StageError> {
    if e.is_retryable() {
        Err(e.into())
    } else {
        Ok(Failure::permanent(format!("UEM: {e}")))
    }
}

impl AppWriter<'_> {
    fn store(&self) -> &dyn crate::ports::StateStore {
        self.services.store.as_ref()
    }

    /// Applies the net changes of one app. A retryable failure (throttling, an outage, the
    /// deadline, a lost lease) aborts the app: nothing is settled and the next flush starts from
    /// UEM's state again. Problems that retrying cannot fix are reported per user.
    pub async fn apply(&self, net: &BTreeMap<UserId, UserChange>) -> Result<Outcomes, StageError> {
        let mut outcomes: Outcomes = BTreeMap::new();
        let uem_app = match self.uem.find_app(&self.target.uem_app_id).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                let failure = Failure::permanent(format!(
                    "UEM has no app with id {} (catalog entry {})",
                    self.target.uem_app_id, self.target.app_id
                ));
                return Ok(net
                    .keys()
                    .map(|u| (u.clone(), Err(failure.clone())))
                    .collect());
            }
            Err(e) => {
                let failure = uem_failure(e)?;
                return Ok(net
                    .keys()
                    .map(|u| (u.clone(), Err(failure.clone())))
                    .collect());
            }
        };
        self.remember_app().await?;
        let mut targets: BTreeMap<&UserId, &UemTarget> = BTreeMap::new();
        for (user, change) in net {
            match &change.uem {
                Some(t) => {
                    targets.insert(user, t);
                }
                None => {
                    outcomes.insert(
                        user.clone(),
                        Err(Failure::permanent(format!(
                            "{user} has no UEM enrollment user to change"
                        ))),
                    );
                }
            }
        }
        let mut notes: BTreeMap<UserId, Vec<String>> = BTreeMap::new();
        for mode in [PushMode::Auto, PushMode::OnDemand] {
            let adds: Vec<(&UserId, &UemTarget)> = net
                .iter()
                .filter(|(_, c)| c.change == Change::Assign(mode))
                .filter_map(|(u, _)| targets.get(u).map(|t| (u, *t)))
                .collect();
            let removes: Vec<(&UserId, &UemTarget)> = net
                .iter()
                .filter(|(_, c)| match c.change {
                    Change::Remove => true,
                    Change::Assign(other) => other != mode,
                })
                .filter_map(|(u, _)| targets.get(u).map(|t| (u, *t)))
                .collect();
            if adds.is_empty() && removes.is_empty() {
                continue;
            }
            let failed = self
                .apply_mode(&uem_app, mode, &adds, &removes, &mut notes)
                .await?;
            for (user, failure) in failed {
                outcomes.insert(user, Err(failure));
            }
        }
        for user in net.keys() {
            outcomes
                .entry(user.clone())
                .or_insert_with(|| Ok(notes.remove(user).unwrap_or_default()));
        }
        self.record_observed(net, &outcomes).await?;
        Ok(outcomes)
    }

    /// Keeps what the executor needs to remove the app's groups after the app leaves the catalog.
    async fn remember_app(&self) -> Result<(), StageError> {
        let (pk, sk) = keys::owned_app(&self.target.app_id);
        let known: Option<(AppTarget, u64)> = self.store().get_as(&pk, &sk).await?;
        if known.map(|(t, _)| t) != Some(self.target.clone()) {
            self.store()
                .put_as(&pk, &sk, self.target, None, Condition::None)
                .await?;
        }
        Ok(())
    }

    async fn layout(&self, mode: PushMode) -> Result<u32, StageError> {
        let (pk, sk) = keys::shard_layout(&self.target.app_id, mode);
        Ok(self
            .store()
            .get_as::<Layout>(&pk, &sk)
            .await?
            .map(|(l, _)| l.shards.max(1))
            .unwrap_or(1))
    }

    async fn set_layout(&self, mode: PushMode, shards: u32) -> Result<(), StageError> {
        let (pk, sk) = keys::shard_layout(&self.target.app_id, mode);
        self.store()
            .put_as(&pk, &sk, &Layout { shards }, None, Condition::None)
            .await?;
        Ok(())
    }

    /// One push mode: grow or shrink the shards if the change calls for it, then write each shard
    /// the change touches. Returns the users whose change could not be written.
    async fn apply_mode(
        &self,
        uem_app: &UemApp,
        mode: PushMode,
        adds: &[(&UserId, &UemTarget)],
        removes: &[(&UserId, &UemTarget)],
        notes: &mut BTreeMap<UserId, Vec<String>>,
    ) -> Result<Vec<(UserId, Failure)>, StageError> {
        let mut shards = self.layout(mode).await?;
        let mut population: usize = 0;
        let mut holders: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        for shard in 0..shards {
            if let Some((snapshot, _)) =
                observed::snapshot(self.store(), &self.target.app_id, mode, shard).await?
            {
                population += snapshot.members.len();
                for m in snapshot.members {
                    holders.entry(m).or_default().push(shard);
                }
            }
        }
        let wanted = shards::shard_count(
            (population + adds.len()).saturating_sub(removes.len()),
            self.services.settings.group_shard_size,
            shards,
        );
        if wanted != shards {
            self.reshard(uem_app, mode, shards, wanted).await?;
            shards = wanted;
            holders.clear();
            for shard in 0..shards {
                if let Some((snapshot, _)) =
                    observed::snapshot(self.store(), &self.target.app_id, mode, shard).await?
                {
                    for m in snapshot.members {
                        holders.entry(m).or_default().push(shard);
                    }
                }
            }
        }
        let mut per_shard: BTreeMap<u32, ShardChanges<'_>> = BTreeMap::new();
        for (user, target) in adds {
            let shard = shards::shard_of(target.id, shards);
            per_shard.entry(shard).or_default().0.push((user, target));
        }
        for (user, target) in removes {
            // Where the member should be, and wherever the last read saw them.
            let mut places = vec![shards::shard_of(target.id, shards)];
            places.extend(holders.get(&target.id).into_iter().flatten().copied());
            places.sort_unstable();
            places.dedup();
            for shard in places {
                per_shard.entry(shard).or_default().1.push((user, target));
            }
        }
        let mut failed = Vec::new();
        for (shard, (shard_adds, shard_removes)) in per_shard {
            let result = self
                .sync_shard(uem_app, mode, shard, &shard_adds, &shard_removes)
                .await?;
            match result {
                Ok(Some(note)) => {
                    for (user, _) in shard_adds.iter().chain(shard_removes.iter()) {
                        notes.entry((*user).clone()).or_default().push(note.clone());
                    }
                }
                Ok(None) => {}
                Err(failure) => {
                    for (user, _) in shard_adds.iter().chain(shard_removes.iter()) {
                        failed.push(((*user).clone(), failure.clone()));
                    }
                }
            }
        }
        Ok(failed)
    }

    async fn owned(&self, mode: PushMode, shard: u32) -> Result<Option<OwnedGroup>, StageError> {
        let (pk, sk) = keys::owned_group(&self.target.app_id, mode, shard);
        Ok(self.store().get_as(&pk, &sk).await?.map(|(g, _)| g))
    }

    async fn save_owned(
        &self,
        mode: PushMode,
        shard: u32,
        group: &OwnedGroup,
    ) -> Result<(), StageError> {
        let (pk, sk) = keys::owned_group(&self.target.app_id, mode, shard);
        self.store()
            .put_as(&pk, &sk, group, None, Condition::None)
            .await?;
        Ok(())
    }

    async fn forget_owned(&self, mode: PushMode, shard: u32) -> Result<(), StageError> {
        let (pk, sk) = keys::owned_group(&self.target.app_id, mode, shard);
        self.store().delete(&pk, &sk, Condition::None).await?;
        observed::forget_snapshot(self.store(), &self.target.app_id, mode, shard).await
    }

    async fn snapshot(
        &self,
        mode: PushMode,
        shard: u32,
        group: &OwnedGroup,
        members: &[GroupMember],
    ) -> Result<(), StageError> {
        let snapshot = GroupSnapshot {
            app_id: self.target.app_id.clone(),
            push_mode: mode,
            shard,
            group_id: group.id,
            group_uuid: group.uuid.clone(),
            name: group.name.clone(),
            members: members
                .iter()
                .filter_map(|m| m.id.trim().parse::<i64>().ok())
                .collect(),
            assigned: group.assigned,
            read_at: self.services.clock.now(),
            source: Source::Write,
        };
        observed::save_snapshot(self.store(), &snapshot, None).await?;
        Ok(())
    }

    /// Brings one shard in line. `Ok(Some(note))` says what changed in UEM, `Ok(None)` that UEM
    /// already matched; `Err(failure)` is a refusal retrying cannot fix.
    async fn sync_shard(
        &self,
        uem_app: &UemApp,
        mode: PushMode,
        shard: u32,
        adds: &[(&UserId, &UemTarget)],
        removes: &[(&UserId, &UemTarget)],
    ) -> Result<Result<Option<String>, Failure>, StageError> {
        let add_members: Vec<GroupMember> = adds
            .iter()
            .map(|(_, t)| GroupMember {
                id: t.id.to_string(),
                name: t.username.clone(),
            })
            .collect();
        let remove_ids: BTreeSet<String> = removes.iter().map(|(_, t)| t.id.to_string()).collect();
        let name = shards::group_name(&self.target.app_id, mode, shard);
        // No record, no group to take anyone out of (a group carrying Loadout's name whose record
        // was lost is adopted by the sweep, and by the create below, which looks the name up
        // before creating).
        let mut group = self.owned(mode, shard).await?;
        let current = match &group {
            Some(owned) => match self.uem.get_smart_group(owned.id).await {
                Ok(g) => Some(g),
                Err(UemError::NotFound { .. }) => {
                    // Deleted behind our back: forget it and start again from nothing.
                    self.forget_owned(mode, shard).await?;
                    group = None;
                    None
                }
                Err(e) => return Ok(Err(uem_failure(e)?)),
            },
            None => None,
        };
        let (Some(mut owned), Some(mut current)) = (group, current) else {
            if add_members.is_empty() {
                // No group here: nobody to remove.
                return Ok(Ok(None));
            }
            let created = match self
                .lease
                .fenced(self.uem.create_smart_group(&name, &add_members))
                .await?
            {
                Ok(g) => g,
                Err(e) => return Ok(Err(uem_failure(e)?)),
            };
            let mut owned = OwnedGroup {
                id: created.id,
                uuid: created.uuid.clone(),
                name: created.name.clone(),
                assigned: None,
            };
            self.save_owned(mode, shard, &owned).await?;
            let spec = self.target.spec(mode);
            if let Err(e) = self
                .lease
                .fenced(self.uem.assign_app(uem_app, &created, spec))
                .await?
            {
                return Ok(Err(uem_failure(e)?));
            }
            owned.assigned = Some(spec);
            self.save_owned(mode, shard, &owned).await?;
            self.snapshot(mode, shard, &owned, &add_members).await?;
            return Ok(Ok(Some(format!(
                "created {name} with {} member(s) and assigned {} ({})",
                add_members.len(),
                self.target.name,
                mode.as_str()
            ))));
        };
        let before = current.users.clone();
        let mut after: Vec<GroupMember> = before
            .iter()
            .filter(|m| !remove_ids.contains(m.id.trim()))
            .cloned()
            .collect();
        let mut added = 0;
        for member in &add_members {
            if !after.iter().any(|m| m.id.trim() == member.id) {
                after.push(member.clone());
                added += 1;
            }
        }
        let removed = before.len() + added - after.len();
        if after.is_empty() {
            if let Err(e) = self
                .lease
                .fenced(self.uem.unassign_app(uem_app, &owned.reference()))
                .await?
            {
                return Ok(Err(uem_failure(e)?));
            }
            if let Err(e) = self
                .lease
                .fenced(self.uem.delete_smart_group(owned.id))
                .await?
            {
                return Ok(Err(uem_failure(e)?));
            }
            self.forget_owned(mode, shard).await?;
            return Ok(Ok(Some(format!(
                "{name} lost its last member: unassigned {} and deleted the group",
                self.target.name
            ))));
        }
        let mut notes = Vec::new();
        if after != before {
            current.users = after.clone();
            if let Err(e) = self
                .lease
                .fenced(self.uem.update_smart_group(&current))
                .await?
            {
                return Ok(Err(uem_failure(e)?));
            }
            notes.push(format!(
                "{name}: +{added} -{removed}, now {} member(s)",
                after.len()
            ));
        }
        let spec = self.target.spec(mode);
        if owned.assigned != Some(spec) {
            if let Err(e) = self
                .lease
                .fenced(self.uem.assign_app(uem_app, &owned.reference(), spec))
                .await?
            {
                return Ok(Err(uem_failure(e)?));
            }
            owned.assigned = Some(spec);
            self.save_owned(mode, shard, &owned).await?;
            notes.push(format!(
                "assigned {} ({}) to {name}",
                self.target.name,
                mode.as_str()
            ));
        }
        self.snapshot(mode, shard, &owned, &after).await?;
        Ok(Ok((!notes.is_empty()).then(|| notes.join("; "))))
    }

    /// Moves members between shards when the shard count changes: members are added to their
    /// new shard before they are taken out of the old one, so nobody loses the app in between.
    async fn reshard(
        &self,
        uem_app: &UemApp,
        mode: PushMode,
        from: u32,
        to: u32,
    ) -> Result<(), StageError> {
        tracing::info!(app = %self.target.app_id, mode = mode.as_str(), from, to, "resharding");
        let mut members: BTreeMap<u32, Vec<GroupMember>> = BTreeMap::new();
        for shard in 0..from {
            if let Some(owned) = self.owned(mode, shard).await? {
                match self.uem.get_smart_group(owned.id).await {
                    Ok(g) => {
                        members.insert(shard, g.users);
                    }
                    Err(UemError::NotFound { .. }) => self.forget_owned(mode, shard).await?,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let mut moving: BTreeMap<u32, Vec<GroupMember>> = BTreeMap::new();
        for list in members.values() {
            for m in list {
                let id = m.id.trim().parse::<i64>().map_err(|_| {
                    StageError::Retryable(format!("member id {:?} is not numeric", m.id))
                })?;
                moving
                    .entry(shards::shard_of(id, to))
                    .or_default()
                    .push(m.clone());
            }
        }
        // First every member into their new shard ...
        for (shard, wanted) in &moving {
            let stay = members.get(shard).cloned().unwrap_or_default();
            let adds: Vec<GroupMember> = wanted
                .iter()
                .filter(|m| !stay.iter().any(|s| s.id.trim() == m.id.trim()))
                .cloned()
                .collect();
            if adds.is_empty() {
                continue;
            }
            self.write_members(uem_app, mode, *shard, &adds, &BTreeSet::new())
                .await?;
        }
        // ... then out of the old one.
        for (shard, list) in &members {
            let leaving: BTreeSet<String> = list
                .iter()
                .filter(|m| {
                    m.id.trim()
                        .parse::<i64>()
                        .is_ok_and(|id| shards::shard_of(id, to) != *shard)
                })
                .map(|m| m.id.trim().to_owned())
                .collect();
            if !leaving.is_empty() {
                self.write_members(uem_app, mode, *shard, &[], &leaving)
                    .await?;
            }
        }
        self.set_layout(mode, to).await
    }

    /// A membership write of known members (resharding), with refusals as errors.
    async fn write_members(
        &self,
        uem_app: &UemApp,
        mode: PushMode,
        shard: u32,
        adds: &[GroupMember],
        removes: &BTreeSet<String>,
    ) -> Result<(), StageError> {
        let targets: Vec<(UserId, UemTarget)> = adds
            .iter()
            .filter_map(|m| {
                let id = m.id.trim().parse::<i64>().ok()?;
                Some((
                    UserId::new(format!("uem-{id}")),
                    UemTarget {
                        id,
                        username: m.name.clone(),
                    },
                ))
            })
            .collect();
        let removals: Vec<(UserId, UemTarget)> = removes
            .iter()
            .filter_map(|id| {
                let id = id.parse::<i64>().ok()?;
                Some((
                    UserId::new(format!("uem-{id}")),
                    UemTarget {
                        id,
                        username: String::new(),
                    },
                ))
            })
            .collect();
        let adds: Vec<(&UserId, &UemTarget)> = targets.iter().map(|(u, t)| (u, t)).collect();
        let removes: Vec<(&UserId, &UemTarget)> = removals.iter().map(|(u, t)| (u, t)).collect();
        match self
            .sync_shard(uem_app, mode, shard, &adds, &removes)
            .await?
        {
            Ok(_) => Ok(()),
            Err(failure) => Err(StageError::Retryable(format!(
                "moving members between shards of {}: {}",
                self.target.app_id, failure.reason
            ))),
        }
    }

    /// The observed holdings of every user whose change went through.
    async fn record_observed(
        &self,
        net: &BTreeMap<UserId, UserChange>,
        outcomes: &Outcomes,
    ) -> Result<(), StageError> {
        let now = self.services.clock.now();
        for (user, change) in net {
            if !matches!(outcomes.get(user), Some(Ok(_))) {
                continue;
            }
            let held = match change.change {
                Change::Assign(mode) => {
                    let count = self.layout(mode).await?;
                    let shard = change
                        .uem
                        .as_ref()
                        .map(|t| shards::shard_of(t.id, count))
                        .unwrap_or(0);
                    Some(HeldApp {
                        push_mode: mode,
                        group: shards::group_name(&self.target.app_id, mode, shard),
                        seen_at: now,
                        source: Source::Write,
                    })
                }
                Change::Remove => None,
            };
            observed::record(self.store(), user, &self.target.app_id, held, now).await?;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::adapters::local::{
        LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
    };
    use crate::config::Settings;
    use crate::domain::Device;
    use crate::ports::{Clock, SystemClock};
    use crate::uem::{
        Assignment, EnrolledDevice, InstalledApp, Page, SmartGroup, UemUser, UserLookup,
    };
    use async_trait::async_trait;
    use std::sync::{Arc, Mutex};

    /// One app, one group: reads answer `group` (or an unreadable body), writes are recorded.
    struct OneGroup {
        group: Mutex<Result<SmartGroup, String>>,
        updates: Mutex<Vec<Vec<String>>>,
    }

    #[async_trait]
    impl UemApi for OneGroup {
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
            Ok(Some(UemApp {
                id: 1,
                uuid: "app-uuid".into(),
                name: "Slack".into(),
                app_type: "Internal".into(),
                bundle_id: String::new(),
                version: String::new(),
                platform: String::new(),
            }))
        }
        async fn smart_groups_named(&self, _: &str) -> Result<Vec<SmartGroupRef>, UemError> {
            Ok(vec![])
        }
        async fn create_smart_group(
            &self,
            _: &str,
            _: &[GroupMember],
        ) -> Result<SmartGroupRef, UemError> {
            unimplemented!("the group exists")
        }
        async fn get_smart_group(&self, _: i64) -> Result<SmartGroup, UemError> {
            self.group.lock().unwrap().clone().map_err(UemError::Decode)
        }
        async fn update_smart_group(&self, group: &SmartGroup) -> Result<(), UemError> {
            self.updates
                .lock()
                .unwrap()
                .push(group.users.iter().map(|m| m.id.clone()).collect());
            Ok(())
        }
        async fn delete_smart_group(&self, _: i64) -> Result<(), UemError> {
            Ok(())
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
            Ok(())
        }
        async fn unassign_app(&self, _: &UemApp, _: &SmartGroupRef) -> Result<(), UemError> {
            Ok(())
        }
    }

    fn member(id: &str) -> GroupMember {
        GroupMember {
            id: id.into(),
            name: format!("user{id}"),
        }
    }

    async fn services() -> Services {
        let db = LocalDb::in_memory().expect("db");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Services {
            store: Arc::new(SqliteStateStore::new(db.clone(), clock.clone())),
            audit: Arc::new(SqliteAuditLog::new(db.clone())),
            queue: Arc::new(SqliteQueue::new(db, clock.clone(), QueueSpec::pipeline(5))),
            secrets: Arc::new(LocalSecrets::with_loader(Box::new(Default::default))),
            clock,
            settings: Settings::default(),
        }
    }

    async fn apply(
        uem: &OneGroup,
        net: &BTreeMap<UserId, UserChange>,
    ) -> Result<Outcomes, StageError> {
        apply_with(uem, net, false).await
    }

    /// `apply`, after (with `lose_lease`) the lease expired and another worker took it.
    async fn apply_with(
        uem: &OneGroup,
        net: &BTreeMap<UserId, UserChange>,
        lose_lease: bool,
    ) -> Result<Outcomes, StageError> {
        let s = services().await;
        let target = AppTarget {
            app_id: AppId::new("slack"),
            uem_app_id: "1".into(),
            name: "Slack".into(),
            require_approval_on_demand: false,
        };
        let (pk, sk) = keys::owned_group(&target.app_id, PushMode::Auto, 0);
        s.store
            .put_as(
                &pk,
                &sk,
                &OwnedGroup {
                    id: 30,
                    uuid: "g-uuid".into(),
                    name: "loadout:slack".into(),
                    assigned: Some(AssignmentSpec::new(PushMode::Auto)),
                },
                None,
                Condition::None,
            )
            .await
            .expect("owned");
        let lease = AppLease::try_take(
            s.store.as_ref(),
            s.clock.as_ref(),
            &target.app_id,
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("store")
        .expect("free");
        if lose_lease {
            let (pk, sk) = keys::app_lease(&target.app_id);
            s.store
                .put_as(
                    &pk,
                    &sk,
                    &serde_json::json!({"owner": "another worker"}),
                    Some(s.clock.now().timestamp() + 600),
                    Condition::None,
                )
                .await
                .expect("taken over");
        }
        let writer = AppWriter {
            services: &s,
            uem,
            lease: &lease,
            target: &target,
        };
        writer.apply(net).await
    }

    fn change(id: i64, change: Change) -> UserChange {
        UserChange {
            change,
            uem: Some(UemTarget {
                id,
                username: format!("user{id}"),
            }),
        }
    }

    #[tokio::test]
    async fn a_write_keeps_every_member_it_was_not_asked_to_remove() {
        let uem = OneGroup {
            group: Mutex::new(Ok(SmartGroup {
                group: SmartGroupRef {
                    id: 30,
                    uuid: "g-uuid".into(),
                    name: "loadout:slack".into(),
                },
                // 2 was added by hand since Loadout last looked: it stays.
                users: vec![member("1"), member("2")],
                raw: serde_json::json!({"Name": "loadout:slack"}),
            })),
            updates: Mutex::default(),
        };
        let net = BTreeMap::from([
            (UserId::new("ann"), change(1, Change::Remove)),
            (
                UserId::new("cat"),
                change(3, Change::Assign(PushMode::Auto)),
            ),
        ]);
        let outcomes = apply(&uem, &net).await.expect("applied");
        assert!(outcomes.values().all(Result::is_ok), "{outcomes:?}");
        assert_eq!(
            *uem.updates.lock().unwrap(),
            vec![vec!["2".to_owned(), "3".to_owned()]]
        );
    }

    /// Review finding: an unreadable group body read as "no members", and the next PUT wiped
    /// the group (or a removal-only change deleted it).
    #[tokio::test]
    async fn an_unreadable_group_is_never_written() {
        let uem = OneGroup {
            group: Mutex::new(Err("smart group UserAdditions: missing".into())),
            updates: Mutex::default(),
        };
        let net = BTreeMap::from([(UserId::new("ann"), change(1, Change::Remove))]);
        let outcomes = apply(&uem, &net).await.expect("applied");
        let failure = outcomes[&UserId::new("ann")]
            .clone()
            .expect_err("not applied");
        assert!(failure.reason.contains("UserAdditions"), "{failure:?}");
        assert!(uem.updates.lock().unwrap().is_empty(), "nothing written");
    }

    /// Review finding: membership writes bypassed the lease. A writer whose lease was taken over
    /// (it expired while the writer waited on UEM) writes nothing at all.
    #[tokio::test]
    async fn a_writer_that_lost_its_lease_writes_nothing() {
        let uem = OneGroup {
            group: Mutex::new(Ok(SmartGroup {
                group: SmartGroupRef {
                    id: 30,
                    uuid: "g-uuid".into(),
                    name: "loadout:slack".into(),
                },
                users: vec![member("1")],
                raw: serde_json::json!({"Name": "loadout:slack"}),
            })),
            updates: Mutex::default(),
        };
        let net = BTreeMap::from([
            (UserId::new("ann"), change(1, Change::Remove)),
            (
                UserId::new("cat"),
                change(3, Change::Assign(PushMode::Auto)),
            ),
        ]);
        let err = apply_with(&uem, &net, true)
            .await
            .expect_err("the lease is gone");
        assert!(
            matches!(&err, StageError::Retryable(m) if m.contains("lost the lease")),
            "{err}"
        );
        assert!(uem.updates.lock().unwrap().is_empty(), "nothing written");
        // The same change with the lease held is written (the test can fail).
        apply_with(&uem, &net, false).await.expect("applied");
        assert_eq!(*uem.updates.lock().unwrap(), vec![vec!["3".to_owned()]]);
    }
}
