//! Which unused seats become candidates (pure): only seats Loadout assigned (never what an admin
//! put in a group by hand or what Loadout merely observed), held longer than the threshold, of
//! users and groups not exempt, and never so many that fewer than the minimum would remain.

use super::scan::Unused;
use crate::domain::{LicenseTerms, UserId};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// What Loadout knows of one unused seat beyond its usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatFacts {
    pub seat: Unused,
    /// When Loadout assigned it; `None` when Loadout did not assign it.
    pub assigned_at: Option<DateTime<Utc>>,
    /// The user's directory groups.
    pub groups: Vec<String>,
}

/// Why unused seats were passed over, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Passed {
    pub not_assigned_by_loadout: usize,
    pub younger_than_threshold: usize,
    pub exempt: usize,
    pub minimum_seats: usize,
}

pub fn is_exempt(terms: &LicenseTerms, user: &UserId, groups: &[String]) -> bool {
    terms.exempt_users.contains(user) || groups.iter().any(|g| terms.exempt_groups.contains(g))
}

/// The seats to start reclaiming, longest unused first. `holders` is how many hold the app,
/// `open` how many seats are already on their way out.
pub fn select(
    terms: &LicenseTerms,
    threshold: Duration,
    holders: usize,
    open: usize,
    seats: Vec<SeatFacts>,
    now: DateTime<Utc>,
) -> (Vec<Unused>, Passed) {
    let mut passed = Passed::default();
    let room = holders
        .saturating_sub(terms.min_seats as usize)
        .saturating_sub(open);
    let mut picked = Vec::new();
    for facts in seats {
        let Some(assigned_at) = facts.assigned_at else {
            passed.not_assigned_by_loadout += 1;
            continue;
        };
        if now - assigned_at < threshold {
            passed.younger_than_threshold += 1;
            continue;
        }
        if is_exempt(terms, &facts.seat.user, &facts.groups) {
            passed.exempt += 1;
            continue;
        }
        if picked.len() >= room {
            passed.minimum_seats += 1;
            continue;
        }
        picked.push(facts.seat);
    }
    (picked, passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PushMode;

    fn seat(
        user: &str,
        days_unused: i64,
        assigned_days_ago: Option<i64>,
        now: DateTime<Utc>,
    ) -> SeatFacts {
        SeatFacts {
            seat: Unused {
                user: UserId::new(user),
                since: now - Duration::days(days_unused),
                push_mode: PushMode::OnDemand,
            },
            assigned_at: assigned_days_ago.map(|d| now - Duration::days(d)),
            groups: if user == "exec" {
                vec!["Executives".into()]
            } else {
                vec![]
            },
        }
    }

    #[test]
    fn only_old_seats_loadout_assigned_to_people_not_exempt_down_to_the_minimum() {
        let now = Utc::now();
        let terms = LicenseTerms {
            inactivity_days: Some(30),
            exempt_groups: vec!["Executives".into()],
            exempt_users: vec![UserId::new("vip")],
            min_seats: 3,
            ..LicenseTerms::default()
        };
        let seats = vec![
            seat("a", 200, Some(300), now),
            seat("manual", 190, None, now),
            seat("new", 180, Some(10), now),
            seat("exec", 170, Some(300), now),
            seat("vip", 160, Some(300), now),
            seat("b", 150, Some(300), now),
            seat("c", 140, Some(300), now),
        ];
        // 6 holders, 3 kept at least, 1 already on its way: room for 2.
        let (picked, passed) = select(&terms, Duration::days(30), 6, 1, seats, now);
        let names: Vec<&str> = picked.iter().map(|u| u.user.as_str()).collect();
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(
            passed,
            Passed {
                not_assigned_by_loadout: 1,
                younger_than_threshold: 1,
                exempt: 2,
                minimum_seats: 1
            }
        );
    }
}
