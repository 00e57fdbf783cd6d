//! `/api/mdm/...`: devices (search, look-up by alternate id, apps, groups) and smart groups
//! (PyWorkspaceOne, pyws1uem, Zentral, aw-bulkdevices-script).

use super::{Req, contains_ci, paged, paged_total_results, paged_with};
use crate::events::EventKind;
use crate::installs::InstallStatus;
use crate::respond::{empty, json_ok, json_status, method_not_allowed, not_found, rejection};
use crate::state::{Rejection, TenantState};
use crate::tenant::{SimDevice, uem_platform};
use axum::http::Method;
use axum::response::Response;
use chrono::NaiveDateTime;
use serde_json::{Value, json};
use tokio::time::Instant;

pub(super) fn route(state: &mut TenantState, l: &[&str], r: &Req) -> Option<Response> {
    let get = r.get();
    Some(match l {
        ["devices"] => match *r.method {
            Method::GET => match device_by_alternate_id(state, r) {
                Ok(d) => json_ok(state.device_json(d)),
                Err(e) => rejection(e),
            },
            Method::DELETE => match device_by_alternate_id(state, r).map(|d| d.id) {
                Ok(id) => delete_device(state, id),
                Err(e) => rejection(e),
            },
            _ => method_not_allowed(),
        },
        ["devices", "search"] if get => devices_search(state, r, "Devices"),
        ["devices", "commands"] if *r.method == Method::POST => {
            match device_by_alternate_id(state, r).map(|d| d.id) {
                Ok(id) => command(state, id, r.params.get("command")),
                Err(e) => rejection(e),
            }
        }
        ["devices", "extensivesearch"] if get => devices_search(state, r, "Devices"),
        ["devices", _] => match *r.method {
            Method::GET => match state.device_by_id(r.segs[1]) {
                Some(d) => json_ok(state.device_json(d)),
                None => not_found("Device", r.segs[1]),
            },
            Method::DELETE => match state.device_by_id(r.segs[1]).map(|d| d.id) {
                Some(id) => delete_device(state, id),
                None => not_found("Device", r.segs[1]),
            },
            _ => method_not_allowed(),
        },
        ["devices", _, "commands"] if *r.method == Method::POST => {
            match state.device_by_id(r.segs[1]).map(|d| d.id) {
                Some(id) => command(state, id, r.params.get("command")),
                None => not_found("Device", r.segs[1]),
            }
        }
        ["devices", _, "clearpasscode"] if *r.method == Method::POST => {
            match state.device_by_id(r.segs[1]).map(|d| d.id) {
                Some(id) => command(state, id, Some("ClearPasscode")),
                None => not_found("Device", r.segs[1]),
            }
        }
        ["devices", _, "apps"] if get => device_apps_v1(state, r),
        ["devices", _, "apps", "search"] if get => device_apps_search(state, r),
        ["devices", _, "smartgroups"] if get => device_groups(state, r),
        ["smartgroups", "search"] if get => groups_search(state, r),
        ["smartgroups"] if *r.method == Method::POST => match state.create_group(r.body) {
            Ok(id) => json_status(201, json!({"Value": id})),
            Err(e) => rejection(e),
        },
        ["smartgroups", _] => {
            let Some(id) = r.segs[1].trim().parse::<i64>().ok() else {
                return Some(not_found("Smart group", r.segs[1]));
            };
            match *r.method {
                Method::GET => match state.groups.get(&id) {
                    Some(g) => json_ok(state.group_json(g)),
                    None => not_found("Smart group", r.segs[1]),
                },
                Method::PUT => match state.update_group(id, r.body) {
                    Ok(()) => empty(204),
                    Err(e) => rejection(e),
                },
                Method::DELETE => match state.delete_group(id) {
                    Ok(()) => empty(204),
                    Err(e) => rejection(e),
                },
                _ => method_not_allowed(),
            }
        }
        ["smartgroups", _, "devices"] if get => group_devices(state, r),
        ["smartgroups", _, "apps"] if get => group_apps(state, r),
        _ => return None,
    })
}

/// A device command (`?command=` on `/devices/{id}/commands`, or by alternate id on
/// `/devices/commands`): queued for the device, 202 (inferred). `EnterpriseWipe` unenrolls the
/// device, which UEM notifies as "Break MDM Confirmed".
fn command(state: &mut TenantState, device_id: i64, command: Option<&str>) -> Response {
    const KNOWN: &[&str] = &[
        "DeviceQuery",
        "SyncDevice",
        "ClearPasscode",
        "LockDevice",
        "SoftReset",
        "Shutdown",
        "EnterpriseWipe",
        "ScheduleOsUpdate",
    ];
    let Some(command) = command.map(str::trim) else {
        return rejection(Rejection::bad_request("command is required."));
    };
    let Some(known) = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(command)) else {
        return rejection(Rejection::bad_request(format!(
            "The value '{command}' is not valid for command."
        )));
    };
    let Some(device) = state.devices.iter().find(|d| d.id == device_id) else {
        return not_found("Device", &device_id.to_string());
    };
    if !device.enrolled() {
        return rejection(Rejection::bad_request(format!(
            "Device {device_id} is not enrolled."
        )));
    }
    if *known == "EnterpriseWipe" {
        let serial = device.serial_number.clone();
        match state.unenroll_device(&serial) {
            Ok(d) => state.outbox.push((EventKind::Unenrolled, d)),
            Err(e) => return rejection(e),
        }
    }
    empty(202)
}

fn delete_device(state: &mut TenantState, id: i64) -> Response {
    match state.delete_device(id) {
        Ok(_) => empty(204),
        Err(e) => rejection(e),
    }
}

/// `?searchby=Serialnumber|Udid|Macaddress|ImeiNumber|EasId|DeviceId&id=`.
fn device_by_alternate_id<'a>(state: &'a TenantState, r: &Req) -> Result<&'a SimDevice, Rejection> {
    let (Some(by), Some(id)) = (r.params.get("searchby"), r.params.get("id")) else {
        return Err(Rejection::bad_request("searchby and id are required."));
    };
    let by = by.to_ascii_lowercase();
    if ![
        "serialnumber",
        "udid",
        "macaddress",
        "imeinumber",
        "easid",
        "deviceid",
    ]
    .contains(&by.as_str())
    {
        return Err(Rejection::bad_request(format!(
            "The value '{by}' is not valid for searchby."
        )));
    }
    state
        .devices
        .iter()
        .find(|d| match by.as_str() {
            "serialnumber" => d.serial_number.eq_ignore_ascii_case(id.trim()),
            "udid" => d.udid.eq_ignore_ascii_case(id.trim()),
            "macaddress" => {
                format!("{:012X}", d.id).eq_ignore_ascii_case(&id.trim().replace([':', '-'], ""))
            }
            "deviceid" => d.id.to_string() == id.trim(),
            _ => false,
        })
        .ok_or_else(|| Rejection::not_found(format!("Device {id} not found.")))
}

/// A date or date-time parameter (`2026-11-01`, `2026-11-01T08:00:00`, `11/01/2026`).
fn date_param(r: &Req, keys: &[&str]) -> Result<Option<NaiveDateTime>, Rejection> {
    let Some((key, text)) = keys
        .iter()
        .find_map(|k| r.params.get(k).map(|v| (*k, v.trim())))
    else {
        return Ok(None);
    };
    let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .or_else(|_| chrono::NaiveDate::parse_from_str(text, "%m/%d/%Y"))
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        })
        .map_err(|_| {
            Rejection::bad_request(format!("The value '{text}' is not valid for {key}."))
        })?;
    Ok(Some(parsed))
}

fn devices_search(state: &TenantState, r: &Req, key: &str) -> Response {
    let p = r.params;
    let filters = (|| -> Result<_, Rejection> {
        let og = match p.int("lgid")? {
            Some(og) => Some(og),
            None => p.int("organizationgroupid")?,
        };
        let since = date_param(r, &["seensince", "seen_since", "lastseen", "startdatetime"])?;
        let device_id = p.int("deviceid")?;
        Ok((og, since, device_id))
    })();
    let (og, since, device_id) = match filters {
        Ok(f) => f,
        Err(e) => return rejection(e),
    };
    let mut devices: Vec<&SimDevice> = state
        .devices
        .iter()
        .filter(|d| p.get("user").is_none_or(|q| contains_ci(&d.username, q)))
        .filter(|d| {
            p.get("platform")
                .is_none_or(|q| d.platform.eq_ignore_ascii_case(&uem_platform(q)))
        })
        .filter(|d| p.get("model").is_none_or(|q| contains_ci(&d.model, q)))
        .filter(|d| {
            p.get("ownership")
                .is_none_or(|q| q.trim().to_ascii_uppercase().starts_with(&d.ownership))
        })
        .filter(|d| {
            p.get("compliance_status")
                .or_else(|| p.get("compliantstatus"))
                .is_none_or(|q| {
                    let want = matches!(q.to_ascii_lowercase().as_str(), "compliant" | "true");
                    d.compliant == want
                })
        })
        .filter(|d| {
            p.get("enrollmentstatus")
                .is_none_or(|q| d.enrollment_status.as_str().eq_ignore_ascii_case(q.trim()))
        })
        .filter(|d| og.is_none_or(|og| state.og_is_under(d.organization_group_id, og)))
        .filter(|d| device_id.is_none_or(|id| d.id == id))
        .filter(|d| {
            since.is_none_or(|since| {
                NaiveDateTime::parse_from_str(&d.last_seen, "%Y-%m-%dT%H:%M:%S")
                    .is_ok_and(|seen| seen >= since)
            })
        })
        .collect();
    devices.sort_by_key(|d| d.id);
    if p.get("orderby")
        .is_some_and(|o| o.eq_ignore_ascii_case("lastseen"))
    {
        devices.sort_by(|a, b| a.last_seen.cmp(&b.last_seen));
    }
    if p.get("sortorder")
        .is_some_and(|o| o.eq_ignore_ascii_case("desc"))
    {
        devices.reverse();
    }
    paged_with(key, devices, r, |page| {
        page.into_iter().map(|d| state.device_json(d)).collect()
    })
}

fn device_apps_v1(state: &TenantState, r: &Req) -> Response {
    let Some(d) = state.device_by_id(r.segs[1]) else {
        return not_found("Device", r.segs[1]);
    };
    let items = state
        .device_apps(d, Instant::now())
        .into_iter()
        .map(|a| {
            json!({
                "ApplicationName": a.name,
                "Version": a.version,
                "BuildVersion": a.version,
                "Status": a.status.as_str(),
                "Size": "1024",
                "ApplicationIdentifier": a.bundle_id,
                "Type": if a.managed() { "Internal" } else { "System" },
                "IsManaged": a.managed(),
            })
        })
        .collect();
    paged("DeviceApps", items, r)
}

/// The newer device-apps search: snake_case items, `TotalResults`, and 200 even when empty.
fn device_apps_search(state: &TenantState, r: &Req) -> Response {
    let Some(d) = state.device_by_id(r.segs[1]) else {
        return not_found("Device", r.segs[1]);
    };
    let items = state
        .device_apps(d, Instant::now())
        .into_iter()
        .map(|a| {
            let uuid = a
                .app_id
                .and_then(|id| state.apps.iter().find(|x| x.id == id))
                .map(|x| x.uuid.clone());
            json!({
                "name": a.name,
                "bundle_id": a.bundle_id,
                "installed_version": if a.status == InstallStatus::Installed { a.version.clone() } else { String::new() },
                "assigned_version": a.version,
                "installed_status": a.status.as_str(),
                "app_uuid": uuid,
                "is_managed": a.managed(),
                "app_type": if a.managed() { "Internal" } else { "Unknown" },
            })
        })
        .collect();
    paged_total_results("app_items", items, r)
}

fn device_groups(state: &TenantState, r: &Req) -> Response {
    let Some(d) = state.device_by_id(r.segs[1]) else {
        return not_found("Device", r.segs[1]);
    };
    let items: Vec<Value> = state
        .groups
        .values()
        .filter(|g| state.group_reaches_device(g, d))
        .map(|g| json!({"SmartGroupId": g.id, "SmartGroupUuid": g.uuid, "Name": g.name}))
        .collect();
    paged("SmartGroup", items, r)
}

/// `name` is a contains match (PyVMwareAirWatch and WorkSpaceOneImporter compare names themselves); `managedbyorganizationgroupid` and
/// `organizationgroupid` filter on the managing OG (and below, for the latter).
fn groups_search(state: &TenantState, r: &Req) -> Response {
    let p = r.params;
    let (managed, under) = match (
        p.int("managedbyorganizationgroupid"),
        p.int("organizationgroupid"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return rejection(e),
    };
    let mut found: Vec<_> = state
        .groups
        .values()
        .filter(|g| p.get("name").is_none_or(|q| contains_ci(&g.name, q)))
        .filter(|g| managed.is_none_or(|og| g.managed_by == og))
        .filter(|g| under.is_none_or(|og| state.og_is_under(g.managed_by, og)))
        .collect();
    if p.get("orderby")
        .is_some_and(|o| o.eq_ignore_ascii_case("name"))
    {
        found.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    }
    if p.get("sortorder")
        .is_some_and(|o| o.eq_ignore_ascii_case("desc"))
    {
        found.reverse();
    }
    let items = found
        .into_iter()
        .map(|g| state.group_summary_json(g))
        .collect();
    paged("SmartGroups", items, r)
}

fn group_devices(state: &TenantState, r: &Req) -> Response {
    let Some(g) = r.segs[1]
        .parse::<i64>()
        .ok()
        .and_then(|id| state.groups.get(&id))
    else {
        return not_found("Smart group", r.segs[1]);
    };
    paged_with("Devices", state.group_devices(g), r, |page| {
        page.into_iter().map(|d| state.device_json(d)).collect()
    })
}

fn group_apps(state: &TenantState, r: &Req) -> Response {
    let Some(g) = r.segs[1]
        .parse::<i64>()
        .ok()
        .and_then(|id| state.groups.get(&id))
    else {
        return not_found("Smart group", r.segs[1]);
    };
    let items = state
        .assignments
        .iter()
        .filter_map(|(app_id, a)| {
            let mode = a.mode_for(&g.uuid)?;
            let app = state.apps.iter().find(|x| x.id == *app_id)?;
            let mut v = state.app_json(app);
            v["PushMode"] = json!(mode.as_v1());
            Some(v)
        })
        .collect();
    paged("Application", items, r)
}
