//! Per-app smart-group membership in UEM. Every managed app has one Loadout-owned group per push
//! mode (`loadout:<app>` pushed automatically, `loadout:<app>:on-demand` offered in Intelligent
//! Hub); a user's entitlement is membership of one of them. Changes are read-modify-write of the
//! whole group, and an emptied group is unassigned and deleted (UEM may reject user groups with
//! no users), then recreated when someone is entitled again.

use super::{Services, StageError};
use crate::domain::{CatalogApp, PushMode, UserId};
use crate::keys;
use crate::ports::{Condition, StateStoreExt};
use crate::uem::{GroupMember, SmartGroupRef, UemApi, UemApp, UemError, UemUser};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The net change for one user of one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Assign(PushMode),
    Remove,
}

/// What happened to a user's membership, for the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPlan {
    pub notes: Vec<String>,
}

impl GroupPlan {
    pub fn describe(&self) -> String {
        if self.notes.is_empty() {
            "UEM already matched".into()
        } else {
            self.notes.join("; ")
        }
    }
}

/// A group Loadout created in UEM, remembered so that no lookup by name is needed next time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OwnedGroup {
    id: i64,
    uuid: String,
    name: String,
    assigned: Option<PushMode>,
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

/// Per-user outcome: the plan, or the failure reason and whether it is permanent.
pub type Outcomes = BTreeMap<UserId, Result<GroupPlan, (String, bool)>>;

fn fail_all(net: &BTreeMap<UserId, Change>, reason: &str, permanent: bool) -> Outcomes {
    net.keys()
        .map(|u| (u.clone(), Err((reason.to_owned(), permanent))))
        .collect()
}

/// Applies the net changes of one app. A retryable UEM failure aborts the whole app (nothing is
/// marked done, the next flush redoes it from UEM's current state); per-user problems are
/// reported per user.
pub async fn apply_app_changes(
    services: &Services,
    uem: &dyn UemApi,
    app: &CatalogApp,
    net: &BTreeMap<UserId, Change>,
) -> Result<Outcomes, StageError> {
    let uem_app = match uem.find_app(&app.uem_app_id).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return Ok(fail_all(
                net,
                &format!(
                    "UEM has no app with id {} (catalog entry {})",
                    app.uem_app_id, app.id
                ),
                true,
            ));
        }
        Err(e) if e.is_retryable() => return Err(e.into()),
        Err(e) => return Ok(fail_all(net, &e.to_string(), true)),
    };
    let mut outcomes: Outcomes = BTreeMap::new();
    let resolved = resolve_members(uem, net, &mut outcomes).await?;
    let mut notes: BTreeMap<PushMode, String> = BTreeMap::new();
    for mode in [PushMode::Auto, PushMode::OnDemand] {
        let adds: Vec<GroupMember> = net
            .iter()
            .filter(|(_, c)| **c == Change::Assign(mode))
            .filter_map(|(u, _)| resolved.get(u).cloned())
            .collect();
        let removes: BTreeSet<String> = net
            .iter()
            .filter(|(_, c)| match c {
                Change::Remove => true,
                Change::Assign(other) => *other != mode,
            })
            .map(|(u, _)| u.as_str().to_ascii_lowercase())
            .collect();
        if adds.is_empty() && removes.is_empty() {
            continue;
        }
        let note = sync_group(services, uem, app, &uem_app, mode, &adds, &removes).await?;
        if let Some(note) = note {
            notes.insert(mode, note);
        }
    }
    // One group write serves every user of the batch, so each user's plan names what the app's
    // groups went through.
    let plan = GroupPlan {
        notes: notes.into_values().collect(),
    };
    for user in net.keys() {
        outcomes
            .entry(user.clone())
            .or_insert_with(|| Ok(plan.clone()));
    }
    Ok(outcomes)
}

/// UEM's user for every user the app gains, in one look-up for all of them (the client pages
/// through the tenant's users once rather than searching name by name). A user UEM does not know
/// is a retryable per-user failure; so is nothing else.
async fn resolve_members<'n>(
    uem: &dyn UemApi,
    net: &'n BTreeMap<UserId, Change>,
    outcomes: &mut Outcomes,
) -> Result<BTreeMap<&'n UserId, GroupMember>, StageError> {
    let adds: Vec<&UserId> = net
        .iter()
        .filter(|(_, c)| matches!(c, Change::Assign(_)))
        .map(|(u, _)| u)
        .collect();
    let mut resolved = BTreeMap::new();
    if adds.is_empty() {
        return Ok(resolved);
    }
    let names: Vec<String> = adds.iter().map(|u| u.as_str().to_owned()).collect();
    let found = match uem.find_users(&names).await {
        Ok(found) => found,
        Err(e) if e.is_retryable() => return Err(e.into()),
        // A refusal of the bulk look-up may be about one name: ask per user, so that only the
        // users it concerns fail.
        Err(_) => return resolve_one_by_one(uem, &adds, outcomes).await,
    };
    for user in adds {
        match found.get(user.as_str()) {
            Some(u) => {
                resolved.insert(user, member_of(u));
            }
            // Directory sync into UEM may lag the HR event: worth retrying later.
            None => {
                outcomes.insert(user.clone(), Err((not_in_uem_yet(user), false)));
            }
        }
    }
    Ok(resolved)
}

async fn resolve_one_by_one<'n>(
    uem: &dyn UemApi,
    adds: &[&'n UserId],
    outcomes: &mut Outcomes,
) -> Result<BTreeMap<&'n UserId, GroupMember>, StageError> {
    let mut resolved = BTreeMap::new();
    for user in adds {
        match uem.find_user(user.as_str()).await {
            Ok(Some(u)) => {
                resolved.insert(*user, member_of(&u));
            }
            Ok(None) => {
                outcomes.insert((*user).clone(), Err((not_in_uem_yet(user), false)));
            }
            Err(e) if e.is_retryable() => return Err(e.into()),
            Err(e) => {
                outcomes.insert((*user).clone(), Err((e.to_string(), true)));
            }
        }
    }
    Ok(resolved)
}

fn member_of(user: &UemUser) -> GroupMember {
    GroupMember {
        id: user.id.to_string(),
        name: user.username.clone(),
    }
}

fn not_in_uem_yet(user: &UserId) -> String {
    format!("UEM has no enrollment user {user} yet")
}

/// Brings one owned group in line: adds, removals, creation, emptying. Returns a note of what
/// changed in UEM, or `None` when UEM already matched.
async fn sync_group(
    services: &Services,
    uem: &dyn UemApi,
    app: &CatalogApp,
    uem_app: &UemApp,
    mode: PushMode,
    adds: &[GroupMember],
    removes: &BTreeSet<String>,
) -> Result<Option<String>, StageError> {
    let name = keys::smart_group_name(&app.id, mode);
    let (pk, sk) = keys::owned_group(&app.id, mode);
    let store = services.store.as_ref();
    let mut owned: Option<OwnedGroup> = store.get_as(&pk, &sk).await?.map(|(g, _)| g);
    if owned.is_none() && adds.is_empty() {
        // Loadout never created this group, so it cannot hold anyone Loadout added.
        return Ok(None);
    }
    if owned.is_none() {
        // State may have been lost, or a previous attempt created the group and then died:
        // a group carrying our reserved name is ours.
        if let Some(found) = uem.find_smart_group(&name).await? {
            let adopted = OwnedGroup {
                id: found.id,
                uuid: found.uuid,
                name: found.name,
                assigned: None,
            };
            store
                .put_as(&pk, &sk, &adopted, None, Condition::None)
                .await?;
            owned = Some(adopted);
        }
    }
    let Some(mut group) = owned else {
        if adds.is_empty() {
            return Ok(None);
        }
        let created = uem.create_smart_group(&name, adds).await?;
        let mut record = OwnedGroup {
            id: created.id,
            uuid: created.uuid.clone(),
            name: created.name.clone(),
            assigned: None,
        };
        store
            .put_as(&pk, &sk, &record, None, Condition::None)
            .await?;
        uem.assign_app(uem_app, &created, mode).await?;
        record.assigned = Some(mode);
        store
            .put_as(&pk, &sk, &record, None, Condition::None)
            .await?;
        return Ok(Some(format!(
            "created {name} with {} member(s) and assigned {} ({})",
            adds.len(),
            app.name,
            mode.as_str()
        )));
    };
    let mut current = match uem.get_smart_group(group.id).await {
        Ok(g) => g,
        Err(UemError::NotFound { .. }) => {
            // Deleted behind our back: forget it and start again from nothing.
            store.delete(&pk, &sk, Condition::None).await?;
            return Box::pin(sync_group(services, uem, app, uem_app, mode, adds, removes)).await;
        }
        Err(e) => return Err(e.into()),
    };
    let before = current.users.clone();
    let mut after: Vec<GroupMember> = before
        .iter()
        .filter(|m| !removes.contains(&m.name.to_ascii_lowercase()))
        .cloned()
        .collect();
    let mut added = 0;
    for member in adds {
        if !after.iter().any(|m| m.id == member.id) {
            after.push(member.clone());
            added += 1;
        }
    }
    let removed = before.len() + added - after.len();
    if after.is_empty() {
        uem.unassign_app(uem_app, &group.reference()).await?;
        uem.delete_smart_group(group.id).await?;
        store.delete(&pk, &sk, Condition::None).await?;
        return Ok(Some(format!(
            "{name} lost its last member: unassigned {} and deleted the group",
            app.name
        )));
    }
    let mut notes = Vec::new();
    if after != before {
        current.users = after.clone();
        uem.update_smart_group(&current).await?;
        notes.push(format!(
            "{name}: +{added} -{removed}, now {} member(s)",
            after.len()
        ));
    }
    if group.assigned != Some(mode) {
        uem.assign_app(uem_app, &group.reference(), mode).await?;
        group.assigned = Some(mode);
        store
            .put_as(&pk, &sk, &group, None, Condition::None)
            .await?;
        notes.push(format!(
            "assigned {} ({}) to {name}",
            app.name,
            mode.as_str()
        ));
    }
    Ok((!notes.is_empty()).then(|| notes.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Device;
    use crate::uem::{InstalledApp, SmartGroup};
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// Knows `known` users; counts look-ups; other operations are not for these tests.
    #[derive(Default)]
    struct Directory {
        known: Vec<&'static str>,
        bulk_error: Option<fn() -> UemError>,
        bulk_calls: Mutex<usize>,
        single_calls: Mutex<usize>,
    }

    fn user(i: usize, name: &str) -> UemUser {
        UemUser {
            id: 100 + i as i64,
            uuid: None,
            username: name.to_owned(),
            email: format!("{name}@example.com"),
        }
    }

    #[async_trait]
    impl UemApi for Directory {
        async fn find_user(&self, username: &str) -> Result<Option<UemUser>, UemError> {
            *self.single_calls.lock().unwrap() += 1;
            Ok(self
                .known
                .iter()
                .position(|k| k.eq_ignore_ascii_case(username))
                .map(|i| user(i, self.known[i])))
        }
        async fn find_users(
            &self,
            usernames: &[String],
        ) -> Result<BTreeMap<String, UemUser>, UemError> {
            *self.bulk_calls.lock().unwrap() += 1;
            if let Some(error) = self.bulk_error {
                return Err(error());
            }
            let mut found = BTreeMap::new();
            for name in usernames {
                if let Some(i) = self.known.iter().position(|k| k == name) {
                    found.insert(name.clone(), user(i, self.known[i]));
                }
            }
            Ok(found)
        }
        async fn devices_of_user(&self, _: &str) -> Result<Vec<Device>, UemError> {
            unimplemented!()
        }
        async fn installed_apps(&self, _: &str) -> Result<Vec<InstalledApp>, UemError> {
            unimplemented!()
        }
        async fn find_app(&self, _: &str) -> Result<Option<UemApp>, UemError> {
            unimplemented!()
        }
        async fn find_smart_group(&self, _: &str) -> Result<Option<SmartGroupRef>, UemError> {
            unimplemented!()
        }
        async fn create_smart_group(
            &self,
            _: &str,
            _: &[GroupMember],
        ) -> Result<SmartGroupRef, UemError> {
            unimplemented!()
        }
        async fn get_smart_group(&self, _: i64) -> Result<SmartGroup, UemError> {
            unimplemented!()
        }
        async fn update_smart_group(&self, _: &SmartGroup) -> Result<(), UemError> {
            unimplemented!()
        }
        async fn delete_smart_group(&self, _: i64) -> Result<(), UemError> {
            unimplemented!()
        }
        async fn assignment(
            &self,
            _: &UemApp,
            _: &SmartGroupRef,
        ) -> Result<Option<PushMode>, UemError> {
            unimplemented!()
        }
        async fn assign_app(
            &self,
            _: &UemApp,
            _: &SmartGroupRef,
            _: PushMode,
        ) -> Result<(), UemError> {
            unimplemented!()
        }
        async fn unassign_app(&self, _: &UemApp, _: &SmartGroupRef) -> Result<(), UemError> {
            unimplemented!()
        }
    }

    fn changes(entries: &[(&str, Change)]) -> BTreeMap<UserId, Change> {
        entries.iter().map(|(u, c)| (UserId::new(*u), *c)).collect()
    }

    #[tokio::test]
    async fn every_user_an_app_gains_is_resolved_in_one_look_up() {
        let uem = Directory {
            known: vec!["ann", "ben", "cat", "dan"],
            ..Default::default()
        };
        let net = changes(&[
            ("ann", Change::Assign(PushMode::Auto)),
            ("ben", Change::Assign(PushMode::OnDemand)),
            ("cat", Change::Remove),
            ("dan", Change::Assign(PushMode::Auto)),
        ]);
        let mut outcomes = Outcomes::new();
        let resolved = resolve_members(&uem, &net, &mut outcomes).await.unwrap();
        assert_eq!(*uem.bulk_calls.lock().unwrap(), 1);
        assert_eq!(*uem.single_calls.lock().unwrap(), 0);
        let names: Vec<&str> = resolved.values().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["ann", "ben", "dan"], "removals need no look-up");
        assert_eq!(resolved[&UserId::new("dan")].id, "103");
        assert!(outcomes.is_empty());
    }

    #[tokio::test]
    async fn a_user_uem_does_not_know_yet_fails_alone_and_may_be_retried() {
        let uem = Directory {
            known: vec!["ann"],
            ..Default::default()
        };
        let net = changes(&[
            ("ann", Change::Assign(PushMode::Auto)),
            ("zed", Change::Assign(PushMode::Auto)),
        ]);
        let mut outcomes = Outcomes::new();
        let resolved = resolve_members(&uem, &net, &mut outcomes).await.unwrap();
        assert_eq!(resolved.len(), 1);
        let (reason, permanent) = outcomes[&UserId::new("zed")].clone().unwrap_err();
        assert!(reason.contains("zed") && reason.contains("yet"), "{reason}");
        assert!(!permanent, "directory sync may still bring the user");
    }

    #[tokio::test]
    async fn a_refused_bulk_look_up_is_asked_again_user_by_user() {
        let uem = Directory {
            known: vec!["ann"],
            bulk_error: Some(|| UemError::Validation {
                status: 400,
                code: None,
                message: "bad name".into(),
                activity_id: None,
            }),
            ..Default::default()
        };
        let net = changes(&[
            ("ann", Change::Assign(PushMode::Auto)),
            ("zed", Change::Assign(PushMode::Auto)),
        ]);
        let mut outcomes = Outcomes::new();
        let resolved = resolve_members(&uem, &net, &mut outcomes).await.unwrap();
        assert_eq!(*uem.single_calls.lock().unwrap(), 2);
        assert!(resolved.contains_key(&UserId::new("ann")));
        assert!(outcomes[&UserId::new("zed")].is_err());
    }

    #[tokio::test]
    async fn a_throttled_bulk_look_up_retries_the_whole_app() {
        let uem = Directory {
            known: vec!["ann"],
            bulk_error: Some(|| UemError::Throttled { retry_after: None }),
            ..Default::default()
        };
        let net = changes(&[("ann", Change::Assign(PushMode::Auto))]);
        let mut outcomes = Outcomes::new();
        let err = resolve_members(&uem, &net, &mut outcomes)
            .await
            .expect_err("retryable");
        assert!(!err.is_permanent());
        assert_eq!(*uem.single_calls.lock().unwrap(), 0);
    }
}
