//! `/api/mam/...`: the app catalog, assignments (v1 and v2 rules), install commands and which
//! devices have an app (WorkSpaceOneImporter, Zentral, aw-bulkdevices-script).

use super::{Req, contains_ci, paged, paged_total_results};
use crate::installs::InstallStatus;
use crate::respond::{
    CODE_NOT_FOUND, empty, error, json_ok, method_not_allowed, not_found, rejection,
};
use crate::state::{Rejection, TenantState, get_ci};
use crate::tenant::{AppType, SimApp, platform_code, uem_platform};
use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::time::Instant;

pub(super) fn route(state: &mut TenantState, l: &[&str], r: &Req) -> Option<Response> {
    let get = r.get();
    let typed = |kind: &str| AppType::parse(kind).is_some();
    Some(match l {
        ["apps", "search"] if get => apps_search(state, r),
        ["apps", kind, _] if typed(kind) => {
            let Some(app) = typed_app(state, kind, r.segs[2]) else {
                return Some(not_found("Application", r.segs[2]));
            };
            match *r.method {
                Method::GET => json_ok(state.app_details_json(&app)),
                // Deletion is asynchronous in UEM (202/204, as WorkSpaceOneImporter finds); here it is immediate.
                Method::DELETE => match state.delete_app(app.id) {
                    Ok(()) => empty(204),
                    Err(e) => rejection(e),
                },
                _ => method_not_allowed(),
            }
        }
        ["apps", kind, _, "assignments"] if *r.method == Method::POST && typed(kind) => {
            match typed_app(state, kind, r.segs[2]) {
                Some(app) => match state.add_v1_assignment(app.id, r.body) {
                    Ok(()) => empty(201),
                    Err(e) => rejection(e),
                },
                None => not_found("Application", r.segs[2]),
            }
        }
        ["apps", kind, _, "smartgroups", _] if *r.method == Method::DELETE && typed(kind) => {
            let Some(app) = typed_app(state, kind, r.segs[2]) else {
                return Some(not_found("Application", r.segs[2]));
            };
            let Ok(group) = r.segs[4].trim().parse::<i64>() else {
                return Some(not_found("Smart group", r.segs[4]));
            };
            match state.remove_assignment(app.id, group) {
                Ok(()) => empty(204),
                Err(e) => rejection(e),
            }
        }
        ["apps", kind, _, "install"] if *r.method == Method::POST && typed(kind) => {
            install_command(state, kind, r)
        }
        ["apps", _, "assignment-rules"] => assignment_rules(state, r),
        ["apps", _, "devices"] if get => app_devices(state, r),
        _ => return None,
    })
}

fn typed_app(state: &TenantState, kind: &str, id: &str) -> Option<SimApp> {
    let kind = AppType::parse(kind)?;
    state.app_by_id(id).filter(|a| a.app_type == kind).cloned()
}

fn assignment_rules(state: &mut TenantState, r: &Req) -> Response {
    if r.version < 2 {
        return error(
            404,
            CODE_NOT_FOUND,
            "No resource matches this path in API version 1; assignment-rules is version 2.",
        );
    }
    let Some(app) = state.app_by_uuid(r.segs[1]).cloned() else {
        return not_found("Application", r.segs[1]);
    };
    match *r.method {
        Method::GET => json_ok(state.v2_rules_json(&app)),
        Method::PUT => match state.put_v2_rules(app.id, r.body) {
            Ok(()) => empty(202),
            Err(e) => rejection(e),
        },
        _ => method_not_allowed(),
    }
}

/// `POST /api/mam/apps/{type}/{id}/install` with `SerialNumber`, `DeviceId`, `Udid` or
/// `MacAddress`: queues the install, which lands at the device's next check-in. The app must be
/// assigned to the device (inferred); 202 Accepted (inferred).
fn install_command(state: &mut TenantState, kind: &str, r: &Req) -> Response {
    let Some(app) = typed_app(state, kind, r.segs[2]) else {
        return not_found("Application", r.segs[2]);
    };
    let text = |k: &str| {
        get_ci(r.body, k).and_then(|v| match v {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let device = if let Some(serial) = text("SerialNumber") {
        state.device_by_serial(&serial)
    } else if let Some(id) = text("DeviceId") {
        state.device_by_id(&id)
    } else if let Some(udid) = text("Udid") {
        state
            .devices
            .iter()
            .find(|d| d.udid.eq_ignore_ascii_case(&udid))
    } else if let Some(mac) = text("MacAddress") {
        state
            .devices
            .iter()
            .find(|d| format!("{:012X}", d.id).eq_ignore_ascii_case(&mac.replace([':', '-'], "")))
    } else {
        return rejection(Rejection::bad_request(
            "One of SerialNumber, DeviceId, Udid or MacAddress is required.",
        ));
    };
    let Some(device) = device.map(|d| d.id) else {
        return rejection(Rejection::bad_request("Device not found."));
    };
    let delay = state.check_in_delay;
    match state.request_install(device, app.id, Instant::now(), delay) {
        Ok(()) => empty(202),
        Err(e) => rejection(e),
    }
}

/// `GET /api/mam/apps/{uuid}/devices?isinstalled=`: the devices an app is assigned to, with
/// their install status (snake_case, `TotalResults`, as Zentral reads it).
fn app_devices(state: &mut TenantState, r: &Req) -> Response {
    let Some(app) = state.app_by_uuid(r.segs[1]).cloned() else {
        return not_found("Application", r.segs[1]);
    };
    let now = Instant::now();
    state.sync_installs(now);
    let want = match r
        .params
        .get("isinstalled")
        .map(|v| v.trim().to_ascii_lowercase())
    {
        None => None,
        Some(v) if v == "true" => Some(true),
        Some(v) if v == "false" => Some(false),
        Some(v) => {
            return rejection(Rejection::bad_request(format!(
                "The value '{v}' is not valid for isinstalled."
            )));
        }
    };
    let items: Vec<Value> = state
        .installs
        .keys()
        .filter(|(_, a)| *a == app.id)
        .filter_map(|(d, _)| state.devices.iter().find(|x| x.id == *d))
        .filter_map(|d| {
            let status = state.install_status(d.id, app.id, now);
            let installed = status == InstallStatus::Installed;
            if want.is_some_and(|w| w != installed) {
                return None;
            }
            Some(json!({
                "device_id": d.id,
                "device_uuid": d.uuid,
                "device_friendly_name": d.friendly_name(),
                "serial_number": d.serial_number,
                "user_name": d.username,
                "installed_status": status.as_str(),
                "installed_version": if installed { app.version.clone() } else { String::new() },
                "assigned_version": app.version,
                "platform": d.platform,
                "last_seen": d.last_seen,
            }))
        })
        .collect();
    paged_total_results("devices", items, r)
}

fn apps_search(state: &TenantState, r: &Req) -> Response {
    let p = r.params;
    let items: Vec<&SimApp> = state
        .apps
        .iter()
        .filter(|a| {
            p.get("applicationname")
                .is_none_or(|q| contains_ci(&a.name, q))
        })
        .filter(|a| {
            p.get("bundleid")
                .is_none_or(|q| a.bundle_id.eq_ignore_ascii_case(q.trim()))
        })
        .filter(|a| {
            p.get("applicationtype")
                .is_none_or(|q| a.app_type.as_str().eq_ignore_ascii_case(q.trim()))
        })
        .filter(|a| {
            p.get("platform").is_none_or(|q| {
                let q = q.trim();
                a.platforms.iter().any(|x| {
                    x.eq_ignore_ascii_case(&uem_platform(q)) || platform_code(x).to_string() == q
                })
            })
        })
        .filter(|_| {
            p.get("type").is_none_or(|q| q.eq_ignore_ascii_case("app"))
                && p.get("status")
                    .is_none_or(|q| q.eq_ignore_ascii_case("active"))
        })
        .collect();
    if r.version >= 4 {
        // Zentral reads lowercase `applications` and `total` from version 4.
        let (page, size) = match p.paging() {
            Ok(x) => x,
            Err(e) => return rejection(e),
        };
        let total = items.len();
        let slice: Vec<Value> = items
            .into_iter()
            .skip(page * size)
            .take(size)
            .map(|a| {
                json!({
                    "id": a.id,
                    "uuid": a.uuid,
                    "name": a.name,
                    "bundle_id": a.bundle_id,
                    "app_version": a.version,
                    "app_type": a.app_type.as_str(),
                    "platform": a.platforms.first(),
                    "status": "Active",
                })
            })
            .collect();
        if slice.is_empty() {
            return empty(204);
        }
        return json_ok(
            json!({"applications": slice, "total": total, "page": page, "page_size": size}),
        );
    }
    let items = items.into_iter().map(|a| state.app_json(a)).collect();
    paged("Application", items, r)
}
