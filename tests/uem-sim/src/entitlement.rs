//! Who is entitled to what: a user through the smart groups that name them or reach their
//! devices, a device through the groups that reach it (platform-matched, enrolled). Exclusions
//! win; among rules, the first (highest-priority) one that targets the user or device gives the
//! push mode.

use crate::state::TenantState;
use crate::tenant::{PushMode, SimApp, SimDevice};
use std::collections::{BTreeMap, HashMap, HashSet};

impl TenantState {
    /// Apps (by console id) this user is entitled to, with the push mode.
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
        let map = self.assigned_pairs(Some(device.id));
        map.into_iter()
            .filter_map(|((_, app), mode)| self.app_by_id(&app.to_string()).map(|a| (a, mode)))
            .collect()
    }

    /// Every (device id, app id) an assignment reaches, with the push mode; `only` limits it
    /// to one device. One pass per group, so it stays linear in devices.
    pub(crate) fn assigned_pairs(&self, only: Option<i64>) -> BTreeMap<(i64, i64), PushMode> {
        let devices: Vec<&SimDevice> = self
            .devices
            .iter()
            .filter(|d| d.enrolled() && only.is_none_or(|id| d.id == id))
            .collect();
        let by_id: HashMap<i64, &SimDevice> = devices.iter().map(|d| (d.id, *d)).collect();
        let mut reach: HashMap<String, Vec<i64>> = HashMap::new();
        let mut reached = |uuid: &str| -> Vec<i64> {
            let key = uuid.to_ascii_lowercase();
            reach
                .entry(key)
                .or_insert_with(|| {
                    self.group_by_uuid(uuid)
                        .map(|g| {
                            devices
                                .iter()
                                .filter(|d| self.group_reaches_device(g, d))
                                .map(|d| d.id)
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .clone()
        };
        let mut out = BTreeMap::new();
        for (app_id, entry) in &self.assignments {
            let Some(app) = self.apps.iter().find(|a| a.id == *app_id) else {
                continue;
            };
            let excluded: HashSet<i64> = entry.excluded.iter().flat_map(|g| reached(g)).collect();
            for rule in &entry.rules {
                for g in &rule.smart_groups {
                    for device_id in reached(g) {
                        if excluded.contains(&device_id) {
                            continue;
                        }
                        let Some(d) = by_id.get(&device_id) else {
                            continue;
                        };
                        if app.platforms.iter().any(|p| p == &d.platform) {
                            out.entry((device_id, *app_id)).or_insert(rule.mode);
                        }
                    }
                }
            }
        }
        out
    }
}
