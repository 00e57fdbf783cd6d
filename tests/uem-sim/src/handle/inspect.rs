//! Asking what UEM holds, for assertions: entitlements, installs, groups, duplicates, and the
//! raw state.

use super::{SimHandle, lock};
use crate::events::{EventDelivery, Notification};
use crate::groups::MemberList;
use crate::installs::{DeviceApp, InstallStatus};
use crate::state::TenantState;
use crate::tenant::PushMode;
use std::collections::{BTreeMap, BTreeSet};
use tokio::time::Instant;

/// A group as UEM holds it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub criteria_type: String,
    /// The managing organization group.
    pub managed_by: i64,
    /// User names in `UserAdditions`, in list order.
    pub users: Vec<String>,
    /// Device ids in `DeviceAdditions`.
    pub devices: Vec<i64>,
    /// Apps (console id) assigned to this group, with the push mode of the first rule.
    pub apps: BTreeMap<i64, PushMode>,
}

impl SimHandle {
    /// Apps (console id as a string, i.e. the catalog's `uem_app_id`) the user is entitled to
    /// through smart-group membership and assignments, with the push mode. The user is named
    /// by UEM user name or by seed key (HR id). Device platforms are not considered here (see
    /// [`SimHandle::device_apps`]).
    pub fn effective_apps(&self, user: &str) -> BTreeMap<String, PushMode> {
        let s = lock(&self.shared.state);
        let Some(username) = s.resolve_user(user).map(|u| u.username.clone()) else {
            return BTreeMap::new();
        };
        s.effective_apps(&username)
            .into_iter()
            .map(|(id, m)| (id.to_string(), m))
            .collect()
    }

    /// As [`SimHandle::effective_apps`], keyed by app name.
    pub fn effective_app_names(&self, user: &str) -> BTreeMap<String, PushMode> {
        let s = lock(&self.shared.state);
        let Some(username) = s.resolve_user(user).map(|u| u.username.clone()) else {
            return BTreeMap::new();
        };
        s.effective_apps(&username)
            .into_iter()
            .filter_map(|(id, m)| s.app_by_id(&id.to_string()).map(|a| (a.name.clone(), m)))
            .collect()
    }

    /// Names of the apps installed now on the device with this serial number (managed apps
    /// once their install landed, and apps no assignment put there).
    pub fn device_apps(&self, serial: &str) -> Vec<String> {
        self.device_app_statuses(serial)
            .into_iter()
            .filter(|a| a.status == InstallStatus::Installed)
            .map(|a| a.name)
            .collect()
    }

    /// Every app the device reports, with its install status.
    pub fn device_app_statuses(&self, serial: &str) -> Vec<DeviceApp> {
        let now = Instant::now();
        let mut s = lock(&self.shared.state);
        s.sync_installs(now);
        s.device_by_serial(serial)
            .map(|d| s.device_apps(d, now))
            .unwrap_or_default()
    }

    /// User names in the `UserAdditions` of the (first) group with exactly this name.
    pub fn smart_group_members(&self, name: &str) -> Option<Vec<String>> {
        self.groups()
            .into_iter()
            .find(|g| g.name == name)
            .map(|g| g.users)
    }

    /// The id of the (first) group with exactly this name.
    pub fn group_id(&self, name: &str) -> Option<i64> {
        let s = lock(&self.shared.state);
        s.groups.values().find(|g| g.name == name).map(|g| g.id)
    }

    pub fn groups(&self) -> Vec<GroupView> {
        let s = lock(&self.shared.state);
        let names: BTreeMap<i64, &str> = s
            .users
            .iter()
            .map(|u| (u.id, u.username.as_str()))
            .collect();
        s.groups
            .values()
            .map(|g| GroupView {
                id: g.id,
                uuid: g.uuid.clone(),
                name: g.name.clone(),
                criteria_type: g.criteria_type.clone(),
                managed_by: g.managed_by,
                users: g
                    .members(MemberList::UserAdditions)
                    .iter()
                    .map(|id| {
                        names
                            .get(id)
                            .map(|n| (*n).to_owned())
                            .unwrap_or_else(|| id.to_string())
                    })
                    .collect(),
                devices: g.members(MemberList::DeviceAdditions).to_vec(),
                apps: s
                    .assignments
                    .iter()
                    .filter_map(|(app, a)| a.mode_for(&g.uuid).map(|m| (*app, m)))
                    .collect(),
            })
            .collect()
    }

    /// What a careful client never causes and UEM accepts all the same: two groups with the
    /// same name, a group in two rules (or twice in one rule) of one app, a user listed twice
    /// in a group. Empty when all is well.
    pub fn duplicates(&self) -> Vec<String> {
        let mut out = Vec::new();
        let groups = self.groups();
        for g in &groups {
            let mut seen = BTreeSet::new();
            for u in &g.users {
                if !seen.insert(u) {
                    out.push(format!("user {u} is listed twice in group {}", g.name));
                }
            }
        }
        let mut by_name: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for g in &groups {
            by_name
                .entry(g.name.to_ascii_lowercase())
                .or_default()
                .push(g.id);
        }
        for (name, ids) in by_name.into_iter().filter(|(_, ids)| ids.len() > 1) {
            out.push(format!(
                "{} groups are named {name}: ids {ids:?}",
                ids.len()
            ));
        }
        let s = lock(&self.shared.state);
        for (app, a) in &s.assignments {
            let mut seen = BTreeSet::new();
            for g in a.rules.iter().flat_map(|r| &r.smart_groups) {
                if !seen.insert(g.to_ascii_lowercase()) {
                    let name = s.group_by_uuid(g).map(|x| x.name.as_str()).unwrap_or(g);
                    out.push(format!("app {app} is assigned to group {name} twice"));
                }
            }
        }
        out
    }

    /// Every event notification raised so far (sent or not).
    pub fn events(&self) -> Vec<Notification> {
        lock(&self.shared.events.raised).clone()
    }

    /// The outcome of every delivery attempt to the event target, in order.
    pub fn event_deliveries(&self) -> Vec<EventDelivery> {
        lock(&self.shared.events.deliveries).clone()
    }

    /// Reads anything else of the state.
    pub fn with_state<T>(&self, f: impl FnOnce(&TenantState) -> T) -> T {
        f(&lock(&self.shared.state))
    }

    /// Changes the state directly (e.g. to plant a group Loadout did not create).
    pub fn with_state_mut<T>(&self, f: impl FnOnce(&mut TenantState) -> T) -> T {
        let mut s = lock(&self.shared.state);
        let out = f(&mut s);
        s.sync_installs(Instant::now());
        out
    }
}
