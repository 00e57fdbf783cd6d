//! The tenant's mutable state: the seeded users, devices and apps, the organization groups
//! (`org.rs`), the smart groups and app assignments UEM keeps on top of them (`groups.rs`,
//! `assignments.rs`), and what follows from them: who is entitled to which app (`entitlement.rs`)
//! and what each device has installed (`installs.rs`). JSON shapes: `render.rs`.

use crate::assignments::AppAssignments;
use crate::events::EventKind;
use crate::groups::SmartGroupRecord;
use crate::installs::InstallRecord;
use crate::org::{OrgGroup, default_tree};
use crate::tenant::{SimApp, SimDevice, SimUser, Tenant};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

pub use crate::org::{
    CUSTOMER_OG_ID as OG_ID, CUSTOMER_OG_NAME as OG_NAME, CUSTOMER_OG_UUID as OG_UUID,
};

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

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for Rejection {}

#[derive(Debug, Clone)]
pub struct TenantState {
    pub users: Vec<SimUser>,
    pub devices: Vec<SimDevice>,
    pub apps: Vec<SimApp>,
    pub org_groups: Vec<OrgGroup>,
    pub groups: BTreeMap<i64, SmartGroupRecord>,
    pub assignments: BTreeMap<i64, AppAssignments>,
    /// Managed installs by (device id, app id).
    pub installs: BTreeMap<(i64, i64), InstallRecord>,
    /// How long after an `Auto` assignment reaches a device the app shows as installed (the
    /// device's next check-in); zero installs at once.
    pub check_in_delay: Duration,
    /// The API admin's OG: where a smart group lands when the body names none.
    pub admin_og: i64,
    /// Device changes made through the API that UEM notifies about, sent after the request.
    pub(crate) outbox: Vec<(EventKind, SimDevice)>,
    pub(crate) next_group_id: i64,
    pub(crate) seed: u64,
}

impl TenantState {
    pub fn new(tenant: Tenant) -> Self {
        Self {
            users: tenant.users,
            devices: tenant.devices,
            apps: tenant.apps,
            org_groups: default_tree(),
            groups: BTreeMap::new(),
            assignments: BTreeMap::new(),
            installs: BTreeMap::new(),
            check_in_delay: Duration::ZERO,
            admin_og: OG_ID,
            outbox: Vec::new(),
            next_group_id: 30001,
            seed: tenant.seed,
        }
    }

    /// By numeric id or uuid.
    pub fn user_by_id(&self, id: &str) -> Option<&SimUser> {
        let id = id.trim();
        if let Ok(number) = id.parse::<i64>()
            && let Some(user) = self.user_by_number(number)
        {
            return Some(user);
        }
        self.users.iter().find(|u| u.uuid.eq_ignore_ascii_case(id))
    }

    /// By numeric id. Users are kept in id order (ids are given in order, and removals keep the
    /// order), so this is a binary search; a miss is confirmed by a scan, in case a tenant was
    /// loaded with ids out of order.
    pub fn user_by_number(&self, id: i64) -> Option<&SimUser> {
        match self.users.binary_search_by_key(&id, |u| u.id) {
            Ok(at) => self.users.get(at),
            Err(_) => self.users.iter().find(|u| u.id == id),
        }
    }

    /// By UEM user name, case-insensitively.
    pub fn user_by_name(&self, username: &str) -> Option<&SimUser> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username.trim()))
    }

    /// How tests name a person: the UEM user name, else the seed key (HR id), else the id.
    pub fn resolve_user(&self, who: &str) -> Option<&SimUser> {
        let who = who.trim();
        self.user_by_name(who)
            .or_else(|| self.users.iter().find(|u| u.key.eq_ignore_ascii_case(who)))
            .or_else(|| self.user_by_id(who))
    }

    pub fn device_by_id(&self, id: &str) -> Option<&SimDevice> {
        let id = id.trim();
        self.devices
            .iter()
            .find(|d| d.id.to_string() == id || d.uuid.eq_ignore_ascii_case(id))
    }

    pub fn device_by_serial(&self, serial: &str) -> Option<&SimDevice> {
        self.devices
            .iter()
            .find(|d| d.serial_number.eq_ignore_ascii_case(serial.trim()))
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
}
