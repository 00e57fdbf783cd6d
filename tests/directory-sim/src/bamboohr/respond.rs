//! How BambooHR answers: JSON when the client asks for it with `Accept`, XML otherwise (XML is
//! BambooHR's default); errors with an empty body and `X-BambooHR-Error-Message`, a Basic
//! challenge on 401 and `Retry-After` when throttled.

use super::error::BambooError;
use crate::faults::RETRY_AFTER_SECS;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

pub const BAMBOO_JSON: &str = "application/json";
pub const BAMBOO_XML: &str = "text/xml";
pub const ERROR_HEADER: &str = "x-bamboohr-error-message";

/// Whether the client asked for JSON (`Accept: application/json`, possibly among others).
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

fn body_response(content_type: &'static str, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub(crate) fn json(body: &Value) -> Response {
    body_response(BAMBOO_JSON, body.to_string())
}

pub(crate) fn xml(body: String) -> Response {
    body_response(BAMBOO_XML, body)
}

pub(crate) fn error(err: &BambooError) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&err.to_string()) {
        h.insert(ERROR_HEADER, v);
    }
    match err {
        BambooError::MissingAuth | BambooError::BadKey => {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"BambooHR API\""),
            );
        }
        BambooError::Throttled(_) => {
            h.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        _ => {}
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_only_when_asked() {
        let mut h = HeaderMap::new();
        assert!(!wants_json(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert!(!wants_json(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html, Application/JSON;q=0.9"),
        );
        assert!(wants_json(&h));
    }
}
