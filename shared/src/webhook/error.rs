//! Why an inbound request was refused, and how that maps to an HTTP answer.

use super::http::ApiResponse;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing credentials: {0}")]
    MissingCredentials(String),
    #[error("invalid credentials or signature")]
    BadSignature,
    #[error("timestamp outside the {tolerance_s}s replay window")]
    Stale { tolerance_s: i64 },
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("unsupported content type {0:?}; send application/json")]
    UnsupportedMediaType(String),
    #[error("body of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("{count} items in one request exceed the limit of {limit}; send smaller batches")]
    TooManyItems { count: usize, limit: usize },
    #[error("unknown event type {0:?}")]
    UnknownEventType(String),
    /// The sender's event id was used before for an event with other content: the first stands.
    #[error("event id {0:?} was used before for a different event; a new event needs a new id")]
    IdempotencyConflict(String),
    #[error("this endpoint is not configured: {0} is not set")]
    NotConfigured(&'static str),
    /// A secret is set but unusable (too short, not a key): the operator must fix it.
    #[error("this endpoint is not configured: {0}")]
    Misconfigured(#[from] super::secret::InvalidSecret),
}

impl WebhookError {
    /// The request did not prove who sent it (no or wrong credentials, a stale signature).
    pub fn is_authentication(&self) -> bool {
        matches!(
            self,
            WebhookError::MissingCredentials(_)
                | WebhookError::BadSignature
                | WebhookError::Stale { .. }
        )
    }

    /// A stable, machine-readable code for the error body and the audit record.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::MissingCredentials(_) => "missing_credentials",
            WebhookError::BadSignature => "invalid_signature",
            WebhookError::Stale { .. } => "stale_timestamp",
            WebhookError::Malformed(_) => "malformed_body",
            WebhookError::UnsupportedMediaType(_) => "unsupported_media_type",
            WebhookError::TooLarge { .. } => "payload_too_large",
            WebhookError::TooManyItems { .. } => "too_many_items",
            WebhookError::UnknownEventType(_) => "unknown_event_type",
            WebhookError::IdempotencyConflict(_) => "idempotency_key_conflict",
            WebhookError::NotConfigured(_) | WebhookError::Misconfigured(_) => "not_configured",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            WebhookError::MissingCredentials(_) | WebhookError::BadSignature => 401,
            WebhookError::Stale { .. } => 401,
            WebhookError::Malformed(_) | WebhookError::UnknownEventType(_) => 400,
            WebhookError::UnsupportedMediaType(_) => 415,
            WebhookError::IdempotencyConflict(_) => 409,
            WebhookError::TooLarge { .. } | WebhookError::TooManyItems { .. } => 413,
            // Our configuration, not the sender's input; the sender should retry later.
            WebhookError::NotConfigured(_) | WebhookError::Misconfigured(_) => 503,
        }
    }

    pub fn to_response(&self) -> ApiResponse {
        ApiResponse::error(self.status(), self.code(), self.to_string())
    }
}
