//! Every error Okta answers here, with its status, `errorCode` and `errorSummary`. The codes and
//! summaries are Okta's own, because clients and people match on them (`E0000047` is how SDKs
//! recognise throttling).

/// An Okta error: rendered as `{"errorCode","errorSummary","errorLink","errorId","errorCauses"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OktaError {
    /// No `Authorization` header, another scheme, or a token that is not the org's.
    #[error("Invalid token provided")]
    InvalidToken,
    /// `{key}` as the client sent it; `kind` is Okta's resource type (`User`, `UserGroup`).
    #[error("Not found: Resource not found: {key} ({kind})")]
    NotFound { key: String, kind: &'static str },
    /// A path under the org that is not one of the resources served.
    #[error("Not found: Resource not found: {0} (Endpoint)")]
    UnknownPath(String),
    #[error("Api validation failed: limit")]
    InvalidLimit { max: usize },
    #[error("Invalid search criteria.")]
    InvalidSearch,
    #[error("The endpoint does not support the provided HTTP method")]
    MethodNotAllowed,
    /// Injected by `fail_next`, with the status to answer.
    #[error("{}", throttle_summary(*.0))]
    Throttled(u16),
}

fn throttle_summary(status: u16) -> &'static str {
    match status {
        429 => "API call exceeded rate limit due to too many requests.",
        _ => "Internal Server Error",
    }
}

impl OktaError {
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidToken => 401,
            Self::NotFound { .. } | Self::UnknownPath(_) => 404,
            Self::InvalidLimit { .. } | Self::InvalidSearch => 400,
            Self::MethodNotAllowed => 405,
            Self::Throttled(s) => *s,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidToken => "E0000011",
            Self::NotFound { .. } | Self::UnknownPath(_) => "E0000007",
            Self::InvalidLimit { .. } => "E0000001",
            Self::InvalidSearch => "E0000031",
            Self::MethodNotAllowed => "E0000022",
            Self::Throttled(429) => "E0000047",
            Self::Throttled(_) => "E0000009",
        }
    }

    /// The `errorSummary`s of `errorCauses`: only validation errors say which field failed.
    pub fn causes(&self) -> Vec<String> {
        match self {
            Self::InvalidLimit { max } => {
                vec![format!(
                    "limit: The limit must be a number from 1 to {max}."
                )]
            }
            _ => Vec::new(),
        }
    }
}
