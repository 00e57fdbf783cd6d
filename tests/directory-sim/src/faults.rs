//! Scripted throttling: "the next n requests fail with this status". Both services throttle
//! (Graph with 429 or 503, BambooHR with 503), and retry logic is only testable if a test can
//! say exactly which requests fail, so there is no randomness here.

/// The seconds every injected failure asks the client to wait.
pub(crate) const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, Default)]
pub(crate) struct FailNext {
    remaining: usize,
    status: u16,
}

impl FailNext {
    /// Replaces any earlier script. A status outside 400..=599 becomes 503 (a failure that is
    /// not an HTTP error status would not be a failure).
    pub fn set(&mut self, n: usize, status: u16) {
        self.remaining = n;
        self.status = if (400..=599).contains(&status) {
            status
        } else {
            503
        };
    }

    /// The status this request must fail with, if it is one of the scripted ones.
    pub fn take(&mut self) -> Option<u16> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        Some(self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_normalises_status() {
        let mut f = FailNext::default();
        assert_eq!(f.take(), None);
        f.set(2, 429);
        assert_eq!(f.take(), Some(429));
        assert_eq!(f.take(), Some(429));
        assert_eq!(f.take(), None);
        f.set(1, 200);
        assert_eq!(f.take(), Some(503));
    }
}
