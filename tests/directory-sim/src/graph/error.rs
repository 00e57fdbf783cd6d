//! Every error Graph answers here, with its status and code. The messages are Graph's own
//! wording, because clients and people match on them.

/// A Graph error: rendered as `{"error":{"code","message","innerError"}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GraphError {
    #[error("Access token is empty.")]
    TokenEmpty,
    #[error("Access token validation failure. Invalid audience.")]
    TokenInvalid,
    #[error("Lifetime validation failed, the token is expired.")]
    TokenExpired,
    #[error(
        "Resource '{0}' does not exist or one of its queried reference-property objects are not present."
    )]
    NotFound(String),
    #[error("Could not find a property named '{property}' on type '{type_name}'.")]
    UnknownProperty {
        property: String,
        type_name: &'static str,
    },
    /// A malformed query option (`$top`, `$filter` syntax); the message says which.
    #[error("{0}")]
    BadQuery(String),
    #[error(
        "Unsupported or invalid query filter clause specified for property '{property}' of resource '{resource}'."
    )]
    UnsupportedFilter {
        property: String,
        resource: &'static str,
    },
    #[error(
        "The specified page token value has expired and can no longer be included in your request."
    )]
    ExpiredPageToken,
    #[error("Resource not found for the segment '{0}'.")]
    UnknownSegment(String),
    #[error("Invalid version: {0}")]
    InvalidVersion(String),
    #[error("Specified HTTP method is not allowed for the request uri.")]
    MethodNotAllowed,
    /// Injected throttling or unavailability, with the status to answer.
    #[error("{}", throttle_message(*.0))]
    Throttled(u16),
}

fn throttle_message(status: u16) -> &'static str {
    match status {
        429 => "Too many requests.",
        503 => "Service Unavailable",
        _ => "General exception while processing.",
    }
}

impl GraphError {
    pub fn status(&self) -> u16 {
        match self {
            Self::TokenEmpty | Self::TokenInvalid | Self::TokenExpired => 401,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed => 405,
            Self::Throttled(s) => *s,
            Self::UnknownProperty { .. }
            | Self::BadQuery(_)
            | Self::UnsupportedFilter { .. }
            | Self::ExpiredPageToken
            | Self::UnknownSegment(_)
            | Self::InvalidVersion(_) => 400,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::TokenEmpty | Self::TokenInvalid | Self::TokenExpired => {
                "InvalidAuthenticationToken"
            }
            Self::NotFound(_) => "Request_ResourceNotFound",
            Self::UnknownProperty { .. } | Self::BadQuery(_) | Self::MethodNotAllowed => {
                "Request_BadRequest"
            }
            Self::UnsupportedFilter { .. } => "Request_UnsupportedQuery",
            Self::ExpiredPageToken => "Directory_ExpiredPageToken",
            Self::UnknownSegment(_) | Self::InvalidVersion(_) => "BadRequest",
            Self::Throttled(429) => "TooManyRequests",
            Self::Throttled(503) => "serviceNotAvailable",
            Self::Throttled(_) => "generalException",
        }
    }
}
