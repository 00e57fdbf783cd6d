//! The organization's call limits (guide, "API Call Limits": 100 calls a second, 1,000 an hour
//! and 15,000 a day at every license level), as sliding windows over accepted API calls.
//! Refused calls do not count, and only the API host is limited (both choices of the
//! simulator: the guide says neither).

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// Limits per organization; `Retry-After` on 429 is the simulator's choice (switchable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_second: u32,
    pub per_hour: u32,
    pub per_day: u32,
    /// Send `Retry-After` (seconds until the full window has room) with a 429.
    pub retry_after_header: bool,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_second: 100,
            per_hour: 1000,
            per_day: 15000,
            retry_after_header: true,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct RateWindows {
    accepted: VecDeque<Instant>,
}

const DAY: Duration = Duration::from_secs(24 * 3600);

impl RateWindows {
    /// `None` when the call may go ahead (and is counted), or how long until it could.
    pub fn admit(&mut self, limits: &RateLimits, now: Instant) -> Option<Duration> {
        while self
            .accepted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= DAY)
        {
            self.accepted.pop_front();
        }
        let windows = [
            (Duration::from_secs(1), limits.per_second),
            (Duration::from_secs(3600), limits.per_hour),
            (DAY, limits.per_day),
        ];
        let mut wait: Option<Duration> = None;
        for (span, limit) in windows {
            let inside: Vec<&Instant> = self
                .accepted
                .iter()
                .rev()
                .take_while(|t| now.saturating_duration_since(**t) < span)
                .collect();
            if inside.len() as u64 >= limit as u64 {
                // The call that frees a slot is the `limit`-th newest one.
                let freeing = inside
                    .get(limit.saturating_sub(1) as usize)
                    .map(|t| span.saturating_sub(now.saturating_duration_since(**t)))
                    .unwrap_or(span);
                wait = Some(wait.map_or(freeing, |w| w.max(freeing)));
            }
        }
        if wait.is_none() {
            self.accepted.push_back(now);
        }
        wait
    }

    pub fn used_in_last_hour(&self, now: Instant) -> usize {
        self.accepted
            .iter()
            .filter(|t| now.saturating_duration_since(**t) < Duration::from_secs(3600))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn hourly_limit_refuses_until_the_oldest_call_ages_out() {
        let limits = RateLimits {
            per_second: 100,
            per_hour: 3,
            per_day: 10,
            retry_after_header: true,
        };
        let mut w = RateWindows::default();
        for _ in 0..3 {
            assert_eq!(w.admit(&limits, Instant::now()), None);
            tokio::time::advance(Duration::from_secs(10)).await;
        }
        let wait = w.admit(&limits, Instant::now()).expect("refused");
        assert_eq!(wait, Duration::from_secs(3600 - 30));
        tokio::time::advance(wait).await;
        assert_eq!(w.admit(&limits, Instant::now()), None);
    }
}
