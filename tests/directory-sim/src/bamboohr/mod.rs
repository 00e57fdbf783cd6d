//! The BambooHR host, under both documented base paths: `/api/v1/...` (the current
//! `{companyDomain}.bamboohr.com` form, whose company is the host) and the legacy
//! `/api/gateway.php/{companyDomain}/v1/...`. A request goes through, in order: the call log,
//! the base path, the failure script, the API key, then the resource.

mod error;
mod fields;
mod respond;
mod routes;
mod xml;

pub use respond::{BAMBOO_JSON, BAMBOO_XML, ERROR_HEADER};

use crate::basic::basic_credentials;
use crate::encoding::{percent_decode, query_pairs};
use crate::state::{Shared, lock};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use error::BambooError;
use std::sync::Arc;

pub(crate) async fn dispatch(State(sim): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    sim.record(method.as_str(), uri.path());
    match handle(&sim, &method, uri.path(), uri.query(), req.headers()) {
        Ok(resp) => resp,
        Err(e) => {
            tracing::debug!(status = e.status(), "bamboohr error");
            respond::error(&e)
        }
    }
}

fn handle(
    sim: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, BambooError> {
    // A trailing slash is the same resource, so empty segments are dropped.
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    let rest = resource_path(sim, &segs)?;
    if let Some(status) = sim.take_failure() {
        return Err(BambooError::Throttled(status));
    }
    authenticate(sim, headers)?;
    let as_json = respond::wants_json(headers);
    let lower: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let dir = lock(&sim.directory);
    match l.as_slice() {
        ["employees", "directory"] => {
            only_get(method)?;
            Ok(routes::directory(&dir, as_json))
        }
        ["employees", _] => {
            only_get(method)?;
            let fields = query_pairs(query)
                .into_iter()
                .find(|(k, _)| k == "fields")
                .map(|(_, v)| v);
            routes::employee(&dir, &rest[1], fields.as_deref(), as_json)
        }
        _ => Err(BambooError::UnknownEndpoint),
    }
}

/// The segments after the API base, or 404 for another base or another company.
fn resource_path<'a>(sim: &Shared, segs: &'a [String]) -> Result<&'a [String], BambooError> {
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    match lower
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["api", "v1", ..] => Ok(&segs[2..]),
        ["api", "gateway.php", company, "v1", ..] => {
            if company.eq_ignore_ascii_case(&sim.bamboo.company_domain) {
                Ok(&segs[4..])
            } else {
                Err(BambooError::UnknownCompany(segs[2].clone()))
            }
        }
        _ => Err(BambooError::UnknownEndpoint),
    }
}

/// The API key is the Basic user name; the password is ignored (clients send `x`).
fn authenticate(sim: &Shared, headers: &HeaderMap) -> Result<(), BambooError> {
    let (key, _) = basic_credentials(headers).ok_or(BambooError::MissingAuth)?;
    if key == sim.bamboo.api_key {
        Ok(())
    } else {
        Err(BambooError::BadKey)
    }
}

fn only_get(method: &Method) -> Result<(), BambooError> {
    if method == Method::GET {
        Ok(())
    } else {
        Err(BambooError::MethodNotAllowed)
    }
}
