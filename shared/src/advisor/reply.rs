//! A model's answer in our own terms, independent of the SDK, so validation is pure and the
//! record's response hash does not depend on how the SDK spells things.

use super::cost::TokenUsage;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq)]
pub enum ReplyBlock {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// Any other content block (image, reasoning, ...), by kind.
    Other(String),
}

/// The parts of a Converse answer the adviser reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReply {
    /// `stopReason` as Bedrock spells it (`tool_use`, `end_turn`, `max_tokens`, ...).
    pub stop_reason: String,
    pub content: Vec<ReplyBlock>,
    pub usage: Option<TokenUsage>,
}

impl ModelReply {
    /// The answer as Converse JSON (object keys sorted): what the response hash covers.
    pub fn canonical_json(&self) -> Value {
        let content: Vec<Value> = self
            .content
            .iter()
            .map(|block| match block {
                ReplyBlock::Text(text) => json!({ "text": text }),
                ReplyBlock::ToolUse { id, name, input } => {
                    json!({"toolUse": {"toolUseId": id, "name": name, "input": input}})
                }
                ReplyBlock::Other(kind) => json!({ kind: {} }),
            })
            .collect();
        let mut answer = json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": self.stop_reason,
        });
        if let Some(u) = &self.usage {
            answer["usage"] = json!({
                "inputTokens": u.input_tokens,
                "outputTokens": u.output_tokens,
                "totalTokens": u.total_tokens,
            });
        }
        answer
    }

    pub fn sha256(&self) -> String {
        sha256_json(&self.canonical_json())
    }
}

/// SHA-256 (hex) of a JSON value serialized compactly with object keys sorted at every level,
/// whatever map order serde_json was built with.
pub(crate) fn sha256_json(value: &Value) -> String {
    let mut text = String::new();
    canonical(value, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_key_order_but_not_values() {
        let a: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": "s"}}"#).expect("json");
        let b: Value =
            serde_json::from_str(r#"{"a": {"x": "s", "y": [1, 2]}, "b": 1}"#).expect("json");
        let c: Value =
            serde_json::from_str(r#"{"a": {"x": "s", "y": [2, 1]}, "b": 1}"#).expect("json");
        assert_eq!(sha256_json(&a), sha256_json(&b));
        assert_ne!(sha256_json(&a), sha256_json(&c));
    }
}
