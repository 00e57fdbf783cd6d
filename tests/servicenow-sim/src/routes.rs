//! The instance's HTTP side: `/oauth_token.do`, the App Approvals scripted REST resource
//! `POST /api/<namespace>/appapproval/request`, and the Table API read
//! `GET /api/now[/v2]/table/sc_request`. Every call is logged; scripted faults come before
//! authentication, as a node or rate-limit rule answers before any script runs.

use crate::auth::{authenticated, token};
use crate::faults::Fault;
use crate::payload::validate;
use crate::respond::{
    error, json_response, not_found, rate_limited, server_error, unauthenticated,
};
use crate::state::{ReceivedCall, Shared, lock};
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) async fn dispatch(State(sim): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let headers = req.headers().clone();
    let response = match to_bytes(req.into_body(), 10 * 1024 * 1024).await {
        Ok(body) => handle(&sim, &method, uri.path(), uri.query(), &headers, &body).await,
        Err(_) => error(400, "Invalid request", Some("the body could not be read")),
    };
    sim.record(ReceivedCall {
        method: method.to_string(),
        path: uri.path().to_owned(),
        status: response.status().as_u16(),
    });
    response
}

/// What a call resolved to.
enum Route {
    Token,
    Approval,
    Table(String),
    Unknown,
}

fn route(sim: &Shared, path: &str) -> Route {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["oauth_token.do"] => Route::Token,
        ["api", ns, "appapproval", "request"] if *ns == sim.config.namespace => Route::Approval,
        ["api", "now", "table", table] | ["api", "now", "v2", "table", table] => {
            Route::Table((*table).to_owned())
        }
        _ => Route::Unknown,
    }
}

async fn handle(
    sim: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let route = route(sim, path);
    if let Route::Token = route {
        if method != Method::POST {
            return error(405, "Method not Supported", None);
        }
        return token(sim, headers, body);
    }
    let fault = lock(&sim.faults).take();
    match fault {
        Some(Fault::Status(429)) => {
            let wait = lock(&sim.faults).retry_after;
            return rate_limited(wait);
        }
        Some(Fault::Status(status)) => return server_error(status),
        Some(Fault::Hang) => {
            sim.hang().await;
            return server_error(503);
        }
        _ => {}
    }
    if !authenticated(sim, headers) {
        return unauthenticated();
    }
    let response = match route {
        Route::Approval if method == Method::POST => approval(sim, headers, body),
        Route::Table(table) if method == Method::GET => crate::table::read(sim, &table, query),
        Route::Approval | Route::Table(_) => error(405, "Method not Supported", None),
        Route::Token | Route::Unknown => return not_found(),
    };
    match fault {
        Some(Fault::StatusAfterInsert(status)) => server_error(status),
        Some(Fault::HangAfterInsert) => {
            sim.hang().await;
            server_error(503)
        }
        _ => response,
    }
}

fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|accept| {
            accept.split(',').any(|part| {
                let media = part.split(';').next().unwrap_or("").trim();
                matches!(media, "application/json" | "application/*" | "*/*" | "")
            })
        })
}

/// The App Approvals resource: validate, insert one `sc_request`, answer 201 with its number.
fn approval(sim: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    if !accepts_json(headers) {
        return error(
            406,
            "Not Acceptable",
            Some("the resource answers application/json"),
        );
    }
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json_body {
        return error(
            415,
            "Unsupported Media Type",
            Some("the request body must be application/json"),
        );
    }
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                400,
                "Invalid request",
                Some(&format!("the body is not JSON: {e}")),
            );
        }
    };
    let fields = match validate(&parsed) {
        Ok(f) => f,
        Err(invalid) => return error(400, "Invalid request", Some(&invalid.0)),
    };
    let ticket = sim.insert(fields, parsed);
    json_response(
        201,
        &json!({"result": {
            "sys_id": ticket.sys_id,
            "number": ticket.number,
            "table": "sc_request",
            "request_id": ticket.fields.request_id,
        }}),
    )
}
