//! The JSON shapes UEM answers with (PascalCase v1 objects, `{"Value": n}` ids, lowercase
//! `uuid`/`id` in app details, camelCase v2 users), as the published clients read them and the
//! samples in shared/src/uem/samples.

use crate::groups::{MemberList, SmartGroupRecord};
use crate::installs::InstallStatus;
use crate::state::TenantState;
use crate::tenant::{SimApp, SimDevice, SimUser, platform_code};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use tokio::time::Instant;

impl TenantState {
    fn og_name(&self, id: i64) -> String {
        self.org_group(id)
            .map(|g| g.name.clone())
            .unwrap_or_default()
    }

    fn og_uuid(&self, id: i64) -> String {
        self.org_group(id)
            .map(|g| g.uuid.clone())
            .unwrap_or_default()
    }

    fn enrolled_count(&self, user: &SimUser) -> usize {
        self.devices
            .iter()
            .filter(|d| d.user_id == user.id && d.enrolled())
            .count()
    }

    /// Enrolled devices per user of a page of users: one pass over the devices for the page,
    /// not one per user.
    pub fn enrolled_counts(&self, users: &[&SimUser]) -> HashMap<i64, usize> {
        let mut counts: HashMap<i64, usize> = users.iter().map(|u| (u.id, 0)).collect();
        for d in self.devices.iter().filter(|d| d.enrolled()) {
            if let Some(n) = counts.get_mut(&d.user_id) {
                *n += 1;
            }
        }
        counts
    }

    pub fn user_json(&self, u: &SimUser) -> Value {
        self.user_json_counted(u, self.enrolled_count(u))
    }

    /// [`TenantState::user_json`] with the user's enrolled devices already counted.
    pub fn user_json_counted(&self, u: &SimUser, enrolled: usize) -> Value {
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
            "Status": u.active,
            "Group": self.og_name(u.organization_group_id),
            "LocationGroupId": u.organization_group_id.to_string(),
            "OrganizationGroupUuid": self.og_uuid(u.organization_group_id),
            "Role": "Full Access",
            "SecurityType": "Directory",
            "EnrolledDevicesCount": enrolled.to_string(),
            "ExternalId": u.uuid,
            "MessageType": "Email",
        })
    }

    /// `GET /api/system/users/{uuid}` with version 2: camelCase, the field names pyws1uem's
    /// v2 create and update document (inferred shape).
    pub fn user_json_v2(&self, u: &SimUser) -> Value {
        json!({
            "uuid": u.uuid,
            "externalId": u.uuid,
            "userName": u.username,
            "firstName": u.first_name,
            "lastName": u.last_name,
            "displayName": format!("{} {}", u.first_name, u.last_name).trim().to_owned(),
            "userPrincipalName": if u.username.contains('@') { u.username.clone() } else { u.email.clone() },
            "emailAddress": u.email,
            "emailUsername": u.email,
            "phoneNumber": "",
            "mobileNumber": "",
            "messageType": "Email",
            "status": u.active,
            "securityType": "Directory",
            "organizationGroupUuid": self.og_uuid(u.organization_group_id),
            "enrollmentOrganizationGroupUuid": self.og_uuid(u.organization_group_id),
            "enrolledDevicesCount": self.enrolled_count(u),
        })
    }

    pub fn device_json(&self, d: &SimDevice) -> Value {
        let user = self.user_by_number(d.user_id);
        let og = d.organization_group_id;
        json!({
            "Id": {"Value": d.id},
            "Uuid": d.uuid,
            "Udid": d.udid,
            "SerialNumber": d.serial_number,
            "MacAddress": format!("{:012X}", d.id),
            "Imei": "",
            "EasId": "",
            "AssetNumber": d.serial_number,
            "DeviceFriendlyName": d.friendly_name(),
            "LocationGroupId": {"Id": {"Value": og}, "Name": self.og_name(og), "Uuid": self.og_uuid(og)},
            "LocationGroupName": self.og_name(og),
            "UserId": {
                "Id": {"Value": d.user_id},
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
            "EnrollmentStatus": d.enrollment_status.as_str(),
            "ComplianceStatus": if d.compliant { "Compliant" } else { "NonCompliant" },
            "CompromisedStatus": false,
            "LastEnrolledOn": d.last_enrolled_on,
            "LastEnrollmentCheckOn": d.last_seen,
            "LastComplianceCheckOn": d.last_seen,
            "LastCompromisedCheckOn": d.last_seen,
            "DataEncryptionYN": "Y",
            "IsSupervised": d.ownership == "C",
            "DeviceCapacity": 128_000_000_000_i64,
        })
    }

    /// Devices an app is assigned to, and on how many of them it is installed now.
    fn app_counts(&self, app_id: i64) -> (usize, usize) {
        let now = Instant::now();
        let assigned: Vec<i64> = self
            .installs
            .keys()
            .filter(|(_, a)| *a == app_id)
            .map(|(d, _)| *d)
            .collect();
        let installed = assigned
            .iter()
            .filter(|d| self.install_status(**d, app_id, now) == InstallStatus::Installed)
            .count();
        (assigned.len(), installed)
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
            "LocationGroupId": self.admin_og,
            "RootLocationGroupName": self.og_name(self.admin_og),
            "OrganizationGroupUuid": self.og_uuid(self.admin_og),
            "LargeIconUri": "",
            "IsReimbursable": false,
            "ApplicationSource": 0,
            "AssignedDeviceCount": self.app_counts(a.id).0,
        })
    }

    /// Details of `/api/mam/apps/{type}/{id}`: note the lowercase `uuid` and `id` (WorkSpaceOneImporter reads `uuid`).
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
                            "PushMode": r.mode.as_v1(),
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
        let (assigned, installed) = self.app_counts(a.id);
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
            "DevicesInstalledCount": installed,
            "LocationGroupId": self.admin_og,
            "OrganizationGroupUuid": self.og_uuid(self.admin_og),
        })
    }

    /// Member items as UEM answers them: the id as a string and the name UEM knows (the user
    /// name, or the device's friendly name), whatever name the request carried.
    fn member_items(&self, group: &SmartGroupRecord, list: MemberList) -> Value {
        let ids = group.members(list);
        if ids.is_empty() {
            return Value::Array(Vec::new());
        }
        let users = matches!(list, MemberList::UserAdditions | MemberList::UserExclusions);
        let names: HashMap<i64, String> = if users {
            self.users
                .iter()
                .map(|u| (u.id, u.username.clone()))
                .collect()
        } else {
            self.devices
                .iter()
                .map(|d| (d.id, d.friendly_name()))
                .collect()
        };
        Value::Array(
            ids.iter()
                .map(|id| {
                    json!({"Id": id.to_string(), "Name": names.get(id).cloned().unwrap_or_default()})
                })
                .collect(),
        )
    }

    fn exclusion_count(&self, group: &SmartGroupRecord) -> usize {
        group.members(MemberList::UserExclusions).len()
            + group.members(MemberList::DeviceExclusions).len()
    }

    pub fn group_json(&self, group: &SmartGroupRecord) -> Value {
        let mut obj = Map::new();
        obj.insert("Name".into(), json!(group.name));
        obj.insert("SmartGroupID".into(), json!(group.id));
        obj.insert("SmartGroupUuid".into(), json!(group.uuid));
        obj.insert("CriteriaType".into(), json!(group.criteria_type));
        obj.insert(
            "ManagedByOrganizationGroupId".into(),
            json!(group.managed_by.to_string()),
        );
        obj.insert(
            "ManagedByOrganizationGroupUuid".into(),
            json!(self.og_uuid(group.managed_by)),
        );
        obj.insert(
            "ManagedByOrganizationGroupName".into(),
            json!(self.og_name(group.managed_by)),
        );
        for (k, v) in &group.criteria {
            obj.insert(k.clone(), Value::Array(v.clone()));
        }
        for list in MemberList::ALL {
            obj.insert(list.key().into(), self.member_items(group, list));
        }
        obj.insert("Devices".into(), json!(self.group_devices(group).len()));
        obj.insert(
            "Assignments".into(),
            json!(self.group_assignment_count(group)),
        );
        obj.insert("Exclusions".into(), json!(self.exclusion_count(group)));
        Value::Object(obj)
    }

    pub fn group_summary_json(&self, group: &SmartGroupRecord) -> Value {
        json!({
            "SmartGroupID": group.id,
            "SmartGroupUuid": group.uuid,
            "Name": group.name,
            "CriteriaType": group.criteria_type,
            "ManagedByOrganizationGroupId": group.managed_by,
            "ManagedByOrganizationGroupUuid": self.og_uuid(group.managed_by),
            "ManagedByOrganizationGroupName": self.og_name(group.managed_by),
            "Devices": self.group_devices(group).len(),
            "Assignments": self.group_assignment_count(group),
            "Exclusions": self.exclusion_count(group),
        })
    }
}
