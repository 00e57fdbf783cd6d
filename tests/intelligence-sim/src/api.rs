//! The three listeners' dispatchers. The API host applies, in order: the organization's rate
//! limit, scripted faults, the bearer token, then the route.

use crate::render::file_of;
use crate::reports::{self, paging};
use crate::respond::{data, error, not_found, server_error, throttled, unauthorized, unparseable};
use crate::state::{Call, Host, Shared, lock};
use crate::{auth, downloads, storage};
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tokio::time::Instant;

fn scheme(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(' ').next().unwrap_or_default().to_ascii_lowercase())
}

async fn read(req: Request) -> (Method, axum::http::Uri, HeaderMap, Option<bytes::Bytes>) {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let headers = req.headers().clone();
    let body = to_bytes(req.into_body(), 1024 * 1024).await.ok();
    (method, uri, headers, body)
}

pub(crate) async fn auth_host(State(sim): State<Arc<Shared>>, req: Request) -> Response {
    let at = Instant::now();
    let (method, uri, headers, body) = read(req).await;
    let response = if uri.path() != "/oauth/token" {
        not_found("The resource")
    } else if method != Method::POST {
        error(
            405,
            "METHOD-NOT-ALLOWED",
            "Request method not supported",
            None,
        )
    } else {
        auth::token(&sim, uri.query(), &headers, &body.unwrap_or_default())
    };
    sim.record(Call {
        host: Host::Auth,
        method: method.to_string(),
        path: uri.path().to_owned(),
        status: response.status().as_u16(),
        authorization: scheme(&headers),
        at,
    });
    response
}

pub(crate) async fn storage_host(State(sim): State<Arc<Shared>>, req: Request) -> Response {
    let at = Instant::now();
    let (method, uri, headers, _) = read(req).await;
    let response = if method != Method::GET {
        storage_method_not_allowed()
    } else {
        storage::serve(&sim, uri.path(), uri.query(), &headers)
    };
    sim.record(Call {
        host: Host::Storage,
        method: method.to_string(),
        path: uri.path().to_owned(),
        status: response.status().as_u16(),
        authorization: scheme(&headers),
        at,
    });
    response
}

fn storage_method_not_allowed() -> Response {
    let mut r = error(405, "MethodNotAllowed", "", None);
    r.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET"));
    r
}

pub(crate) async fn api_host(State(sim): State<Arc<Shared>>, req: Request) -> Response {
    let at = Instant::now();
    let (method, uri, headers, body) = read(req).await;
    let response = api(&sim, &method, uri.path(), &headers, body.as_deref());
    sim.record(Call {
        host: Host::Api,
        method: method.to_string(),
        path: uri.path().to_owned(),
        status: response.status().as_u16(),
        authorization: scheme(&headers),
        at,
    });
    response
}

fn api(
    sim: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Response {
    let limits = lock(&sim.behaviour).limits;
    if let Some(wait) = lock(&sim.rate).admit(&limits, Instant::now()) {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return throttled(limits.retry_after_header.then_some(secs));
    }
    if let Some(status) = lock(&sim.faults).fail_next.pop_front() {
        return if status == 429 {
            throttled(limits.retry_after_header.then_some(1))
        } else {
            server_error(status)
        };
    }
    if let Err(message) = auth::check_bearer(sim, headers) {
        return unauthorized(message);
    }
    let Some(body) = body else {
        return unparseable();
    };
    let json_body = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(v) => v,
            Err(_) => return unparseable(),
        }
    };
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segs.as_slice()) {
        (&Method::GET, ["v2", "meta", "integration", i, "entity", e, "attributes"]) => {
            reports::attributes(i, e)
        }
        (&Method::POST, ["v2", "reports"]) => reports::create(sim, &json_body),
        (&Method::POST, ["v2", "reports", "search"]) => reports::search(sim, &json_body),
        (&Method::POST, ["v2", "reports", id, "run"]) => downloads::run(sim, id),
        (&Method::POST, ["v2", "reports", id, "downloads", "search"]) => {
            downloads::search(sim, id, &json_body)
        }
        (&Method::GET, ["v2", "reports", "tracking", id, "download"]) => {
            downloads::download(sim, id)
        }
        (&Method::POST, ["v2", "reports", id, "preview"]) => preview(sim, id, &json_body),
        _ => not_found("The resource"),
    }
}

/// At most 1,000 rows of the report as it would run now, fully qualified keys.
fn preview(sim: &Shared, report_id: &str, body: &Value) -> Response {
    let (offset, page_size) = match paging(body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let now = sim.now_wall();
    let qualified = lock(&sim.behaviour).qualified_headers;
    let tenant = lock(&sim.tenant);
    let Some(report) = tenant.reports.get(report_id) else {
        return not_found("The report");
    };
    let range = match report.range {
        crate::state::RangeSpec::None => None,
        crate::state::RangeSpec::Last(span) => Some((
            now - chrono::Duration::from_std(span).unwrap_or_default(),
            now,
        )),
        crate::state::RangeSpec::Custom(s, e) => Some((s, e)),
    };
    let mut file = file_of(&tenant.usage, report, range, now, qualified);
    drop(tenant);
    // A preview never reads the whole synthetic fleet.
    file.synthetic = file.synthetic.map(|(mut s, c)| {
        s.devices = s.devices.min(1000);
        (s, c)
    });
    let rows = file.rows();
    let total = rows.len();
    let results: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|row| {
            let mut m = Map::new();
            for c in &file.columns {
                let short = c.strip_prefix(reports::PREFIX).unwrap_or(c);
                let v = match short {
                    "event_timestamp" => json!(row.event_timestamp.timestamp_millis()),
                    "duration_millis" => json!(row.duration_millis),
                    _ => json!(row.attr(short).unwrap_or_default()),
                };
                m.insert(c.clone(), v);
            }
            Value::Object(m)
        })
        .collect();
    data(
        200,
        json!({"offset": offset, "page_size": page_size, "total_count": total, "results": results}),
    )
}
