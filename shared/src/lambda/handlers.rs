//! The Lambda handlers themselves, one per function: typed AWS event in, typed response out.
//! The binaries in `functions/` only build their stage and hand these to the runtime, so tests
//! can drive exactly what Lambda runs with real `aws_lambda_events` / API Gateway payloads.

use super::{batch_response, sqs_messages};
use crate::deadline;
use crate::stages::approval_callback::ApprovalCallback;
use crate::stages::decide::Decider;
use crate::stages::enrich::Enricher;
use crate::stages::execute::Executor;
use crate::stages::intake::Intake;
use crate::stages::reclaim::{Reclaimer, active_catalog};
use crate::stages::sweep::{SweepOptions, Sweeper};
use crate::webhook::{ApiResponse, InboundRequest};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::{Body, Request, RequestExt, Response};

/// webhook-intake: an API Gateway HTTP API (payload 2.0) request.
pub async fn intake(intake: &Intake, request: Request) -> Response<Body> {
    to_response(intake.handle(inbound(request)).await)
}

/// The invocation's deadline (`Context::deadline`, milliseconds since the epoch) as a time.
pub fn deadline_of(deadline_ms: u64) -> chrono::DateTime<chrono::Utc> {
    let ms = i64::try_from(deadline_ms).unwrap_or(i64::MAX);
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// approval-callback: ServiceNow's decision through an API Gateway HTTP API (payload 2.0).
pub async fn approval_callback(callback: &ApprovalCallback, request: Request) -> Response<Body> {
    to_response(callback.handle(inbound(request)).await)
}

/// context-enricher: a batch from the `enrich` queue.
pub async fn enrich(enricher: &Enricher, event: SqsEvent, deadline_ms: u64) -> SqsBatchResponse {
    let work = enricher.handle_batch(sqs_messages(event));
    batch_response(deadline::within(deadline_of(deadline_ms), work).await)
}

/// decision-engine: a batch from the `decide` queue.
pub async fn decide(decider: &Decider, event: SqsEvent, deadline_ms: u64) -> SqsBatchResponse {
    let work = decider.handle_batch(sqs_messages(event));
    batch_response(deadline::within(deadline_of(deadline_ms), work).await)
}

/// uem-executor: a batch from the FIFO `execute` queue.
pub async fn execute(executor: &Executor, event: SqsEvent, deadline_ms: u64) -> SqsBatchResponse {
    let work = executor.handle_batch(sqs_messages(event));
    batch_response(deadline::within(deadline_of(deadline_ms), work).await)
}

/// sweeper: the scheduled sweep. The EventBridge event carries nothing it needs (a rule's
/// `detail` may ask for `{"refresh_inventory": true}`); the answer is the sweep's report.
pub async fn sweep(
    sweeper: &Sweeper,
    payload: serde_json::Value,
    deadline_ms: u64,
) -> serde_json::Value {
    let detail = payload.get("detail").cloned().unwrap_or_default();
    let options = SweepOptions {
        refresh_inventory: detail
            .get("refresh_inventory")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        ..SweepOptions::default()
    };
    match deadline::within(deadline_of(deadline_ms), sweeper.sweep(&options)).await {
        Ok(report) => serde_json::to_value(report).unwrap_or_default(),
        Err(e) => {
            tracing::error!(error = %e, "sweep failed");
            serde_json::json!({"error": e.to_string()})
        }
    }
}

/// license-reclaimer: the scheduled run over the active catalog, within the invocation's
/// deadline (a run stopped there is continued by the next; a rule's `detail` may ask for
/// `{"dry_run": true}`). The answer is the run's report.
pub async fn reclaim(
    reclaimer: &Reclaimer,
    payload: serde_json::Value,
    deadline_ms: u64,
) -> serde_json::Value {
    let dry_run = payload
        .get("detail")
        .and_then(|d| d.get("dry_run"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let work = async {
        let catalog = active_catalog(reclaimer.services().store.as_ref()).await?;
        reclaimer.run(&catalog, dry_run).await
    };
    match deadline::within(deadline_of(deadline_ms), work).await {
        Ok(report) => serde_json::to_value(report).unwrap_or_default(),
        Err(e) => {
            tracing::error!(error = %e, "reclamation run failed");
            serde_json::json!({"error": e.to_string()})
        }
    }
}

/// uem-executor: either a batch from the `execute` queue, or the scheduled nudge (an EventBridge
/// event) that applies changes still pending from invocations that ran out of time or met an
/// outage. The answer is the batch response, or a summary of the nudge.
pub async fn execute_event(
    executor: &Executor,
    payload: serde_json::Value,
    deadline_ms: u64,
) -> serde_json::Value {
    if payload.get("Records").is_some() {
        let response = match serde_json::from_value::<SqsEvent>(payload) {
            Ok(event) => execute(executor, event, deadline_ms).await,
            Err(e) => {
                tracing::error!(error = %e, "an execute event that is not an SQS batch");
                SqsBatchResponse::default()
            }
        };
        return serde_json::to_value(response).unwrap_or_default();
    }
    let work = executor.flush_pending();
    match deadline::within(deadline_of(deadline_ms), work).await {
        Ok(flushed) => serde_json::json!({"flushed_apps": flushed}),
        Err(e) => serde_json::json!({"error": e.to_string()}),
    }
}

fn inbound(request: Request) -> InboundRequest {
    let query = request
        .query_string_parameters()
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let (parts, body) = request.into_parts();
    // API Gateway hands binary bodies over base64-decoded as `Body::Binary`; signatures are over
    // the bytes exactly as sent.
    let body = match body {
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    InboundRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query,
        headers: parts.headers,
        body: body.into(),
    }
}

fn to_response(api: ApiResponse) -> Response<Body> {
    let mut response = Response::new(Body::Text(String::from_utf8_lossy(&api.body).into_owned()));
    *response.status_mut() =
        http::StatusCode::from_u16(api.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(api.content_type),
    );
    for (name, value) in api.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}
