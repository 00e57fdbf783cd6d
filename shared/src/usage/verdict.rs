//! Whether a user still uses an app, from what Loadout has observed (pure). The answer is
//! "unused" only when the observed history covers the whole threshold and every source that
//! covers the app is fresh; a recent use is trusted whatever state the sources are in, since it
//! can only keep a seat.

use super::Signal;
use super::last_seen::{AppHistory, SourceFreshness, UserLastSeen};
use crate::domain::AppId;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum UsageVerdict {
    /// Used within the threshold.
    Used { last_used: DateTime<Utc> },
    /// Not used since `since` (the last use, or the start of observed history when none was
    /// ever seen), which is longer ago than the threshold.
    Unused { since: DateTime<Utc> },
    /// Loadout has not observed this user and app long enough to tell.
    NotEnoughHistory {
        observed_since: Option<DateTime<Utc>>,
        needed_since: DateTime<Utc>,
    },
    /// A source that covers the app failed or is out of date (or none covers it): no decision.
    SourceStale { reason: StaleReason },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StaleReason {
    /// No foreground source covers the app.
    NoSource,
    /// The source's latest attempt failed.
    Failed {
        source: String,
        at: DateTime<Utc>,
        detail: String,
    },
    /// The source has not succeeded recently enough.
    Old {
        source: String,
        last_success: Option<DateTime<Utc>>,
    },
}

/// How recent a source's last success must be to be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreshnessPolicy {
    pub max_age: Duration,
}

impl Default for FreshnessPolicy {
    /// Three days: a daily read may fail twice in a row before reclamation stops.
    fn default() -> Self {
        Self {
            max_age: Duration::days(3),
        }
    }
}

/// What the sources say about one app at `now`, the same for every user: computed once per
/// app by a run over many users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppStanding {
    /// A covering source failed or is old, or none covers the app.
    Stale(StaleReason),
    /// Every covering source is fresh; the app's unbroken history starts here (`None`: no
    /// history reaches today).
    Observed(Option<DateTime<Utc>>),
}

pub fn app_standing(
    sources: &BTreeMap<String, SourceFreshness>,
    histories: &BTreeMap<AppId, AppHistory>,
    app: &AppId,
    now: DateTime<Utc>,
    policy: FreshnessPolicy,
) -> AppStanding {
    let covering = || {
        sources
            .iter()
            .filter(|(_, f)| f.signal == Signal::Foreground && f.apps.contains(app))
    };
    if covering().next().is_none() {
        return AppStanding::Stale(StaleReason::NoSource);
    }
    for (name, f) in covering() {
        if let Some(failure) = &f.last_failure
            && f.last_success.is_none_or(|s| failure.at >= s)
        {
            return AppStanding::Stale(StaleReason::Failed {
                source: name.clone(),
                at: failure.at,
                detail: failure.reason.clone(),
            });
        }
        let fresh = f.last_success.is_some_and(|s| s >= now - policy.max_age)
            && f.covered_to.is_some_and(|t| t >= now - policy.max_age);
        if !fresh {
            return AppStanding::Stale(StaleReason::Old {
                source: name.clone(),
                last_success: f.last_success,
            });
        }
    }
    // The history is as long as the longest unbroken span a covering source reaches today with.
    let since = histories.get(app).and_then(|h| {
        covering()
            .filter_map(|(name, _)| h.sources.get(name))
            .filter(|span| span.to >= now - policy.max_age)
            .map(|span| span.from)
            .min()
    });
    AppStanding::Observed(since)
}

/// The verdict for one user of an app whose standing is known.
pub fn user_verdict(
    standing: &AppStanding,
    user: Option<&UserLastSeen>,
    app: &AppId,
    threshold: Duration,
    now: DateTime<Utc>,
) -> UsageVerdict {
    let needed_since = now - threshold;
    let last_used = user.and_then(|u| u.apps.get(app)).and_then(|a| a.last_used);
    // A recent use can only keep a seat: trusted whatever state the sources are in.
    if let Some(at) = last_used
        && at >= needed_since
    {
        return UsageVerdict::Used { last_used: at };
    }
    let app_since = match standing {
        AppStanding::Stale(reason) => {
            return UsageVerdict::SourceStale {
                reason: reason.clone(),
            };
        }
        AppStanding::Observed(since) => *since,
    };
    let observed_since = match (app_since, user.and_then(|u| u.observed_since)) {
        (Some(a), Some(u)) => Some(a.max(u)),
        _ => None,
    };
    match observed_since {
        Some(since) if since <= needed_since => UsageVerdict::Unused {
            since: last_used.unwrap_or(since),
        },
        _ => UsageVerdict::NotEnoughHistory {
            observed_since,
            needed_since,
        },
    }
}

/// The verdict for one user and app at `now` with an inactivity threshold.
pub fn usage_verdict(
    sources: &BTreeMap<String, SourceFreshness>,
    histories: &BTreeMap<AppId, AppHistory>,
    user: Option<&UserLastSeen>,
    app: &AppId,
    threshold: Duration,
    now: DateTime<Utc>,
    policy: FreshnessPolicy,
) -> UsageVerdict {
    let standing = app_standing(sources, histories, app, now, policy);
    user_verdict(&standing, user, app, threshold, now)
}

#[cfg(test)]
mod tests {
    use super::super::Coverage;
    use super::super::last_seen::{AppSeen, Failure, ReadFold, extend_span, merge_user};
    use super::*;
    use chrono::TimeZone;
    use std::collections::BTreeSet;

    const SOURCE: &str = "intelligence";

    fn day(d: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("date")
            + Duration::days(d)
    }

    fn slack() -> AppId {
        AppId::new("slack")
    }

    /// Loadout's knowledge after a series of 28-day reads, as the refresh would leave it.
    struct World {
        sources: BTreeMap<String, SourceFreshness>,
        histories: BTreeMap<AppId, AppHistory>,
        user: Option<UserLastSeen>,
    }

    impl World {
        fn new() -> Self {
            Self {
                sources: BTreeMap::new(),
                histories: BTreeMap::new(),
                user: None,
            }
        }

        /// A successful foreground read of `[from, to]`, with Slack used at `used`.
        fn read(&mut self, from: i64, to: i64, used: Option<i64>) {
            let coverage = Coverage {
                source: SOURCE.into(),
                signal: Signal::Foreground,
                apps: BTreeSet::from([slack()]),
                from: day(from),
                to: day(to),
                read_at: day(to),
            };
            let mut folds = BTreeMap::new();
            if let Some(u) = used {
                let mut f = ReadFold::default();
                f.add(Some(day(u)), 1, None);
                folds.insert(slack(), f);
            }
            self.user = Some(merge_user(self.user.take(), &folds, &coverage));
            let h = self.histories.entry(slack()).or_default();
            let span = extend_span(h.sources.get(SOURCE).copied(), day(from), day(to));
            h.sources.insert(SOURCE.into(), span);
            let f = self
                .sources
                .entry(SOURCE.into())
                .or_insert(SourceFreshness {
                    signal: Signal::Foreground,
                    last_success: None,
                    covered_from: None,
                    covered_to: None,
                    last_failure: None,
                    apps: BTreeSet::new(),
                });
            f.last_success = Some(day(to));
            f.covered_from = Some(day(from));
            f.covered_to = Some(day(to));
            f.apps = coverage.apps.clone();
        }

        fn fail(&mut self, at: i64) {
            if let Some(f) = self.sources.get_mut(SOURCE) {
                f.last_failure = Some(Failure {
                    at: day(at),
                    reason: "HTTP 503".into(),
                });
            }
        }

        fn verdict(&self, now: i64) -> UsageVerdict {
            usage_verdict(
                &self.sources,
                &self.histories,
                self.user.as_ref(),
                &slack(),
                Duration::days(90),
                day(now),
                FreshnessPolicy::default(),
            )
        }
    }

    #[test]
    fn ninety_days_of_history_from_28_day_reports_make_unused() {
        let mut w = World::new();
        w.read(0, 28, Some(3));
        assert!(matches!(w.verdict(28), UsageVerdict::Used { .. }));
        w.read(28, 56, None);
        w.read(56, 84, None);
        // Used on day 3: at day 84 that is 81 days ago, still inside the threshold.
        assert_eq!(w.verdict(84), UsageVerdict::Used { last_used: day(3) });
        w.read(84, 112, None);
        assert_eq!(w.verdict(112), UsageVerdict::Unused { since: day(3) });
    }

    #[test]
    fn never_seen_used_is_unused_only_after_the_whole_threshold_was_observed() {
        let mut w = World::new();
        for (from, to) in [(0, 28), (28, 56), (56, 84)] {
            w.read(from, to, None);
        }
        assert_eq!(
            w.verdict(84),
            UsageVerdict::NotEnoughHistory {
                observed_since: Some(day(0)),
                needed_since: day(-6)
            }
        );
        w.read(84, 91, None);
        assert_eq!(w.verdict(91), UsageVerdict::Unused { since: day(0) });
    }

    #[test]
    fn a_gap_in_the_reads_restarts_the_history() {
        let mut w = World::new();
        for (from, to) in [(0, 28), (28, 56), (56, 84)] {
            w.read(from, to, None);
        }
        // Nothing read for days 84..100: use in that gap would have been missed.
        w.read(100, 128, None);
        assert!(matches!(
            w.verdict(128),
            UsageVerdict::NotEnoughHistory { observed_since: Some(s), .. } if s == day(100)
        ));
    }

    #[test]
    fn used_again_after_a_long_silence_is_used() {
        let mut w = World::new();
        for (from, to) in [(0, 28), (28, 56), (56, 84), (84, 112)] {
            w.read(from, to, None);
        }
        assert!(matches!(w.verdict(112), UsageVerdict::Unused { .. }));
        w.read(112, 140, Some(130));
        assert_eq!(
            w.verdict(140),
            UsageVerdict::Used {
                last_used: day(130)
            }
        );
    }

    #[test]
    fn a_failed_or_old_source_stops_the_decision_but_not_a_recent_use() {
        let mut w = World::new();
        for (from, to) in [(0, 28), (28, 56), (56, 84), (84, 112)] {
            w.read(from, to, None);
        }
        w.fail(113);
        assert!(matches!(
            w.verdict(113),
            UsageVerdict::SourceStale {
                reason: StaleReason::Failed { .. }
            }
        ));
        w.read(112, 114, None);
        assert!(matches!(w.verdict(114), UsageVerdict::Unused { .. }));
        // No read for five days: too old to say "unused".
        assert!(matches!(
            w.verdict(119),
            UsageVerdict::SourceStale {
                reason: StaleReason::Old { .. }
            }
        ));
        w.read(114, 119, Some(118));
        w.fail(120);
        assert_eq!(
            w.verdict(120),
            UsageVerdict::Used {
                last_used: day(118)
            }
        );
    }

    #[test]
    fn an_app_no_source_covers_is_never_unused() {
        let w = World::new();
        assert_eq!(
            w.verdict(200),
            UsageVerdict::SourceStale {
                reason: StaleReason::NoSource
            }
        );
    }

    #[test]
    fn a_user_new_to_the_reads_needs_their_own_history() {
        let mut w = World::new();
        for (from, to) in [(0, 28), (28, 56), (56, 84), (84, 112)] {
            w.read(from, to, None);
        }
        let newcomer = UserLastSeen {
            observed_since: Some(day(84)),
            apps: BTreeMap::from([(slack(), AppSeen::default())]),
            updated_at: day(112),
        };
        let v = usage_verdict(
            &w.sources,
            &w.histories,
            Some(&newcomer),
            &slack(),
            Duration::days(90),
            day(112),
            FreshnessPolicy::default(),
        );
        assert!(
            matches!(v, UsageVerdict::NotEnoughHistory { observed_since: Some(s), .. } if s == day(84))
        );
        let unknown = usage_verdict(
            &w.sources,
            &w.histories,
            None,
            &slack(),
            Duration::days(90),
            day(112),
            FreshnessPolicy::default(),
        );
        assert!(matches!(
            unknown,
            UsageVerdict::NotEnoughHistory {
                observed_since: None,
                ..
            }
        ));
    }
}
