//! Smart groups: the rules UEM applies to a create or a full-replace update (the API
//! help's SmartGroupEditV1Model as clients quote it, PyVMwareAirWatch, pyws1uem's fork), and which devices and users a group reaches. Members are kept by id; UEM
//! fills in their names when it answers, whatever names the request carried.

use crate::org::og_id_of;
use crate::state::{Rejection, TenantState, get_ci};
use crate::tenant::{SimDevice, SimUser, derived_uuid};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// List-valued criteria a PUT/POST may set besides the members; they are kept as sent. Unknown
/// keys are ignored like UEM ignores them (a published client misspells a key and UEM ignores it).
pub(crate) const CRITERIA_KEYS: &[&str] = &[
    "OrganizationGroups",
    "UserGroups",
    "Tags",
    "Ownerships",
    "Platforms",
    "Models",
    "OperatingSystems",
    "UserGroupsExclusions",
    "ManagementTypes",
    "EnrollmentCategories",
    "OemAndModels",
    "CpuArchitectures",
];

/// Server-computed counts of a GET that the PUT schema (`SmartGroupEditV1Model`) does not accept.
pub const GROUP_COUNT_KEYS: &[&str] = &["Devices", "Assignments", "Exclusions"];

/// Which membership list of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberList {
    UserAdditions,
    UserExclusions,
    DeviceAdditions,
    DeviceExclusions,
}

impl MemberList {
    pub const ALL: [MemberList; 4] = [
        MemberList::UserAdditions,
        MemberList::UserExclusions,
        MemberList::DeviceAdditions,
        MemberList::DeviceExclusions,
    ];

    pub fn key(self) -> &'static str {
        match self {
            MemberList::UserAdditions => "UserAdditions",
            MemberList::UserExclusions => "UserExclusions",
            MemberList::DeviceAdditions => "DeviceAdditions",
            MemberList::DeviceExclusions => "DeviceExclusions",
        }
    }

    fn of_users(self) -> bool {
        matches!(self, MemberList::UserAdditions | MemberList::UserExclusions)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SmartGroupRecord {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub criteria_type: String,
    /// The organization group that manages the group.
    pub managed_by: i64,
    /// The list-valued criteria other than members, by canonical key, as sent.
    pub criteria: BTreeMap<String, Vec<Value>>,
    /// User or device ids per membership list, in the order sent.
    members: BTreeMap<&'static str, MemberIds>,
}

/// One membership list: the ids in order, and a set to look them up (lists run to thousands).
#[derive(Debug, Clone, Default, PartialEq)]
struct MemberIds {
    order: Vec<i64>,
    set: HashSet<i64>,
}

impl MemberIds {
    fn from_ids(order: Vec<i64>) -> Self {
        let set = order.iter().copied().collect();
        Self { order, set }
    }
}

impl SmartGroupRecord {
    /// Ids under a membership list, in order.
    pub fn members(&self, list: MemberList) -> &[i64] {
        self.members
            .get(list.key())
            .map(|m| m.order.as_slice())
            .unwrap_or(&[])
    }

    /// Ids (as strings) under a membership key such as `UserAdditions` (empty for other keys).
    pub fn member_ids(&self, key: &str) -> Vec<String> {
        MemberList::ALL
            .iter()
            .find(|l| l.key().eq_ignore_ascii_case(key))
            .map(|l| self.members(*l).iter().map(i64::to_string).collect())
            .unwrap_or_default()
    }

    pub fn has(&self, list: MemberList, id: i64) -> bool {
        self.members
            .get(list.key())
            .is_some_and(|m| m.set.contains(&id))
    }

    /// Adds an id at the end of a list; false if it was there already.
    pub(crate) fn add_member(&mut self, list: MemberList, id: i64) -> bool {
        let ids = self.members.entry(list.key()).or_default();
        if !ids.set.insert(id) {
            return false;
        }
        ids.order.push(id);
        true
    }

    /// Removes an id from a list; false if it was not there.
    pub(crate) fn remove_member(&mut self, list: MemberList, id: i64) -> bool {
        let ids = self.members.entry(list.key()).or_default();
        if !ids.set.remove(&id) {
            return false;
        }
        ids.order.retain(|x| *x != id);
        true
    }

    fn criteria_names(&self, key: &str) -> Vec<String> {
        self.criteria
            .get(key)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|p| p.as_str().map(str::to_owned).or_else(|| item_name(p)))
                    .collect()
            })
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
            Value::String(s) => Some(s.trim().to_owned()),
            _ => None,
        }),
        _ => None,
    }
}

fn item_name(item: &Value) -> Option<String> {
    get_ci(item, "Name")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn list_of<'a>(body: &'a Value, key: &str) -> Result<&'a [Value], Rejection> {
    match get_ci(body, key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(Rejection::bad_request(format!("{key} must be a list."))),
    }
}

impl TenantState {
    /// Validates a POST/PUT body into a record (`id`/`uuid` filled by the caller).
    pub fn parse_group(
        &self,
        body: &Value,
        updating: Option<&SmartGroupRecord>,
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
        let criteria_type = get_ci(body, "CriteriaType")
            .and_then(Value::as_str)
            .unwrap_or("All")
            .to_owned();
        let managed_by = self.managing_og(body, updating)?;
        let mut criteria = BTreeMap::new();
        for key in CRITERIA_KEYS {
            criteria.insert((*key).to_owned(), list_of(body, key)?.to_vec());
        }
        self.check_og_criteria(&criteria["OrganizationGroups"], managed_by)?;
        if let Some(tag) = criteria["Tags"]
            .iter()
            .find(|t| get_ci(t, "Id").and_then(og_id_of) == Some(0) || get_ci(t, "Id").is_none())
        {
            let id = get_ci(tag, "Id").map(Value::to_string).unwrap_or_default();
            return Err(Rejection::bad_request(format!(
                "id : {} not found",
                if id.is_empty() { "0".into() } else { id }
            )));
        }
        let mut record = SmartGroupRecord {
            id: updating.map(|g| g.id).unwrap_or(0),
            uuid: String::new(),
            name,
            criteria_type,
            managed_by,
            criteria,
            members: BTreeMap::new(),
        };
        for list in MemberList::ALL {
            let ids = self.member_list(body, list)?;
            record.members.insert(list.key(), MemberIds::from_ids(ids));
        }
        self.check_criteria_type(&record)?;
        Ok(record)
    }

    /// `ManagedByOrganizationGroupId` (or the uuid): 0 and unknown ids are refused as UEM does
    /// ("id : 0 not found", as a migration tool quotes UEM); a body without either lands in the API admin's
    /// OG, as a client that misspelled the key found, or keeps the OG it had on update.
    fn managing_og(
        &self,
        body: &Value,
        updating: Option<&SmartGroupRecord>,
    ) -> Result<i64, Rejection> {
        let by_id = get_ci(body, "ManagedByOrganizationGroupId").filter(|v| !v.is_null());
        if let Some(v) = by_id {
            let id = og_id_of(v).ok_or_else(|| {
                Rejection::bad_request(format!(
                    "ManagedByOrganizationGroupId {v} is not a valid organization group id."
                ))
            })?;
            return Ok(self.known_og(id)?.id);
        }
        let by_uuid = get_ci(body, "ManagedByOrganizationGroupUuid")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|u| !u.is_empty());
        if let Some(uuid) = by_uuid {
            return self
                .org_groups
                .iter()
                .find(|g| g.uuid.eq_ignore_ascii_case(uuid))
                .map(|g| g.id)
                .ok_or_else(|| Rejection::bad_request(format!("uuid : {uuid} not found")));
        }
        Ok(updating.map(|g| g.managed_by).unwrap_or(self.admin_og))
    }

    /// OG criteria must be known and sit under the managing OG.
    fn check_og_criteria(&self, items: &[Value], managed_by: i64) -> Result<(), Rejection> {
        for item in items {
            let id = get_ci(item, "Id").and_then(og_id_of).unwrap_or(0);
            let og = self.known_og(id)?;
            if !self.og_is_under(og.id, managed_by) {
                return Err(Rejection::bad_request(format!(
                    "Organization group {} is not a child of the managing organization group {managed_by}.",
                    og.id
                )));
            }
        }
        Ok(())
    }

    /// The ids of one membership list: every entry needs an `Id` naming a known user (for user
    /// lists) or device, and none may be listed twice (a duplicate gives 400, as clients that de-duplicate before a PUT say).
    fn member_list(&self, body: &Value, list: MemberList) -> Result<Vec<i64>, Rejection> {
        let key = list.key();
        let items = list_of(body, key)?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        // Ids and uuids, looked up once per list: groups can hold thousands of members.
        let known: HashMap<String, i64> = if list.of_users() {
            self.users
                .iter()
                .flat_map(|u| {
                    [
                        (u.id.to_string(), u.id),
                        (u.uuid.to_ascii_lowercase(), u.id),
                    ]
                })
                .collect()
        } else {
            self.devices
                .iter()
                .flat_map(|d| {
                    [
                        (d.id.to_string(), d.id),
                        (d.uuid.to_ascii_lowercase(), d.id),
                    ]
                })
                .collect()
        };
        let what = if list.of_users() {
            "enrollment user"
        } else {
            "device"
        };
        let mut ids = Vec::new();
        let mut seen = BTreeSet::new();
        for item in items {
            let raw = item_id(item)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Rejection::bad_request(format!("Every {key} entry needs an Id.")))?;
            let id = *known.get(&raw.to_ascii_lowercase()).ok_or_else(|| {
                Rejection::bad_request(format!("{key}: {what} id : {raw} not found"))
            })?;
            if !seen.insert(id) {
                return Err(Rejection::bad_request(format!(
                    "{key} lists id {raw} more than once."
                )));
            }
            ids.push(id);
        }
        Ok(ids)
    }

    /// A `UserDevice` group names users or devices; a `UserGroup` group names user groups
    /// (a migration tool's rule).
    pub(crate) fn check_criteria_type(&self, record: &SmartGroupRecord) -> Result<(), Rejection> {
        match record.criteria_type.to_ascii_lowercase().as_str() {
            "userdevice" => {
                if record.members(MemberList::UserAdditions).is_empty()
                    && record.members(MemberList::DeviceAdditions).is_empty()
                {
                    return Err(Rejection::bad_request(
                        "A smart group with CriteriaType UserDevice needs at least one user or device.",
                    ));
                }
            }
            "usergroup" => {
                if record.criteria["UserGroups"].is_empty() {
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
        Ok(())
    }

    /// `POST /api/mdm/smartgroups`. A second group of an existing name is accepted: UEM does
    /// not refuse it (nothing in the sources says it does), so only the client can avoid it.
    pub fn create_group(&mut self, body: &Value) -> Result<i64, Rejection> {
        let mut record = self.parse_group(body, None)?;
        let id = self.next_group_id;
        self.next_group_id += 1;
        record.id = id;
        record.uuid = derived_uuid(self.seed, "smartgroup", &id.to_string());
        self.groups.insert(id, record);
        Ok(id)
    }

    /// `PUT /api/mdm/smartgroups/{id}`: a full replace.
    pub fn update_group(&mut self, id: i64, body: &Value) -> Result<(), Rejection> {
        let Some(existing) = self.groups.get(&id) else {
            return Err(Rejection::not_found(format!("Smart group {id} not found.")));
        };
        let mut record = self.parse_group(body, Some(existing))?;
        record.uuid = existing.uuid.clone();
        self.groups.insert(id, record);
        Ok(())
    }

    /// UEM refuses to delete a smart group that an app is still assigned to (as the console
    /// does; inferred, not read from an API source): an admin removes the assignment first.
    pub fn delete_group(&mut self, id: i64) -> Result<(), Rejection> {
        let Some(group) = self.groups.get(&id) else {
            return Err(Rejection::not_found(format!("Smart group {id} not found.")));
        };
        if self.group_assignment_count(group) > 0 {
            return Err(Rejection::bad_request(format!(
                "Smart group '{}' is in use by an app assignment and cannot be deleted.",
                group.name
            )));
        }
        let uuid = group.uuid.clone();
        for a in self.assignments.values_mut() {
            a.excluded.retain(|g| !g.eq_ignore_ascii_case(&uuid));
        }
        self.groups.remove(&id);
        Ok(())
    }

    /// Whether the group's criteria (not its member lists) reach this device.
    fn criteria_reach(&self, group: &SmartGroupRecord, d: &SimDevice) -> bool {
        if !group.criteria_type.eq_ignore_ascii_case("all") {
            return false;
        }
        let platforms = group.criteria_names("Platforms");
        let ownerships = group.criteria_names("Ownerships");
        let ogs: Vec<i64> = group.criteria["OrganizationGroups"]
            .iter()
            .filter_map(|i| get_ci(i, "Id").and_then(og_id_of))
            .collect();
        let og_root = if ogs.is_empty() {
            vec![group.managed_by]
        } else {
            ogs
        };
        (platforms.is_empty()
            || platforms
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&d.platform)))
            && (ownerships.is_empty()
                || ownerships.iter().any(|o| {
                    o.eq_ignore_ascii_case(&d.ownership)
                        || o.chars().next().map(|c| c.to_ascii_uppercase().to_string())
                            == Some(d.ownership.clone())
                }))
            && og_root
                .iter()
                .any(|og| self.og_is_under(d.organization_group_id, *og))
    }

    /// Whether the group targets this (enrolled) device.
    pub fn group_reaches_device(&self, group: &SmartGroupRecord, d: &SimDevice) -> bool {
        if !d.enrolled()
            || group.has(MemberList::UserExclusions, d.user_id)
            || group.has(MemberList::DeviceExclusions, d.id)
        {
            return false;
        }
        group.has(MemberList::UserAdditions, d.user_id)
            || group.has(MemberList::DeviceAdditions, d.id)
            || self.criteria_reach(group, d)
    }

    /// Devices the group currently targets.
    pub fn group_devices(&self, group: &SmartGroupRecord) -> Vec<&SimDevice> {
        self.devices
            .iter()
            .filter(|d| self.group_reaches_device(group, d))
            .collect()
    }

    /// Whether the group names this user (or reaches one of their devices).
    pub fn group_has_user(&self, group: &SmartGroupRecord, user: &SimUser) -> bool {
        if group.has(MemberList::UserExclusions, user.id) {
            return false;
        }
        group.has(MemberList::UserAdditions, user.id)
            || self
                .devices
                .iter()
                .filter(|d| d.user_id == user.id)
                .any(|d| self.group_reaches_device(group, d))
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
