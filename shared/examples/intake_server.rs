//! `Intake::handle` on 127.0.0.1 over the local adapters (in-memory SQLite), nothing else: for
//! checking the webhook routes with schemathesis, seeding fuzz corpora and loopback benchmarks
//! before (and apart from) full local mode.
//!
//! ```text
//! cargo run -p loadout --example intake_server -- 127.0.0.1:8080
//! ```
//!
//! Webhook secrets come from `LOADOUT_*` environment variables; those not set are generated and
//! printed once.

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use base64::Engine;
use loadout::adapters::local::{
    LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
};
use loadout::config::Settings;
use loadout::ports::secrets::keys;
use loadout::ports::{Clock, SystemClock};
use loadout::stages::Services;
use loadout::stages::intake::Intake;
use loadout::webhook::{ApiResponse, InboundRequest, WebhookError};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let settings = Settings::from_env()?;
    let db = LocalDb::in_memory()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let secrets = LocalSecrets::from_env();
    for (key, value) in generated_secrets() {
        if secrets.provide_default(key, value.clone()) {
            println!("{key}={value}");
        }
    }
    let max_body = settings.max_body_bytes;
    let services = Services {
        store: Arc::new(SqliteStateStore::new(db.clone(), clock.clone())),
        audit: Arc::new(SqliteAuditLog::new(db.clone())),
        queue: Arc::new(SqliteQueue::new(db, clock.clone(), QueueSpec::pipeline(5))),
        secrets: Arc::new(secrets),
        clock,
        settings,
    };
    let intake = Arc::new(Intake::new(services));
    let app = axum::Router::new().fallback(move |request: Request<Body>| {
        let intake = intake.clone();
        async move { serve(&intake, request, max_body).await }
    });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("intake listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

fn generated_secrets() -> Vec<(&'static str, String)> {
    let random = || uuid::Uuid::new_v4().simple().to_string();
    let key = base64::engine::general_purpose::STANDARD.encode(random().as_bytes());
    vec![
        (keys::HRIS_HMAC_SECRET, format!("whsec_{key}")),
        (keys::BAMBOOHR_HMAC_SECRET, random()),
        (keys::OKTA_AUTHORIZATION, random()),
        (keys::GRAPH_CLIENT_STATE, random()),
        (keys::UEM_EVENTS_BASIC, format!("uem:{}", random())),
    ]
}

async fn serve(intake: &Intake, request: Request<Body>, max_body: usize) -> Response<Body> {
    let (parts, body) = request.into_parts();
    // Read one byte past the limit, so that intake itself answers 413 with its JSON error.
    let body = match axum::body::to_bytes(body, max_body + 1).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let error = WebhookError::TooLarge {
                size: max_body + 1,
                limit: max_body,
            };
            return into_response(error.to_response());
        }
    };
    let inbound = InboundRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: InboundRequest::parse_query(parts.uri.query().unwrap_or("")),
        headers: parts.headers,
        body,
    };
    into_response(intake.handle(inbound).await)
}

fn into_response(response: ApiResponse) -> Response<Body> {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, response.content_type);
    for (name, value) in &response.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Body::from(response.body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}
