//! What the adviser returns: recommendations (never actions) and the record of the call.

use super::cost::TokenUsage;
use super::pseudonym::Pseudonym;
use crate::domain::AppId;
use serde::{Deserialize, Serialize};

/// One app the model recommends, with its short reason; it goes through the gates like any other
/// recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub app_id: AppId,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

/// Everything the audit keeps about one call: which prompt template, what was sent and answered
/// (as SHA-256 of their canonical JSON), which model, what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdviceRecord {
    /// `bedrock`
    pub adviser: String,
    pub model_id: String,
    /// [`super::PROMPT_VERSION`] at the time of the call.
    pub prompt_version: String,
    /// The person as the model saw them.
    pub subject: Pseudonym,
    /// SHA-256 (hex) of the canonical JSON of the model id and the Converse request body.
    pub request_sha256: String,
    /// SHA-256 (hex) of the canonical JSON of the answer; `None` when no answer came.
    #[serde(default)]
    pub response_sha256: Option<String>,
    #[serde(default)]
    pub usage: Option<TokenUsage>,
    /// US dollars, when prices are configured and tokens were reported.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Calls made, counting retries after throttling.
    pub attempts: u32,
    pub latency_ms: u64,
}

/// The adviser's answer for one person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    pub recommendations: Vec<Recommendation>,
    /// `None` when nothing was sent (the adviser is off, or nothing was left to offer).
    pub record: Option<AdviceRecord>,
}

impl Advice {
    /// No advice, nothing sent.
    pub fn none() -> Self {
        Self::default()
    }
}
