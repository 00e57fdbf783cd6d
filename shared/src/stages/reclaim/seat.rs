//! One candidate seat (an app held by a user) on its way through reclamation:
//!
//! ```text
//! notified (day N, N-7, ...) ──▶ reclaimed ──▶ (the seat goes to the waitlist)
//!     │  │  └──▶ removing (a gate holds the removal: approval, breaker) ──▶ reclaimed
//!     │  └──▶ kept (the link, an exemption)
//!     └──▶ used again | left (the user no longer holds the app)
//! ```
//!
//! The record is moved only by compare-and-swap on its version, so two runs (or a run and a
//! click on the link) never both act. Notices follow claim, send, mark: a notice is claimed in
//! the record before it is sent and marked delivered (or dropped) after, so a run killed between
//! the two never sends it again (at most once); a dropped notice was never delivered and may be
//! sent again.

use super::ReclaimError;
use crate::domain::{AppId, CorrelationId, UserId};
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// What became of one notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    /// Claimed and (perhaps) sent; the run that claimed it did not get to mark it.
    Claimed,
    Delivered,
    /// No notification channel is configured: the audit record is the notice.
    Audited,
    /// Not delivered (audited as `notice_dropped`).
    Dropped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeMark {
    /// Days before the reclamation this notice is for.
    pub days_before: u32,
    pub at: DateTime<Utc>,
    pub state: NoticeState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SeatState {
    Notified,
    /// The removal waits at a gate (approval, the breaker, a review window).
    Removing {
        gate: String,
        reason: String,
    },
    Reclaimed {
        at: DateTime<Utc>,
        /// Who got the seat from the waitlist, once claimed (`grant_done` once dispatched).
        #[serde(default)]
        granted_to: Option<UserId>,
        #[serde(default)]
        grant_done: bool,
    },
    Kept {
        at: DateTime<Utc>,
        by: String,
    },
    UsedAgain {
        at: DateTime<Utc>,
        last_used: DateTime<Utc>,
    },
    /// The user no longer holds the app (someone else removed it).
    Left {
        at: DateTime<Utc>,
    },
}

impl SeatState {
    pub fn as_str(&self) -> &'static str {
        match self {
            SeatState::Notified => "notified",
            SeatState::Removing { .. } => "removing",
            SeatState::Reclaimed { .. } => "reclaimed",
            SeatState::Kept { .. } => "kept",
            SeatState::UsedAgain { .. } => "used_again",
            SeatState::Left { .. } => "left",
        }
    }

    /// Still moving: notices or a removal to come.
    pub fn is_open(&self) -> bool {
        matches!(self, SeatState::Notified | SeatState::Removing { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatRecord {
    pub app_id: AppId,
    pub user_id: UserId,
    /// When the seat became a candidate; names the cycle (links carry it).
    pub cycle: DateTime<Utc>,
    /// Unused since then (the verdict when it became a candidate).
    pub unused_since: DateTime<Utc>,
    /// The removal is due then, unless used again or kept.
    pub reclaim_at: DateTime<Utc>,
    #[serde(default)]
    pub notices: Vec<NoticeMark>,
    pub state: SeatState,
    pub updated_at: DateTime<Utc>,
}

/// The notice schedule of an app: days before the removal, longest first; none configured means
/// one notice a week before.
pub fn schedule(notice_days: &[u32]) -> Vec<u32> {
    let mut days: Vec<u32> = notice_days.to_vec();
    if days.is_empty() {
        days.push(7);
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    days
}

impl SeatRecord {
    /// A new candidate at `now`: the removal is due after the longest notice.
    pub fn candidate(
        app: &AppId,
        user: &UserId,
        unused_since: DateTime<Utc>,
        notice_days: &[u32],
        now: DateTime<Utc>,
    ) -> Self {
        let longest = schedule(notice_days).first().copied().unwrap_or(7);
        Self {
            app_id: app.clone(),
            user_id: user.clone(),
            cycle: now,
            unused_since,
            reclaim_at: now + Duration::days(i64::from(longest)),
            notices: Vec::new(),
            state: SeatState::Notified,
            updated_at: now,
        }
    }

    /// The correlation id of everything this cycle does (notices, the removal, the grant).
    pub fn correlation(&self) -> CorrelationId {
        CorrelationId::new(format!(
            "reclaim-{}-{}-{}",
            self.app_id,
            self.user_id,
            self.cycle.timestamp()
        ))
    }

    /// The notice due at `now`, if any: the latest of the schedule whose day has come and that
    /// was not claimed yet (earlier ones a run missed are not sent late: one notice per run).
    pub fn due_notice(&self, notice_days: &[u32], now: DateTime<Utc>) -> Option<u32> {
        if self.state != SeatState::Notified {
            return None;
        }
        schedule(notice_days)
            .into_iter()
            .filter(|d| now >= self.reclaim_at - Duration::days(i64::from(*d)))
            .filter(|d| {
                !self
                    .notices
                    .iter()
                    .any(|m| m.days_before <= *d && m.state != NoticeState::Dropped)
            })
            .min()
    }

    /// Whether the user was told (or may have been: a claimed notice whose run died).
    pub fn was_told(&self) -> bool {
        self.notices.iter().any(|m| m.state != NoticeState::Dropped)
    }

    /// Claims a notice (before it is sent).
    pub fn claim(&mut self, days_before: u32, now: DateTime<Utc>) {
        self.notices.retain(|m| m.days_before != days_before);
        self.notices.push(NoticeMark {
            days_before,
            at: now,
            state: NoticeState::Claimed,
        });
        self.updated_at = now;
    }

    /// Marks a claimed notice after the attempt to send it.
    pub fn mark(&mut self, days_before: u32, state: NoticeState, now: DateTime<Utc>) {
        for m in &mut self.notices {
            if m.days_before == days_before && m.state == NoticeState::Claimed {
                m.state = state;
            }
        }
        self.updated_at = now;
    }

    /// Every notice was dropped: the removal waits a day and the last notice goes again.
    pub fn postpone(&mut self, now: DateTime<Utc>) {
        self.notices.retain(|m| m.state != NoticeState::Dropped);
        self.reclaim_at = now + Duration::days(1);
        self.updated_at = now;
    }

    pub fn move_to(&mut self, state: SeatState, now: DateTime<Utc>) {
        self.state = state;
        self.updated_at = now;
    }
}

/// The records of one app, with versions.
pub async fn of_app(
    store: &dyn StateStore,
    app: &AppId,
) -> Result<Vec<(SeatRecord, u64)>, ReclaimError> {
    let mut out = Vec::new();
    for item in store.query(&keys::reclaim_partition(app), "").await? {
        out.push((item.decode()?, item.version));
    }
    Ok(out)
}

pub async fn load(
    store: &dyn StateStore,
    app: &AppId,
    user: &UserId,
) -> Result<Option<(SeatRecord, u64)>, ReclaimError> {
    let (pk, sk) = keys::reclaim_seat(app, user);
    Ok(store.get_as(&pk, &sk).await?)
}

/// Writes `record` if it is still at `version` (`None`: absent); the new version, or `None` when
/// someone else moved it first.
pub async fn save(
    store: &dyn StateStore,
    record: &SeatRecord,
    version: Option<u64>,
) -> Result<Option<u64>, ReclaimError> {
    let (pk, sk) = keys::reclaim_seat(&record.app_id, &record.user_id);
    let condition = version.map_or(Condition::NotExists, Condition::Version);
    match store.put_as(&pk, &sk, record, None, condition).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_condition_failed() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(now: DateTime<Utc>) -> SeatRecord {
        SeatRecord::candidate(
            &AppId::new("gong"),
            &UserId::new("ana"),
            now - Duration::days(100),
            &[1, 14, 7],
            now,
        )
    }

    #[test]
    fn notices_come_on_the_schedule_once_each() {
        let now = Utc::now();
        let mut r = record(now);
        assert_eq!(r.reclaim_at, now + Duration::days(14));
        let days = [14, 7, 1];
        assert_eq!(r.due_notice(&days, now), Some(14));
        r.claim(14, now);
        assert_eq!(r.due_notice(&days, now), None, "claimed: never twice");
        assert_eq!(r.due_notice(&days, now + Duration::days(7)), Some(7));
        // A run that missed days sends only the latest notice due.
        assert_eq!(r.due_notice(&days, now + Duration::days(13)), Some(1));
        r.claim(1, now + Duration::days(13));
        assert_eq!(r.due_notice(&days, now + Duration::days(13)), None);
    }

    #[test]
    fn a_dropped_notice_may_go_again_and_postpones_the_removal() {
        let now = Utc::now();
        let mut r = record(now);
        r.claim(14, now);
        r.mark(14, NoticeState::Dropped, now);
        assert!(!r.was_told());
        assert_eq!(r.due_notice(&[14], now), Some(14));
        r.postpone(now + Duration::days(14));
        assert_eq!(r.reclaim_at, now + Duration::days(15));
        assert!(r.notices.is_empty());
        r.claim(14, now + Duration::days(14));
        assert!(r.was_told(), "a claimed notice may have been delivered");
    }

    #[test]
    fn the_schedule_defaults_to_a_week() {
        assert_eq!(schedule(&[]), vec![7]);
        assert_eq!(schedule(&[1, 7, 7, 14]), vec![14, 7, 1]);
    }
}
