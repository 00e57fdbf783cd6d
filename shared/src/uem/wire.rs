//! Reading UEM's JSON defensively: keys in any case, ids as numbers, strings or `{"Value": n}`,
//! `Uuid` or `uuid` (uem-api.md §6.3). And turning UEM devices into domain devices.

use super::port::{GroupMember, InstalledApp, SmartGroupRef, UemApp, UemError, UemUser};
use crate::domain::{Device, Ownership, Platform, UserId};
use serde_json::Value;
use std::str::FromStr;

/// The first of these keys present on the object, compared case-insensitively.
pub fn field<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    let map = value.as_object()?;
    for key in keys {
        if let Some(v) = map.get(*key) {
            return Some(v);
        }
        if let Some((_, v)) = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Some(v);
        }
    }
    None
}

pub fn text(value: &Value, keys: &[&str]) -> Option<String> {
    match field(value, keys)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An integer id written as `123`, `"123"`, `{"Value": 123}` or `{"Id": {"Value": 123}}`.
pub fn id_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(_) => field(value, &["Value", "Id"]).and_then(id_of),
        _ => None,
    }
}

pub fn id(value: &Value, keys: &[&str]) -> Option<i64> {
    field(value, keys).and_then(id_of)
}

/// The item list of a search answer under `key` (any case), or empty.
pub fn list<'a>(value: &'a Value, keys: &[&str]) -> &'a [Value] {
    field(value, keys)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `Total` (v1), `TotalResults` (newer) or `total` (v4).
pub fn total(value: &Value) -> Option<u64> {
    field(value, &["Total", "TotalResults"]).and_then(|v| id_of(v).map(|n| n.max(0) as u64))
}

fn decode(what: &str) -> UemError {
    UemError::Decode(format!("{what} without the expected fields"))
}

pub fn user(value: &Value) -> Result<UemUser, UemError> {
    Ok(UemUser {
        id: id(value, &["Id"]).ok_or_else(|| decode("user"))?,
        uuid: text(value, &["Uuid"]).filter(|u| !u.is_empty()),
        username: text(value, &["UserName"]).ok_or_else(|| decode("user"))?,
        email: text(value, &["Email", "EmailAddress"]).unwrap_or_default(),
        // `Status` is a boolean in v1 JSON (uem-api.md §3.1); a string spelling is tolerated.
        active: match field(value, &["Status"]) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => !s.eq_ignore_ascii_case("inactive") && s != "false",
            _ => true,
        },
    })
}

pub fn app(value: &Value, app_type: Option<&str>) -> Result<UemApp, UemError> {
    Ok(UemApp {
        id: id(value, &["Id", "ApplicationId"]).ok_or_else(|| decode("app"))?,
        uuid: text(value, &["Uuid", "ApplicationUuid"]).unwrap_or_default(),
        name: text(value, &["ApplicationName", "Name"]).unwrap_or_default(),
        app_type: app_type
            .map(str::to_owned)
            .or_else(|| text(value, &["AppType", "ApplicationType", "app_type"]))
            .unwrap_or_else(|| "Internal".into()),
        bundle_id: text(value, &["BundleId", "bundle_id", "ApplicationIdentifier"])
            .unwrap_or_default(),
        version: text(value, &["ActualFileVersion", "AppVersion", "Version"]).unwrap_or_default(),
        platform: text(value, &["Platform", "platform"]).unwrap_or_default(),
    })
}

pub fn smart_group_ref(value: &Value) -> Result<SmartGroupRef, UemError> {
    Ok(SmartGroupRef {
        id: id(value, &["SmartGroupID", "SmartGroupId", "Id"])
            .ok_or_else(|| decode("smart group"))?,
        uuid: text(value, &["SmartGroupUuid", "Uuid", "smart_group_uuid"]).unwrap_or_default(),
        name: text(value, &["Name", "SmartGroupName"]).unwrap_or_default(),
    })
}

/// Members of a membership list such as `UserAdditions` (`{"Id": "123", "Name": "..."}`).
/// A missing or malformed list, or an item without a usable `Id`, is an error: read as "no
/// members", the next full-replace PUT would drop everyone the list really holds.
pub fn members(value: &Value, key: &str) -> Result<Vec<GroupMember>, UemError> {
    let unreadable = |why: &str| UemError::Decode(format!("smart group {key}: {why}"));
    let items = match field(value, &[key]) {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(unreadable("not a list")),
        None => return Err(unreadable("missing")),
    };
    items
        .iter()
        .map(|m| {
            let id = field(m, &["Id"])
                .and_then(id_of)
                .map(|n| n.to_string())
                .ok_or_else(|| unreadable("an item has no numeric Id"))?;
            Ok(GroupMember {
                id,
                name: text(m, &["Name", "UserName"]).unwrap_or_default(),
            })
        })
        .collect()
}

/// A v1 `DeviceApps` item or a newer `app_items` item.
pub fn installed_app(value: &Value) -> InstalledApp {
    let status =
        text(value, &["installed_status", "Status", "InstalledStatus"]).unwrap_or_default();
    InstalledApp {
        name: text(value, &["ApplicationName", "name"]).unwrap_or_default(),
        bundle_id: text(value, &["ApplicationIdentifier", "bundle_id", "BundleId"])
            .unwrap_or_default(),
        // v1 may report the status as a number; 2 is "Installed" there (not confirmed).
        installed: status.eq_ignore_ascii_case("installed") || status == "2",
    }
}

/// The user name of a device's enrollment user (`UserName`, or `UserId.Name` in some versions).
pub fn device_owner(value: &Value) -> Option<String> {
    text(value, &["UserName"])
        .or_else(|| field(value, &["UserId"]).and_then(|u| text(u, &["Name"])))
        .filter(|n| !n.trim().is_empty())
}

/// A UEM device as a domain device; `device_id` is UEM's numeric id. `None` (with the reason)
/// for devices Loadout cannot reason about, e.g. an unknown platform.
pub fn device(value: &Value, fallback_user: &str) -> Result<Device, String> {
    let device_id = id(value, &["Id", "DeviceId"]).ok_or("device without an Id")?;
    // UEM keeps unenrolled (and wiped) devices in its device search; they receive no apps, so a
    // policy must not count them (a user's only "iOS device" may be one returned last year).
    if let Some(status) = text(value, &["EnrollmentStatus"])
        && !status.trim().eq_ignore_ascii_case("enrolled")
    {
        return Err(format!("device {device_id} is not enrolled ({status})"));
    }
    let platform_name = text(value, &["Platform"])
        .or_else(|| field(value, &["PlatformId"]).and_then(|p| text(p, &["Name"])))
        .unwrap_or_default();
    let platform = Platform::from_str(&platform_name)
        .map_err(|_| format!("device {device_id}: platform {platform_name:?} is not managed"))?;
    let username = text(value, &["UserName"])
        .or_else(|| field(value, &["UserId"]).and_then(|u| text(u, &["Name"])))
        .unwrap_or_else(|| fallback_user.to_owned());
    let ownership = text(value, &["Ownership"])
        .and_then(|o| Ownership::parse(&o))
        .unwrap_or(Ownership::Corporate);
    let compliant = match field(value, &["ComplianceStatus", "CompliantStatus"]) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            let s = s.to_ascii_lowercase();
            s == "compliant" || s == "true"
        }
        _ => false,
    };
    Ok(Device {
        device_id: device_id.to_string(),
        user_id: UserId::new(username),
        platform,
        os_version: text(value, &["OperatingSystem", "OSVersion", "OsVersion"]).unwrap_or_default(),
        model: text(value, &["Model"])
            .or_else(|| field(value, &["ModelId"]).and_then(|m| text(m, &["Name"])))
            .unwrap_or_default(),
        ownership,
        compliant,
        free_storage_mb: None,
    })
}

/// The body's `errorCode`, `message` and `activityId` when it is a UEM error object.
pub fn error_parts(body: &Value) -> (Option<i64>, Option<String>, Option<String>) {
    (
        id(body, &["errorCode"]),
        text(body, &["message", "Message"]),
        text(body, &["activityId", "ActivityId"]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(name: &str) -> Value {
        let text = match name {
            "device_v1" => include_str!("samples/device_v1.json"),
            "user_v1" => include_str!("samples/user_v1.json"),
            "app_search_item_v1" => include_str!("samples/app_search_item_v1.json"),
            "app_details_internal" => include_str!("samples/app_details_internal.json"),
            "smartgroup_get" => include_str!("samples/smartgroup_get.json"),
            "smartgroup_search_item" => include_str!("samples/smartgroup_search_item.json"),
            "device_apps_v1" => include_str!("samples/device_apps_v1.json"),
            "device_apps_search" => include_str!("samples/device_apps_search.json"),
            "error" => include_str!("samples/error.json"),
            other => panic!("no sample {other}"),
        };
        serde_json::from_str(text).expect("sample is JSON")
    }

    #[test]
    fn samples_parse_into_the_ports_types() {
        let d = device(&sample("device_v1"), "fallback").unwrap();
        assert_eq!(
            (d.device_id.as_str(), d.user_id.as_str(), d.platform),
            ("20001", "jdoe", Platform::MacOs)
        );
        assert_eq!((d.ownership, d.compliant), (Ownership::Corporate, false));
        assert_eq!(d.model, "MacBook Pro");

        let u = user(&sample("user_v1")).unwrap();
        assert_eq!((u.id, u.username.as_str()), (1000, "jdoe"));
        assert_eq!(u.email, "jane.doe@example.com");

        let from_search = app(&sample("app_search_item_v1"), None).unwrap();
        let from_details = app(&sample("app_details_internal"), Some("Internal")).unwrap();
        assert_eq!(
            from_search.uuid, from_details.uuid,
            "Uuid and uuid are one field"
        );
        assert_eq!(
            (from_details.id, from_details.name.as_str()),
            (1201, "Slack")
        );

        let g = sample("smartgroup_get");
        let r = smart_group_ref(&g).unwrap();
        assert_eq!((r.id, r.name.as_str()), (30001, "loadout:slack"));
        assert_eq!(
            smart_group_ref(&sample("smartgroup_search_item")).unwrap(),
            r
        );
        let ids: Vec<String> = members(&g, "UserAdditions")
            .expect("readable")
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["1000", "1002"]);

        let v1 = sample("device_apps_v1");
        let a = installed_app(&list(&v1, &["DeviceApps"])[0]);
        let s = sample("device_apps_search");
        let b = installed_app(&list(&s, &["app_items"])[0]);
        assert_eq!(a, b, "both device-app shapes give the same answer");
        assert!(a.installed);
        assert_eq!((total(&v1), total(&s)), (Some(1), Some(1)));

        let (code, message, activity) = error_parts(&sample("error"));
        assert_eq!(code, Some(400));
        assert!(message.unwrap().contains("more than once"));
        assert_eq!(
            activity.as_deref(),
            Some("3f2e1d0c-b9a8-4765-8432-10fedcba9876")
        );
    }

    #[test]
    fn ids_come_in_three_shapes() {
        assert_eq!(id_of(&json!(7)), Some(7));
        assert_eq!(id_of(&json!("7")), Some(7));
        assert_eq!(id_of(&json!({"Value": 7})), Some(7));
        assert_eq!(id_of(&json!({"Id": {"Value": 7}})), Some(7));
    }

    #[test]
    fn keys_match_in_any_case() {
        let details = json!({"uuid": "abc", "ApplicationName": "Slack", "id": 5});
        let app = app(&details, Some("Internal")).unwrap();
        assert_eq!((app.id, app.uuid.as_str()), (5, "abc"));
        let group =
            smart_group_ref(&json!({"SmartGroupId": 3, "SmartGroupUuid": "u", "Name": "g"}));
        assert_eq!(group.unwrap().id, 3);
    }

    #[test]
    fn uem_device_becomes_domain_device() {
        let d = device(
            &json!({"Id": {"Value": 20001}, "Platform": "AppleOsX", "UserName": "alice",
                    "Ownership": "E", "ComplianceStatus": "NonCompliant",
                    "OperatingSystem": "14.4.1", "Model": "MacBook Pro"}),
            "x",
        )
        .unwrap();
        assert_eq!(d.device_id, "20001");
        assert_eq!(d.platform, Platform::MacOs);
        assert_eq!(d.ownership, Ownership::Employee);
        assert!(!d.compliant);
        assert_eq!(d.os_major(), 14);
        assert!(device(&json!({"Id": 1, "Platform": "BlackBerry"}), "x").is_err());
        let unenrolled = json!({"Id": 2, "Platform": "Apple", "EnrollmentStatus": "Unenrolled"});
        assert!(
            device(&unenrolled, "x").is_err(),
            "unenrolled devices get no apps"
        );
        let enrolled = json!({"Id": 3, "Platform": "Apple", "EnrollmentStatus": "Enrolled"});
        assert!(device(&enrolled, "x").is_ok());
    }

    #[test]
    fn members_accept_string_and_number_ids() {
        let g = json!({"UserAdditions": [{"Id": "1001", "Name": "a"}, {"Id": 1002, "Name": "b"}]});
        let ids: Vec<String> = members(&g, "UserAdditions")
            .expect("readable")
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["1001", "1002"]);
    }

    /// Review finding: a body without `UserAdditions`, or with an item without `Id`, read as "no
    /// members" and the next PUT wiped the group.
    #[test]
    fn an_unreadable_member_list_is_an_error_never_an_empty_group() {
        for body in [
            json!({"Name": "loadout:slack"}),
            json!({"UserAdditions": null}),
            json!({"UserAdditions": {"Id": "1"}}),
            json!({"UserAdditions": [{"Id": "1"}, {"Name": "no id"}]}),
            json!({"UserAdditions": [{"Id": "not-a-number"}]}),
        ] {
            let err = members(&body, "UserAdditions").expect_err("unreadable");
            assert!(matches!(err, UemError::Decode(_)), "{body}: {err}");
        }
        assert!(
            members(&json!({"UserAdditions": []}), "UserAdditions")
                .expect("an empty list is readable")
                .is_empty()
        );
    }
}
