//! Waiting between attempts at an outbound call: exponential backoff with jitter, and the
//! server's `Retry-After`. Shared by the ServiceNow client and the Slack notifier.

use chrono::{DateTime, Utc};
use rand::RngExt;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::Duration;

/// `base * 2^(attempt-1)`, capped at `max`, times a random factor in [0.5, 1]: half fixed, half
/// random, so concurrent callers do not retry in step.
pub fn backoff_delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exp = base
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(max);
    exp.mul_f64(rand::rng().random_range(0.5..=1.0))
}

/// `Retry-After` in seconds or as an HTTP date, relative to `now`.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&Utc) - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(300);
        let third = backoff_delay(3, base, max);
        assert!(third >= Duration::from_millis(150) && third <= max);
        let first = backoff_delay(1, base, max);
        assert!(first >= Duration::from_millis(50) && first <= base);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = Utc::now();
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().expect("header"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        let later = (now + chrono::Duration::seconds(30)).to_rfc2822();
        h.insert(RETRY_AFTER, later.parse().expect("header"));
        let d = retry_after(&h, now).expect("a date");
        assert!(d <= Duration::from_secs(30) && d >= Duration::from_secs(29));
        h.insert(RETRY_AFTER, "soon".parse().expect("header"));
        assert_eq!(retry_after(&h, now), None);
    }
}
