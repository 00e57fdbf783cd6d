//! Loadout's share of the organization's Intelligence call limit (100 a second, 1,000 an hour,
//! 15,000 a day, shared by every script and integration of the organization): every API-host
//! request, retries included, is counted here before it is sent, and none is sent once the
//! hour's share is spent. Token requests go to the auth host and storage downloads to the storage
//! host; neither is counted.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

const HOUR: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct CallBudget {
    per_hour: u32,
    sent: Mutex<VecDeque<Instant>>,
}

impl CallBudget {
    pub fn new(per_hour: u32) -> Self {
        Self {
            per_hour,
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// Counts one call, or says how long until the budget has room.
    pub fn take(&self) -> Result<(), (u32, Duration)> {
        let now = Instant::now();
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        while sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= HOUR)
        {
            sent.pop_front();
        }
        if sent.len() as u32 >= self.per_hour {
            let oldest = sent.front().copied().unwrap_or(now);
            return Err((
                sent.len() as u32,
                HOUR.saturating_sub(now.saturating_duration_since(oldest)),
            ));
        }
        sent.push_back(now);
        Ok(())
    }

    /// Calls counted in the last hour.
    pub fn used(&self) -> u32 {
        let now = Instant::now();
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.iter()
            .filter(|t| now.saturating_duration_since(**t) < HOUR)
            .count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn refuses_past_the_hourly_share_until_an_hour_has_passed() {
        let b = CallBudget::new(2);
        assert!(b.take().is_ok());
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(b.take().is_ok());
        let (used, wait) = b.take().expect_err("spent");
        assert_eq!(used, 2);
        assert_eq!(wait, Duration::from_secs(3540));
        tokio::time::advance(wait).await;
        assert!(b.take().is_ok());
        assert_eq!(b.used(), 2);
    }
}
