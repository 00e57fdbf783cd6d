//! The Okta host: the Users API of the Management API v1 (`/api/v1/users...` and
//! `/api/v1/groups...`) on its own listener, as an Okta org is its own host. A request goes
//! through, in order: the call log, the rate-limit window, the failure script, the API token,
//! path resolution, the method check, the query, then the directory.

mod error;
mod filter;
mod page;
pub(crate) mod rate;
mod render;
pub mod respond;
mod routes;

pub(crate) use render::EVERYONE;

use crate::encoding::percent_decode;
use crate::state::{OktaOrg, Shared, lock};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use error::OktaError;
use page::ListQuery;
use respond::Answer;
use routes::{Here, resolve};
use std::sync::Arc;

pub(crate) async fn dispatch(State(sim): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    sim.record(method.as_str(), uri.path());
    let now = chrono::Utc::now().timestamp();
    let rate = lock(&sim.okta_rate).count(now);
    match handle(&sim, &method, &uri, req.headers()) {
        Ok(answer) => respond::ok(&answer, rate),
        Err(e) => {
            tracing::debug!(status = e.status(), code = e.code(), "okta error");
            respond::error(&e, rate, now)
        }
    }
}

fn handle(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Answer, OktaError> {
    if let Some(status) = sim.take_failure() {
        return Err(OktaError::Throttled(status));
    }
    authenticate(&sim.okta, headers)?;
    // A trailing slash is the same resource, so empty segments are dropped.
    let segs: Vec<String> = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    let route = resolve(&segs).ok_or_else(|| OktaError::UnknownPath(uri.path().to_owned()))?;
    if method != Method::GET {
        return Err(OktaError::MethodNotAllowed);
    }
    let query = ListQuery::parse(uri.query());
    let here = Here {
        org: &sim.okta.origin,
        path: uri.path(),
    };
    let dir = lock(&sim.directory);
    routes::answer(&dir, &route, &query, &here)
}

/// `SSWS {token}` is Okta's API-token scheme; `Bearer {token}` stands in for an OAuth 2.0
/// access token, which the simulator does not issue, so it accepts the same token there.
fn authenticate(org: &OktaOrg, headers: &HeaderMap) -> Result<(), OktaError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(OktaError::InvalidToken)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(OktaError::InvalidToken)?;
    let scheme_ok = scheme.eq_ignore_ascii_case("ssws") || scheme.eq_ignore_ascii_case("bearer");
    if scheme_ok && token.trim() == org.api_token {
        Ok(())
    } else {
        Err(OktaError::InvalidToken)
    }
}
