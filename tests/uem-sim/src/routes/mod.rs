//! The routes: `/api/<module>/...` matched case-insensitively (pyws1uem sends `/api/MDM/...`),
//! each answered from the tenant state in UEM's shapes, with v1 paging (`page`, `pagesize`,
//! `Page/PageSize/Total`) and 204 for an empty page. One file per module.

mod mam;
mod mdm;
mod system;

use crate::respond::{CODE_NOT_FOUND, empty, error, json_ok, rejection};
use crate::state::{Rejection, TenantState};
use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;

pub(crate) struct Req<'a> {
    pub(crate) method: &'a Method,
    /// Path segments after `/api/<module>/`, as sent and lower-cased.
    pub(crate) segs: &'a [&'a str],
    pub(crate) lower: &'a [String],
    pub(crate) params: &'a Params,
    pub(crate) body: &'a Value,
    pub(crate) version: u32,
}

impl Req<'_> {
    pub(crate) fn get(&self) -> bool {
        *self.method == Method::GET
    }
}

pub(crate) struct Params(pub(crate) HashMap<String, String>);

impl Params {
    /// A non-empty parameter (names are lower-cased on the way in).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// `page` (0-based) and `pagesize` (default 500).
    pub(crate) fn paging(&self) -> Result<(usize, usize), Rejection> {
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

    /// An integer parameter; a malformed one is a 400.
    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, Rejection> {
        self.get(key)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    Rejection::bad_request(format!("The value '{v}' is not valid for {key}."))
                })
            })
            .transpose()
    }
}

pub(crate) fn route(state: &mut TenantState, module: &str, r: &Req) -> Response {
    let l: Vec<&str> = r.lower.iter().map(String::as_str).collect();
    let answer = match module {
        "system" => system::route(state, &l, r),
        "mdm" => mdm::route(state, &l, r),
        "mam" => mam::route(state, &l, r),
        _ => None,
    };
    answer.unwrap_or_else(|| error(404, CODE_NOT_FOUND, "The requested resource was not found."))
}

pub(crate) fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack
        .to_ascii_lowercase()
        .contains(&needle.trim().to_ascii_lowercase())
}

/// A v1 paged answer, or 204 when the page is empty (no match, or past the end).
pub(crate) fn paged(key: &str, items: Vec<Value>, r: &Req) -> Response {
    paged_with(key, items, r, |page| page)
}

/// [`paged`] over records that are rendered only for the page asked: a search over a tenant of
/// 100,000 users renders 500 of them, not all.
pub(crate) fn paged_with<T>(
    key: &str,
    items: Vec<T>,
    r: &Req,
    render: impl FnOnce(Vec<T>) -> Vec<Value>,
) -> Response {
    let (page, size) = match r.params.paging() {
        Ok(p) => p,
        Err(e) => return rejection(e),
    };
    let total = items.len();
    let slice: Vec<T> = items.into_iter().skip(page * size).take(size).collect();
    if slice.is_empty() {
        return empty(204);
    }
    json_ok(json!({ key: render(slice), "Page": page, "PageSize": size, "Total": total }))
}

/// The newer endpoints' envelope (`TotalResults`), 200 even when empty (Zentral reads these
/// lists without guarding against an empty body).
pub(crate) fn paged_total_results(key: &str, items: Vec<Value>, r: &Req) -> Response {
    let (page, size) = match r.params.paging() {
        Ok(p) => p,
        Err(e) => return rejection(e),
    };
    let total = items.len();
    let slice: Vec<Value> = items.into_iter().skip(page * size).take(size).collect();
    json_ok(json!({ key: slice, "TotalResults": total, "Page": page, "PageSize": size }))
}
