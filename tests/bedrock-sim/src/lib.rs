//! A fake Amazon Bedrock Runtime endpoint for tests: the `Converse` operation as the AWS SDKs
//! call it (REST/JSON), answering with model replies the test scripts, or with Bedrock's errors.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use bedrock_sim::{BedrockSim, Reply};
//! let bedrock = BedrockSim::start().await?;
//! bedrock.push(Reply::throttled());
//! bedrock.push(Reply::tool_use(serde_json::json!({"recommendations": []})));
//! // ... a client built with `endpoint_url(bedrock.base_url())` calls Converse twice ...
//! for call in bedrock.requests() {
//!     println!("{} {}", call.model_id, call.body);
//! }
//! bedrock.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Confirmed (the Bedrock API reference pages `API_runtime_Converse`, `ToolSpecification`,
//! `ToolConfiguration`, `ToolChoice`, `ResponseStream`; the Rust SDK `aws-sdk-bedrockruntime`
//! 1.153 source: `operation/converse.rs`, `protocol_serde/shape_converse*.rs`, `json_errors.rs`):
//! - `POST /model/{modelId}/converse`, `Content-Type: application/json`, the model id
//!   percent-encoded in the path; the request body has `messages` (`role` user|assistant,
//!   `content` blocks such as `{"text"}`), `system` (blocks such as `{"text"}`), `inferenceConfig`
//!   (`maxTokens`, `temperature`, `topP`, `stopSequences`) and `toolConfig` (`tools`: at least one
//!   `{"toolSpec": {"name", "description", "inputSchema": {"json": <schema>}}}`, the name 1-64
//!   characters of `[a-zA-Z0-9_-]`; `toolChoice`: one of `{"auto": {}}`, `{"any": {}}`,
//!   `{"tool": {"name"}}`).
//! - The answer: `{"output": {"message": {"role": "assistant", "content": [...]}}, "stopReason",
//!   "usage": {"inputTokens", "outputTokens", "totalTokens"}, "metrics": {"latencyMs"}}`; a content
//!   block is `{"text"}` or `{"toolUse": {"toolUseId", "name", "input"}}`; `stopReason` is
//!   `end_turn`, `tool_use`, `max_tokens`, `stop_sequence`, `guardrail_intervened` or
//!   `content_filtered`.
//! - Errors: the SDK reads the error code from the `x-amzn-errortype` header (anything after `:`
//!   dropped) or from `__type`/`code` in the body, and the message from `message`. Status codes:
//!   `ValidationException` 400, `AccessDeniedException` 403, `ResourceNotFoundException` 404,
//!   `ModelTimeoutException` 408, `ModelErrorException` 424, `ThrottlingException` and
//!   `ModelNotReadyException` 429, `InternalServerException` 500, `ServiceUnavailableException`
//!   503.
//!
//! Chosen here: requests are SigV4-signed by the SDK, and the simulator records whether an
//! `Authorization` header came but does not check it; a model id outside the configured list is a
//! `ValidationException` ("The provided model identifier is invalid."); token counts, unless
//! scripted, are a rough 4 characters per token; an unscripted call is an
//! `InternalServerException` naming the missing script, so that a test never passes on a reply it
//! did not choose.

mod converse;
mod handle;
mod reply;

pub use handle::{BedrockSim, RecordedCall};
pub use reply::Reply;

/// The model id the simulator knows unless told otherwise (`BedrockSim::start_with_models`).
pub const DEFAULT_MODEL_ID: &str = "anthropic.claude-3-haiku-20240307-v1:0";
