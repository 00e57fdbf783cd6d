//! How the simulator answers: JSON with exactly UEM's content type, empty bodies without one,
//! and UEM's error object (`errorCode`, `message`, `activityId`) on every 4xx/5xx.

use crate::state::Rejection;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::time::Duration;

pub const JSON_TYPE: &str = "application/json; charset=utf-8";
pub const XML_TYPE: &str = "application/xml; charset=utf-8";

/// UEM-style error codes (the simulator's own numbering; real codes vary by endpoint).
pub(crate) const CODE_UNAUTHORIZED: i64 = 1005;
pub(crate) const CODE_FORBIDDEN: i64 = 1013;
pub(crate) const CODE_NOT_FOUND: i64 = 1001;
pub(crate) const CODE_THROTTLED: i64 = 1029;
pub(crate) const CODE_SERVER: i64 = 1000;
pub(crate) const CODE_NOT_ACCEPTABLE: i64 = 1406;

// ----------------------------------------------------------------------------------------------
// Responses

pub(crate) fn json_status(status: u16, body: Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
    resp
}

pub(crate) fn json_ok(body: Value) -> Response {
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

pub(crate) fn rejection(r: Rejection) -> Response {
    error(r.status, r.code, &r.message)
}

pub(crate) fn not_found(what: &str, id: &str) -> Response {
    error(404, CODE_NOT_FOUND, &format!("{what} {id} not found."))
}

pub(crate) fn method_not_allowed() -> Response {
    error(
        405,
        405,
        "The requested resource does not support this HTTP method.",
    )
}

pub(crate) fn unauthorized(message: &str) -> Response {
    error(401, CODE_UNAUTHORIZED, message)
}

pub(crate) fn server_error(status: u16) -> Response {
    error(
        status,
        CODE_SERVER,
        "An unexpected error occurred. Please try again later.",
    )
}

pub(crate) fn timed_out() -> Response {
    error(504, CODE_SERVER, "The request timed out.")
}

pub(crate) fn throttled(wait: Duration) -> Response {
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

pub(crate) fn oauth_error(status: u16, code: &str) -> Response {
    json_status(status, json!({ "error": code }))
}

/// 406 for an `Accept` the API cannot serve; the error object is JSON all the same.
pub(crate) fn not_acceptable() -> Response {
    error(
        406,
        CODE_NOT_ACCEPTABLE,
        "The requested media type is not supported; accept application/json or application/xml.",
    )
}

/// The same answer as XML when the client asked for it: a JSON body is re-rendered, empty
/// bodies stay empty.
pub(crate) async fn in_format(resp: Response, format: crate::negotiate::Format) -> Response {
    if format == crate::negotiate::Format::Json
        || resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            != Some(JSON_TYPE)
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return server_error(500);
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return server_error(500);
    };
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(XML_TYPE));
    Response::from_parts(parts, Body::from(crate::xml::render(&value)))
}
