//! How Okta answers: `application/json` bodies, a fresh `X-Okta-Request-Id` and the three
//! rate-limit headers on every response, `Link` headers for paging, and Okta's flat error object
//! (`errorCode`, `errorSummary`, `errorLink`, `errorId`, `errorCauses`). A throttled response
//! reports no remaining requests and a reset one second away, and carries no `Retry-After`
//! (Okta sends none on 429; clients wait for `X-Rate-Limit-Reset`).

use super::error::OktaError;
use super::rate::RateHeaders;
use crate::faults::RETRY_AFTER_SECS;
use crate::ids::random_base62;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

/// The content type of every Okta JSON body.
pub const OKTA_JSON: &str = "application/json";

/// A successful answer: the body, and the `Link` header values (self first, then next).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub body: Value,
    pub links: Vec<String>,
}

impl Answer {
    /// A single resource: no paging links.
    pub fn one(body: Value) -> Self {
        Self {
            body,
            links: Vec::new(),
        }
    }
}

fn insert(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

fn json_response(status: u16, body: &Value, rate: RateHeaders) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(OKTA_JSON));
    insert(&mut resp, "x-okta-request-id", &random_base62(27));
    insert(&mut resp, "x-rate-limit-limit", &rate.limit.to_string());
    insert(
        &mut resp,
        "x-rate-limit-remaining",
        &rate.remaining.to_string(),
    );
    insert(&mut resp, "x-rate-limit-reset", &rate.reset.to_string());
    resp
}

pub(crate) fn ok(answer: &Answer, rate: RateHeaders) -> Response {
    let mut resp = json_response(200, &answer.body, rate);
    for link in &answer.links {
        if let Ok(v) = HeaderValue::from_str(link) {
            resp.headers_mut().append(header::LINK, v);
        }
    }
    resp
}

/// `rate` is the window as counted; a throttled answer reports it exhausted instead.
pub(crate) fn error(err: &OktaError, rate: RateHeaders, now: i64) -> Response {
    let causes: Vec<Value> = err
        .causes()
        .into_iter()
        .map(|c| json!({"errorSummary": c}))
        .collect();
    let body = json!({
        "errorCode": err.code(),
        "errorSummary": err.to_string(),
        "errorLink": err.code(),
        "errorId": format!("oae{}", random_base62(22)),
        "errorCauses": causes,
    });
    let rate = match err {
        OktaError::Throttled(429) => RateHeaders::exhausted(now),
        _ => rate,
    };
    let mut resp = json_response(err.status(), &body, rate);
    match err {
        OktaError::Throttled(503) => {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        OktaError::MethodNotAllowed => {
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET"));
        }
        _ => {}
    }
    resp
}
