//! Smart groups: the rules UEM applies to a create or a full-replace update (uem-api.md §3.4,
//! §6.1), and which devices and users a group reaches.

use crate::state::{Rejection, TenantState, get_ci};
use crate::tenant::{SimDevice, SimUser, derived_uuid};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Keys of a smart group that a PUT/POST may set; others are ignored like UEM ignores unknown
/// keys (uem-api.md §6.7). The list keys default to empty.
const GROUP_LIST_KEYS: &[&str] = &[
    "OrganizationGroups",
    "UserGroups",
    "Tags",
    "Ownerships",
    "Platforms",
    "Models",
    "OperatingSystems",
    "UserAdditions",
    "DeviceAdditions",
    "UserExclusions",
    "DeviceExclusions",
    "UserGroupsExclusions",
    "ManagementTypes",
    "EnrollmentCategories",
    "OemAndModels",
    "CpuArchitectures",
];

/// Server-computed counts of a GET that the PUT schema (`SmartGroupEditV1Model`) does not accept.
pub const GROUP_COUNT_KEYS: &[&str] = &["Devices", "Assignments", "Exclusions"];

#[derive(Debug, Clone, PartialEq)]
pub struct SmartGroupRecord {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub criteria_type: String,
    /// The list-valued criteria and memberships, by canonical key.
    pub lists: BTreeMap<String, Vec<Value>>,
}

impl SmartGroupRecord {
    /// Ids (as strings) listed under a membership key such as `UserAdditions`.
    pub fn member_ids(&self, key: &str) -> Vec<String> {
        self.lists
            .get(key)
            .map(|items| items.iter().filter_map(item_id).collect())
            .unwrap_or_default()
    }
}

/// The `Id` of a membership item, which UEM types as a string but clients send either way.
fn item_id(item: &Value) -> Option<String> {
    let id = get_ci(item, "Id")?;
    match id {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(_) => get_ci(id, "Value").and_then(|v| match v {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        }),
        _ => None,
    }
}

impl TenantState {
    /// Validates a POST/PUT body into a record (`id`/`uuid` filled by the caller).
    pub fn parse_group(
        &self,
        body: &Value,
        updating: Option<i64>,
    ) -> Result<SmartGroupRecord, Rejection> {
        let obj = body
            .as_object()
            .ok_or_else(|| Rejection::bad_request("The request body must be a JSON object."))?;
        if updating.is_some()
            && let Some(key) = GROUP_COUNT_KEYS
                .iter()
                .find(|k| obj.keys().any(|o| o.eq_ignore_ascii_case(k)))
        {
            return Err(Rejection::bad_request(format!(
                "The request is invalid. Property '{key}' is not part of SmartGroupEditV1Model."
            )));
        }
        let name = get_ci(body, "Name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Rejection::bad_request("Smart group Name is required."))?
            .to_owned();
        if self
            .groups
            .values()
            .any(|g| g.name.eq_ignore_ascii_case(&name) && Some(g.id) != updating)
        {
            return Err(Rejection::bad_request(format!(
                "A smart group named '{name}' already exists in this organization group."
            )));
        }
        let criteria_type = get_ci(body, "CriteriaType")
            .and_then(Value::as_str)
            .unwrap_or("All")
            .to_owned();
        let mut lists = BTreeMap::new();
        for key in GROUP_LIST_KEYS {
            let items = match get_ci(body, key) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items.clone(),
                Some(_) => {
                    return Err(Rejection::bad_request(format!("{key} must be a list.")));
                }
            };
            lists.insert((*key).to_owned(), items);
        }
        let record = SmartGroupRecord {
            id: updating.unwrap_or(0),
            uuid: String::new(),
            name,
            criteria_type,
            lists,
        };
        for key in ["UserAdditions", "UserExclusions"] {
            let ids = record.member_ids(key);
            if ids.len() != record.lists[key].len() {
                return Err(Rejection::bad_request(format!(
                    "Every {key} entry needs an Id."
                )));
            }
            check_unique(key, &ids)?;
            if let Some(bad) = ids.iter().find(|id| self.user_by_id(id).is_none()) {
                return Err(Rejection::bad_request(format!(
                    "{key}: enrollment user id : {bad} not found"
                )));
            }
        }
        for key in ["DeviceAdditions", "DeviceExclusions"] {
            let ids = record.member_ids(key);
            if ids.len() != record.lists[key].len() {
                return Err(Rejection::bad_request(format!(
                    "Every {key} entry needs an Id."
                )));
            }
            check_unique(key, &ids)?;
            if let Some(bad) = ids.iter().find(|id| self.device_by_id(id).is_none()) {
                return Err(Rejection::bad_request(format!(
                    "{key}: device id : {bad} not found"
                )));
            }
        }
        match record.criteria_type.to_ascii_lowercase().as_str() {
            "userdevice" => {
                if record.lists["UserAdditions"].is_empty()
                    && record.lists["DeviceAdditions"].is_empty()
                {
                    return Err(Rejection::bad_request(
                        "A smart group with CriteriaType UserDevice needs at least one user or device.",
                    ));
                }
            }
            "usergroup" => {
                if record.lists["UserGroups"].is_empty() {
                    return Err(Rejection::bad_request(
                        "A smart group with CriteriaType UserGroup needs at least one user group.",
                    ));
                }
            }
            "all" => {}
            other => {
                return Err(Rejection::bad_request(format!(
                    "Invalid CriteriaType '{other}'."
                )));
            }
        }
        Ok(record)
    }

    pub fn create_group(&mut self, body: &Value) -> Result<i64, Rejection> {
        let mut record = self.parse_group(body, None)?;
        let id = self.next_group_id;
        self.next_group_id += 1;
        record.id = id;
        record.uuid = derived_uuid(self.seed, "smartgroup", &id.to_string());
        self.groups.insert(id, record);
        Ok(id)
    }

    pub fn update_group(&mut self, id: i64, body: &Value) -> Result<(), Rejection> {
        let uuid = match self.groups.get(&id) {
            Some(g) => g.uuid.clone(),
            None => return Err(Rejection::not_found(format!("Smart group {id} not found."))),
        };
        let mut record = self.parse_group(body, Some(id))?;
        record.uuid = uuid;
        self.groups.insert(id, record);
        Ok(())
    }

    /// UEM refuses to delete a smart group that an app is still assigned to (as the console
    /// does; inferred, not read from an API source).
    pub fn delete_group(&mut self, id: i64) -> Result<(), Rejection> {
        let Some(group) = self.groups.get(&id) else {
            return Err(Rejection::not_found(format!("Smart group {id} not found.")));
        };
        let in_use = self.assignments.values().any(|a| {
            a.rules.iter().any(|r| {
                r.smart_groups
                    .iter()
                    .any(|g| g.eq_ignore_ascii_case(&group.uuid))
            })
        });
        if in_use {
            return Err(Rejection::bad_request(format!(
                "Smart group '{}' is in use by an app assignment and cannot be deleted.",
                group.name
            )));
        }
        for a in self.assignments.values_mut() {
            a.excluded.retain(|g| !g.eq_ignore_ascii_case(&group.uuid));
        }
        self.groups.remove(&id);
        Ok(())
    }

    /// Devices the group currently targets.
    pub fn group_devices(&self, group: &SmartGroupRecord) -> Vec<&SimDevice> {
        let users: BTreeSet<String> = group.member_ids("UserAdditions").into_iter().collect();
        let devices: BTreeSet<String> = group.member_ids("DeviceAdditions").into_iter().collect();
        let ex_users: BTreeSet<String> = group.member_ids("UserExclusions").into_iter().collect();
        let ex_devices: BTreeSet<String> =
            group.member_ids("DeviceExclusions").into_iter().collect();
        let all = group.criteria_type.eq_ignore_ascii_case("all");
        let platforms: Vec<String> = group.lists["Platforms"]
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned).or_else(|| item_name(p)))
            .collect();
        let ownerships: Vec<String> = group.lists["Ownerships"]
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned).or_else(|| item_name(p)))
            .collect();
        self.devices
            .iter()
            .filter(|d| {
                let user = self.user_by_name(&d.username);
                let user_id = user.map(|u| u.id.to_string()).unwrap_or_default();
                let by_criteria = all
                    && (platforms.is_empty()
                        || platforms
                            .iter()
                            .any(|p| p.eq_ignore_ascii_case(&d.platform)))
                    && (ownerships.is_empty()
                        || ownerships.iter().any(|o| {
                            o.eq_ignore_ascii_case(&d.ownership)
                                || o.chars().next().map(|c| c.to_ascii_uppercase().to_string())
                                    == Some(d.ownership.clone())
                        }));
                let included =
                    by_criteria || users.contains(&user_id) || devices.contains(&d.id.to_string());
                let excluded =
                    ex_users.contains(&user_id) || ex_devices.contains(&d.id.to_string());
                included && !excluded
            })
            .collect()
    }

    /// Whether the group names this user (or one of their devices) as a member.
    pub fn group_has_user(&self, group: &SmartGroupRecord, user: &SimUser) -> bool {
        let id = user.id.to_string();
        if group.member_ids("UserExclusions").contains(&id) {
            return false;
        }
        group.member_ids("UserAdditions").contains(&id)
            || self
                .group_devices(group)
                .iter()
                .any(|d| d.username.eq_ignore_ascii_case(&user.username))
    }

    pub fn group_assignment_count(&self, group: &SmartGroupRecord) -> usize {
        self.assignments
            .values()
            .map(|a| {
                a.rules
                    .iter()
                    .filter(|r| {
                        r.smart_groups
                            .iter()
                            .any(|g| g.eq_ignore_ascii_case(&group.uuid))
                    })
                    .count()
            })
            .sum()
    }
}

fn item_name(item: &Value) -> Option<String> {
    get_ci(item, "Name")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn check_unique(key: &str, ids: &[String]) -> Result<(), Rejection> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id.clone()) {
            return Err(Rejection::bad_request(format!(
                "{key} lists id {id} more than once."
            )));
        }
    }
    Ok(())
}
