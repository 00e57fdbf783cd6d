//! The HTTP side: one dispatcher that records the call and applies, in order, UEM's response
//! time, content negotiation, the tenant's rate limit, injected faults and authentication before
//! handing `/api/...` to `routes`; and the OAuth token service at `/connect/token`.

use crate::faults::Fault;
use crate::handle::{CallRecord, Shared};
use crate::negotiate::{accept_version, negotiate};
use crate::respond::{
    CODE_FORBIDDEN, CODE_NOT_FOUND, error, in_format, json_ok, not_acceptable, oauth_error,
    server_error, throttled, unauthorized,
};
use crate::routes::{Params, Req, route};
use axum::body::to_bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::time::Instant;

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
        request_bytes: body.len(),
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
    if let Some(d) = sim.draw_latency() {
        tokio::time::sleep(d).await;
    }
    let Some(format) = negotiate(headers) else {
        return not_acceptable();
    };
    let response = api(sim, method, uri, headers, body, &segments, &lower).await;
    in_format(response, format).await
}

async fn api(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    segments: &[&str],
    lower: &[String],
) -> Response {
    let path = uri.path();
    if let Some(wait) = sim.take_rate_token() {
        return throttled(wait);
    }
    let mutating = matches!(
        *method,
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    ) && !(lower.len() == 3 && lower[2] == "devices" && *method == Method::POST);
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
        Some(Fault::AppliedThenStatus(s)) if !mutating => return server_error(s),
        Some(Fault::AppliedThenHang(d)) if !mutating => return sim.hang(d).await,
        other => other,
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
    let params = match Query::<Vec<(String, String)>>::try_from_uri(uri) {
        Ok(Query(pairs)) => Params(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        ),
        Err(_) => return error(400, 400, "The query string is invalid."),
    };
    let body_json = if body.iter().all(u8::is_ascii_whitespace) {
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
    // `/api/v{n}/{module}/...` carries the version in the path (PyVMwareAirWatch's optional
    // form); otherwise it is the Accept header's.
    let path_version = lower[1]
        .strip_prefix('v')
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|_| lower.len() > 2);
    let at = if path_version.is_some() { 2 } else { 1 };
    let request = Req {
        method,
        segs: &segments[at + 1..],
        lower: &lower[at + 1..],
        params: &params,
        body: &body_json,
        version: path_version.unwrap_or_else(|| accept_version(headers)),
    };
    let response = {
        let mut state = sim.state.lock().unwrap_or_else(|p| p.into_inner());
        let response = route(&mut state, &lower[at], &request);
        if mutating && response.status().is_success() {
            state.sync_installs(tokio::time::Instant::now());
        }
        for (kind, device) in std::mem::take(&mut state.outbox) {
            sim.notify(&state, kind, &device);
        }
        response
    };
    match after {
        Some(Fault::AppliedThenStatus(s)) => server_error(s),
        Some(Fault::AppliedThenHang(d)) => sim.hang(d).await,
        _ => response,
    }
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
