//! How a call to ServiceNow failed, and whether trying again later can help.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ServiceNowError {
    /// A setting or a secret is missing or invalid.
    #[error("ServiceNow is not configured: {0}")]
    NotConfigured(String),
    /// The request would not fit ServiceNow's columns (caught before sending).
    #[error("the approval request is not valid: {0}")]
    InvalidRequest(String),
    /// 401/403, still after the secret was read again.
    #[error("ServiceNow refused the credentials (HTTP {status})")]
    Unauthorized { status: u16 },
    /// Another 4xx: the request itself is wrong (ServiceNow's `error.message` and `detail`).
    #[error("ServiceNow refused the request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    #[error("ServiceNow answered HTTP {status}")]
    Server { status: u16 },
    #[error("ServiceNow is throttling (Retry-After {retry_after:?})")]
    Throttled { retry_after: Option<Duration> },
    #[error("ServiceNow did not answer in time")]
    Timeout,
    #[error("cannot reach ServiceNow: {0}")]
    Transport(String),
    /// A success answer that does not say what was created.
    #[error("ServiceNow's answer is not what was expected: {0}")]
    Decode(String),
    /// Every attempt allowed before the deadline failed for a reason that may pass.
    #[error("gave up after {attempts} attempt(s): {last}")]
    GaveUp {
        attempts: u32,
        #[source]
        last: Box<ServiceNowError>,
    },
}

impl ServiceNowError {
    /// Whether the same call may succeed later (an outage, throttling, a timeout). Bad settings,
    /// refused credentials and refused requests will not pass by themselves.
    pub fn is_retryable(&self) -> bool {
        match self {
            ServiceNowError::Server { .. }
            | ServiceNowError::Throttled { .. }
            | ServiceNowError::Timeout
            | ServiceNowError::Transport(_)
            | ServiceNowError::Decode(_) => true,
            ServiceNowError::GaveUp { last, .. } => last.is_retryable(),
            ServiceNowError::NotConfigured(_)
            | ServiceNowError::InvalidRequest(_)
            | ServiceNowError::Unauthorized { .. }
            | ServiceNowError::Refused { .. } => false,
        }
    }
}

/// A transport failure, never with the URL in it.
pub(crate) fn transport(e: reqwest::Error) -> ServiceNowError {
    if e.is_timeout() {
        ServiceNowError::Timeout
    } else {
        ServiceNowError::Transport(e.without_url().to_string())
    }
}
