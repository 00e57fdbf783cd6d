//! How reading or recording usage failed, and whether a later run can do better.

use crate::ports::StoreError;
use crate::sources::intelligence::IntelligenceError;
use crate::uem::UemError;

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("reading usage from Intelligence: {0}")]
    Intelligence(#[from] IntelligenceError),
    #[error("reading device apps from UEM: {0}")]
    Uem(#[from] UemError),
    #[error("{path}: {source}")]
    File {
        path: String,
        #[source]
        source: csv::Error,
    },
    #[error("{path} line {line}: {message}")]
    Invalid {
        path: String,
        line: u64,
        message: String,
    },
    #[error("usage records: {0}")]
    Store(#[from] StoreError),
    /// Another writer kept changing the same record.
    #[error("the usage record {0} is being changed concurrently")]
    Contended(String),
}

impl UsageError {
    pub fn is_retryable(&self) -> bool {
        match self {
            UsageError::Intelligence(e) => e.is_retryable(),
            UsageError::Uem(e) => e.is_retryable(),
            UsageError::Store(e) => matches!(e, StoreError::Unavailable(_)),
            UsageError::Contended(_) => true,
            UsageError::File { .. } | UsageError::Invalid { .. } => false,
        }
    }
}
