//! The routes: `/api/<module>/...` matched case-insensitively, each answered from the tenant
//! state in UEM's shapes, with v1 paging (`page`, `pagesize`, `Page/PageSize/Total`) and 204 for
//! an empty page.

use crate::respond::{
    CODE_NOT_FOUND, empty, error, json_ok, json_status, method_not_allowed, not_found, rejection,
};
use crate::state::{Rejection, TenantState};
use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;

pub(crate) struct Req<'a> {
    pub(crate) method: &'a Method,
    pub(crate) segs: &'a [&'a str],
    pub(crate) lower: &'a [String],
    pub(crate) params: &'a Params,
    pub(crate) body: &'a Value,
    pub(crate) version: u32,
}

pub(crate) struct Params(pub(crate) HashMap<String, String>);

impl Params {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// `page` (0-based) and `pagesize` (default 500).
    fn paging(&self) -> Result<(usize, usize), Rejection> {
        let num = |k: &str, default: usize| match self.get(k) {
            None => Ok(default),
            Some(v) => v.trim().parse::<usize>().map_err(|_| {
                Rejection::bad_request(format!("The value '{v}' is not valid for {k}."))
            }),
        };
        let page = num("page", 0)?;
        let size = num("pagesize", 500)?;
        Ok((page, if size == 0 { 500 } else { size }))
    }
}

pub(crate) fn route(state: &mut TenantState, module: &str, r: &Req) -> Response {
    let l: Vec<&str> = r.lower.iter().map(String::as_str).collect();
    let get = *r.method == Method::GET;
    match (module, l.as_slice()) {
        ("system", ["users", "search"]) if get => users_search(state, r),
        ("system", ["users", _]) if get => match state.user_by_id(r.segs[1]) {
            Some(u) => json_ok(state.user_json(u)),
            None => not_found("User", r.segs[1]),
        },
        ("system", ["groups", "search"]) if get => json_ok(json!({
            "LocationGroups": [og_json()], "Page": 0, "PageSize": 500, "Total": 1,
        })),
        ("system", ["groups", id]) if get => {
            if *id == crate::state::OG_ID.to_string()
                || id.eq_ignore_ascii_case(crate::state::OG_UUID)
            {
                json_ok(og_json())
            } else {
                not_found("Organization group", r.segs[1])
            }
        }
        ("mdm", ["devices"]) if get => device_by_alternate_id(state, r),
        ("mdm", ["devices", "search"]) if get => devices_search(state, r),
        ("mdm", ["devices", _]) if get => match state.device_by_id(r.segs[1]) {
            Some(d) => json_ok(state.device_json(d)),
            None => not_found("Device", r.segs[1]),
        },
        ("mdm", ["devices", _, "apps"]) if get => device_apps_v1(state, r),
        ("mdm", ["devices", _, "apps", "search"]) if get => device_apps_search(state, r),
        ("mdm", ["devices", _, "smartgroups"]) if get => device_groups(state, r),
        ("mdm", ["smartgroups", "search"]) if get => groups_search(state, r),
        ("mdm", ["smartgroups"]) if *r.method == Method::POST => match state.create_group(r.body) {
            Ok(id) => json_status(201, json!({"Value": id})),
            Err(e) => rejection(e),
        },
        ("mdm", ["smartgroups", _]) => {
            let Some(id) = r.segs[1].trim().parse::<i64>().ok() else {
                return not_found("Smart group", r.segs[1]);
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
        ("mdm", ["smartgroups", _, "devices"]) if get => group_devices(state, r),
        ("mdm", ["smartgroups", _, "apps"]) if get => group_apps(state, r),
        ("mam", ["apps", "search"]) if get => apps_search(state, r),
        ("mam", ["apps", kind, _]) if get && crate::tenant::AppType::parse(kind).is_some() => {
            match typed_app(state, kind, r.segs[2]) {
                Some(app) => json_ok(state.app_details_json(&app)),
                None => not_found("Application", r.segs[2]),
            }
        }
        ("mam", ["apps", kind, _, "assignments"])
            if *r.method == Method::POST && crate::tenant::AppType::parse(kind).is_some() =>
        {
            match typed_app(state, kind, r.segs[2]) {
                Some(app) => match state.add_v1_assignment(app.id, r.body) {
                    Ok(()) => empty(201),
                    Err(e) => rejection(e),
                },
                None => not_found("Application", r.segs[2]),
            }
        }
        ("mam", ["apps", _, "assignment-rules"]) => {
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
        _ => error(404, CODE_NOT_FOUND, "The requested resource was not found."),
    }
}

fn typed_app(state: &TenantState, kind: &str, id: &str) -> Option<crate::tenant::SimApp> {
    let kind = crate::tenant::AppType::parse(kind)?;
    state.app_by_id(id).filter(|a| a.app_type == kind).cloned()
}

fn og_json() -> Value {
    json!({
        "Id": {"Value": crate::state::OG_ID},
        "GroupId": "loadoutsim",
        "Name": crate::state::OG_NAME,
        "Uuid": crate::state::OG_UUID,
        "LocationGroupType": "Customer",
        "Country": "United States",
        "Locale": "en-US",
    })
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack
        .to_ascii_lowercase()
        .contains(&needle.trim().to_ascii_lowercase())
}

/// A v1 paged answer, or 204 when the page is empty (no match, or past the end).
fn paged(key: &str, items: Vec<Value>, r: &Req) -> Response {
    let (page, size) = match r.params.paging() {
        Ok(p) => p,
        Err(e) => return rejection(e),
    };
    let total = items.len();
    let slice: Vec<Value> = items.into_iter().skip(page * size).take(size).collect();
    if slice.is_empty() {
        return empty(204);
    }
    json_ok(json!({ key: slice, "Page": page, "PageSize": size, "Total": total }))
}

fn users_search(state: &TenantState, r: &Req) -> Response {
    let p = r.params;
    let items = state
        .users
        .iter()
        .filter(|u| {
            p.get("username")
                .is_none_or(|q| contains_ci(&u.username, q))
        })
        .filter(|u| p.get("email").is_none_or(|q| contains_ci(&u.email, q)))
        .filter(|u| {
            p.get("firstname")
                .is_none_or(|q| contains_ci(&u.first_name, q))
        })
        .filter(|u| {
            p.get("lastname")
                .is_none_or(|q| contains_ci(&u.last_name, q))
        })
        .filter(|_| {
            p.get("status")
                .is_none_or(|s| s.eq_ignore_ascii_case("active") || s.eq_ignore_ascii_case("true"))
        })
        .map(|u| state.user_json(u))
        .collect();
    paged("Users", items, r)
}

fn devices_search(state: &TenantState, r: &Req) -> Response {
    let p = r.params;
    let mut devices: Vec<_> = state
        .devices
        .iter()
        .filter(|d| p.get("user").is_none_or(|q| contains_ci(&d.username, q)))
        .filter(|d| {
            p.get("platform").is_none_or(|q| {
                d.platform
                    .eq_ignore_ascii_case(&crate::tenant::uem_platform(q))
            })
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
        .collect();
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
    let items = devices.into_iter().map(|d| state.device_json(d)).collect();
    paged("Devices", items, r)
}

fn device_by_alternate_id(state: &TenantState, r: &Req) -> Response {
    let (Some(by), Some(id)) = (r.params.get("searchby"), r.params.get("id")) else {
        return error(400, 400, "searchby and id are required.");
    };
    let found = state
        .devices
        .iter()
        .find(|d| match by.to_ascii_lowercase().as_str() {
            "serialnumber" => d.serial_number.eq_ignore_ascii_case(id),
            "udid" => d.udid.eq_ignore_ascii_case(id),
            "macaddress" => format!("{:012X}", d.id).eq_ignore_ascii_case(id),
            "deviceid" => d.id.to_string() == id.trim(),
            _ => false,
        });
    match found {
        Some(d) => json_ok(state.device_json(d)),
        None => not_found("Device", id),
    }
}

fn device_apps_v1(state: &TenantState, r: &Req) -> Response {
    let Some(d) = state.device_by_id(r.segs[1]) else {
        return not_found("Device", r.segs[1]);
    };
    let items = state
        .device_apps(d)
        .into_iter()
        .map(|(name, bundle, version, managed)| {
            json!({
                "ApplicationName": name,
                "Version": version,
                "BuildVersion": version,
                "Status": "Installed",
                "Size": "1024",
                "ApplicationIdentifier": bundle,
                "Type": if managed { "Internal" } else { "System" },
                "IsManaged": managed,
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
    let (page, size) = match r.params.paging() {
        Ok(p) => p,
        Err(e) => return rejection(e),
    };
    let all = state.device_apps(d);
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip(page * size)
        .take(size)
        .map(|(name, bundle, version, managed)| {
            let app = state.apps.iter().find(|a| a.bundle_id == bundle && managed);
            json!({
                "name": name,
                "bundle_id": bundle,
                "installed_version": version,
                "installed_status": "Installed",
                "app_uuid": app.map(|a| a.uuid.clone()),
                "is_managed": managed,
                "app_type": if managed { "Internal" } else { "Unknown" },
            })
        })
        .collect();
    json_ok(json!({ "app_items": items, "TotalResults": total, "Page": page, "PageSize": size }))
}

fn device_groups(state: &TenantState, r: &Req) -> Response {
    let Some(d) = state.device_by_id(r.segs[1]) else {
        return not_found("Device", r.segs[1]);
    };
    let items: Vec<Value> = state
        .groups
        .values()
        .filter(|g| state.group_devices(g).iter().any(|x| x.id == d.id))
        .map(|g| json!({"SmartGroupId": g.id, "SmartGroupUuid": g.uuid, "Name": g.name}))
        .collect();
    paged("SmartGroup", items, r)
}

fn groups_search(state: &TenantState, r: &Req) -> Response {
    let items = state
        .groups
        .values()
        .filter(|g| r.params.get("name").is_none_or(|q| contains_ci(&g.name, q)))
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
    let items = state
        .group_devices(g)
        .into_iter()
        .map(|d| state.device_json(d))
        .collect();
    paged("Devices", items, r)
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
            let rule = a.rules.iter().find(|r| {
                r.smart_groups
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(&g.uuid))
            })?;
            let app = state.app_by_id(&app_id.to_string())?;
            let mut v = state.app_json(app);
            v["PushMode"] = json!(match rule.mode {
                crate::tenant::PushMode::Auto => "Auto",
                crate::tenant::PushMode::OnDemand => "OnDemand",
            });
            Some(v)
        })
        .collect();
    paged("Application", items, r)
}

fn apps_search(state: &TenantState, r: &Req) -> Response {
    let p = r.params;
    let items: Vec<&crate::tenant::SimApp> = state
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
                    x.eq_ignore_ascii_case(&crate::tenant::uem_platform(q))
                        || crate::tenant::platform_code(x).to_string() == q
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
        // Zentral reads lowercase `applications` and `total` from version 4 (uem-api.md §2).
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
