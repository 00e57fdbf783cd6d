//! Per-app smart-group membership in UEM. Every managed app has one Loadout-owned group per push
//! mode (`loadout:<app>` pushed automatically, `loadout:<app>:on-demand` offered in Intelligent
//! Hub); a user's entitlement is membership of one of them. Changes are read-modify-write of the
//! whole group, and an emptied group is unassigned and deleted (UEM may reject user groups with
//! no users), then recreated when someone is entitled again.

use super::{Services, StageError};
use crate::domain::{CatalogApp, PushMode, UserId};
use crate::keys;
use crate::ports::{Condition, StateStoreExt};
use crate::uem::{GroupMember, SmartGroupRef, UemApi, UemApp, UemError};
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
    let mut resolved: BTreeMap<&UserId, GroupMember> = BTreeMap::new();
    for (user, change) in net {
        if let Change::Assign(_) = change {
            match uem.find_user(user.as_str()).await {
                Ok(Some(u)) => {
                    resolved.insert(
                        user,
                        GroupMember {
                            id: u.id.to_string(),
                            name: u.username,
                        },
                    );
                }
                // Directory sync into UEM may lag the HR event: worth retrying later.
                Ok(None) => {
                    outcomes.insert(
                        user.clone(),
                        Err((format!("UEM has no enrollment user {user} yet"), false)),
                    );
                }
                Err(e) if e.is_retryable() => return Err(e.into()),
                Err(e) => {
                    outcomes.insert(user.clone(), Err((e.to_string(), true)));
                }
            }
        }
    }
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
