//! How Graph answers: its exact OData JSON content type, `request-id` / `client-request-id` on
//! every response, `OData-Version` on successes, and the `{"error":{...}}` envelope with
//! `innerError` on failures, plus `WWW-Authenticate` on 401 and `Retry-After` when throttled.

use super::error::GraphError;
use crate::faults::RETRY_AFTER_SECS;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

/// The content type Graph puts on its JSON bodies.
pub const GRAPH_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// The challenge Graph sends with every 401.
pub(crate) const WWW_AUTHENTICATE: &str = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

/// The ids a Graph response carries: a fresh `request-id`, and the caller's `client-request-id`
/// echoed (or the request id when the caller sent none).
#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    pub request_id: String,
    pub client_request_id: String,
}

impl RequestIds {
    pub fn new(headers: &HeaderMap) -> Self {
        let request_id = uuid::Uuid::new_v4().to_string();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
            .map_or_else(|| request_id.clone(), str::to_owned);
        Self {
            request_id,
            client_request_id,
        }
    }
}

fn insert(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

fn json_response(ids: &RequestIds, status: u16, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(GRAPH_JSON));
    insert(&mut resp, "request-id", &ids.request_id);
    insert(&mut resp, "client-request-id", &ids.client_request_id);
    insert(
        &mut resp,
        "x-ms-ags-diagnostic",
        r#"{"ServerInfo":{"DataCenter":"Local","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"DIRSIM"}}"#,
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

pub(crate) fn ok(ids: &RequestIds, body: &Value) -> Response {
    let mut resp = json_response(ids, 200, body);
    insert(&mut resp, "odata-version", "4.0");
    resp
}

pub(crate) fn error(ids: &RequestIds, err: &GraphError) -> Response {
    let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string();
    let body = json!({
        "error": {
            "code": err.code(),
            "message": err.to_string(),
            "innerError": {
                "date": date,
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            },
        },
    });
    let mut resp = json_response(ids, err.status(), &body);
    match err {
        GraphError::TokenEmpty | GraphError::TokenInvalid | GraphError::TokenExpired => {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(WWW_AUTHENTICATE),
            );
        }
        GraphError::Throttled(_) => {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        _ => {}
    }
    resp
}
