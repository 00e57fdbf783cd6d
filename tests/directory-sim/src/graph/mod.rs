//! The Microsoft Graph host: the Entra token endpoint (`/{tenant}/oauth2/v2.0/token`, served on
//! the same listener as `login_url`) and Graph v1.0 (`/v1.0/...`). A Graph request goes
//! through, in order: the call log, the failure script, the bearer check, path resolution, the
//! method check, then the directory.

mod aad;
mod error;
mod filter;
mod query;
mod render;
pub mod respond;
mod routes;
mod token;

use crate::encoding::percent_decode;
use crate::state::{Shared, lock};
use crate::tokens::TokenCheck;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use error::GraphError;
use query::ODataQuery;
use respond::RequestIds;
use routes::{LinkBase, resolve};
use serde_json::json;
use std::sync::Arc;

/// The largest request body read (token forms are tiny; Graph reads here take no body).
const MAX_BODY: usize = 1024 * 1024;

pub(crate) async fn dispatch(State(sim): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let headers = req.headers().clone();
    sim.record(method.as_str(), uri.path());
    let body = to_bytes(req.into_body(), MAX_BODY)
        .await
        .unwrap_or_default();
    let segs: Vec<String> = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    if let [tenant, oauth, version, endpoint] = segs.as_slice()
        && oauth.eq_ignore_ascii_case("oauth2")
        && version.eq_ignore_ascii_case("v2.0")
        && endpoint.eq_ignore_ascii_case("token")
    {
        return token::token(&sim, tenant, &method, &headers, &body);
    }
    let ids = RequestIds::new(&headers);
    match graph(&sim, &method, &uri, &headers, &segs) {
        Ok(body) => respond::ok(&ids, &body),
        Err(e) => {
            tracing::debug!(status = e.status(), code = e.code(), "graph error");
            respond::error(&ids, &e)
        }
    }
}

fn graph(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    segs: &[String],
) -> Result<serde_json::Value, GraphError> {
    if let Some(status) = sim.take_failure() {
        return Err(GraphError::Throttled(status));
    }
    match lock(&sim.tokens).check(bearer(headers)) {
        TokenCheck::Valid => {}
        TokenCheck::Empty => return Err(GraphError::TokenEmpty),
        TokenCheck::Invalid => return Err(GraphError::TokenInvalid),
        TokenCheck::Expired => return Err(GraphError::TokenExpired),
    }
    let Some((version, rest)) = segs.split_first() else {
        return Err(GraphError::InvalidVersion(String::new()));
    };
    if !version.eq_ignore_ascii_case("v1.0") {
        return Err(GraphError::InvalidVersion(version.clone()));
    }
    if rest.is_empty() {
        return service_document(method);
    }
    let route = resolve(rest)?;
    if method != Method::GET {
        return Err(GraphError::MethodNotAllowed);
    }
    let query = ODataQuery::parse(uri.query());
    let link = format!("{}{}", sim.graph.origin, uri.path());
    let dir = lock(&sim.directory);
    routes::answer(&dir, &route, &query, &LinkBase(&link))
}

/// `GET /v1.0/`: the OData service document listing the entity sets served here.
fn service_document(method: &Method) -> Result<serde_json::Value, GraphError> {
    if method != Method::GET {
        return Err(GraphError::MethodNotAllowed);
    }
    Ok(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata",
        "value": [
            {"name": "users", "kind": "EntitySet", "url": "users"},
            {"name": "groups", "kind": "EntitySet", "url": "groups"},
        ],
    }))
}

/// The bearer token, if the request sent one (`None` for no header or another scheme).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}
