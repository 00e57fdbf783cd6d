//! The Bedrock adapter: one Converse call per piece of advice, with the tool forced, a bounded
//! retry on throttling inside one time budget, and a record of what was sent, answered and paid.

use super::Adviser;
use super::advice::{Advice, AdviceRecord};
use super::cost::{Prices, TokenUsage};
use super::document::{from_document, to_document};
use super::error::{AdviserConfigError, AdviserError};
use super::prompt::{ConverseCall, PROMPT_VERSION, PromptLimits, TOOL_NAME, build_call};
use super::pseudonym::Pseudonymizer;
use super::reply::{ModelReply, ReplyBlock};
use super::request::AdviceRequest;
use super::settings::{AdviserSettings, env};
use super::validate::validate;
use crate::ports::{Clock, SystemClock};
use async_trait::async_trait;
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::Region;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::error::{
    BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError,
};
use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::operation::converse::builders::ConverseFluentBuilder;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput as Output, InferenceConfiguration, Message,
    SpecificToolChoice, SystemContentBlock, Tool, ToolChoice, ToolConfiguration, ToolInputSchema,
    ToolSpecification,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;

/// Errors worth another call: Bedrock says "later", not "no".
const RETRYABLE: [&str; 3] = [
    "ThrottlingException",
    "ServiceUnavailableException",
    "ModelNotReadyException",
];
const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A Bedrock Runtime client for the adviser, from the function's AWS configuration: the
/// adviser's region and endpoint override applied, and the SDK's own retries off, because the
/// adviser retries within its own budget and two retry loops would multiply.
pub fn bedrock_client(sdk: &aws_config::SdkConfig, settings: &AdviserSettings) -> Client {
    let mut config =
        aws_sdk_bedrockruntime::config::Builder::from(sdk).retry_config(RetryConfig::disabled());
    if let Some(region) = &settings.region {
        config = config.region(Region::new(region.clone()));
    }
    if let Some(url) = &settings.endpoint_url {
        config = config.endpoint_url(url);
    }
    Client::from_conf(config.build())
}

/// The adviser on Amazon Bedrock (Converse with tool use).
pub struct BedrockAdviser {
    client: Client,
    model_id: String,
    prices: Option<Prices>,
    timeout: Duration,
    max_attempts: u32,
    limits: PromptLimits,
    pseudonymizer: Pseudonymizer,
    clock: Arc<dyn Clock>,
}

impl BedrockAdviser {
    pub fn new(
        client: Client,
        settings: &AdviserSettings,
        pseudonymizer: Pseudonymizer,
    ) -> Result<Self, AdviserConfigError> {
        let model_id = settings
            .model_id
            .clone()
            .ok_or(AdviserConfigError::Missing(env::MODEL_ID))?;
        Ok(Self {
            client,
            model_id,
            prices: settings.prices,
            timeout: settings.timeout,
            max_attempts: settings.max_attempts.max(1),
            limits: settings.limits,
            pseudonymizer,
            clock: Arc::new(SystemClock),
        })
    }

    /// The clock the invocation's deadline is measured on (the system clock by default).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Exactly what [`Adviser::advise`] would send for `request` (pseudonymized), without
    /// sending it; `None` when nothing would be sent.
    pub fn preview(&self, request: &AdviceRequest) -> Option<ConverseCall> {
        let subject = self.pseudonymizer.pseudonym(request.user_id());
        build_call(request, &subject, &self.model_id, self.limits)
    }

    /// The setting, or less if the invocation's deadline comes sooner.
    fn budget(&self) -> Duration {
        match crate::deadline::remaining(self.clock.now()) {
            Some(left) => self.timeout.min(left),
            None => self.timeout,
        }
    }

    fn converse(&self, call: &ConverseCall) -> Result<ConverseFluentBuilder, BuildError> {
        let message = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(call.user_text.clone()))
            .build()?;
        let spec = ToolSpecification::builder()
            .name(TOOL_NAME)
            .description(call.tool_description.clone())
            .input_schema(ToolInputSchema::Json(to_document(&call.input_schema)))
            .build()?;
        let tools = ToolConfiguration::builder()
            .tools(Tool::ToolSpec(spec))
            .tool_choice(ToolChoice::Tool(
                SpecificToolChoice::builder().name(TOOL_NAME).build()?,
            ))
            .build()?;
        let inference = InferenceConfiguration::builder()
            .max_tokens(i32::try_from(call.max_tokens).unwrap_or(i32::MAX))
            .temperature(call.temperature)
            .build();
        Ok(self
            .client
            .converse()
            .model_id(call.model_id.clone())
            .system(SystemContentBlock::Text(call.system.clone()))
            .messages(message)
            .tool_config(tools)
            .inference_config(inference))
    }

    async fn advise_now(&self, request: &AdviceRequest) -> Result<Advice, AdviserError> {
        let subject = self.pseudonymizer.pseudonym(request.user_id());
        let Some(call) = build_call(request, &subject, &self.model_id, self.limits) else {
            return Ok(Advice::none());
        };
        let converse = self
            .converse(&call)
            .map_err(|e| AdviserError::Request(Box::new(e)))?;
        let mut record = AdviceRecord {
            adviser: "bedrock".into(),
            model_id: self.model_id.clone(),
            prompt_version: PROMPT_VERSION.into(),
            subject,
            request_sha256: call.sha256(),
            response_sha256: None,
            usage: None,
            cost_usd: None,
            attempts: 0,
            latency_ms: 0,
        };
        let budget = self.budget();
        if budget.is_zero() {
            // The invocation has no time left: nothing is sent.
            return Err(AdviserError::Timeout {
                budget,
                attempts: 0,
                record: Box::new(record),
            });
        }
        let started = Instant::now();
        let ends = started + budget;
        let output = loop {
            record.attempts += 1;
            let left = ends.saturating_duration_since(Instant::now());
            let result = tokio::time::timeout(left, converse.clone().send()).await;
            record.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let err = match result {
                Ok(Ok(output)) => break output,
                Ok(Err(err)) => err,
                Err(_) => {
                    log_call(&record, "timeout");
                    return Err(AdviserError::Timeout {
                        budget,
                        attempts: record.attempts,
                        record: Box::new(record),
                    });
                }
            };
            let code = error_code(&err);
            if RETRYABLE.contains(&code.as_str()) && record.attempts < self.max_attempts {
                let wait = crate::retry::backoff_delay(record.attempts, BACKOFF_BASE, BACKOFF_MAX);
                if Instant::now() + wait < ends {
                    tracing::debug!(code = %code, attempt = record.attempts, wait_ms = wait.as_millis() as u64, "Bedrock asked to wait; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            tracing::warn!(code = %code, error = %DisplayErrorContext(&err), "the Converse call failed");
            if code == "ThrottlingException" {
                log_call(&record, "throttled");
                return Err(AdviserError::Throttled {
                    attempts: record.attempts,
                    record: Box::new(record),
                });
            }
            log_call(&record, "service_error");
            return Err(AdviserError::Service {
                code,
                record: Box::new(record),
                source: Box::new(err.into_service_error()),
            });
        };

        let reply = model_reply(&output);
        record.response_sha256 = Some(reply.sha256());
        record.usage = reply.usage;
        record.cost_usd = match (self.prices, reply.usage) {
            (Some(prices), Some(usage)) => Some(prices.cost(&usage)),
            _ => None,
        };
        match validate(&reply, request, self.limits.max_recommendations) {
            Ok(recommendations) => {
                log_call(&record, "accepted");
                Ok(Advice {
                    recommendations,
                    record: Some(record),
                })
            }
            Err(rejection) => {
                log_call(&record, rejection.code());
                Err(AdviserError::Rejected {
                    rejection,
                    record: Box::new(record),
                })
            }
        }
    }
}

#[async_trait]
impl Adviser for BedrockAdviser {
    fn name(&self) -> &'static str {
        "bedrock"
    }

    async fn advise(&self, request: &AdviceRequest) -> Result<Advice, AdviserError> {
        let span = tracing::info_span!("advise", adviser = "bedrock", model_id = %self.model_id);
        self.advise_now(request).instrument(span).await
    }
}

/// Bedrock's error code, or what kind of failure it was when there is none (network, timeout).
fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> String {
    if let Some(code) = err.code() {
        return code.to_owned();
    }
    match err {
        SdkError::ConstructionFailure(_) => "construction_failure",
        SdkError::TimeoutError(_) => "sdk_timeout",
        SdkError::DispatchFailure(_) => "dispatch_failure",
        SdkError::ResponseError(_) => "response_error",
        _ => "unknown",
    }
    .to_owned()
}

/// The one line per call that cost reports and alarms read.
fn log_call(record: &AdviceRecord, outcome: &str) {
    let usage = record.usage.unwrap_or_default();
    tracing::info!(
        outcome,
        prompt_version = %record.prompt_version,
        subject = %record.subject,
        request_sha256 = %record.request_sha256,
        response_sha256 = record.response_sha256.as_deref().unwrap_or(""),
        attempts = record.attempts,
        latency_ms = record.latency_ms,
        input_tokens = usage.input_tokens,
        output_tokens = usage.output_tokens,
        priced = record.cost_usd.is_some(),
        cost_usd = record.cost_usd.unwrap_or(0.0),
        "adviser call"
    );
}

fn model_reply(output: &ConverseOutput) -> ModelReply {
    let content = match output.output() {
        Some(Output::Message(message)) => message.content().iter().map(block).collect(),
        _ => Vec::new(),
    };
    ModelReply {
        stop_reason: output.stop_reason().as_str().to_owned(),
        content,
        usage: output.usage().map(|u| TokenUsage {
            input_tokens: u64::try_from(u.input_tokens()).unwrap_or(0),
            output_tokens: u64::try_from(u.output_tokens()).unwrap_or(0),
            total_tokens: u64::try_from(u.total_tokens()).unwrap_or(0),
        }),
    }
}

fn block(content: &ContentBlock) -> ReplyBlock {
    match content {
        ContentBlock::Text(text) => ReplyBlock::Text(text.clone()),
        ContentBlock::ToolUse(tool_use) => ReplyBlock::ToolUse {
            id: tool_use.tool_use_id().to_owned(),
            name: tool_use.name().to_owned(),
            input: from_document(tool_use.input()),
        },
        ContentBlock::ReasoningContent(_) => ReplyBlock::Other("reasoningContent".into()),
        ContentBlock::Image(_) => ReplyBlock::Other("image".into()),
        ContentBlock::Document(_) => ReplyBlock::Other("document".into()),
        _ => ReplyBlock::Other("other".into()),
    }
}
