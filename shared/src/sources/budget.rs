//! The enricher's own budget of directory reads: a token bucket per source in the state store
//! (`keys::DIRECTORY_RATE_PK`, `sk` = the source), apart from UEM's, so that a group change
//! fanned out to thousands of members reads the directory at a bounded rate and leaves UEM's
//! budget to the executor. One token is one read of the port (a person with their manager and
//! groups, or one page of a group's members).

use super::{DirectorySource, MembersPage, SourceError, SourceUser};
use crate::domain::EventSource;
use crate::keys::DIRECTORY_RATE_PK;
use crate::ports::{Clock, StateStore};
use crate::token_bucket::{BucketError, TokenBucket};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// A read waits at most this long for a token; longer, and the event goes back on the queue
/// (a retryable failure) instead of holding the invocation.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// How reads of every source are budgeted.
#[derive(Clone)]
pub struct ReadBudget {
    store: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    per_minute: u32,
}

impl ReadBudget {
    /// `per_minute` reads a minute per source (`LOADOUT_DIRECTORY_REQUESTS_PER_MINUTE`; 0:
    /// unlimited).
    pub fn new(store: Arc<dyn StateStore>, clock: Arc<dyn Clock>, per_minute: u32) -> Self {
        Self {
            store,
            clock,
            per_minute,
        }
    }

    /// `reader` with every read drawing from its source's bucket first.
    pub(super) fn wrap(&self, reader: Arc<dyn DirectorySource>) -> Arc<dyn DirectorySource> {
        let bucket = TokenBucket::new(
            self.store.clone(),
            self.clock.clone(),
            DIRECTORY_RATE_PK,
            reader.source().as_str(),
            self.per_minute,
        );
        Arc::new(Budgeted { reader, bucket })
    }
}

struct Budgeted {
    reader: Arc<dyn DirectorySource>,
    bucket: TokenBucket,
}

impl Budgeted {
    async fn spend(&self) -> Result<(), SourceError> {
        let source_name = self.reader.source().as_str();
        self.bucket.take(MAX_WAIT).await.map_err(|e| match e {
            BucketError::Exhausted(wait) => SourceError::Unavailable {
                source_name,
                // Loadout's own budget, not the source's answer: "too many requests".
                status: 429,
                retry_after: Some(wait),
            },
            other => SourceError::Transport {
                source_name,
                detail: format!("read budget: {other}"),
            },
        })
    }
}

#[async_trait]
impl DirectorySource for Budgeted {
    fn source(&self) -> EventSource {
        self.reader.source()
    }

    async fn user(&self, external_id: &str) -> Result<Option<SourceUser>, SourceError> {
        self.spend().await?;
        self.reader.user(external_id).await
    }

    async fn group_members(&self, group_id: &str) -> Result<Option<Vec<String>>, SourceError> {
        self.spend().await?;
        self.reader.group_members(group_id).await
    }

    async fn group_members_page(
        &self,
        group_id: &str,
        cursor: Option<&str>,
    ) -> Result<Option<MembersPage>, SourceError> {
        self.spend().await?;
        self.reader.group_members_page(group_id, cursor).await
    }
}
