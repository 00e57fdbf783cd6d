//! The blast-radius breaker, as arithmetic: how many users may gain or lose one app within a
//! window before the app's changes in that direction halt and ask for approval. A bad policy push
//! that would strip a core app from thousands of users stops after the first few; an approval
//! releases it (`stages::breaker` keeps the counts).

use crate::domain::ActionKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerPolicy {
    /// The window the counts are kept over.
    pub window: Duration,
    /// More users than this losing (or gaining) one app within the window trips the breaker.
    pub max_users: u32,
    /// ... or more than this share of the directory's users (whichever is smaller).
    pub max_share: f64,
    /// Changes in these directions are counted. Removals by default: a bad push that strips an
    /// app is what the breaker is for, while a wave of joiners or a first roll-out gains apps
    /// for many people at once by design (licensed and high-risk assignments already wait for
    /// approval in gated mode). `LOADOUT_BREAKER_WATCH=removals,assignments` counts both.
    pub removals: bool,
    pub assignments: bool,
}

impl Eq for BreakerPolicy {}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(3600),
            max_users: 50,
            max_share: 0.10,
            removals: true,
            assignments: false,
        }
    }
}

impl BreakerPolicy {
    /// Whether changes of this kind are counted.
    pub fn watches(&self, kind: ActionKind) -> bool {
        match kind {
            ActionKind::Remove => self.removals,
            ActionKind::Assign => self.assignments,
        }
    }

    /// How many users may change within the window before the breaker trips, for a directory
    /// of `population` users. The share never brings it below a handful, so a small tenant can
    /// still move a team; an explicit `max_users` below that is the admin's call and is kept.
    pub fn limit(&self, population: usize) -> u32 {
        let by_share = (self.max_share * population as f64).floor() as u32;
        self.max_users.min(by_share.max(5))
    }
}

/// A tripped breaker, with the reason admins see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tripped {
    pub at: DateTime<Utc>,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_the_smaller_of_the_count_and_the_share_but_never_tiny() {
        let p = BreakerPolicy::default();
        assert_eq!(p.limit(100_000), 50, "the count");
        assert_eq!(p.limit(200), 20, "the share");
        assert_eq!(p.limit(20), 5, "at least a handful");
        let strict = BreakerPolicy {
            max_users: 2,
            ..BreakerPolicy::default()
        };
        assert_eq!(strict.limit(20), 2, "unless the admin asks for fewer");
    }
}
