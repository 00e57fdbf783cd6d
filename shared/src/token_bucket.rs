//! A token bucket kept in the state store, so that every instance drawing from it shares one
//! budget: `per_minute` tokens a minute, a full minute's worth at most. Taking a token is a
//! compare-and-swap of one item; waiting goes through the `Clock` (simulated time in tests and
//! benchmarks). Unlike UEM's limiter (`uem::RateLimiter`), a caller says how long it may wait:
//! past that it gets `Exhausted` with the wait, to put its work back on its queue instead of
//! spending its invocation asleep.

use crate::ports::{Clock, Condition, StateStore, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    #[error("the budget is spent; the next token comes in {0:?}")]
    Exhausted(Duration),
    #[error("state store (token bucket): {0}")]
    Store(#[from] StoreError),
    #[error("token bucket state: {0}")]
    Encode(String),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct State {
    tokens: f64,
    /// Unix milliseconds of the last refill.
    at_ms: i64,
}

pub struct TokenBucket {
    store: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    pk: &'static str,
    sk: String,
    per_minute: u32,
}

impl TokenBucket {
    /// The bucket kept at `(pk, sk)`. A `per_minute` of 0 means unlimited (nothing is stored).
    pub fn new(
        store: Arc<dyn StateStore>,
        clock: Arc<dyn Clock>,
        pk: &'static str,
        sk: impl Into<String>,
        per_minute: u32,
    ) -> Self {
        Self {
            store,
            clock,
            pk,
            sk: sk.into(),
            per_minute,
        }
    }

    /// Takes one token, waiting for it up to `max_wait` in all.
    pub async fn take(&self, max_wait: Duration) -> Result<(), BucketError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_ms = capacity / 60_000.0;
        let mut waited = Duration::ZERO;
        loop {
            let now = self.clock.now().timestamp_millis();
            let current = self.store.get(self.pk, &self.sk).await?;
            let fresh = State {
                tokens: capacity,
                at_ms: now,
            };
            let (state, condition) = match &current {
                Some(item) => (
                    serde_json::from_value::<State>(item.data.clone()).unwrap_or(fresh),
                    Condition::Version(item.version),
                ),
                None => (fresh, Condition::NotExists),
            };
            let elapsed = now.saturating_sub(state.at_ms).max(0) as f64;
            let tokens = (state.tokens + elapsed * per_ms).min(capacity);
            if tokens >= 1.0 {
                let next = State {
                    tokens: tokens - 1.0,
                    at_ms: now.max(state.at_ms),
                };
                let data =
                    serde_json::to_value(next).map_err(|e| BucketError::Encode(e.to_string()))?;
                match self
                    .store
                    .put(self.pk, &self.sk, data, None, condition)
                    .await
                {
                    Ok(_) => return Ok(()),
                    // Someone else took a token in between: read again.
                    Err(e) if e.is_condition_failed() => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            let wait = Duration::from_millis(((1.0 - tokens) / per_ms).ceil().max(1.0) as u64);
            if waited + wait > max_wait {
                return Err(BucketError::Exhausted(wait));
            }
            self.clock.sleep(wait).await;
            waited += wait;
        }
    }
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::adapters::local::{LocalDb, SqliteStateStore};
    use crate::ports::ManualClock;

    fn bucket(clock: &ManualClock, per_minute: u32) -> TokenBucket {
        let clock: Arc<dyn Clock> = Arc::new(clock.clone());
        let store = Arc::new(SqliteStateStore::new(
            LocalDb::in_memory().expect("db"),
            clock.clone(),
        ));
        TokenBucket::new(store, clock, "test#rate", "a", per_minute)
    }

    #[tokio::test]
    async fn a_full_bucket_is_spent_then_calls_wait_their_turn() {
        let clock = ManualClock::at(chrono::Utc::now());
        let b = bucket(&clock, 6);
        let start = clock.now();
        for _ in 0..6 {
            b.take(Duration::ZERO).await.expect("a token");
        }
        assert_eq!(clock.now(), start);
        b.take(Duration::from_secs(60)).await.expect("after a wait");
        assert_eq!((clock.now() - start).num_seconds(), 10);
    }

    #[tokio::test]
    async fn a_wait_longer_than_allowed_is_exhausted_not_slept() {
        let clock = ManualClock::at(chrono::Utc::now());
        let b = bucket(&clock, 1);
        b.take(Duration::ZERO).await.expect("the first token");
        let start = clock.now();
        let err = b.take(Duration::from_secs(5)).await.expect_err("no token");
        assert!(matches!(err, BucketError::Exhausted(wait) if wait > Duration::from_secs(55)));
        assert_eq!(clock.now(), start, "did not sleep");
    }
}
