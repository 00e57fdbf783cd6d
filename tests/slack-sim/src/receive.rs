//! One incoming-webhook request: route, scripted fault, body checks, answer.

use crate::handle::{Post, Shared, SlackFault, lock};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::sync::Arc;

const MAX_BLOCKS: usize = 50;
const SECTION_TEXT_MAX: usize = 3000;
const HEADER_TEXT_MAX: usize = 150;
const CONTEXT_ELEMENTS_MAX: usize = 10;
const BLOCK_TYPES: [&str; 10] = [
    "section",
    "header",
    "divider",
    "context",
    "actions",
    "image",
    "rich_text",
    "input",
    "file",
    "video",
];

fn answer(status: u16, text: &str) -> Response {
    let mut response = Response::new(Body::from(text.to_owned()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

pub(crate) async fn receive(State(sim): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = to_bytes(req.into_body(), 1024 * 1024)
        .await
        .unwrap_or_default();
    let payload = parse(&content_type, &body);
    let (status, text) = decide(&sim, &method, &path, payload.as_ref()).await;
    lock(&sim.posts).push(Post {
        path,
        content_type,
        payload: payload.clone().unwrap_or(Value::Null),
        status,
        answer: text.clone(),
    });
    let mut response = answer(status, &text);
    if status == 429 {
        let wait = lock(&sim.retry_after).to_string();
        if let Ok(v) = HeaderValue::from_str(&wait) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    response
}

/// The JSON message: the body itself, or the `payload` field of a form post.
fn parse(content_type: &str, body: &[u8]) -> Option<Value> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media == "application/x-www-form-urlencoded" {
        let text = String::from_utf8_lossy(body);
        let raw = text
            .split('&')
            .find_map(|pair| pair.strip_prefix("payload="))?;
        let decoded = percent_encoding::percent_decode_str(&raw.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        return serde_json::from_str(&decoded).ok();
    }
    serde_json::from_slice(body).ok()
}

async fn decide(
    sim: &Shared,
    method: &Method,
    path: &str,
    payload: Option<&Value>,
) -> (u16, String) {
    if path != sim.path {
        return (404, "no_service".into());
    }
    if method != Method::POST {
        return (405, "invalid_method".into());
    }
    if *lock(&sim.revoked) {
        return (404, "no_service".into());
    }
    if *lock(&sim.archived) {
        return (410, "channel_is_archived".into());
    }
    let fault = lock(&sim.faults).pop_front();
    if let Some(fault) = fault {
        match fault {
            SlackFault::Hang => {
                sim.hang().await;
                return (503, "service_unavailable".into());
            }
            SlackFault::RateLimited { retry_after_secs } => {
                *lock(&sim.retry_after) = retry_after_secs;
            }
            _ => {}
        }
        let (status, code) = fault.answer();
        return (status, code.into());
    }
    let Some(message) = payload.and_then(Value::as_object) else {
        return (400, "invalid_payload".into());
    };
    let has_text = message
        .get("text")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.trim().is_empty());
    let blocks = message.get("blocks");
    let has_attachments = message
        .get("attachments")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if let Some(blocks) = blocks
        && let Err(()) = check_blocks(blocks)
    {
        return (400, "invalid_blocks".into());
    }
    let has_blocks = blocks
        .and_then(Value::as_array)
        .is_some_and(|b| !b.is_empty());
    if !(has_text || has_blocks || has_attachments) {
        return (400, "no_text".into());
    }
    (200, "ok".into())
}

fn text_len(v: &Value) -> Option<usize> {
    let obj = v.as_object()?;
    let kind = obj.get("type")?.as_str()?;
    if kind != "mrkdwn" && kind != "plain_text" {
        return None;
    }
    Some(obj.get("text")?.as_str()?.chars().count())
}

fn check_blocks(blocks: &Value) -> Result<(), ()> {
    let list = blocks.as_array().ok_or(())?;
    if list.len() > MAX_BLOCKS {
        return Err(());
    }
    for block in list {
        let kind = block.get("type").and_then(Value::as_str).ok_or(())?;
        if !BLOCK_TYPES.contains(&kind) {
            return Err(());
        }
        match kind {
            "section" => {
                let text = block.get("text");
                let fields = block.get("fields").and_then(Value::as_array);
                if text.is_none() && fields.is_none() {
                    return Err(());
                }
                if let Some(text) = text
                    && text_len(text).is_none_or(|n| n == 0 || n > SECTION_TEXT_MAX)
                {
                    return Err(());
                }
            }
            "header" => {
                let text = block.get("text").ok_or(())?;
                if text.get("type").and_then(Value::as_str) != Some("plain_text")
                    || text_len(text).is_none_or(|n| n == 0 || n > HEADER_TEXT_MAX)
                {
                    return Err(());
                }
            }
            "context" => {
                let elements = block.get("elements").and_then(Value::as_array).ok_or(())?;
                if elements.is_empty() || elements.len() > CONTEXT_ELEMENTS_MAX {
                    return Err(());
                }
            }
            _ => {}
        }
    }
    Ok(())
}
