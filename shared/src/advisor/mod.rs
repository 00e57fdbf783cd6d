//! The optional LLM adviser (DESIGN.md, Decisions): asks a model on Amazon Bedrock which optional
//! catalog apps a person might need, and turns a valid answer into recommendations that the
//! decision stage sends through the same gates as any other (it never executes anything).
//!
//! Off by default (`LOADOUT_ADVISOR=off`). What leaves Loadout is only the request built in
//! [`prompt`]: cohort attributes (department, title, location, region, employment type,
//! platforms), the person's current and desired app ids, peers' usage counts (withheld for small
//! cohorts), the catalog's ids, names, bundles, licence flag and risk, and a keyed pseudonym.
//! Never names, e-mails, user ids, manager ids, account names, UPNs, groups or device ids.
//!
//! The model may only answer by calling one tool whose schema names the offered catalog ids; the
//! answer is then checked again ([`validate`]) because a schema is a request to the model, not a
//! guarantee: unknown, forbidden or not-offered ids, malformed input, missing tool use, too many
//! ids, and free text that carries instructions, links, shell fragments or personal data reject
//! the whole reply with a typed [`Rejection`] for the audit.
//!
//! An adviser failing, timing out or being rejected never fails a decision: the caller treats any
//! [`AdviserError`] as "no advice" and audits it ([`AdviserError::audit_code`],
//! [`AdviserError::record`]).

mod advice;
#[cfg(feature = "advisor")]
mod bedrock;
mod cost;
#[cfg(feature = "advisor")]
mod document;
mod error;
pub mod prompt;
mod pseudonym;
mod rejection;
mod reply;
mod request;
mod screen;
mod settings;
pub mod validate;
mod wiring;

#[cfg(all(test, feature = "advisor"))]
mod tests;

pub use advice::{Advice, AdviceRecord, Recommendation};
#[cfg(feature = "advisor")]
pub use bedrock::{BedrockAdviser, bedrock_client};
pub use cost::{Prices, TokenUsage};
pub use error::{AdviserConfigError, AdviserError};
pub use prompt::{
    ConverseCall, PROMPT_VERSION, PromptLimits, REASON_MAX_CHARS, TOOL_NAME, build_call,
};
pub use pseudonym::{Pseudonym, PseudonymKeyError, Pseudonymizer};
pub use rejection::{Finding, Rejection};
pub use reply::{ModelReply, ReplyBlock};
pub use request::{AdviceRequest, CatalogEntry, Cohort, PeerApp, PeerUsage};
pub use settings::{AdviserKind, AdviserSettings, env};
pub use wiring::{adviser_from_env, adviser_from_settings};

use async_trait::async_trait;

/// The port the decision stage asks for advice through.
#[async_trait]
pub trait Adviser: Send + Sync {
    /// A short name for logs and audit records (`off`, `bedrock`).
    fn name(&self) -> &'static str;

    /// Recommendations for one person, or why there are none. Never call this on the path that
    /// must succeed: treat every error as "no advice".
    async fn advise(&self, request: &AdviceRequest) -> Result<Advice, AdviserError>;
}

/// The adviser when it is off: no advice, nothing sent anywhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAdviser;

#[async_trait]
impl Adviser for NoAdviser {
    fn name(&self) -> &'static str {
        "off"
    }

    async fn advise(&self, _request: &AdviceRequest) -> Result<Advice, AdviserError> {
        Ok(Advice::none())
    }
}
