//! The JSON shapes UEM answers with (PascalCase v1 objects, `{"Value": n}` ids, lowercase
//! `uuid`/`id` in app details), as uem-api.md §3 and the samples in shared/src/uem/samples.

use crate::groups::SmartGroupRecord;
use crate::state::{OG_ID, OG_NAME, OG_UUID, TenantState};
use crate::tenant::{SimApp, SimDevice, SimUser, platform_code};
use serde_json::{Map, Value, json};

impl TenantState {
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
}
