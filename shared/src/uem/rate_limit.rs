//! One token bucket per tenant, kept in the state store so that every concurrent Lambda draws
//! from the same budget. Updates are compare-and-swap on the item's version; waiting goes
//! through the `Clock`, so benchmarks on simulated time do not wait for real.

use super::port::UemError;
use crate::deadline;
use crate::ports::{Clock, Condition, StateStore};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

pub const RATE_PK: &str = "uem#rate";

/// Tokens one compare-and-swap takes when the bucket has a surplus: a sweep's burst of reads
/// then costs one store write per block, not one per call.
const BLOCK: u32 = 8;
/// How long a process may spend the tokens of its block. Short, so that tokens a process no
/// longer needs are not kept from the others for long, and so that a block cannot carry calls
/// far past a `Retry-After` another process recorded.
const HOLD_MS: i64 = 2_000;

/// Tokens this process took from the shared bucket and has not spent yet.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    tokens: u32,
    /// Unix milliseconds after which they are no longer spent.
    until_ms: i64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct BucketState {
    tokens: f64,
    /// Unix milliseconds of the last refill.
    at_ms: i64,
    /// A `Retry-After` announced by UEM: nobody calls before this (unix milliseconds).
    #[serde(default)]
    paused_until_ms: Option<i64>,
}

/// How full a bucket that nobody has used yet starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialFill {
    /// A minute's budget at once (a tenant nobody else calls).
    Full,
    /// Nothing: the first calls are spaced from the start (a tenant already in use).
    Empty,
}

pub struct RateLimiter {
    store: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    tenant: String,
    per_minute: u32,
    initial: InitialFill,
    /// The bucket as this process last wrote it, with its version. A call first tries its
    /// compare-and-swap on it, so a process that is the only one calling spends one round trip
    /// per call, not a read and a write; a stale copy fails the swap and is read afresh.
    last_written: std::sync::Mutex<Option<(BucketState, u64)>>,
    held: std::sync::Mutex<Held>,
    /// One caller of this process at a time goes to the store: callers side by side would
    /// otherwise race one another's compare-and-swaps, each loser paying a read and a retry,
    /// where the winner's block would have served them all.
    to_store: tokio::sync::Mutex<()>,
}

fn store_err(e: crate::ports::StoreError) -> UemError {
    UemError::Transport(format!("state store (UEM rate limiter): {e}"))
}

impl RateLimiter {
    pub fn new(
        store: Arc<dyn StateStore>,
        clock: Arc<dyn Clock>,
        tenant: String,
        per_minute: u32,
    ) -> Self {
        Self {
            store,
            clock,
            tenant,
            per_minute,
            initial: InitialFill::Full,
            last_written: std::sync::Mutex::new(None),
            held: std::sync::Mutex::new(Held::default()),
            to_store: tokio::sync::Mutex::new(()),
        }
    }

    /// No budget to keep (`per_minute` 0): callers pace themselves.
    pub fn is_unlimited(&self) -> bool {
        self.per_minute == 0
    }

    pub fn with_initial_fill(mut self, fill: InitialFill) -> Self {
        self.initial = fill;
        self
    }

    fn fresh(&self, now: i64) -> BucketState {
        BucketState {
            tokens: match self.initial {
                InitialFill::Full => f64::from(self.per_minute),
                InitialFill::Empty => 0.0,
            },
            at_ms: now,
            paused_until_ms: None,
        }
    }

    async fn read(&self, now: i64) -> Result<(BucketState, Condition), UemError> {
        let current = self
            .store
            .get(RATE_PK, &self.tenant)
            .await
            .map_err(store_err)?;
        Ok(match &current {
            Some(item) => (
                serde_json::from_value::<BucketState>(item.data.clone())
                    .unwrap_or_else(|_| self.fresh(now)),
                Condition::Version(item.version),
            ),
            None => (self.fresh(now), Condition::NotExists),
        })
    }

    async fn write(&self, state: BucketState, condition: Condition) -> Result<bool, UemError> {
        let data = serde_json::to_value(state)
            .map_err(|e| UemError::Transport(format!("rate limiter state: {e}")))?;
        let written = match self
            .store
            .put(RATE_PK, &self.tenant, data, None, condition)
            .await
        {
            Ok(version) => Some(version),
            // Someone else changed the bucket in between: read again.
            Err(e) if e.is_condition_failed() => None,
            Err(e) => return Err(store_err(e)),
        };
        self.remember(written.map(|version| (state, version)));
        Ok(written.is_some())
    }

    fn remember(&self, known: Option<(BucketState, u64)>) {
        if let Ok(mut last) = self.last_written.lock() {
            *last = known;
        }
    }

    /// Spends a token of this process's block, if it holds one still valid.
    fn spend_held(&self, now: i64) -> bool {
        let Ok(mut held) = self.held.lock() else {
            return false;
        };
        if held.tokens > 0 && now < held.until_ms {
            held.tokens -= 1;
            return true;
        }
        *held = Held::default();
        false
    }

    fn hold(&self, tokens: u32, now: i64) {
        if let Ok(mut held) = self.held.lock() {
            *held = Held {
                tokens,
                until_ms: now.saturating_add(HOLD_MS),
            };
        }
    }

    /// The bucket as last written here, else as stored.
    async fn current(&self, now: i64) -> Result<(BucketState, Condition), UemError> {
        let known = self
            .last_written
            .lock()
            .ok()
            .and_then(|mut last| last.take());
        match known {
            Some((state, version)) => Ok((state, Condition::Version(version))),
            None => self.read(now).await,
        }
    }

    /// Waits until one request may be made, and takes it. A `per_minute` of 0 means unlimited.
    /// A wait that would outlast the invocation's deadline is not started: the call fails with
    /// `OutOfTime` so that the work goes back to its queue instead of dying mid-wait.
    pub async fn acquire(&self) -> Result<(), UemError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_ms = capacity / 60_000.0;
        let mut first = true;
        loop {
            // Held for one look at the store, not across a wait: a caller queued behind a
            // sleeper could not tell that its invocation has no time left for the wait.
            let turn = self.to_store.lock().await;
            let now = self.clock.now().timestamp_millis();
            // A token of this process's block, perhaps taken by the caller before this one.
            if self.spend_held(now) {
                return Ok(());
            }
            // The copy is tried once, right away; after a wait or a lost swap, the store's.
            let (state, condition) = if std::mem::take(&mut first) {
                self.current(now).await?
            } else {
                self.read(now).await?
            };
            let wait_ms = match state.paused_until_ms {
                Some(until) if until > now => (until - now) as u64,
                _ => {
                    let elapsed = (now - state.at_ms).max(0) as f64;
                    let tokens = (state.tokens + elapsed * per_ms).min(capacity);
                    if tokens >= 1.0 {
                        // A block only from a surplus: near the limit every call still takes
                        // one token, so a busy tenant's pacing is unchanged.
                        let take = if tokens >= f64::from(2 * BLOCK) {
                            BLOCK
                        } else {
                            1
                        };
                        let next = BucketState {
                            tokens: tokens - f64::from(take),
                            at_ms: now.max(state.at_ms),
                            paused_until_ms: None,
                        };
                        if self.write(next, condition).await? {
                            self.hold(take - 1, now);
                            return Ok(());
                        }
                        continue;
                    }
                    if matches!(condition, Condition::NotExists) {
                        // An empty bucket nobody recorded yet: record when it started filling,
                        // or every look would start it afresh and it would never fill.
                        self.write(state, condition).await?;
                        continue;
                    }
                    ((1.0 - tokens) / per_ms).ceil().max(1.0) as u64
                }
            };
            drop(turn);
            let wait = Duration::from_millis(wait_ms);
            if !deadline::allows(self.clock.now(), wait) {
                return Err(UemError::OutOfTime { needed: wait });
            }
            self.clock.sleep(wait).await;
        }
    }

    /// UEM said `Retry-After`: nobody calls for `pause`, and the bucket starts empty after it, so
    /// that the callers waiting for the pause do not burst into the next window together.
    pub async fn pause_for(&self, pause: Duration) -> Result<(), UemError> {
        if self.per_minute == 0 {
            // Unlimited callers still honour the pause, just without a shared record of it.
            return Ok(());
        }
        let pause_ms = i64::try_from(pause.as_millis()).unwrap_or(i64::MAX);
        // UEM refused a call: the rest of this process's block is not spent either.
        self.hold(0, 0);
        loop {
            let now = self.clock.now().timestamp_millis();
            let (state, condition) = self.read(now).await?;
            let until = now.saturating_add(pause_ms);
            if state.paused_until_ms.is_some_and(|p| p >= until) {
                return Ok(());
            }
            let next = BucketState {
                tokens: 0.0,
                at_ms: until,
                paused_until_ms: Some(until),
            };
            if self.write(next, condition).await? {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::local::{LocalDb, SqliteStateStore};
    use crate::ports::counting_store::CountingStore;
    use crate::ports::{ManualClock, TokioClock};

    fn memory_store() -> Arc<SqliteStateStore> {
        Arc::new(SqliteStateStore::new(
            LocalDb::in_memory().expect("in-memory database"),
            Arc::new(crate::ports::SystemClock),
        ))
    }

    fn limiter(store: &Arc<SqliteStateStore>, clock: Arc<dyn Clock>, rpm: u32) -> RateLimiter {
        RateLimiter::new(store.clone(), clock, "tenant-a".into(), rpm)
    }

    #[tokio::test]
    async fn a_full_bucket_is_spent_at_once_then_calls_are_spaced() {
        let start = chrono::Utc::now();
        let clock = ManualClock::at(start);
        let store = memory_store();
        let l = limiter(&store, Arc::new(clock.clone()), 6);
        for _ in 0..6 {
            l.acquire().await.unwrap();
        }
        assert_eq!(
            clock.now(),
            start,
            "the first minute's budget needs no wait"
        );
        l.acquire().await.unwrap();
        assert_eq!(
            (clock.now() - start).num_seconds(),
            10,
            "then one every 10 s"
        );
        let item = store.get(RATE_PK, "tenant-a").await.unwrap().unwrap();
        assert_eq!(item.version, 7, "one compare-and-swap write per call");
    }

    #[tokio::test]
    async fn a_caller_alone_swaps_on_its_own_copy_and_a_stale_copy_is_read_afresh() {
        let start = chrono::Utc::now();
        let clock = ManualClock::at(start);
        let store = Arc::new(CountingStore::new(memory_store()));
        let l = RateLimiter::new(store.clone(), Arc::new(clock.clone()), "tenant-a".into(), 6);
        for _ in 0..6 {
            l.acquire().await.unwrap();
        }
        assert_eq!(
            store.gets(),
            1,
            "one read for the first call, then each call is one write"
        );
        // Another process takes a token: this one's copy is stale, its swap fails, it reads.
        let other = RateLimiter::new(store.clone(), Arc::new(clock.clone()), "tenant-a".into(), 6);
        clock.advance(Duration::from_secs(20));
        other.acquire().await.unwrap();
        l.acquire().await.unwrap();
        assert_eq!(
            (clock.now() - start).num_seconds(),
            20,
            "20 s refilled two tokens: both calls go without a wait"
        );
        l.acquire().await.unwrap();
        assert_eq!(
            (clock.now() - start).num_seconds(),
            30,
            "the budget both drew from is spent: the next call waits its 10 s"
        );
        let item = store.inner.get(RATE_PK, "tenant-a").await.unwrap().unwrap();
        assert_eq!(item.version, 9, "nine tokens taken, one write each");
    }

    #[tokio::test]
    async fn a_surplus_is_taken_in_blocks_and_a_nearly_spent_bucket_one_token_at_a_time() {
        let start = chrono::Utc::now();
        let clock = ManualClock::at(start);
        let store = memory_store();
        let l = limiter(&store, Arc::new(clock.clone()), 120);
        for _ in 0..40 {
            l.acquire().await.unwrap();
        }
        let item = store.get(RATE_PK, "tenant-a").await.unwrap().unwrap();
        assert_eq!(
            item.version, 5,
            "40 calls from a full bucket: five blocks of 8"
        );
        for _ in 40..120 {
            l.acquire().await.unwrap();
        }
        assert_eq!(clock.now(), start, "the minute's budget needed no wait");
        let item = store.get(RATE_PK, "tenant-a").await.unwrap().unwrap();
        assert_eq!(
            item.version, 22,
            "14 blocks while 16 or more were left, then the last 8 one at a time"
        );
        l.acquire().await.unwrap();
        assert_eq!(
            (clock.now() - start).num_milliseconds(),
            500,
            "blocks took no more than the bucket held: the 121st call waits for a token"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_side_by_side_in_one_process_share_its_blocks() {
        let clock = ManualClock::at(chrono::Utc::now());
        let store = Arc::new(CountingStore::new(memory_store()));
        let l = Arc::new(RateLimiter::new(
            store.clone(),
            Arc::new(clock.clone()),
            "tenant-a".into(),
            120,
        ));
        let callers: Vec<_> = (0..4)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move {
                    for _ in 0..10 {
                        l.acquire().await.unwrap();
                    }
                })
            })
            .collect();
        for c in callers {
            c.await.unwrap();
        }
        let item = store.inner.get(RATE_PK, "tenant-a").await.unwrap().unwrap();
        assert_eq!(item.version, 5, "40 calls, five blocks of 8: no lost swaps");
        assert_eq!(store.gets(), 1, "one read, for the first block");
    }

    #[tokio::test]
    async fn a_block_not_spent_in_time_goes_back_to_the_store() {
        let start = chrono::Utc::now();
        let clock = ManualClock::at(start);
        let store = memory_store();
        let l = limiter(&store, Arc::new(clock.clone()), 120);
        l.acquire().await.unwrap();
        l.acquire().await.unwrap();
        let item = store.get(RATE_PK, "tenant-a").await.unwrap().unwrap();
        assert_eq!(
            item.version, 1,
            "the second call spent the block's second token"
        );
        clock.advance(Duration::from_millis(u64::try_from(HOLD_MS).unwrap()));
        l.acquire().await.unwrap();
        let item = store.get(RATE_PK, "tenant-a").await.unwrap().unwrap();
        assert_eq!(
            item.version, 2,
            "the block's six other tokens lapsed: the call took a token from the store"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_budget() {
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(chrono::Utc::now()));
        let store = memory_store();
        let started = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let l = limiter(&store, clock.clone(), 6);
            tasks.push(tokio::spawn(async move {
                for _ in 0..6 {
                    l.acquire().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let waited = started.elapsed().as_secs();
        assert!(
            (60..62).contains(&waited),
            "12 calls at 6/min with a burst of 6 take a minute, took {waited}s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_bucket_fills_at_the_rate_from_the_first_call() {
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(chrono::Utc::now()));
        let store = memory_store();
        let l = limiter(&store, clock, 6).with_initial_fill(InitialFill::Empty);
        let started = tokio::time::Instant::now();
        for _ in 0..3 {
            l.acquire().await.unwrap();
        }
        let waited = started.elapsed().as_secs();
        assert!(
            (30..32).contains(&waited),
            "3 calls at 6/min from an empty bucket take 30 s, took {waited}s"
        );
    }

    #[tokio::test]
    async fn a_retry_after_pauses_every_caller_of_the_tenant() {
        // Two clients (two functions, two instances) share the tenant's budget through the store.
        let start = chrono::Utc::now();
        let clock = ManualClock::at(start);
        let store = memory_store();
        let throttled = limiter(&store, Arc::new(clock.clone()), 120);
        let other = limiter(&store, Arc::new(clock.clone()), 120);
        throttled.acquire().await.unwrap();
        // UEM answered the first one 429 with Retry-After: 30.
        throttled.pause_for(Duration::from_secs(30)).await.unwrap();
        other.acquire().await.unwrap();
        assert!(
            clock.now() - start >= chrono::Duration::seconds(30),
            "the other caller waited out the announced window: {}",
            clock.now() - start
        );
    }

    #[tokio::test]
    async fn a_retry_after_drops_the_rest_of_the_callers_block() {
        let start = chrono::Utc::now();
        let clock = ManualClock::at(start);
        let store = memory_store();
        let throttled = limiter(&store, Arc::new(clock.clone()), 120);
        // The first call took a block of 8 from the full bucket; UEM answered it 429.
        throttled.acquire().await.unwrap();
        throttled.pause_for(Duration::from_secs(30)).await.unwrap();
        throttled.acquire().await.unwrap();
        assert!(
            clock.now() - start >= chrono::Duration::seconds(30),
            "the tokens left in the block were not spent inside the window: {}",
            clock.now() - start
        );
    }

    #[tokio::test]
    async fn a_wait_the_invocation_has_no_time_for_is_refused_as_out_of_time() {
        let start = chrono::Utc::now();
        let clock = ManualClock::at(start);
        let store = memory_store();
        let l = limiter(&store, Arc::new(clock.clone()), 120);
        l.pause_for(Duration::from_secs(60)).await.unwrap();
        // Ten seconds left in the invocation: waiting a minute would die mid-wait.
        let deadline = start + chrono::Duration::seconds(10);
        let err = deadline::within(deadline, l.acquire())
            .await
            .expect_err("no time to wait");
        assert!(
            matches!(err, UemError::OutOfTime { .. }),
            "handed back as retryable work, not waited: {err:?}"
        );
        assert_eq!(clock.now(), start, "nothing was slept");
    }

    #[tokio::test]
    async fn zero_means_unlimited_and_touches_no_state() {
        let store = memory_store();
        let l = limiter(&store, Arc::new(ManualClock::at(chrono::Utc::now())), 0);
        for _ in 0..100 {
            l.acquire().await.unwrap();
        }
        assert!(store.get(RATE_PK, "tenant-a").await.unwrap().is_none());
    }
}
