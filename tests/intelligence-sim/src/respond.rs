//! Intelligence's answers: the `{"data": ...}` envelope and the `{"errors": [...]}` body with
//! the documented codes (`FIELD-VALIDATION`, `UNPARSEABLE-MESSAGE`, `DUPLICATE-KEY`).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

pub const JSON_TYPE: &str = "application/json";

pub(crate) fn json(status: u16, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
    response
}

pub(crate) fn data(status: u16, data: Value) -> Response {
    json(status, &json!({ "data": data }))
}

/// One error in the documented shape; `violated_property` only when there is one.
pub(crate) fn error(status: u16, code: &str, message: &str, property: Option<&str>) -> Response {
    let mut item = json!({ "code": code, "message": message });
    if let Some(p) = property {
        item["violated_property"] = json!(p);
    }
    json(status, &json!({ "errors": [item] }))
}

pub(crate) fn field(property: &str, message: &str) -> Response {
    error(400, "FIELD-VALIDATION", message, Some(property))
}

pub(crate) fn unparseable() -> Response {
    error(400, "UNPARSEABLE-MESSAGE", "", None)
}

pub(crate) fn not_found(what: &str) -> Response {
    error(404, "NOT-FOUND", &format!("{what} was not found."), None)
}

pub(crate) fn unauthorized(message: &str) -> Response {
    let mut r = error(401, "UNAUTHORIZED", message, None);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    r
}

/// 429 "Rate limit exceeded." (the guide's words); `Retry-After` when the simulator is set to
/// send it (the guide names no header).
pub(crate) fn throttled(retry_after_secs: Option<u64>) -> Response {
    let mut r = error(429, "RATE-LIMIT-EXCEEDED", "Rate limit exceeded.", None);
    if let Some(secs) = retry_after_secs
        && let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

pub(crate) fn server_error(status: u16) -> Response {
    error(
        status,
        "INTERNAL-SERVER-ERROR",
        "The server encountered an internal error.",
        None,
    )
}
