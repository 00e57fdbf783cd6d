//! The HTTP side: one dispatcher that records the call, applies the rate limit, faults and
//! authentication, and routes case-insensitively on `/api/<module>/...` like UEM does.

use crate::faults::Fault;
use crate::handle::{CallRecord, Shared};
use crate::state::{Rejection, TenantState};
use axum::body::{Body, to_bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub const JSON_TYPE: &str = "application/json; charset=utf-8";

/// UEM-style error codes (the simulator's own numbering; real codes vary by endpoint).
const CODE_UNAUTHORIZED: i64 = 1005;
const CODE_FORBIDDEN: i64 = 1013;
const CODE_NOT_FOUND: i64 = 1001;
const CODE_THROTTLED: i64 = 1029;
const CODE_SERVER: i64 = 1000;

pub(crate) async fn dispatch(State(sim): State<Arc<Shared>>, req: Request) -> Response {
    let at = Instant::now();
    let method = req.method().clone();
    let uri = req.uri().clone();
    let headers = req.headers().clone();
    let body = match to_bytes(req.into_body(), 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return error(400, 400, "The request body could not be read."),
    };
    let response = handle(&sim, &method, &uri, &headers, &body).await;
    sim.record(CallRecord {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        status: response.status().as_u16(),
        at,
        since_start: at.saturating_duration_since(sim.started),
    });
    response
}

async fn handle(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let path = uri.path();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    if lower.len() == 2 && lower[0] == "connect" && lower[1] == "token" {
        if method != Method::POST {
            return oauth_error(405, "invalid_request");
        }
        return token(sim, headers, body);
    }
    if lower.first().map(String::as_str) != Some("api") || lower.len() < 2 {
        return error(404, CODE_NOT_FOUND, "The requested resource was not found.");
    }
    if let Some(wait) = sim.take_rate_token() {
        return throttled(wait);
    }
    let mutating = matches!(
        *method,
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    ) && !(lower.len() == 3 && lower[2] == "devices");
    let (latency, fault) = sim.draw_fault(path, mutating);
    if let Some(d) = latency {
        tokio::time::sleep(d).await;
    }
    let after = match fault {
        Some(Fault::Status(s)) => return server_error(s),
        Some(Fault::Throttle(d)) => return throttled(d),
        Some(Fault::Hang(d)) => return sim.hang(d).await,
        Some(Fault::Latency(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(f @ (Fault::AppliedThenStatus(_) | Fault::AppliedThenHang(_))) => {
            if mutating {
                Some(f)
            } else {
                return match f {
                    Fault::AppliedThenStatus(s) => server_error(s),
                    Fault::AppliedThenHang(d) => sim.hang(d).await,
                    _ => unreachable!(),
                };
            }
        }
        None => None,
    };
    if let Err(message) = sim.authenticate(headers) {
        return unauthorized(message);
    }
    if mutating && sim.read_only() {
        return error(
            403,
            CODE_FORBIDDEN,
            "The administrator's role does not allow this operation.",
        );
    }
    let version = accept_version(headers);
    let params = match Query::<Vec<(String, String)>>::try_from_uri(uri) {
        Ok(Query(pairs)) => Params(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        ),
        Err(_) => return error(400, 400, "The query string is invalid."),
    };
    let body_json = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(v) => v,
            Err(e) => {
                return error(
                    400,
                    400,
                    &format!("The request body is not valid JSON: {e}"),
                );
            }
        }
    };
    let request = Req {
        method,
        segs: &segments[2..],
        lower: &lower[2..],
        params: &params,
        body: &body_json,
        version,
    };
    let response = {
        let mut state = sim.state.lock().unwrap_or_else(|p| p.into_inner());
        route(&mut state, &lower[1], &request)
    };
    match after {
        Some(Fault::AppliedThenStatus(s)) => server_error(s),
        Some(Fault::AppliedThenHang(d)) => sim.hang(d).await,
        _ => response,
    }
}

struct Req<'a> {
    method: &'a Method,
    segs: &'a [&'a str],
    lower: &'a [String],
    params: &'a Params,
    body: &'a Value,
    version: u32,
}

struct Params(HashMap<String, String>);

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

fn accept_version(headers: &HeaderMap) -> u32 {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([';', ',']))
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("version")
                .then(|| v.trim().parse().ok())?
        })
        .next()
        .unwrap_or(1)
}

fn route(state: &mut TenantState, module: &str, r: &Req) -> Response {
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

// ----------------------------------------------------------------------------------------------
// OAuth token service

fn token(sim: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    let text = String::from_utf8_lossy(body);
    let uri: Uri = match format!("/?{text}").parse() {
        Ok(u) => u,
        Err(_) => return oauth_error(400, "invalid_request"),
    };
    let Ok(Query(form)) = Query::<HashMap<String, String>>::try_from_uri(&uri) else {
        return oauth_error(400, "invalid_request");
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(400, "unsupported_grant_type");
    }
    let basic = basic_credentials(headers);
    let (id, secret, via_basic) = match (&basic, form.get("client_id"), form.get("client_secret")) {
        (Some((u, p)), _, _) => (u.clone(), p.clone(), true),
        (None, Some(i), Some(s)) => (i.clone(), s.clone(), false),
        _ => return oauth_error(400, "invalid_client"),
    };
    match sim.issue_token(&id, &secret) {
        Some((token, lifetime)) => {
            let body = json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": lifetime.as_secs(),
                "scope": "api",
            });
            json_ok(body)
        }
        None => oauth_error(if via_basic { 401 } else { 400 }, "invalid_client"),
    }
}

pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

// ----------------------------------------------------------------------------------------------
// Responses

pub(crate) fn json_status(status: u16, body: Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
    resp
}

fn json_ok(body: Value) -> Response {
    json_status(200, body)
}

/// No body and no content type (a JSON content type on an empty body breaks some clients).
pub(crate) fn empty(status: u16) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT);
    resp
}

/// UEM's error object: `errorCode`, `message`, `activityId`.
pub(crate) fn error(status: u16, code: i64, message: &str) -> Response {
    json_status(
        status,
        json!({
            "errorCode": code,
            "message": message,
            "activityId": uuid::Uuid::new_v4().to_string(),
        }),
    )
}

fn rejection(r: Rejection) -> Response {
    error(r.status, r.code, &r.message)
}

fn not_found(what: &str, id: &str) -> Response {
    error(404, CODE_NOT_FOUND, &format!("{what} {id} not found."))
}

fn method_not_allowed() -> Response {
    error(
        405,
        405,
        "The requested resource does not support this HTTP method.",
    )
}

pub(crate) fn unauthorized(message: &str) -> Response {
    error(401, CODE_UNAUTHORIZED, message)
}

fn server_error(status: u16) -> Response {
    error(
        status,
        CODE_SERVER,
        "An unexpected error occurred. Please try again later.",
    )
}

pub(crate) fn timed_out() -> Response {
    error(504, CODE_SERVER, "The request timed out.")
}

fn throttled(wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut resp = error(
        429,
        CODE_THROTTLED,
        &format!("Too many requests for this tenant; retry after {secs} seconds."),
    );
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&secs.to_string()).unwrap_or(HeaderValue::from_static("1")),
    );
    resp
}

fn oauth_error(status: u16, code: &str) -> Response {
    json_status(status, json!({ "error": code }))
}
