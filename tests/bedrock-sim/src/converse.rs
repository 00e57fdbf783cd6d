//! `POST /model/{modelId}/converse`: checks the request as Bedrock documents it, then answers with
//! the next scripted reply.

use crate::handle::{RecordedCall, Scripted, Shared, lock};
use crate::reply::Reply;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

struct Answer {
    status: u16,
    error_code: Option<String>,
    body: Value,
}

impl Answer {
    fn error(status: u16, code: &str, message: &str) -> Self {
        Self {
            status,
            error_code: Some(code.to_owned()),
            body: json!({ "message": message }),
        }
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let request_id = format!(
            "00000000-0000-4000-8000-{:012}",
            REQUEST_IDS.fetch_add(1, Ordering::Relaxed)
        );
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            headers.insert("x-amzn-requestid", v);
        }
        if let Some(code) = &self.error_code {
            // Bedrock's services add a namespace after a colon; the SDK drops it.
            let typ = format!("{code}:http://internal.amazon.com/coral/com.amazon.bedrock/");
            if let Ok(v) = HeaderValue::from_str(&typ) {
                headers.insert("x-amzn-errortype", v);
            }
        }
        response
    }
}

pub(crate) async fn converse(
    State(shared): State<Arc<Shared>>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let text = String::from_utf8_lossy(&body).into_owned();
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let signed = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();

    let answer = answer(&shared, &model_id, &text, &json, started).await;
    lock(&shared.calls).push(RecordedCall {
        model_id,
        signed,
        content_type,
        body: text,
        json,
        status: answer.status,
        error_code: answer.error_code.clone(),
    });
    answer.into_response()
}

async fn answer(
    shared: &Shared,
    model_id: &str,
    text: &str,
    json: &Value,
    started: Instant,
) -> Answer {
    if !shared.models.iter().any(|m| m == model_id) {
        return Answer::error(
            400,
            "ValidationException",
            "The provided model identifier is invalid.",
        );
    }
    let tool_name = match check_request(json) {
        Ok(name) => name,
        Err(problem) => return Answer::error(400, "ValidationException", &problem),
    };
    let next = lock(&shared.script).pop_front();
    let Some(Scripted { mut reply, usage }) = next else {
        return Answer::error(
            500,
            "InternalServerException",
            "bedrock-sim: no reply was scripted for this call",
        );
    };
    while let Reply::Delayed { delay, then } = reply {
        let mut stops = shared.stops.subscribe();
        let stopped = tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            _ = stops.wait_for(|s| *s) => true,
        };
        if stopped {
            return Answer::error(503, "ServiceUnavailableException", "shutting down");
        }
        reply = *then;
    }
    if let Reply::Error {
        status,
        code,
        message,
    } = &reply
    {
        return Answer::error(*status, code, message);
    }
    let call_number = lock(&shared.calls).len() + 1;
    let (content, stop_reason) = reply.content(tool_name.as_deref().unwrap_or("tool"), call_number);
    let (input_tokens, output_tokens) = usage.unwrap_or_else(|| {
        let out = Value::Array(content.clone()).to_string();
        (estimate_tokens(text), estimate_tokens(&out))
    });
    Answer {
        status: 200,
        error_code: None,
        body: json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason,
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
            "metrics": {"latencyMs": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)},
        }),
    }
}

fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4).max(1)
}

/// The documented constraints of a Converse request; returns the tool the model must (or would
/// first) use, or what Bedrock would say is wrong.
fn check_request(body: &Value) -> Result<Option<String>, String> {
    let Some(body) = body.as_object() else {
        return Err("Malformed input request, please reformat your input and try again.".into());
    };
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or("A conversation must start with a user message.")?;
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        let expected = if i % 2 == 0 { "user" } else { "assistant" };
        if role != expected {
            return Err(format!(
                "messages[{i}].role must be {expected}: a conversation must alternate between user and assistant roles, starting with user."
            ));
        }
        let blocks = message.get("content").and_then(Value::as_array);
        if blocks.is_none_or(|b| b.is_empty() || b.iter().any(|c| !is_union(c))) {
            return Err(format!(
                "messages[{i}].content must be a non-empty list of content blocks."
            ));
        }
    }
    if let Some(system) = body.get("system") {
        let ok = system
            .as_array()
            .is_some_and(|blocks| blocks.iter().all(is_union));
        if !ok {
            return Err("system must be a list of system content blocks.".into());
        }
    }
    if let Some(config) = body.get("inferenceConfig") {
        check_inference(config)?;
    }
    match body.get("toolConfig") {
        None => Ok(None),
        Some(config) => check_tools(config).map(Some),
    }
}

/// A union member: an object with exactly one key.
fn is_union(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.len() == 1)
}

fn check_inference(config: &Value) -> Result<(), String> {
    if let Some(max) = config.get("maxTokens")
        && max.as_u64().is_none_or(|m| m < 1)
    {
        return Err("inferenceConfig.maxTokens must be at least 1.".into());
    }
    for key in ["temperature", "topP"] {
        if let Some(v) = config.get(key)
            && v.as_f64().is_none_or(|x| !(0.0..=1.0).contains(&x))
        {
            return Err(format!("inferenceConfig.{key} must be between 0 and 1."));
        }
    }
    Ok(())
}

fn check_tools(config: &Value) -> Result<String, String> {
    let tools = config
        .get("tools")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
        .ok_or("toolConfig.tools must have at least 1 item.")?;
    let mut names = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let spec = tool
            .get("toolSpec")
            .ok_or(format!("toolConfig.tools[{i}] must have a toolSpec."))?;
        let name = spec.get("name").and_then(Value::as_str).unwrap_or("");
        let valid = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(format!(
                "toolConfig.tools[{i}].toolSpec.name must match [a-zA-Z0-9_-]+ and be 1 to 64 characters."
            ));
        }
        let schema = spec.get("inputSchema").and_then(|s| s.get("json"));
        if schema.is_none_or(|s| s.get("type").and_then(Value::as_str) != Some("object")) {
            return Err(format!(
                "toolConfig.tools[{i}].toolSpec.inputSchema.json must be a JSON schema of type object."
            ));
        }
        names.push(name.to_owned());
    }
    match config.get("toolChoice") {
        None => Ok(names[0].clone()),
        Some(choice) if !is_union(choice) => {
            Err("toolConfig.toolChoice must have exactly one of auto, any, tool.".into())
        }
        Some(choice) => {
            if let Some(tool) = choice.get("tool") {
                let name = tool.get("name").and_then(Value::as_str).unwrap_or("");
                if names.iter().any(|n| n == name) {
                    Ok(name.to_owned())
                } else {
                    Err(format!(
                        "toolConfig.toolChoice.tool.name {name:?} is not one of the tools in toolConfig.tools."
                    ))
                }
            } else if choice.get("any").is_some() || choice.get("auto").is_some() {
                Ok(names[0].clone())
            } else {
                Err("toolConfig.toolChoice must have exactly one of auto, any, tool.".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Value {
        json!({
            "messages": [{"role": "user", "content": [{"text": "hello"}]}],
            "system": [{"text": "be brief"}],
            "inferenceConfig": {"maxTokens": 100, "temperature": 0.0},
            "toolConfig": {
                "tools": [{"toolSpec": {"name": "recommend_apps", "inputSchema": {"json": {"type": "object"}}}}],
                "toolChoice": {"tool": {"name": "recommend_apps"}}
            }
        })
    }

    #[test]
    fn a_documented_request_names_its_forced_tool() {
        assert_eq!(
            check_request(&request()),
            Ok(Some("recommend_apps".to_owned()))
        );
    }

    #[test]
    fn undocumented_shapes_are_validation_errors() {
        let mut r = request();
        r["toolConfig"]["toolChoice"] = json!({"tool": {"name": "other"}});
        assert!(check_request(&r).is_err());
        let mut r = request();
        r["messages"][0]["role"] = json!("assistant");
        assert!(check_request(&r).is_err());
        let mut r = request();
        r["inferenceConfig"]["temperature"] = json!(1.5);
        assert!(check_request(&r).is_err());
        let mut r = request();
        r["toolConfig"]["tools"][0]["toolSpec"]["name"] = json!("has space");
        assert!(check_request(&r).is_err());
        let mut r = request();
        r["toolConfig"]["tools"] = json!([]);
        assert!(check_request(&r).is_err());
        assert!(check_request(&json!([1, 2])).is_err());
    }

    #[tokio::test]
    async fn errors_carry_the_code_header_and_a_message() {
        let sim = crate::BedrockSim::start().await.expect("start");
        sim.push(Reply::throttled());
        let url = format!(
            "{}/model/{}/converse",
            sim.base_url(),
            crate::DEFAULT_MODEL_ID
        );
        let response = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .body(request().to_string())
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 429);
        let typ = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(typ.starts_with("ThrottlingException:"));
        let body: Value = response.json().await.expect("json");
        assert!(body["message"].as_str().is_some());
        // The next call has nothing scripted: an error, never an invented reply.
        let response = reqwest::Client::new()
            .post(&url)
            .body(request().to_string())
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 500);
        assert_eq!(sim.requests().len(), 2);
        assert!(!sim.requests()[0].signed);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn a_tool_use_reply_has_the_documented_shape() {
        let sim = crate::BedrockSim::start().await.expect("start");
        sim.push_with_usage(Reply::tool_use(json!({"recommendations": []})), 120, 30);
        let url = format!(
            "{}/model/{}/converse",
            sim.base_url(),
            crate::DEFAULT_MODEL_ID
        );
        let body: Value = reqwest::Client::new()
            .post(&url)
            .body(request().to_string())
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        let block = &body["output"]["message"]["content"][0]["toolUse"];
        assert_eq!(block["name"], "recommend_apps");
        assert!(block["toolUseId"].as_str().is_some());
        assert_eq!(body["stopReason"], "tool_use");
        assert_eq!(body["usage"]["totalTokens"], 150);
        assert!(body["metrics"]["latencyMs"].is_u64());
        sim.shutdown().await;
    }
}
