//! The HTTP routes of local mode: axum in front of the same `Intake` and `ApprovalCallback` the
//! Lambdas serve (API Gateway routes `/approvals/servicenow` to its own function; so does this).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use loadout::stages::approval_callback::{self, ApprovalCallback};
use loadout::stages::intake::Intake;
use loadout::webhook::InboundRequest;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Bodies above this are refused before they are read whole (intake has its own smaller limit).
const HARD_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// The stages behind the routes.
#[derive(Clone)]
pub struct Routes {
    pub intake: Arc<Intake>,
    pub approvals: Arc<ApprovalCallback>,
}

pub fn serve(
    listener: TcpListener,
    routes: Routes,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let app = axum::Router::new().fallback(route).with_state(routes);
    tokio::spawn(async move {
        let shutdown = async move {
            while !*stopped.borrow() {
                if stopped.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "local HTTP server stopped");
        }
    })
}

async fn route(State(routes): State<Routes>, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, HARD_BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return to_response(loadout::webhook::ApiResponse::error(
                413,
                "payload_too_large",
                format!("body exceeds {HARD_BODY_LIMIT} bytes"),
            ));
        }
    };
    let inbound = InboundRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: InboundRequest::parse_query(parts.uri.query().unwrap_or("")),
        headers: parts.headers,
        body,
    };
    let path = inbound.path.trim_end_matches('/');
    let approval = approval_callback::ROUTES.iter().any(|(_, p)| *p == path);
    if approval {
        to_response(routes.approvals.handle(inbound).await)
    } else {
        to_response(routes.intake.handle(inbound).await)
    }
}

fn to_response(api: loadout::webhook::ApiResponse) -> Response<Body> {
    let mut response = Response::new(Body::from(api.body));
    *response.status_mut() =
        StatusCode::from_u16(api.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(api.content_type));
    for (name, value) in api.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}
