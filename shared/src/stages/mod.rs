//! What each function does, written once for Lambda and local mode alike. A stage takes the
//! ports it needs and a parsed input, and returns a result the handler maps to its transport.

pub mod admin;
pub mod app_lease;
pub mod approval_callback;
pub mod approval_request;
pub mod approve;
pub mod batch;
pub mod breaker;
pub mod decide;
pub mod directory;
pub mod enrich;
pub mod error;
pub mod execute;
pub mod group_change;
pub mod identity;
pub mod inbound_secrets;
pub mod intake;
pub mod intent;
pub mod lanes;
pub mod membership;
pub mod observed;
pub mod policy_repo;
pub mod population;
pub mod queue_once;
pub mod reclaim;
pub mod recommendations;
pub mod refusal_sampler;
pub mod resync;
pub mod shards;
pub mod source_lookup;
pub mod suggestions;
pub mod sweep;

pub use error::StageError;

use crate::config::Settings;
use crate::domain::AuditRecord;
use crate::ports::{AuditLog, Clock, Queue, Secrets, StateStore};
use std::sync::Arc;

/// The ports every stage shares; built once per Lambda instance or once in local mode.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn StateStore>,
    pub audit: Arc<dyn AuditLog>,
    pub queue: Arc<dyn Queue>,
    pub secrets: Arc<dyn Secrets>,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
}

impl Services {
    /// Appends an audit record; a stage that cannot audit does not proceed.
    pub async fn audit(&self, record: AuditRecord) -> Result<(), StageError> {
        self.audit.append(&record).await.map_err(StageError::from)
    }
}
