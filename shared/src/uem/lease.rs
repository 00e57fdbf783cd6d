//! Short leases in the state store around UEM read-modify-writes. A smart group or an app's
//! assignment rules are replaced whole by PUT, so two callers changing the same one at once
//! would lose one change; holding a lease per object makes them take turns, across Lambdas.

use super::client::UemClient;
use super::port::UemError;
use crate::ports::Condition;
use serde_json::json;
use std::time::Duration;

pub const LEASE_PK: &str = "uem#lease";

/// How often a waiting caller looks again.
const POLL: Duration = Duration::from_millis(200);

pub(crate) struct Lease {
    key: String,
    version: u64,
}

impl UemClient {
    /// Takes the lease on `object` (e.g. `smartgroup#42`), waiting up to the lease's lifetime for
    /// a holder to finish (a crashed holder's lease expires).
    pub(crate) async fn lease(&self, object: &str) -> Result<Lease, UemError> {
        let key = format!("{}#{object}", self.config.tenant_key());
        let ttl = self.config.lease_ttl;
        let owner = uuid::Uuid::new_v4().to_string();
        let mut waited = Duration::ZERO;
        loop {
            let expires = self.clock.now().timestamp() + ttl.as_secs().max(1) as i64;
            match self
                .store
                .put(
                    LEASE_PK,
                    &key,
                    json!({ "owner": owner }),
                    Some(expires),
                    Condition::NotExists,
                )
                .await
            {
                Ok(version) => return Ok(Lease { key, version }),
                Err(e) if e.is_condition_failed() => {}
                Err(e) => {
                    return Err(UemError::Transport(format!(
                        "state store (UEM lease on {object}): {e}"
                    )));
                }
            }
            if waited > ttl {
                return Err(UemError::Transport(format!(
                    "{object} is being changed by another caller; try again"
                )));
            }
            self.clock.sleep(POLL).await;
            waited += POLL;
        }
    }

    pub(crate) async fn release(&self, lease: Lease) {
        // A lease that expired and was taken over is not ours to delete: the condition says so.
        if let Err(e) = self
            .store
            .delete(LEASE_PK, &lease.key, Condition::Version(lease.version))
            .await
        {
            tracing::debug!(key = %lease.key, error = %e, "UEM lease not released");
        }
    }
}
