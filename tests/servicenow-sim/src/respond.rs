//! How the instance answers: JSON with `application/json;charset=UTF-8`, errors in ServiceNow's
//! REST error shape `{"error": {"message", "detail"}, "status": "failure"}`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::time::Duration;

pub const JSON: &str = "application/json;charset=UTF-8";

pub fn json_response(status: u16, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

/// ServiceNow's error body; `detail` may be null.
pub fn error(status: u16, message: &str, detail: Option<&str>) -> Response {
    json_response(
        status,
        &json!({"error": {"message": message, "detail": detail}, "status": "failure"}),
    )
}

/// An unauthenticated request to a REST API.
pub fn unauthenticated() -> Response {
    let mut response = error(
        401,
        "User Not Authenticated",
        Some("Required to provide Auth information"),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("BASIC realm=\"Service-now\""),
    );
    response
}

/// An inbound REST rate limit rule tripped.
pub fn rate_limited(retry_after: Duration) -> Response {
    let mut response = error(
        429,
        "Rate limit exceeded",
        Some("The rate limit for this user and resource has been exceeded"),
    );
    let secs = retry_after.as_secs().max(1).to_string();
    let reset = (chrono::Utc::now().timestamp() + retry_after.as_secs().max(1) as i64).to_string();
    let headers = response.headers_mut();
    for (name, value) in [
        ("retry-after", secs),
        ("x-ratelimit-limit", "100".to_owned()),
        ("x-ratelimit-reset", reset),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    response
}

pub fn server_error(status: u16) -> Response {
    error(
        status,
        "Internal Server Error",
        Some("The instance could not process the request"),
    )
}

pub fn not_found() -> Response {
    error(404, "Requested URI does not represent any resource", None)
}

/// The OAuth token endpoint's refusal.
pub fn oauth_denied() -> Response {
    json_response(
        401,
        &json!({"error_description": "access_denied", "error": "server_error"}),
    )
}
