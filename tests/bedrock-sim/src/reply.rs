//! What the fake model answers: a scripted reply per call.

use serde_json::{Value, json};
use std::time::Duration;

/// One scripted answer to one Converse call.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The model calls the tool the request forces (or its first tool) with `input`;
    /// `stopReason` `tool_use`.
    ToolUse { input: Value },
    /// The model calls a tool by another name.
    ToolUseNamed { name: String, input: Value },
    /// The model writes text only; `stopReason` `end_turn`.
    Text(String),
    /// Any content blocks with any stop reason (e.g. a tool use cut off at `max_tokens`).
    Blocks {
        content: Vec<Value>,
        stop_reason: String,
    },
    /// A Bedrock error: status, the code in `x-amzn-ErrorType`, the message in the body.
    Error {
        status: u16,
        code: String,
        message: String,
    },
    /// The answer comes after `delay` (longer than a client's timeout: a hang).
    Delayed { delay: Duration, then: Box<Reply> },
}

impl Reply {
    pub fn tool_use(input: Value) -> Self {
        Reply::ToolUse { input }
    }

    pub fn text(text: impl Into<String>) -> Self {
        Reply::Text(text.into())
    }

    /// 429 `ThrottlingException`, as Bedrock answers over a quota.
    pub fn throttled() -> Self {
        Reply::Error {
            status: 429,
            code: "ThrottlingException".into(),
            message: "Too many requests, please wait before trying again.".into(),
        }
    }

    /// 403 `AccessDeniedException`: the caller may not invoke the model.
    pub fn access_denied() -> Self {
        Reply::Error {
            status: 403,
            code: "AccessDeniedException".into(),
            message: "You don't have access to the model with the specified model ID.".into(),
        }
    }

    /// 503 `ServiceUnavailableException`.
    pub fn unavailable() -> Self {
        Reply::Error {
            status: 503,
            code: "ServiceUnavailableException".into(),
            message: "Bedrock is unable to process your request.".into(),
        }
    }

    pub fn delayed(delay: Duration, then: Reply) -> Self {
        Reply::Delayed {
            delay,
            then: Box::new(then),
        }
    }

    /// The content blocks and stop reason of a successful answer, for a request that forces
    /// `tool_name` (or offers it first).
    pub(crate) fn content(&self, tool_name: &str, call_number: usize) -> (Vec<Value>, String) {
        let tool_use_id = format!("tooluse_sim{call_number:08}");
        match self {
            Reply::ToolUse { input } => (
                vec![
                    json!({"toolUse": {"toolUseId": tool_use_id, "name": tool_name, "input": input}}),
                ],
                "tool_use".into(),
            ),
            Reply::ToolUseNamed { name, input } => (
                vec![json!({"toolUse": {"toolUseId": tool_use_id, "name": name, "input": input}})],
                "tool_use".into(),
            ),
            Reply::Text(text) => (vec![json!({ "text": text })], "end_turn".into()),
            Reply::Blocks {
                content,
                stop_reason,
            } => (content.clone(), stop_reason.clone()),
            Reply::Error { .. } | Reply::Delayed { .. } => (Vec::new(), "end_turn".into()),
        }
    }
}
