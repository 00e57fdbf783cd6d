//! The append-only audit trail: records are written once and never changed.

use crate::domain::{AppId, AuditRecord, CorrelationId, UserId};
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A record with this id exists already and differs (an identical repeat is accepted).
    #[error("audit record {0} exists already")]
    Conflict(String),
    #[error("audit record does not decode: {0}")]
    Decode(String),
    #[error("audit log unavailable: {0}")]
    Unavailable(String),
}

/// Which records to read, newest last. Exactly one of the keys is used, in this order of
/// preference: correlation id, user, app; with none, the most recent records.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub correlation_id: Option<CorrelationId>,
    pub user_id: Option<UserId>,
    pub app_id: Option<AppId>,
    pub limit: Option<usize>,
}

impl AuditQuery {
    pub fn correlation(id: &CorrelationId) -> Self {
        Self {
            correlation_id: Some(id.clone()),
            ..Self::default()
        }
    }

    pub fn user(id: &UserId) -> Self {
        Self {
            user_id: Some(id.clone()),
            ..Self::default()
        }
    }

    pub fn app(id: &AppId) -> Self {
        Self {
            app_id: Some(id.clone()),
            ..Self::default()
        }
    }
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends a record. Appending the identical record again is a no-op (redelivery); a different
    /// record under an existing id is a `Conflict`.
    async fn append(&self, record: &AuditRecord) -> Result<(), AuditError>;

    /// Records matching the query in time order (oldest first), at most `limit` of the newest.
    async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuditError>;
}
