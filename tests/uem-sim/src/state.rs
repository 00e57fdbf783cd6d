//! The tenant's mutable state: smart groups and app assignments on top of the seeded users,
//! devices and apps, with the rules UEM applies to them and the JSON shapes it answers with.

use crate::tenant::{PushMode, SimApp, SimDevice, SimUser, Tenant, derived_uuid, platform_code};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The organization group everything lives in (one per simulated tenant).
pub const OG_ID: i64 = 570;
pub const OG_NAME: &str = "Loadout Sim";
pub const OG_UUID: &str = "6c8d8c9e-0f38-4c16-9a4c-5a0f1f0c0570";

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

/// A key of a JSON object, case-insensitively.
pub fn get_ci<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let map = value.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// One assignment rule of an app (v2 shape; v1 assignments are stored the same way).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub smart_groups: Vec<String>,
    pub mode: PushMode,
    /// The `distribution` object as sent, for echoing fields the simulator does not interpret.
    pub distribution: Value,
    pub restriction: Value,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppAssignments {
    pub rules: Vec<Rule>,
    pub excluded: Vec<String>,
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
    next_group_id: i64,
    seed: u64,
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

    // ------------------------------------------------------------------------------------------
    // Smart groups

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

    pub fn group_json(&self, group: &SmartGroupRecord) -> Value {
        let mut obj = Map::new();
        obj.insert("Name".into(), json!(group.name));
        obj.insert("SmartGroupID".into(), json!(group.id));
        obj.insert("SmartGroupUuid".into(), json!(group.uuid));
        obj.insert("CriteriaType".into(), json!(group.criteria_type));
        obj.insert(
            "ManagedByOrganizationGroupId".into(),
            json!(OG_ID.to_string()),
        );
        obj.insert("ManagedByOrganizationGroupUuid".into(), json!(OG_UUID));
        obj.insert("ManagedByOrganizationGroupName".into(), json!(OG_NAME));
        for (k, v) in &group.lists {
            obj.insert(k.clone(), Value::Array(v.clone()));
        }
        obj.insert("Devices".into(), json!(self.group_devices(group).len()));
        obj.insert(
            "Assignments".into(),
            json!(self.group_assignment_count(group)),
        );
        obj.insert(
            "Exclusions".into(),
            json!(group.lists["UserExclusions"].len() + group.lists["DeviceExclusions"].len()),
        );
        Value::Object(obj)
    }

    pub fn group_summary_json(&self, group: &SmartGroupRecord) -> Value {
        json!({
            "SmartGroupID": group.id,
            "SmartGroupUuid": group.uuid,
            "Name": group.name,
            "CriteriaType": group.criteria_type,
            "ManagedByOrganizationGroupId": OG_ID,
            "ManagedByOrganizationGroupUuid": OG_UUID,
            "ManagedByOrganizationGroupName": OG_NAME,
            "Devices": self.group_devices(group).len(),
            "Assignments": self.group_assignment_count(group),
            "Exclusions": group.lists["UserExclusions"].len() + group.lists["DeviceExclusions"].len(),
        })
    }

    // ------------------------------------------------------------------------------------------
    // Assignments

    /// v1 `POST /api/mam/apps/{type}/{id}/assignments`: adds the groups with the push mode; a
    /// group already assigned moves to the new rule.
    pub fn add_v1_assignment(&mut self, app_id: i64, body: &Value) -> Result<(), Rejection> {
        let ids = get_ci(body, "SmartGroupIds")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| Rejection::bad_request("SmartGroupIds is required."))?;
        let mut uuids = Vec::new();
        for id in ids {
            let id = id
                .as_i64()
                .or_else(|| id.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| Rejection::bad_request("SmartGroupIds must be integers."))?;
            let group = self.groups.get(&id).ok_or_else(|| {
                Rejection::bad_request(format!("Smart group id : {id} not found"))
            })?;
            uuids.push(group.uuid.clone());
        }
        let params = get_ci(body, "DeploymentParameters")
            .cloned()
            .unwrap_or(json!({}));
        let mode = match get_ci(&params, "PushMode").and_then(Value::as_str) {
            None => PushMode::OnDemand,
            Some(m) => PushMode::parse(m)
                .ok_or_else(|| Rejection::bad_request(format!("Invalid PushMode '{m}'.")))?,
        };
        let entry = self.assignments.entry(app_id).or_default();
        for rule in &mut entry.rules {
            rule.smart_groups
                .retain(|g| !uuids.iter().any(|u| u.eq_ignore_ascii_case(g)));
        }
        entry.rules.retain(|r| !r.smart_groups.is_empty());
        let flag = |k: &str| get_ci(&params, k).and_then(Value::as_bool).unwrap_or(false);
        entry.rules.push(Rule {
            smart_groups: uuids,
            mode,
            distribution: json!({
                "name": format!("Assignment {}", entry.rules.len() + 1),
                "display_in_app_catalog": get_ci(&params, "VisibleInAppCatalog").and_then(Value::as_bool).unwrap_or(true),
                "auto_update_devices_with_previous_versions": flag("AutoUpdateDevicesWithPreviousVersion"),
            }),
            restriction: json!({
                "remove_on_unenroll": flag("RemoveOnUnEnroll"),
                "desired_state_management": flag("MacOsDesiredStateManagement"),
            }),
        });
        Ok(())
    }

    /// v2 `PUT /api/mam/apps/{uuid}/assignment-rules`: replaces the whole rule set.
    pub fn put_v2_rules(&mut self, app_id: i64, body: &Value) -> Result<(), Rejection> {
        let list = get_ci(body, "assignments")
            .and_then(Value::as_array)
            .ok_or_else(|| Rejection::bad_request("assignments is required."))?;
        let mut rules: Vec<(i64, Rule)> = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let dist = get_ci(item, "distribution")
                .filter(|d| d.is_object())
                .ok_or_else(|| {
                    Rejection::bad_request(format!("assignments[{i}].distribution is required."))
                })?;
            let groups = get_ci(dist, "smart_groups")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    Rejection::bad_request(format!(
                        "assignments[{i}].distribution.smart_groups is required."
                    ))
                })?;
            let mut uuids = Vec::new();
            for g in groups {
                let uuid = g.as_str().ok_or_else(|| {
                    Rejection::bad_request("smart_groups must list smart group uuids.")
                })?;
                let group = self.group_by_uuid(uuid).ok_or_else(|| {
                    Rejection::bad_request(format!("Smart group {uuid} not found."))
                })?;
                if uuids.contains(&group.uuid) {
                    return Err(Rejection::bad_request(format!(
                        "Smart group {uuid} is listed twice."
                    )));
                }
                uuids.push(group.uuid.clone());
            }
            let mode = match get_ci(dist, "app_delivery_method").and_then(Value::as_str) {
                Some(m) => PushMode::parse(m).ok_or_else(|| {
                    Rejection::bad_request(format!("Invalid app_delivery_method '{m}'."))
                })?,
                None => {
                    return Err(Rejection::bad_request(format!(
                        "assignments[{i}].distribution.app_delivery_method is required."
                    )));
                }
            };
            let priority = get_ci(item, "priority")
                .and_then(Value::as_i64)
                .unwrap_or(i as i64);
            rules.push((
                priority,
                Rule {
                    smart_groups: uuids,
                    mode,
                    distribution: dist.clone(),
                    restriction: get_ci(item, "restriction").cloned().unwrap_or(json!({})),
                },
            ));
        }
        let mut seen = BTreeSet::new();
        for (_, r) in &rules {
            for g in &r.smart_groups {
                if !seen.insert(g.to_ascii_lowercase()) {
                    return Err(Rejection::bad_request(format!(
                        "Smart group {g} is in more than one assignment."
                    )));
                }
            }
        }
        rules.sort_by_key(|(p, _)| *p);
        let mut excluded = Vec::new();
        if let Some(list) = get_ci(body, "excluded_smart_groups").and_then(Value::as_array) {
            for g in list {
                let uuid = g.as_str().unwrap_or_default();
                let group = self.group_by_uuid(uuid).ok_or_else(|| {
                    Rejection::bad_request(format!("Smart group {uuid} not found."))
                })?;
                excluded.push(group.uuid.clone());
            }
        }
        self.assignments.insert(
            app_id,
            AppAssignments {
                rules: rules.into_iter().map(|(_, r)| r).collect(),
                excluded,
            },
        );
        Ok(())
    }

    pub fn v2_rules_json(&self, app: &SimApp) -> Value {
        let entry = self.assignments.get(&app.id).cloned().unwrap_or_default();
        let assignments: Vec<Value> = entry
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut dist = r.distribution.as_object().cloned().unwrap_or_default();
                dist.insert("smart_groups".into(), json!(r.smart_groups));
                dist.insert("app_delivery_method".into(), json!(r.mode.as_v2()));
                dist.entry("name")
                    .or_insert(json!(format!("Assignment {}", i + 1)));
                // What UEM fills in when a rule leaves it out.
                for (k, v) in [
                    ("description", json!("")),
                    ("effective_date", json!("2026-01-01T00:00:00")),
                    ("auto_update_devices_with_previous_versions", json!(false)),
                    ("display_in_app_catalog", json!(true)),
                    ("requires_approval", json!(false)),
                    ("keep_app_updated_automatically", json!(true)),
                ] {
                    dist.entry(k).or_insert(v);
                }
                let mut restriction = r.restriction.as_object().cloned().unwrap_or_default();
                for k in [
                    "remove_on_unenroll",
                    "desired_state_management",
                    "prevent_removal",
                    "make_app_mdm_managed",
                ] {
                    restriction.entry(k).or_insert(json!(false));
                }
                json!({
                    "priority": i,
                    "distribution": dist,
                    "restriction": restriction,
                    "tunnel": {},
                    "application_configuration": [],
                })
            })
            .collect();
        json!({
            "id": app.id,
            "uuid": app.uuid,
            "assignments": assignments,
            "excluded_smart_groups": entry.excluded,
        })
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

    // ------------------------------------------------------------------------------------------
    // JSON shapes

    pub fn user_json(&self, u: &SimUser) -> Value {
        json!({
            "Id": {"Value": u.id},
            "Uuid": u.uuid,
            "UserName": u.username,
            "FirstName": u.first_name,
            "LastName": u.last_name,
            "Email": u.email,
            "EmailUserName": u.email.split('@').next().unwrap_or_default(),
            "ContactNumber": "",
            "MobileNumber": "",
            "Status": true,
            "Group": OG_NAME,
            "LocationGroupId": OG_ID.to_string(),
            "OrganizationGroupUuid": OG_UUID,
            "Role": "Full Access",
            "SecurityType": "Directory",
            "EnrolledDevicesCount": self.devices_of(&u.username).len().to_string(),
            "ExternalId": u.uuid,
            "MessageType": "Email",
        })
    }

    pub fn device_json(&self, d: &SimDevice) -> Value {
        let user = self.user_by_name(&d.username);
        json!({
            "Id": {"Value": d.id},
            "Uuid": d.uuid,
            "Udid": d.udid,
            "SerialNumber": d.serial_number,
            "MacAddress": format!("{:012X}", d.id),
            "Imei": "",
            "EasId": "",
            "AssetNumber": d.serial_number,
            "DeviceFriendlyName": format!("{} {} {}", d.username, d.model, d.serial_number),
            "LocationGroupId": {"Id": {"Value": OG_ID}, "Name": OG_NAME, "Uuid": OG_UUID},
            "LocationGroupName": OG_NAME,
            "UserId": {
                "Id": {"Value": user.map(|u| u.id).unwrap_or_default()},
                "Name": d.username,
                "Uuid": user.map(|u| u.uuid.clone()).unwrap_or_default(),
            },
            "UserName": d.username,
            "UserEmailAddress": user.map(|u| u.email.clone()).unwrap_or_default(),
            "Ownership": d.ownership,
            "PlatformId": {"Id": {"Value": platform_code(&d.platform)}, "Name": d.platform},
            "Platform": d.platform,
            "ModelId": {"Id": {"Value": 1}, "Name": d.model},
            "Model": d.model,
            "OperatingSystem": d.os_version,
            "OSBuildVersion": d.os_version,
            "PhoneNumber": "",
            "LastSeen": d.last_seen,
            "EnrollmentStatus": "Enrolled",
            "ComplianceStatus": if d.compliant { "Compliant" } else { "NonCompliant" },
            "CompromisedStatus": false,
            "LastEnrolledOn": "2026-01-05T09:00:00",
            "LastEnrollmentCheckOn": d.last_seen,
            "LastComplianceCheckOn": d.last_seen,
            "LastCompromisedCheckOn": d.last_seen,
            "DataEncryptionYN": "Y",
            "IsSupervised": d.ownership == "C",
        })
    }

    pub fn app_json(&self, a: &SimApp) -> Value {
        json!({
            "Id": {"Value": a.id},
            "Uuid": a.uuid,
            "ApplicationName": a.name,
            "BundleId": a.bundle_id,
            "AppVersion": a.version,
            "ActualFileVersion": a.version,
            "AppType": a.app_type.as_str(),
            "Status": "Active",
            "Platform": platform_code(a.platforms.first().map(String::as_str).unwrap_or("")),
            "SupportedModels": {"Model": []},
            "AssignmentStatus": if self.assignments.get(&a.id).is_some_and(|x| !x.rules.is_empty()) { "Assigned" } else { "Not Assigned" },
            "ApplicationSize": "1024",
            "CategoryList": {"Category": []},
            "LocationGroupId": OG_ID,
            "RootLocationGroupName": OG_NAME,
            "OrganizationGroupUuid": OG_UUID,
            "LargeIconUri": "",
            "IsReimbursable": false,
            "ApplicationSource": 0,
            "AssignedDeviceCount": self.devices.iter().filter(|d| self.device_assigned_apps(d).iter().any(|(x, _)| x.id == a.id)).count(),
        })
    }

    /// Details of `/api/mam/apps/{type}/{id}`: note the lowercase `uuid` and `id` (uem-api.md §3.3).
    pub fn app_details_json(&self, a: &SimApp) -> Value {
        let entry = self.assignments.get(&a.id).cloned().unwrap_or_default();
        let assignments: Vec<Value> = entry
            .rules
            .iter()
            .flat_map(|r| {
                r.smart_groups.iter().filter_map(|uuid| {
                    self.group_by_uuid(uuid).map(|g| {
                        json!({
                            "SmartGroupId": g.id,
                            "SmartGroupUuid": g.uuid,
                            "SmartGroupName": g.name,
                            "EffectiveDate": "2026-01-01T00:00:00",
                        })
                    })
                })
            })
            .collect();
        let excluded: Vec<&SmartGroupRecord> = entry
            .excluded
            .iter()
            .filter_map(|u| self.group_by_uuid(u))
            .collect();
        let assigned = self
            .devices
            .iter()
            .filter(|d| {
                self.device_assigned_apps(d)
                    .iter()
                    .any(|(x, _)| x.id == a.id)
            })
            .count();
        json!({
            "id": a.id,
            "uuid": a.uuid,
            "ApplicationName": a.name,
            "BundleId": a.bundle_id,
            "AppVersion": a.version,
            "ActualFileVersion": a.version,
            "AppType": a.app_type.as_str(),
            "Status": "Active",
            "Platform": platform_code(a.platforms.first().map(String::as_str).unwrap_or("")),
            "Assignments": assignments,
            "ExcludedSmartGroupIds": excluded.iter().map(|g| g.id).collect::<Vec<_>>(),
            "ExcludedSmartGroupGuids": excluded.iter().map(|g| g.uuid.clone()).collect::<Vec<_>>(),
            "DevicesAssignedCount": assigned,
            "DevicesInstalledCount": assigned,
            "LocationGroupId": OG_ID,
            "OrganizationGroupUuid": OG_UUID,
        })
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
