//! How a stage failed: worth retrying, or never going to succeed (dead-letter it with the reason).

use crate::ports::{AuditError, QueueError, SecretsError, StoreError};
use crate::uem::UemError;

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A dependency failed in a way that may pass (throttling, outage, contention).
    #[error("temporary failure: {0}")]
    Retryable(String),
    /// The message itself cannot succeed (bad payload, unknown user, unknown app).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl StageError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, StageError::Permanent(_))
    }
}

impl From<StoreError> for StageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Decode { .. } | StoreError::Encode(_) => {
                StageError::Permanent(e.to_string())
            }
            _ => StageError::Retryable(e.to_string()),
        }
    }
}

impl From<AuditError> for StageError {
    fn from(e: AuditError) -> Self {
        StageError::Retryable(format!("audit: {e}"))
    }
}

impl From<QueueError> for StageError {
    fn from(e: QueueError) -> Self {
        StageError::Retryable(format!("queue: {e}"))
    }
}

impl From<SecretsError> for StageError {
    fn from(e: SecretsError) -> Self {
        StageError::Retryable(format!("secrets: {e}"))
    }
}

impl From<UemError> for StageError {
    fn from(e: UemError) -> Self {
        if e.is_retryable() {
            StageError::Retryable(format!("UEM: {e}"))
        } else {
            StageError::Permanent(format!("UEM: {e}"))
        }
    }
}

impl From<crate::sources::SourceError> for StageError {
    fn from(e: crate::sources::SourceError) -> Self {
        if e.is_retryable() {
            StageError::Retryable(e.to_string())
        } else {
            StageError::Permanent(e.to_string())
        }
    }
}
