//! How a reclamation run or a "keep it" click failed.

use crate::ports::{AuditError, StoreError};
use crate::stages::StageError;
use crate::usage::UsageError;

#[derive(Debug, thiserror::Error)]
pub enum ReclaimError {
    #[error(transparent)]
    Stage(#[from] StageError),
    #[error("usage: {0}")]
    Usage(#[from] UsageError),
    #[error("the active catalog cannot be read: {0}")]
    Catalog(String),
    /// A task the scan split its reads over panicked or was cancelled.
    #[error("a reclamation read task failed")]
    Task(#[from] tokio::task::JoinError),
}

impl From<StoreError> for ReclaimError {
    fn from(e: StoreError) -> Self {
        ReclaimError::Stage(e.into())
    }
}

impl From<AuditError> for ReclaimError {
    fn from(e: AuditError) -> Self {
        ReclaimError::Stage(e.into())
    }
}

impl From<ReclaimError> for StageError {
    fn from(e: ReclaimError) -> Self {
        match e {
            ReclaimError::Stage(s) => s,
            ReclaimError::Usage(u) if u.is_retryable() => StageError::Retryable(u.to_string()),
            other => StageError::Permanent(other.to_string()),
        }
    }
}
