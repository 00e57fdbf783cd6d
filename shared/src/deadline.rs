//! The time an invocation has left, visible to every retry and wait loop below it.
//!
//! A Lambda invocation ends at a fixed deadline; local workers end a batch before its visibility
//! timeout runs out. Work that is still waiting (a backoff, a `Retry-After`, a lease held by
//! someone else, the rate budget) when that moment comes is not lost but wasted: the batch is
//! redelivered whole. So every loop that waits asks [`remaining`] first and gives the work back
//! (a retryable error, reported as a batch item failure) when the wait would not fit.
//!
//! The deadline travels as a task-local value set by the stage that received the batch
//! ([`within`]), so the UEM client, the rate limiter and the leases need no extra parameter. The
//! deadline is a point on the [`Clock`](crate::ports::Clock) in use, so benchmarks on simulated
//! time see simulated deadlines.

use chrono::{DateTime, Utc};
use std::future::Future;
use std::time::Duration;

tokio::task_local! {
    static DEADLINE: DateTime<Utc>;
}

/// How much earlier than the deadline work stops, to leave time to report the batch.
pub const SAFETY_MARGIN: Duration = Duration::from_secs(2);

/// Runs `work` with `deadline` visible to every [`remaining`] call inside it. A nested call keeps
/// the earlier of the two deadlines.
pub async fn within<F: Future>(deadline: DateTime<Utc>, work: F) -> F::Output {
    let effective = match DEADLINE.try_with(|d| *d) {
        Ok(outer) if outer < deadline => outer,
        _ => deadline,
    };
    DEADLINE.scope(effective, work).await
}

/// The deadline in force, if any (none outside a stage, e.g. in a CLI command).
pub fn current() -> Option<DateTime<Utc>> {
    DEADLINE.try_with(|d| *d).ok()
}

/// The time left before the deadline minus the safety margin, measured at `now`; `None` when no
/// deadline is in force (wait as long as needed).
pub fn remaining(now: DateTime<Utc>) -> Option<Duration> {
    let deadline = current()?;
    let margin = chrono::Duration::from_std(SAFETY_MARGIN).unwrap_or_default();
    Some((deadline - margin - now).to_std().unwrap_or(Duration::ZERO))
}

/// Whether a wait of `wait` starting at `now` still ends before the deadline (with the margin).
pub fn allows(now: DateTime<Utc>, wait: Duration) -> bool {
    remaining(now).is_none_or(|left| wait <= left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_deadline_everything_fits() {
        assert_eq!(remaining(Utc::now()), None);
        assert!(allows(Utc::now(), Duration::from_secs(3600)));
    }

    #[tokio::test]
    async fn a_wait_past_the_deadline_does_not_fit() {
        let now = Utc::now();
        within(now + chrono::Duration::seconds(10), async {
            assert!(allows(now, Duration::from_secs(7)));
            assert!(!allows(now, Duration::from_secs(9)), "the margin counts");
            assert_eq!(remaining(now), Some(Duration::from_secs(8)));
        })
        .await;
    }

    #[tokio::test]
    async fn a_nested_scope_keeps_the_earlier_deadline() {
        let now = Utc::now();
        within(now + chrono::Duration::seconds(10), async {
            within(now + chrono::Duration::seconds(60), async {
                assert_eq!(remaining(now), Some(Duration::from_secs(8)));
            })
            .await;
        })
        .await;
    }

    #[tokio::test]
    async fn a_passed_deadline_leaves_nothing() {
        let now = Utc::now();
        within(now - chrono::Duration::seconds(1), async {
            assert_eq!(remaining(now), Some(Duration::ZERO));
        })
        .await;
    }
}
