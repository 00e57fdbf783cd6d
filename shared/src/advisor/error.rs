//! Why there is no advice. Every variant means "decide without it"; the caller audits the code
//! and, when something was sent, the record.

use super::advice::AdviceRecord;
use super::pseudonym::PseudonymKeyError;
use super::rejection::Rejection;
use crate::ports::SecretsError;
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum AdviserError {
    /// The model answered, but the answer failed validation.
    #[error("the adviser's reply was rejected: {rejection}")]
    Rejected {
        rejection: Rejection,
        record: Box<AdviceRecord>,
    },
    /// No answer within the budget (the setting, or the invocation's deadline if sooner).
    #[error("the adviser did not answer within {} ms ({attempts} attempts)", budget.as_millis())]
    Timeout {
        budget: Duration,
        attempts: u32,
        record: Box<AdviceRecord>,
    },
    /// Bedrock throttled every attempt the budget allowed.
    #[error("Bedrock throttled all {attempts} attempts")]
    Throttled {
        attempts: u32,
        record: Box<AdviceRecord>,
    },
    /// Bedrock refused or failed the call (access denied, validation, model error, network).
    #[error("the Converse call failed ({code})")]
    Service {
        code: String,
        record: Box<AdviceRecord>,
        #[source]
        source: BoxError,
    },
    /// The request could not be built (nothing was sent).
    #[error("the Converse request could not be built")]
    Request(#[source] BoxError),
}

impl AdviserError {
    /// A stable code for audit records and metrics.
    pub fn audit_code(&self) -> &'static str {
        match self {
            AdviserError::Rejected { rejection, .. } => rejection.code(),
            AdviserError::Timeout { .. } => "timeout",
            AdviserError::Throttled { .. } => "throttled",
            AdviserError::Service { .. } => "service_error",
            AdviserError::Request(_) => "request_error",
        }
    }

    /// The call's record, when the request was built (`attempts` 0: nothing was sent).
    pub fn record(&self) -> Option<&AdviceRecord> {
        match self {
            AdviserError::Rejected { record, .. }
            | AdviserError::Timeout { record, .. }
            | AdviserError::Throttled { record, .. }
            | AdviserError::Service { record, .. } => Some(record),
            AdviserError::Request(_) => None,
        }
    }

    /// The rejection, when the reply was rejected.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            AdviserError::Rejected { rejection, .. } => Some(rejection),
            _ => None,
        }
    }
}

/// Why the adviser could not be set up (a deployment error, reported at start-up).
#[derive(Debug, thiserror::Error)]
pub enum AdviserConfigError {
    #[error("{name} must be {expected}, not {value:?}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
    #[error("{0} must be set when LOADOUT_ADVISOR=bedrock")]
    Missing(&'static str),
    #[error("the adviser's pseudonym key could not be read")]
    Secrets(#[source] SecretsError),
    #[error(transparent)]
    PseudonymKey(#[from] PseudonymKeyError),
    #[error("LOADOUT_ADVISOR=bedrock, but this binary was built without the `advisor` feature")]
    NotBuiltIn,
}
