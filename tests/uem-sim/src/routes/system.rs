//! `/api/system/...`: enrollment users and organization groups (pyws1uem, PyVMwareAirWatch, Zentral).

use super::{Req, contains_ci, paged, paged_with};
use crate::respond::{empty, json_ok, json_status, method_not_allowed, not_found, rejection};
use crate::state::{Rejection, TenantState, get_ci};
use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

pub(super) fn route(state: &mut TenantState, l: &[&str], r: &Req) -> Option<Response> {
    let get = r.get();
    Some(match l {
        ["users", "search"] if get => users_search(state, r),
        ["users", "adduser"] if *r.method == Method::POST => {
            create_user(state, r, false, |_, id| {
                json_status(201, json!({"Value": id}))
            })
        }
        ["users"] if *r.method == Method::POST => create_user(state, r, true, |s, id| {
            match s.users.iter().find(|u| u.id == id) {
                Some(u) => json_status(201, s.user_json_v2(u)),
                None => empty(201),
            }
        }),
        ["users", _, "delete"] if matches!(*r.method, Method::DELETE | Method::POST) => {
            delete_user(state, r.segs[1])
        }
        ["users", _] => match *r.method {
            Method::GET => match state.user_by_id(r.segs[1]) {
                Some(u) if r.version >= 2 => json_ok(state.user_json_v2(u)),
                Some(u) => json_ok(state.user_json(u)),
                None => not_found("User", r.segs[1]),
            },
            Method::PUT => update_user(state, r),
            Method::DELETE => delete_user(state, r.segs[1]),
            _ => method_not_allowed(),
        },
        ["groups", "search"] if get => og_search(state, r),
        ["groups", _, "children"] if get => match state.org_group_by_key(r.segs[1]) {
            // A top-level list with the group itself first, as Zentral reads it.
            Some(og) => {
                let id = og.id;
                let items: Vec<Value> = state
                    .org_groups
                    .iter()
                    .filter(|g| state.og_is_under(g.id, id))
                    .map(|g| state.og_json_v1(g))
                    .collect();
                json_ok(Value::Array(items))
            }
            None => not_found("Organization group", r.segs[1]),
        },
        ["groups", _] => match *r.method {
            Method::GET => match state.org_group_by_key(r.segs[1]) {
                Some(g) if r.version >= 2 => json_ok(state.og_json_v2(g)),
                Some(g) => json_ok(state.og_json_v1(g)),
                None => not_found("Organization group", r.segs[1]),
            },
            Method::POST => {
                let Ok(parent) = r.segs[1].trim().parse::<i64>() else {
                    return Some(not_found("Organization group", r.segs[1]));
                };
                match state.create_org_group(parent, r.body) {
                    Ok(id) => json_status(201, json!({"Value": id})),
                    Err(e) => rejection(e),
                }
            }
            _ => method_not_allowed(),
        },
        ["info"] if get => json_ok(json!({
            "ProductName": "Workspace ONE UEM (simulated)",
            "ProductVersion": "24.10.0.0",
            "ApiVersion": "1",
        })),
        _ => return None,
    })
}

fn users_search(state: &TenantState, r: &Req) -> Response {
    let p = r.params;
    let og = match p
        .int("organizationgroupid")
        .and_then(|a| p.int("locationgroupid").map(|b| a.or(b)))
    {
        Ok(og) => og,
        Err(e) => return rejection(e),
    };
    let status = p.get("status").map(|s| {
        matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "active" | "true" | "1"
        )
    });
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
        .filter(|u| og.is_none_or(|og| state.og_is_under(u.organization_group_id, og)))
        .filter(|u| status.is_none_or(|s| u.active == s))
        .collect();
    paged_with("Users", items, r, |page| {
        let enrolled = state.enrolled_counts(&page);
        page.into_iter()
            .map(|u| state.user_json_counted(u, enrolled.get(&u.id).copied().unwrap_or(0)))
            .collect()
    })
}

fn create_user(
    state: &mut TenantState,
    r: &Req,
    v2: bool,
    answer: impl FnOnce(&TenantState, i64) -> Response,
) -> Response {
    let seed = match TenantState::user_seed_of(r.body, v2) {
        Ok(s) => s,
        Err(e) => return rejection(e),
    };
    match state.add_user(&seed) {
        Ok(user) => answer(state, user.id),
        Err(e) => rejection(e),
    }
}

/// v2 `PUT /api/system/users/{uuid}`: the names, e-mail and status it carries.
fn update_user(state: &mut TenantState, r: &Req) -> Response {
    let Some(id) = state.user_by_id(r.segs[1]).map(|u| u.id) else {
        return not_found("User", r.segs[1]);
    };
    if !r.body.is_object() {
        return rejection(Rejection::bad_request(
            "The request body must be a JSON object.",
        ));
    }
    let text = |k: &str| {
        get_ci(r.body, k)
            .and_then(Value::as_str)
            .map(str::trim)
            .map(str::to_owned)
    };
    let Some(user) = state.users.iter_mut().find(|u| u.id == id) else {
        return not_found("User", r.segs[1]);
    };
    if let Some(v) = text("firstName") {
        user.first_name = v;
    }
    if let Some(v) = text("lastName") {
        user.last_name = v;
    }
    if let Some(v) = text("emailAddress") {
        user.email = v;
    }
    if let Some(v) = get_ci(r.body, "status").and_then(Value::as_bool) {
        user.active = v;
    }
    empty(204)
}

fn delete_user(state: &mut TenantState, key: &str) -> Response {
    let Some(id) = state.user_by_id(key).map(|u| u.id) else {
        return not_found("User", key);
    };
    match state.delete_user(id) {
        Ok(_) => empty(204),
        Err(e) => rejection(e),
    }
}

/// v1 `LocationGroups` with `Id: {"Value": n}`; v2 `OrganizationGroups`, flat ids and
/// `TotalResults` (Zentral). `name` and `groupid` are contains matches (inferred, like the
/// other name searches).
fn og_search(state: &TenantState, r: &Req) -> Response {
    let p = r.params;
    let found: Vec<_> = state
        .org_groups
        .iter()
        .filter(|g| p.get("name").is_none_or(|q| contains_ci(&g.name, q)))
        .filter(|g| p.get("groupid").is_none_or(|q| contains_ci(&g.group_id, q)))
        .filter(|g| {
            p.get("type")
                .is_none_or(|q| g.kind.eq_ignore_ascii_case(q.trim()))
        })
        .collect();
    if r.version >= 2 {
        let (page, size) = match p.paging() {
            Ok(x) => x,
            Err(e) => return rejection(e),
        };
        let total = found.len();
        let items: Vec<Value> = found
            .into_iter()
            .skip(page * size)
            .take(size)
            .map(|g| state.og_json_v2(g))
            .collect();
        if items.is_empty() {
            return empty(204);
        }
        return json_ok(json!({
            "OrganizationGroups": items, "Page": page, "PageSize": size, "TotalResults": total,
        }));
    }
    let items = found.into_iter().map(|g| state.og_json_v1(g)).collect();
    paged("LocationGroups", items, r)
}
