//! Building a tenant in code: users first (ids in user-name order), then devices (each owned by
//! a user found by key or user name), then apps.

use super::{
    AppSeed, DeviceSeed, EnrollmentStatus, SimApp, SimDevice, SimUser, Tenant, TenantError,
    UserSeed,
};
use crate::org::CUSTOMER_OG_ID;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};

/// Builds a tenant in code, for tests.
#[derive(Debug, Clone, Default)]
pub struct TenantBuilder {
    seed: u64,
    users: Vec<UserSeed>,
    devices: Vec<DeviceSeed>,
    apps: Vec<AppSeed>,
    installed: Vec<(String, String, String)>,
}

impl TenantBuilder {
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// A user whose key (for devices and tests) is the user name.
    pub fn user(self, username: &str, email: &str) -> Self {
        self.user_seed(UserSeed::new(username, email))
    }

    /// A user with its own key, names or status.
    pub fn user_seed(mut self, user: UserSeed) -> Self {
        self.users.push(user);
        self
    }

    pub fn device(mut self, device: DeviceSeed) -> Self {
        self.devices.push(device);
        self
    }

    pub fn app(mut self, app: AppSeed) -> Self {
        self.apps.push(app);
        self
    }

    /// An app found on a device that no assignment put there.
    pub fn unmanaged_app(mut self, serial: &str, bundle_id: &str, name: &str) -> Self {
        self.installed
            .push((serial.to_owned(), bundle_id.to_owned(), name.to_owned()));
        self
    }

    pub fn build(self) -> Result<Tenant, TenantError> {
        let seed = self.seed;
        let mut tenant = Tenant {
            seed,
            ..Tenant::default()
        };
        let mut users = self.users;
        users.sort_by(|a, b| a.username.cmp(&b.username));
        // Indexed by lower-cased name: the same checks as `identity_clash` and `find_owner`,
        // without a scan of every earlier user per user (a tenant of 100,000 is built in
        // milliseconds, not minutes).
        let mut by_name: HashMap<String, usize> = HashMap::with_capacity(users.len());
        let mut by_key: HashMap<String, usize> = HashMap::with_capacity(users.len());
        for (i, user) in users.iter().enumerate() {
            let name = user.username.to_ascii_lowercase();
            let key = user.effective_key().to_ascii_lowercase();
            let taken = |n: &str| by_name.contains_key(n) || by_key.contains_key(n);
            if taken(&name) {
                return Err(TenantError::Duplicate(format!("user {}", user.username)));
            }
            if taken(&key) {
                return Err(TenantError::Duplicate(format!(
                    "user {}",
                    user.effective_key()
                )));
            }
            by_name.insert(name, i);
            by_key.insert(key, i);
            tenant.users.push(make_user(user, 1000 + i as i64, seed));
        }
        let mut devices = self.devices;
        devices.sort_by(|a, b| a.serial_number.cmp(&b.serial_number));
        let mut serials: HashSet<String> = HashSet::with_capacity(devices.len());
        for (i, d) in devices.into_iter().enumerate() {
            let who = d.username.trim().to_ascii_lowercase();
            let Some(owner) = by_key
                .get(&who)
                .or_else(|| by_name.get(&who))
                .and_then(|at| tenant.users.get(*at))
            else {
                return Err(TenantError::UnknownUser {
                    serial: d.serial_number,
                    user: d.username,
                });
            };
            if !serials.insert(d.serial_number.clone()) {
                return Err(TenantError::Duplicate(format!(
                    "device {}",
                    d.serial_number
                )));
            }
            let mut rng = keyed_rng(seed, "lastseen", &d.serial_number);
            let minutes: u32 = rng.next_u32() % (7 * 24 * 60);
            let last_seen = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t - chrono::Duration::minutes(i64::from(minutes)))
                .map(|t| t.format(UEM_TIME).to_string())
                .unwrap_or_default();
            let unmanaged = self
                .installed
                .iter()
                .filter(|(s, _, _)| *s == d.serial_number)
                .map(|(_, b, n)| (b.clone(), n.clone(), "1.0".to_owned()))
                .collect();
            let mut device = make_device(&d, 20000 + i as i64, owner, seed, &last_seen);
            device.last_enrolled_on = "2026-01-05T09:00:00".into();
            device.unmanaged_apps = unmanaged;
            tenant.devices.push(device);
        }
        let mut next_id = 5000 + self.apps.iter().filter_map(|a| a.id).max().unwrap_or(0);
        for app in self.apps {
            let id = match app.id {
                Some(id) => id,
                None => {
                    next_id += 1;
                    next_id
                }
            };
            if tenant.apps.iter().any(|a: &SimApp| a.id == id) {
                return Err(TenantError::Duplicate(format!("app {id}")));
            }
            let slug: String = app
                .name
                .to_ascii_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            tenant.apps.push(SimApp {
                id,
                uuid: app
                    .uuid
                    .unwrap_or_else(|| derived_uuid(seed, "app", &id.to_string())),
                bundle_id: app
                    .bundle_id
                    .unwrap_or_else(|| format!("com.example.{slug}")),
                name: app.name,
                platforms: app.platforms,
                app_type: app.app_type,
                version: "1.0.0".into(),
            });
        }
        tenant.apps.sort_by_key(|a| a.id);
        Ok(tenant)
    }
}

/// How UEM writes times: no zone, no fraction.
pub(crate) const UEM_TIME: &str = "%Y-%m-%dT%H:%M:%S";

/// The user name or key of `user` that an existing user already has (user names are unique in
/// UEM; keys must be unambiguous for devices and tests), compared case-insensitively.
pub(crate) fn identity_clash(users: &[SimUser], user: &UserSeed) -> Option<String> {
    let key = user.effective_key();
    users.iter().find_map(|u| {
        let names = [u.username.as_str(), u.key.as_str()];
        if names.iter().any(|n| n.eq_ignore_ascii_case(&user.username)) {
            Some(user.username.clone())
        } else if names.iter().any(|n| n.eq_ignore_ascii_case(key)) {
            Some(key.to_owned())
        } else {
            None
        }
    })
}

/// The user a device seed names: by key first, then by UEM user name, case-insensitively.
pub(crate) fn find_owner<'a>(users: &'a [SimUser], who: &str) -> Option<&'a SimUser> {
    let who = who.trim();
    users
        .iter()
        .find(|u| u.key.eq_ignore_ascii_case(who))
        .or_else(|| users.iter().find(|u| u.username.eq_ignore_ascii_case(who)))
}

pub(crate) fn make_user(seed: &UserSeed, id: i64, tenant_seed: u64) -> SimUser {
    let (first, last) = split_name(&seed.username, &seed.email);
    SimUser {
        id,
        uuid: derived_uuid(tenant_seed, "user", &seed.username),
        key: seed.effective_key().to_owned(),
        username: seed.username.clone(),
        email: seed.email.clone(),
        first_name: seed.first_name.clone().unwrap_or(first),
        last_name: seed.last_name.clone().unwrap_or(last),
        active: seed.active,
        organization_group_id: CUSTOMER_OG_ID,
    }
}

pub(crate) fn make_device(
    d: &DeviceSeed,
    id: i64,
    owner: &SimUser,
    tenant_seed: u64,
    now: &str,
) -> SimDevice {
    SimDevice {
        id,
        uuid: derived_uuid(tenant_seed, "device", &d.serial_number),
        udid: derived_uuid(tenant_seed, "udid", &d.serial_number)
            .replace('-', "")
            .to_ascii_uppercase(),
        serial_number: d.serial_number.clone(),
        user_id: owner.id,
        username: owner.username.clone(),
        platform: d.platform.clone(),
        model: d.model.clone(),
        os_version: d.os_version.clone(),
        ownership: d.ownership.clone(),
        compliant: d.compliant,
        last_seen: now.to_owned(),
        last_enrolled_on: now.to_owned(),
        enrollment_status: EnrollmentStatus::Enrolled,
        organization_group_id: owner.organization_group_id,
        unmanaged_apps: Vec::new(),
    }
}

fn split_name(username: &str, email: &str) -> (String, String) {
    let local = email
        .split('@')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(username);
    let mut parts = local.split(['.', '_', '-']).filter(|p| !p.is_empty());
    let cap = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    let first = parts.next().map(cap).unwrap_or_default();
    let last = parts.next().map(cap).unwrap_or_default();
    (first, last)
}

/// FNV-1a, to key per-entity random streams off the seed.
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn keyed_rng(seed: u64, kind: &str, key: &str) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed ^ fnv(&[kind, key]))
}

/// A version-4-shaped uuid that depends only on the seed, the kind of entity and its key.
pub fn derived_uuid(seed: u64, kind: &str, key: &str) -> String {
    let mut bytes = [0u8; 16];
    keyed_rng(seed, kind, key).fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids_whatever_the_order() {
        let a = Tenant::builder()
            .seed(3)
            .user("bob", "bob@example.com")
            .user("alice", "alice@example.com")
            .build()
            .unwrap();
        let b = Tenant::builder()
            .seed(3)
            .user("alice", "alice@example.com")
            .user("bob", "bob@example.com")
            .build()
            .unwrap();
        assert_eq!(a.users, b.users);
        let c = Tenant::builder()
            .seed(4)
            .user("alice", "alice@example.com")
            .build()
            .unwrap();
        assert_ne!(a.users[0].uuid, c.users[0].uuid);
    }

    #[test]
    fn device_of_unknown_user_is_refused() {
        let err = Tenant::builder()
            .device(DeviceSeed::new("S1", "ghost", "iOS"))
            .build()
            .unwrap_err();
        assert!(matches!(err, TenantError::UnknownUser { .. }));
    }

    #[test]
    fn a_device_finds_its_owner_by_key_or_user_name() {
        let t = Tenant::builder()
            .user_seed(UserSeed::new("Jane.Doe@corp.example", "jane.doe@corp.example").key("e1001"))
            .user("kli", "kai.li@example.com")
            .device(DeviceSeed::new("S1", "e1001", "iOS"))
            .device(DeviceSeed::new("S2", "KLI", "iOS"))
            .build()
            .unwrap();
        assert_eq!(t.devices[0].username, "Jane.Doe@corp.example");
        assert_eq!(t.devices[1].username, "kli");
        assert_eq!(t.users[0].key, "e1001");
        assert_eq!(t.users[1].key, "kli");
    }

    #[test]
    fn user_names_and_keys_are_unambiguous() {
        let twice = Tenant::builder()
            .user("alice", "a@example.com")
            .user("ALICE", "b@example.com")
            .build();
        assert!(matches!(twice, Err(TenantError::Duplicate(_))));
        let key_is_a_name = Tenant::builder()
            .user("alice", "a@example.com")
            .user_seed(UserSeed::new("a.smith", "c@example.com").key("alice"))
            .build();
        assert!(matches!(key_is_a_name, Err(TenantError::Duplicate(_))));
    }
}
