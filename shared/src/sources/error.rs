//! How reading a directory failed, and whether trying again later can help.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Loadout is not set up to read this source (missing or invalid setting).
    #[error("{source_name} reader is not configured: {detail}")]
    Config {
        source_name: &'static str,
        detail: String,
    },
    /// The source refused Loadout's credentials or permissions: an admin must fix them.
    #[error("{source_name} refused Loadout's credentials (HTTP {status}): {detail}")]
    Unauthorized {
        source_name: &'static str,
        status: u16,
        detail: String,
    },
    /// Throttled or unavailable after the retries this call may spend.
    #[error(
        "{source_name} is throttling or unavailable (HTTP {status}); retry after {retry_after:?}"
    )]
    Unavailable {
        source_name: &'static str,
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("{source_name} could not be reached: {detail}")]
    Transport {
        source_name: &'static str,
        detail: String,
    },
    /// A 4xx other than auth or not-found: the request itself is wrong (a bad id).
    #[error("{source_name} rejected the request (HTTP {status}): {detail}")]
    Rejected {
        source_name: &'static str,
        status: u16,
        detail: String,
    },
    /// The source has no such thing to read (BambooHR has no groups).
    #[error("{source_name} has no {what}")]
    Unsupported {
        source_name: &'static str,
        what: &'static str,
    },
    #[error("{source_name} answered something Loadout cannot read: {detail}")]
    Decode {
        source_name: &'static str,
        detail: String,
    },
    /// A redirect, never followed (it would carry the credentials elsewhere): the configured
    /// URL is probably wrong.
    #[error("{source_name} answered with a redirect (HTTP {status}); check its URL settings")]
    Redirected {
        source_name: &'static str,
        status: u16,
    },
    #[error("{source_name}'s answer is larger than {limit} bytes")]
    TooLarge {
        source_name: &'static str,
        limit: usize,
    },
}

impl SourceError {
    /// Worth redelivering the event later: the source may answer then.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SourceError::Unavailable { .. } | SourceError::Transport { .. }
        )
    }
}
