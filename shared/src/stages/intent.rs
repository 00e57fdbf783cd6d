//! Loadout's intent per user: the apps it has decided the user should hold through Loadout, and
//! the actions still on their way to UEM. It is the record of what Loadout did and why (for "only
//! remove what Loadout assigned", explanations and rollback), not the truth about UEM: decisions
//! reconcile against what UEM holds ([`super::observed`]), except for apps with an action in
//! flight, where the intent says where UEM is about to be. So a mover whose joiner actions still
//! wait in the queue loses the joiner's apps too, and a member an admin removed by hand is put
//! back by the next decision.

use super::StageError;
use super::observed::Observation;
use crate::domain::{Action, ActionId, ActionKind, AppId, CorrelationId, PushMode, UserId};
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use crate::reconcile::ManagedApp;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// An action sent to the executor and not settled yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inflight {
    pub action_id: ActionId,
    pub kind: ActionKind,
    pub push_mode: PushMode,
    /// The intent version the action was decided at (orders one user's changes).
    pub sequence: u64,
    pub sent_at: DateTime<Utc>,
    /// The app as the intent recorded it before this action (`None`: not held). A given-up
    /// action puts it back, so that a failed removal is tried again by the next decision instead
    /// of being forgotten with the user still holding the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<ManagedApp>,
}

/// An in-flight entry older than this is not trusted any more (its settlement was lost): the
/// observation decides again.
pub const INFLIGHT_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub apps: Vec<ManagedApp>,
    /// The profile version (HR `as_of`) of the decision that wrote it: an older decision arriving
    /// late must not roll the user back.
    pub as_of: Option<DateTime<Utc>>,
    #[serde(default)]
    pub inflight: BTreeMap<AppId, Inflight>,
}

/// How an in-flight action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// UEM now holds what the action asked for.
    Done,
    /// Loadout gave up on it. `holds` is whether UEM holds the app for the user now, as far as
    /// Loadout knows (`None` when it cannot tell).
    GivenUp { holds: Option<bool> },
}

impl Intent {
    /// Whether a decision made from a profile of `as_of` is older than this intent.
    pub fn supersedes(&self, as_of: Option<DateTime<Utc>>) -> bool {
        matches!((self.as_of, as_of), (Some(mine), Some(theirs)) if theirs < mine)
    }

    fn live_inflight(&self, now: DateTime<Utc>) -> impl Iterator<Item = (&AppId, &Inflight)> {
        let ttl = chrono::Duration::from_std(INFLIGHT_TTL).unwrap_or_default();
        self.inflight
            .iter()
            .filter(move |(_, f)| f.sent_at + ttl > now)
    }

    fn recorded(&self, app: &AppId) -> Option<&ManagedApp> {
        self.apps.iter().find(|m| &m.app_id == app)
    }

    /// What a decision reconciles against: what UEM holds (when known), except for apps with an
    /// action in flight, which count as the intent says.
    pub fn base(&self, observed: &Observation, now: DateTime<Utc>) -> Vec<ManagedApp> {
        let mut apps: BTreeMap<AppId, ManagedApp> = BTreeMap::new();
        match observed.known() {
            Some(holdings) => {
                for (app, held) in &holdings.apps {
                    let recorded = self.recorded(app);
                    apps.insert(
                        app.clone(),
                        ManagedApp {
                            app_id: app.clone(),
                            push_mode: held.push_mode,
                            assigned_by: recorded
                                .map(|m| m.assigned_by.clone())
                                .unwrap_or_else(|| CorrelationId::new("observed")),
                            assigned_at: recorded.map(|m| m.assigned_at).unwrap_or(held.seen_at),
                        },
                    );
                }
            }
            None => {
                for m in &self.apps {
                    apps.insert(m.app_id.clone(), m.clone());
                }
            }
        }
        for (app, _) in self.live_inflight(now) {
            match self.recorded(app) {
                Some(m) => {
                    apps.insert(app.clone(), m.clone());
                }
                None => {
                    apps.remove(app);
                }
            }
        }
        apps.into_values().collect()
    }

    /// The intent after `executed` were sent, starting from `base` (what the decision saw).
    pub fn after(
        &self,
        base: &[ManagedApp],
        executed: &[&Action],
        as_of: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        sequence: u64,
    ) -> Intent {
        let mut apps: BTreeMap<AppId, ManagedApp> =
            base.iter().map(|m| (m.app_id.clone(), m.clone())).collect();
        let mut inflight: BTreeMap<AppId, Inflight> = self
            .live_inflight(now)
            .map(|(a, f)| (a.clone(), f.clone()))
            .collect();
        for action in executed {
            let previous = apps.remove(&action.app_id);
            if action.kind == ActionKind::Assign {
                apps.insert(
                    action.app_id.clone(),
                    ManagedApp {
                        app_id: action.app_id.clone(),
                        push_mode: action.push_mode,
                        assigned_by: action.correlation_id.clone(),
                        assigned_at: now,
                    },
                );
            }
            inflight.insert(
                action.app_id.clone(),
                Inflight {
                    action_id: action.action_id.clone(),
                    kind: action.kind,
                    push_mode: action.push_mode,
                    sequence,
                    sent_at: now,
                    previous,
                },
            );
        }
        Intent {
            apps: apps.into_values().collect(),
            as_of: match (self.as_of, as_of) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            inflight,
        }
    }

    /// The intent once the in-flight action `action` has ended as `settlement` says. An entry
    /// replaced by a newer action is left alone. A given-up action leaves the app as it was
    /// before the action (unless the caller knows better), so the next decision sees the
    /// difference again: a leaver whose removal failed still has the app to remove.
    pub fn settled(&self, app: &AppId, action: &ActionId, settlement: Settlement) -> Intent {
        let mut next = self.clone();
        let Some(entry) = next.inflight.remove(app) else {
            return next;
        };
        if &entry.action_id != action {
            return self.clone();
        }
        let Settlement::GivenUp { holds } = settlement else {
            return next;
        };
        // Intents written before `previous` existed: a removal was of an app the user held.
        let previous = entry.previous.clone().or_else(|| {
            (entry.kind == ActionKind::Remove).then(|| ManagedApp {
                app_id: app.clone(),
                push_mode: entry.push_mode,
                assigned_by: CorrelationId::new("observed"),
                assigned_at: entry.sent_at,
            })
        });
        let restored = match holds {
            None => previous,
            Some(false) => None,
            Some(true) => next.recorded(app).cloned().or(previous),
        };
        next.apps.retain(|m| &m.app_id != app);
        if let Some(m) = restored {
            next.apps.push(m);
            next.apps.sort_by(|a, b| a.app_id.cmp(&b.app_id));
        }
        next
    }
}

/// The user's intent and its version (`None` when never written).
pub async fn load(
    store: &dyn StateStore,
    user: &UserId,
) -> Result<(Intent, Option<u64>), StageError> {
    let (pk, sk) = keys::intent(user);
    Ok(match store.get_as::<Intent>(&pk, &sk).await? {
        Some((intent, version)) => (intent, Some(version)),
        None => (Intent::default(), None),
    })
}

/// The version the next successful [`save`] gives the intent (decisions are ordered by it).
pub fn next_version(version: Option<u64>) -> u64 {
    version.map_or(1, |v| v + 1)
}

/// Writes the intent if nobody else did since `version` was read; false when someone did.
pub async fn save(
    store: &dyn StateStore,
    user: &UserId,
    intent: &Intent,
    version: Option<u64>,
) -> Result<bool, StageError> {
    let (pk, sk) = keys::intent(user);
    let condition = version
        .map(Condition::Version)
        .unwrap_or(Condition::NotExists);
    match store.put_as(&pk, &sk, intent, None, condition).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_condition_failed() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Records how an in-flight action ended (compare-and-swap; a newer action is left alone).
pub async fn settle(
    store: &dyn StateStore,
    user: &UserId,
    app: &AppId,
    action: &ActionId,
    settlement: Settlement,
) -> Result<(), StageError> {
    for _ in 0..16 {
        let (intent, version) = load(store, user).await?;
        let next = intent.settled(app, action, settlement);
        if next == intent {
            return Ok(());
        }
        if save(store, user, &next, version).await? {
            return Ok(());
        }
    }
    Err(StageError::Retryable(format!(
        "intent of {user} is changing concurrently"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::observed::{HeldApp, Holdings, Source};

    fn action(app: &str, kind: ActionKind) -> Action {
        Action {
            action_id: ActionId::from(format!("a-{app}-{}", kind.as_str()).as_str()),
            correlation_id: CorrelationId::from("c"),
            user_id: UserId::from("u"),
            app_id: AppId::from(app),
            kind,
            push_mode: PushMode::Auto,
            reasons: vec![],
            policy_version: "v".into(),
            sequence: 0,
            uem_user: None,
        }
    }

    fn held(apps: &[&str]) -> Observation {
        Observation::Known(Holdings {
            apps: apps
                .iter()
                .map(|a| {
                    (
                        AppId::from(*a),
                        HeldApp {
                            push_mode: PushMode::Auto,
                            group: format!("loadout:{a}"),
                            seen_at: Utc::now(),
                            source: Source::Sweep,
                        },
                    )
                })
                .collect(),
            updated_at: None,
        })
    }

    fn names(apps: &[ManagedApp]) -> Vec<&str> {
        apps.iter().map(|m| m.app_id.as_str()).collect()
    }

    #[test]
    fn executed_assigns_and_removes_move_the_intent_and_stay_in_flight() {
        let now = Utc::now();
        let start = Intent::default();
        let (a, b) = (
            action("a", ActionKind::Assign),
            action("b", ActionKind::Assign),
        );
        let one = start.after(&[], &[&a, &b], None, now, 1);
        let base = one.base(&Observation::Unknown, now);
        let (ra, c) = (
            action("a", ActionKind::Remove),
            action("c", ActionKind::Assign),
        );
        let two = one.after(&base, &[&ra, &c], None, now, 2);
        assert_eq!(names(&two.apps), vec!["b", "c"]);
        assert_eq!(two.inflight.len(), 3);
        assert_eq!(two.inflight[&AppId::from("a")].kind, ActionKind::Remove);
    }

    #[test]
    fn what_uem_holds_wins_where_nothing_is_in_flight() {
        let now = Utc::now();
        let a = action("a", ActionKind::Assign);
        let intent = Intent::default().after(&[], &[&a], None, now, 1).settled(
            &a.app_id,
            &a.action_id,
            Settlement::Done,
        );
        // An admin removed the user from loadout:a by hand; an app appeared through loadout:x.
        let base = intent.base(&held(&["x"]), now);
        assert_eq!(names(&base), vec!["x"]);
        assert_eq!(base[0].assigned_by.as_str(), "observed");
    }

    #[test]
    fn an_action_in_flight_counts_as_the_intent_says() {
        let now = Utc::now();
        let a = action("a", ActionKind::Assign);
        let intent = Intent::default().after(&[], &[&a], None, now, 1);
        assert_eq!(names(&intent.base(&held(&[]), now)), vec!["a"]);
        let stale = now + chrono::Duration::from_std(INFLIGHT_TTL).unwrap();
        assert!(
            intent.base(&held(&[]), stale).is_empty(),
            "a lost settlement expires"
        );
    }

    #[test]
    fn a_given_up_assignment_is_no_longer_believed() {
        let now = Utc::now();
        let a = action("a", ActionKind::Assign);
        let intent = Intent::default().after(&[], &[&a], None, now, 1);
        let after = intent.settled(&a.app_id, &a.action_id, Settlement::GivenUp { holds: None });
        assert!(after.apps.is_empty() && after.inflight.is_empty());
        assert!(after.base(&Observation::Unknown, now).is_empty());
    }

    #[test]
    fn a_given_up_removal_is_still_to_do_for_the_next_decision() {
        let now = Utc::now();
        let a = action("a", ActionKind::Assign);
        let holding = Intent::default().after(&[], &[&a], None, now, 1).settled(
            &a.app_id,
            &a.action_id,
            Settlement::Done,
        );
        // The leaver's removal is sent, then dead-lettered.
        let ra = action("a", ActionKind::Remove);
        let removing = holding.after(
            &holding.base(&Observation::Unknown, now),
            &[&ra],
            None,
            now,
            2,
        );
        assert!(
            removing.apps.is_empty(),
            "in flight, the intent says removed"
        );
        let after = removing.settled(
            &ra.app_id,
            &ra.action_id,
            Settlement::GivenUp { holds: None },
        );
        assert!(after.inflight.is_empty());
        assert_eq!(
            after.apps, holding.apps,
            "the app is believed held again, as recorded"
        );
        // Whatever Loadout has observed, the next decision still finds the app to remove.
        assert_eq!(names(&after.base(&Observation::Unknown, now)), vec!["a"]);
        assert_eq!(names(&after.base(&held(&["a"]), now)), vec!["a"]);
        let decision = crate::domain::Decision {
            user_id: UserId::from("u"),
            correlation_id: CorrelationId::from("c2"),
            policy_version: "v".into(),
            decided_at: now,
            desired: vec![],
            denied: vec![],
        };
        let retried =
            crate::reconcile::reconcile(&decision, &after.base(&Observation::Unknown, now));
        assert_eq!(retried.len(), 1);
        assert_eq!(retried[0].kind, ActionKind::Remove);
        assert_eq!(retried[0].app_id.as_str(), "a");
    }

    #[test]
    fn a_given_up_push_mode_change_leaves_the_old_mode() {
        let now = Utc::now();
        let a = action("a", ActionKind::Assign);
        let holding = Intent::default().after(&[], &[&a], None, now, 1).settled(
            &a.app_id,
            &a.action_id,
            Settlement::Done,
        );
        let mut to_on_demand = action("a", ActionKind::Assign);
        to_on_demand.action_id = ActionId::from("a-a-on-demand");
        to_on_demand.push_mode = PushMode::OnDemand;
        let changing = holding.after(&holding.apps, &[&to_on_demand], None, now, 2);
        let after = changing.settled(
            &to_on_demand.app_id,
            &to_on_demand.action_id,
            Settlement::GivenUp { holds: None },
        );
        assert_eq!(after.apps, holding.apps);
        assert_eq!(after.apps[0].push_mode, PushMode::Auto);
    }

    #[test]
    fn a_given_up_removal_from_an_older_record_is_still_to_do() {
        let now = Utc::now();
        let ra = action("a", ActionKind::Remove);
        let mut removing = Intent::default().after(&[], &[&ra], None, now, 1);
        // Written before `previous` was recorded.
        removing
            .inflight
            .values_mut()
            .for_each(|f| f.previous = None);
        let after = removing.settled(
            &ra.app_id,
            &ra.action_id,
            Settlement::GivenUp { holds: None },
        );
        assert_eq!(names(&after.apps), vec!["a"]);
    }

    #[test]
    fn a_settlement_of_a_replaced_action_changes_nothing() {
        let now = Utc::now();
        let (a, ra) = (
            action("a", ActionKind::Assign),
            action("a", ActionKind::Remove),
        );
        let one = Intent::default().after(&[], &[&a], None, now, 1);
        let two = one.after(&one.base(&Observation::Unknown, now), &[&ra], None, now, 2);
        assert_eq!(two.settled(&a.app_id, &a.action_id, Settlement::Done), two);
    }

    #[test]
    fn an_older_profile_does_not_supersede_a_newer_intent() {
        let now = Utc::now();
        let intent = Intent {
            as_of: Some(now),
            ..Intent::default()
        };
        assert!(intent.supersedes(Some(now - chrono::Duration::seconds(1))));
        assert!(!intent.supersedes(Some(now)));
        assert!(!intent.supersedes(None));
    }
}
