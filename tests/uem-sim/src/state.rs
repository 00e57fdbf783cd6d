//! The tenant's mutable state: the seeded users, devices and apps, the smart groups and app
//! assignments UEM keeps on top of them (`groups.rs`, `assignments.rs`), and what follows from
//! them: who is entitled to which app, and what each device reports. JSON shapes: `render.rs`.

use crate::assignments::AppAssignments;
use crate::groups::SmartGroupRecord;
use crate::tenant::{PushMode, SimApp, SimDevice, SimUser, Tenant};
use serde_json::Value;
use std::collections::BTreeMap;

/// The organization group everything lives in (one per simulated tenant).
pub const OG_ID: i64 = 570;
pub const OG_NAME: &str = "Loadout Sim";
pub const OG_UUID: &str = "6c8d8c9e-0f38-4c16-9a4c-5a0f1f0c0570";

/// A key of a JSON object, case-insensitively.
pub fn get_ci<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let map = value.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A rejected request: status, UEM errorCode, message.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: u16,
    pub code: i64,
    pub message: String,
}

impl Rejection {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: 400,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: 404,
            code: 1001,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TenantState {
    pub users: Vec<SimUser>,
    pub devices: Vec<SimDevice>,
    pub apps: Vec<SimApp>,
    pub groups: BTreeMap<i64, SmartGroupRecord>,
    pub assignments: BTreeMap<i64, AppAssignments>,
    pub(crate) next_group_id: i64,
    pub(crate) seed: u64,
}

impl TenantState {
    pub fn new(tenant: Tenant) -> Self {
        Self {
            users: tenant.users,
            devices: tenant.devices,
            apps: tenant.apps,
            groups: BTreeMap::new(),
            assignments: BTreeMap::new(),
            next_group_id: 30001,
            seed: tenant.seed,
        }
    }

    pub fn user_by_id(&self, id: &str) -> Option<&SimUser> {
        self.users
            .iter()
            .find(|u| u.id.to_string() == id.trim() || u.uuid.eq_ignore_ascii_case(id.trim()))
    }

    pub fn user_by_name(&self, username: &str) -> Option<&SimUser> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    pub fn device_by_id(&self, id: &str) -> Option<&SimDevice> {
        self.devices
            .iter()
            .find(|d| d.id.to_string() == id.trim() || d.uuid.eq_ignore_ascii_case(id.trim()))
    }

    pub fn app_by_id(&self, id: &str) -> Option<&SimApp> {
        self.apps.iter().find(|a| a.id.to_string() == id.trim())
    }

    pub fn app_by_uuid(&self, uuid: &str) -> Option<&SimApp> {
        self.apps
            .iter()
            .find(|a| a.uuid.eq_ignore_ascii_case(uuid.trim()))
    }

    pub fn group_by_uuid(&self, uuid: &str) -> Option<&SmartGroupRecord> {
        self.groups
            .values()
            .find(|g| g.uuid.eq_ignore_ascii_case(uuid.trim()))
    }

    pub fn devices_of(&self, username: &str) -> Vec<&SimDevice> {
        self.devices
            .iter()
            .filter(|d| d.username.eq_ignore_ascii_case(username))
            .collect()
    }

    /// Apps (by console id) this user is entitled to through smart-group membership, with the push
    /// mode of the first (highest-priority) rule that targets them; exclusions win.
    pub fn effective_apps(&self, username: &str) -> BTreeMap<i64, PushMode> {
        let mut out = BTreeMap::new();
        let Some(user) = self.user_by_name(username) else {
            return out;
        };
        for (app_id, entry) in &self.assignments {
            let in_group = |uuid: &String| {
                self.group_by_uuid(uuid)
                    .is_some_and(|g| self.group_has_user(g, user))
            };
            if entry.excluded.iter().any(in_group) {
                continue;
            }
            if let Some(rule) = entry
                .rules
                .iter()
                .find(|r| r.smart_groups.iter().any(in_group))
            {
                out.insert(*app_id, rule.mode);
            }
        }
        out
    }

    /// Apps assigned to one device (platform-matched), with the push mode.
    pub fn device_assigned_apps(&self, device: &SimDevice) -> Vec<(&SimApp, PushMode)> {
        let mut out = Vec::new();
        for (app_id, entry) in &self.assignments {
            let Some(app) = self.app_by_id(&app_id.to_string()) else {
                continue;
            };
            if !app.platforms.iter().any(|p| p == &device.platform) {
                continue;
            }
            let targets = |uuid: &String| {
                self.group_by_uuid(uuid)
                    .is_some_and(|g| self.group_devices(g).iter().any(|d| d.id == device.id))
            };
            if entry.excluded.iter().any(targets) {
                continue;
            }
            if let Some(rule) = entry
                .rules
                .iter()
                .find(|r| r.smart_groups.iter().any(targets))
            {
                out.push((app, rule.mode));
            }
        }
        out
    }

    /// The apps UEM reports on a device: the ones an `Auto` assignment put there (as if the device
    /// had checked in) and the seeded unmanaged ones. (name, bundle id, version, managed)
    pub fn device_apps(&self, d: &SimDevice) -> Vec<(String, String, String, bool)> {
        let mut out: Vec<(String, String, String, bool)> = self
            .device_assigned_apps(d)
            .into_iter()
            .filter(|(_, mode)| *mode == PushMode::Auto)
            .map(|(a, _)| (a.name.clone(), a.bundle_id.clone(), a.version.clone(), true))
            .collect();
        for (bundle, name, version) in &d.unmanaged_apps {
            if !out.iter().any(|(_, b, _, _)| b == bundle) {
                out.push((name.clone(), bundle.clone(), version.clone(), false));
            }
        }
        out.sort();
        out
    }
}
