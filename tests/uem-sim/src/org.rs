//! Organization groups (OGs): the tenant's tree, Global (id 7, the parent pyws1uem creates
//! customer OGs under) above the customer OG where the users, devices and the API admin live.
//! Smart groups are managed by an OG, and their OG criteria must sit under it (the rules a
//! PROD-to-UAT migration tool applies before it writes, quoted in the project's design notes).

use crate::state::{Rejection, TenantState, get_ci};
use crate::tenant::derived_uuid;
use serde_json::{Value, json};

pub const GLOBAL_OG_ID: i64 = 7;
pub const GLOBAL_OG_UUID: &str = "a1c0d5f2-8e3b-4c7a-9d61-0b7e2f4c0007";
/// The customer OG everything seeded lives in, and the API admin's OG.
pub const CUSTOMER_OG_ID: i64 = 570;
pub const CUSTOMER_OG_NAME: &str = "Loadout Sim";
pub const CUSTOMER_OG_GROUP_ID: &str = "loadoutsim";
pub const CUSTOMER_OG_UUID: &str = "6c8d8c9e-0f38-4c16-9a4c-5a0f1f0c0570";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgGroup {
    pub id: i64,
    pub uuid: String,
    /// The short "Group ID" admins type at enrollment (unique in the tenant).
    pub group_id: String,
    pub name: String,
    /// `LocationGroupType`: `Global`, `Customer`, `Container`, ...
    pub kind: String,
    pub parent: Option<i64>,
}

/// The OGs every simulated tenant starts with.
pub fn default_tree() -> Vec<OrgGroup> {
    vec![
        OrgGroup {
            id: GLOBAL_OG_ID,
            uuid: GLOBAL_OG_UUID.into(),
            group_id: "Global".into(),
            name: "Global".into(),
            kind: "Global".into(),
            parent: None,
        },
        OrgGroup {
            id: CUSTOMER_OG_ID,
            uuid: CUSTOMER_OG_UUID.into(),
            group_id: CUSTOMER_OG_GROUP_ID.into(),
            name: CUSTOMER_OG_NAME.into(),
            kind: "Customer".into(),
            parent: Some(GLOBAL_OG_ID),
        },
    ]
}

/// An OG id as clients send it: a number or a numeric string.
pub(crate) fn og_id_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(_) => get_ci(value, "Value")
            .or_else(|| get_ci(value, "Id"))
            .and_then(og_id_of),
        _ => None,
    }
}

impl TenantState {
    pub fn org_group(&self, id: i64) -> Option<&OrgGroup> {
        self.org_groups.iter().find(|g| g.id == id)
    }

    /// By numeric id or uuid.
    pub fn org_group_by_key(&self, key: &str) -> Option<&OrgGroup> {
        let key = key.trim();
        self.org_groups
            .iter()
            .find(|g| g.id.to_string() == key || g.uuid.eq_ignore_ascii_case(key))
    }

    /// Whether `id` is `ancestor` or sits below it.
    pub fn og_is_under(&self, id: i64, ancestor: i64) -> bool {
        let mut at = Some(id);
        let mut hops = 0;
        while let Some(current) = at {
            if current == ancestor {
                return true;
            }
            hops += 1;
            if hops > self.org_groups.len() {
                return false;
            }
            at = self.org_group(current).and_then(|g| g.parent);
        }
        false
    }

    /// UEM's answer to an OG id it does not know, as clients quote it for id 0
    /// ("id : 0 not found").
    pub(crate) fn known_og(&self, id: i64) -> Result<&OrgGroup, Rejection> {
        self.org_group(id)
            .ok_or_else(|| Rejection::bad_request(format!("id : {id} not found")))
    }

    /// `POST /api/system/groups/{parentId}`: a child OG; `GroupId` must be unique ("already in
    /// use", as a migration tool quotes UEM).
    pub fn create_org_group(&mut self, parent: i64, body: &Value) -> Result<i64, Rejection> {
        let parent = self
            .org_group(parent)
            .ok_or_else(|| Rejection::not_found(format!("Organization group {parent} not found.")))?
            .id;
        let text = |k: &str| {
            get_ci(body, k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let group_id =
            text("GroupId").ok_or_else(|| Rejection::bad_request("GroupId is required."))?;
        if self
            .org_groups
            .iter()
            .any(|g| g.group_id.eq_ignore_ascii_case(&group_id))
        {
            return Err(Rejection::bad_request(format!(
                "GroupId '{group_id}' is already in use."
            )));
        }
        let kind = text("LocationGroupType").unwrap_or_else(|| "Container".into());
        if ![
            "Customer",
            "Container",
            "Partner",
            "Division",
            "Region",
            "Prospect",
        ]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(&kind))
        {
            return Err(Rejection::bad_request("Invalid Organization Group type"));
        }
        let id = self.org_groups.iter().map(|g| g.id).max().unwrap_or(0) + 1;
        self.org_groups.push(OrgGroup {
            id,
            uuid: derived_uuid(self.seed, "og", &group_id),
            name: text("Name").unwrap_or_else(|| group_id.clone()),
            group_id,
            kind,
            parent: Some(parent),
        });
        Ok(id)
    }

    /// v1: `Id` as `{"Value": n}`.
    pub fn og_json_v1(&self, g: &OrgGroup) -> Value {
        let parent = g.parent.and_then(|p| self.org_group(p));
        json!({
            "Id": {"Value": g.id},
            "GroupId": g.group_id,
            "Name": g.name,
            "Uuid": g.uuid,
            "LocationGroupType": g.kind,
            "ParentLocationGroup": parent.map(|p| json!({"Id": {"Value": p.id}, "Name": p.name, "Uuid": p.uuid})),
            "Country": "United States",
            "Locale": "en-US",
            "Users": self.users.iter().filter(|u| u.organization_group_id == g.id).count().to_string(),
            "Admins": "1",
            "Devices": self.devices.iter().filter(|d| d.organization_group_id == g.id).count().to_string(),
        })
    }

    /// v2: flat `Id`, the same other keys.
    pub fn og_json_v2(&self, g: &OrgGroup) -> Value {
        let mut v = self.og_json_v1(g);
        v["Id"] = json!(g.id);
        v
    }
}
