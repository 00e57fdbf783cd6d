//! The lease that makes one worker at a time the writer of an app's groups and assignment. UEM
//! replaces a smart group or an app's assignment rules whole on every write, so two writers would
//! lose each other's changes. The lease is a conditional item in the state store with an expiry;
//! its holder renews it (a compare-and-swap on its version) right before every UEM write, so a
//! holder that lost it (it expired while the holder stalled, and someone else took it) finds out
//! before writing, not after. Each write runs under a deadline inside the renewed lease
//! ([`AppLease::fenced`]): its retries and waits give up before the lease could expire, wherever
//! it runs (a Lambda invocation has its own, earlier deadline; the sweeper, `loadout sweep` and
//! local mode have none of their own), so nobody can take the lease over while its holder's write
//! is still on the wire.

use super::StageError;
use crate::domain::AppId;
use crate::keys;
use crate::ports::{Clock, Condition, StateStore, StateStoreExt};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// The longest one HTTP attempt of a UEM call may take (the client's request timeout) plus the
/// deadline's safety margin: an attempt started just before a write's deadline still ends
/// inside the lease.
const WRITE_ATTEMPT: Duration = Duration::from_secs(45);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    owner: String,
}

pub struct AppLease<'a> {
    store: &'a dyn StateStore,
    clock: &'a dyn Clock,
    app: AppId,
    owner: String,
    ttl: Duration,
    version: Mutex<u64>,
}

impl<'a> AppLease<'a> {
    /// Takes the app's lease if nobody holds it (an expired lease counts as free).
    pub async fn try_take(
        store: &'a dyn StateStore,
        clock: &'a dyn Clock,
        app: &AppId,
        ttl: Duration,
    ) -> Result<Option<AppLease<'a>>, StageError> {
        let (pk, sk) = keys::app_lease(app);
        let owner = uuid::Uuid::new_v4().to_string();
        let expires = clock.now().timestamp() + ttl.as_secs().max(1) as i64;
        match store
            .put_as(
                &pk,
                &sk,
                &Holder {
                    owner: owner.clone(),
                },
                Some(expires),
                Condition::NotExists,
            )
            .await
        {
            Ok(version) => Ok(Some(AppLease {
                store,
                clock,
                app: app.clone(),
                owner,
                ttl,
                version: Mutex::new(version),
            })),
            Err(e) if e.is_condition_failed() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn app(&self) -> &AppId {
        &self.app
    }

    /// Extends the lease, proving it is still ours: call right before every UEM write.
    pub async fn fence(&self) -> Result<(), StageError> {
        let (pk, sk) = keys::app_lease(&self.app);
        let version = *self.version.lock().unwrap_or_else(|p| p.into_inner());
        let expires = self.clock.now().timestamp() + self.ttl.as_secs().max(1) as i64;
        match self
            .store
            .put_as(
                &pk,
                &sk,
                &Holder {
                    owner: self.owner.clone(),
                },
                Some(expires),
                Condition::Version(version),
            )
            .await
        {
            Ok(next) => {
                *self.version.lock().unwrap_or_else(|p| p.into_inner()) = next;
                Ok(())
            }
            Err(e) if e.is_condition_failed() => Err(StageError::Retryable(format!(
                "lost the lease on {} (it expired and another worker took it); stopping before writing",
                self.app
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Renews the lease (an error if it was lost) and runs `write` with a deadline that ends
    /// before the renewed lease could expire, less the longest single attempt of a UEM call, so
    /// no retry of it is still in flight when another worker could take the lease.
    pub async fn fenced<F: std::future::Future>(&self, write: F) -> Result<F::Output, StageError> {
        self.fence().await?;
        Ok(crate::deadline::within(self.clock.now() + self.write_window(), write).await)
    }

    /// How long a write may take inside a freshly renewed lease.
    fn write_window(&self) -> chrono::Duration {
        let window = if self.ttl > WRITE_ATTEMPT * 2 {
            self.ttl - WRITE_ATTEMPT
        } else {
            self.ttl / 2
        };
        chrono::Duration::from_std(window).unwrap_or_else(|_| chrono::Duration::seconds(60))
    }

    /// Gives the lease back (unless it was lost: then it is not ours to delete).
    pub async fn release(self) {
        let (pk, sk) = keys::app_lease(&self.app);
        let version = *self.version.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self
            .store
            .delete(&pk, &sk, Condition::Version(version))
            .await
        {
            tracing::debug!(app = %self.app, error = %e, "app lease not released; it expires by itself");
        }
    }
}

/// Drops every app lease. Only for a process that knows it is the sole executor of its store
/// (local mode at start-up): any lease found then belongs to a process that died.
pub async fn clear_all(store: &dyn StateStore) -> Result<usize, StageError> {
    let (pk, _) = keys::app_lease(&AppId::new(""));
    let leases = store.query(&pk, "").await?;
    for lease in &leases {
        store.delete(&lease.pk, &lease.sk, Condition::None).await?;
    }
    Ok(leases.len())
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::adapters::local::{LocalDb, SqliteStateStore};
    use crate::ports::ManualClock;
    use std::sync::Arc;

    #[tokio::test]
    async fn one_holder_at_a_time_and_a_lost_lease_stops_its_writer() {
        let clock = ManualClock::at(chrono::Utc::now());
        let store =
            SqliteStateStore::new(LocalDb::in_memory().expect("db"), Arc::new(clock.clone()));
        let app = AppId::new("slack");
        let ttl = Duration::from_secs(60);
        let first = AppLease::try_take(&store, &clock, &app, ttl)
            .await
            .unwrap()
            .expect("free");
        assert!(
            AppLease::try_take(&store, &clock, &app, ttl)
                .await
                .unwrap()
                .is_none()
        );
        first.fence().await.expect("still ours");
        // The holder stalls past the lease; another worker takes over.
        clock.advance(Duration::from_secs(61));
        let second = AppLease::try_take(&store, &clock, &app, ttl)
            .await
            .unwrap()
            .expect("expired: free");
        let err = first.fence().await.expect_err("fenced off");
        assert!(!err.is_permanent() && err.to_string().contains("lost the lease"));
        first.release().await;
        second.fence().await.expect("the new holder keeps it");
        // A write runs with a deadline inside the renewed lease, whatever deadline the caller had.
        let window = second
            .fenced(async { crate::deadline::remaining(clock.now()) })
            .await
            .expect("ours")
            .expect("a deadline");
        assert!(
            window < ttl && window >= ttl / 4,
            "the write must end before the lease could: {window:?} of {ttl:?}"
        );
        let outer = clock.now() + chrono::Duration::seconds(10);
        let nested =
            crate::deadline::within(outer, second.fenced(async { crate::deadline::current() }))
                .await
                .expect("ours");
        assert_eq!(
            nested,
            Some(outer),
            "an earlier deadline of the caller stays in force"
        );
        second.release().await;
        assert!(
            AppLease::try_take(&store, &clock, &app, ttl)
                .await
                .unwrap()
                .is_some()
        );
    }
}
