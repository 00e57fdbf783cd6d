//! The rate-limit headers Okta puts on every response. Okta counts requests per endpoint per
//! minute and clients pace themselves by `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset`, so
//! the numbers here move like Okta's: one window per clock minute, reset at the next minute.
//! The count only reports; throttling happens when a test scripts it with `fail_next`.

/// Requests per minute reported as `X-Rate-Limit-Limit` (Okta's default for `/api/v1/users`).
pub(crate) const LIMIT: u32 = 600;

/// What one response reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateHeaders {
    pub limit: u32,
    pub remaining: u32,
    /// Epoch seconds at which the window resets.
    pub reset: i64,
}

impl RateHeaders {
    /// What a throttled response reports: nothing left, and a reset one second from `now`.
    pub fn exhausted(now: i64) -> Self {
        Self {
            limit: LIMIT,
            remaining: 0,
            reset: now + 1,
        }
    }
}

/// The current minute's count, for the whole org (one bucket for every endpoint served).
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    minute: i64,
    used: u32,
}

impl RateWindow {
    /// Counts one request at `now` (epoch seconds) and reports the window after it.
    pub fn count(&mut self, now: i64) -> RateHeaders {
        let minute = now.div_euclid(60);
        if minute != self.minute {
            self.minute = minute;
            self.used = 0;
        }
        self.used = self.used.saturating_add(1);
        RateHeaders {
            limit: LIMIT,
            remaining: LIMIT.saturating_sub(self.used),
            reset: (minute + 1) * 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_within_a_minute_and_resets_at_the_next() {
        let mut w = RateWindow::default();
        let a = w.count(120);
        assert_eq!((a.remaining, a.reset), (LIMIT - 1, 180));
        assert_eq!(w.count(179).remaining, LIMIT - 2);
        let b = w.count(180);
        assert_eq!((b.remaining, b.reset), (LIMIT - 1, 240));
        assert_eq!(RateHeaders::exhausted(100).reset, 101);
    }
}
