//! How reading usage from Intelligence failed, and whether a later run can do better.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum IntelligenceError {
    /// A missing or invalid setting or secret.
    #[error("Intelligence reader is not configured: {0}")]
    Config(String),
    /// The service account was refused, also after the secret was read again.
    #[error("Intelligence refused the service account (HTTP {status}): {detail}")]
    Unauthorized { status: u16, detail: String },
    /// The request itself is wrong (`FIELD-VALIDATION`, `UNPARSEABLE-MESSAGE`...): a later run
    /// would be refused the same way.
    #[error("Intelligence rejected the request (HTTP {status}, {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
        property: Option<String>,
    },
    /// A report range longer than the API accepts (28 days), refused before any call.
    #[error("a report covers at most 28 days; {days} days were asked for")]
    RangeTooLong { days: i64 },
    #[error("a report range must end after it starts")]
    EmptyRange,
    /// Throttled (429) or failing (5xx) after the retries this read may spend.
    #[error(
        "Intelligence is throttling or unavailable (HTTP {status}); retry after {retry_after:?}"
    )]
    Unavailable {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// Loadout's own call budget (a share of the organization's 1,000 calls an hour) is spent.
    #[error(
        "Intelligence call budget spent ({used} calls in the last hour); retry after {retry_after:?}"
    )]
    BudgetExhausted { used: u32, retry_after: Duration },
    /// The run did not complete before the read's deadline.
    #[error("the report run {run_id} was still {status} after {waited:?}")]
    StillPending {
        run_id: String,
        status: String,
        waited: Duration,
    },
    /// The run ended in a status other than COMPLETED.
    #[error("the report run {run_id} ended {status}")]
    RunFailed { run_id: String, status: String },
    /// The report or its download is gone (404).
    #[error("Intelligence has no {what}")]
    NotFound { what: String },
    /// The signed storage URL refused the download.
    #[error("report storage answered HTTP {status}")]
    Storage { status: u16 },
    #[error("could not reach Intelligence: {0}")]
    Transport(#[source] reqwest::Error),
    #[error("Intelligence answered something Loadout cannot read: {0}")]
    Decode(String),
}

impl IntelligenceError {
    /// Worth trying again in a later run: throttling, outages, a run that is slow or failed, a
    /// download that went missing (a new run makes a new one).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            IntelligenceError::Unavailable { .. }
                | IntelligenceError::BudgetExhausted { .. }
                | IntelligenceError::StillPending { .. }
                | IntelligenceError::RunFailed { .. }
                | IntelligenceError::NotFound { .. }
                | IntelligenceError::Storage { .. }
                | IntelligenceError::Transport(_)
        )
    }
}
