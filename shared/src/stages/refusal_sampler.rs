//! Audit records of refused requests, bounded. Anybody on the internet can send requests that
//! intake refuses; if each one wrote an audit record, a flood would write a record per request.
//! So each source gets [`AUDITED_PER_MINUTE`] full records per minute (per instance: in Lambda,
//! intake's reserved concurrency bounds the instances); the rest of that minute is counted, and
//! the count is written as one record when the next request arrives after the minute.
//!
//! Logs still see every refusal (`tracing`); the audit sees the first ones and how many more.

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Refusals per source and minute that get their own audit record.
pub const AUDITED_PER_MINUTE: u32 = 10;

/// What to do with one refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write its audit record.
    Audit,
    /// Count it; a [`Suppressed`] record will say how many.
    Count,
}

/// The refusals of one source in one minute that were counted instead of recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub source: &'static str,
    /// The minute they arrived in (its first second).
    pub minute: DateTime<Utc>,
    pub count: u64,
    /// How many of each refusal code.
    pub codes: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
struct Window {
    minute: i64,
    audited: u32,
    counted: u64,
    codes: BTreeMap<&'static str, u64>,
}

impl Window {
    fn close(self, source: &'static str) -> Option<Suppressed> {
        (self.counted > 0).then(|| Suppressed {
            source,
            minute: DateTime::from_timestamp(self.minute.saturating_mul(60), 0).unwrap_or_default(),
            count: self.counted,
            codes: self.codes,
        })
    }
}

/// One per intake instance. Keyed by source name: a fixed, small set.
#[derive(Debug)]
pub struct RefusalSampler {
    per_minute: u32,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    windows: HashMap<&'static str, Window>,
    /// Counts of minutes a later refusal ended before anybody collected them.
    finished: Vec<Suppressed>,
}

impl Default for RefusalSampler {
    fn default() -> Self {
        Self::new(AUDITED_PER_MINUTE)
    }
}

impl RefusalSampler {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            state: Mutex::new(State::default()),
        }
    }

    /// Decides about one refusal of `source` with `code` at `now`.
    pub fn admit(&self, source: &'static str, code: &'static str, now: DateTime<Utc>) -> Verdict {
        let minute = now.timestamp().div_euclid(60);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let State { windows, finished } = &mut *state;
        let window = windows.entry(source).or_default();
        if window.minute != minute {
            let ended = std::mem::replace(
                window,
                Window {
                    minute,
                    ..Window::default()
                },
            );
            finished.extend(ended.close(source));
        }
        if window.audited < self.per_minute {
            window.audited += 1;
            Verdict::Audit
        } else {
            window.counted += 1;
            *window.codes.entry(code).or_default() += 1;
            Verdict::Count
        }
    }

    /// The counts of minutes that are over at `now`, each once.
    pub fn closed(&self, now: DateTime<Utc>) -> Vec<Suppressed> {
        let minute = now.timestamp().div_euclid(60);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let State { windows, finished } = &mut *state;
        let over: Vec<&'static str> = windows
            .iter()
            .filter(|(_, w)| w.minute < minute)
            .map(|(source, _)| *source)
            .collect();
        let mut out = std::mem::take(finished);
        out.extend(
            over.into_iter()
                .filter_map(|source| windows.remove(source)?.close(source)),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("valid")
    }

    #[test]
    fn the_first_refusals_of_a_minute_are_audited_and_the_rest_counted() {
        let sampler = RefusalSampler::new(3);
        let verdicts: Vec<_> = (0..5)
            .map(|i| sampler.admit("okta", "invalid_signature", at(i)))
            .collect();
        use Verdict::*;
        assert_eq!(verdicts, vec![Audit, Audit, Audit, Count, Count]);
        // Another source has its own budget.
        assert_eq!(sampler.admit("graph", "invalid_signature", at(5)), Audit);
        assert!(sampler.closed(at(30)).is_empty(), "the minute is not over");
    }

    #[test]
    fn a_minute_that_is_over_yields_its_count_once() {
        let sampler = RefusalSampler::new(1);
        for i in 0..4 {
            sampler.admit("okta", "invalid_signature", at(i));
        }
        sampler.admit("okta", "missing_credentials", at(5));
        let closed = sampler.closed(at(61));
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].count, 4);
        assert_eq!(closed[0].codes["invalid_signature"], 3);
        assert_eq!(closed[0].codes["missing_credentials"], 1);
        assert!(sampler.closed(at(62)).is_empty());
        assert_eq!(
            sampler.admit("okta", "invalid_signature", at(62)),
            Verdict::Audit,
            "a new minute, a new budget"
        );
    }

    #[test]
    fn a_count_is_kept_when_the_next_minute_begins_before_it_is_collected() {
        let sampler = RefusalSampler::new(1);
        sampler.admit("okta", "invalid_signature", at(0));
        sampler.admit("okta", "invalid_signature", at(1));
        sampler.admit("okta", "invalid_signature", at(60));
        let closed = sampler.closed(at(61));
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].count, 1);
        assert_eq!(closed[0].minute, at(0));
    }
}
