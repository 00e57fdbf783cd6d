//! Fleet-wide what-if (`loadout simulate`): a candidate policy set run over the whole population
//! beside the baseline (the active set), and the difference: who gains and loses which app, the
//! licence cost, what the gates would hold for approval, and where the blast-radius breaker would
//! trip. Pure: engines, population, usage and catalog in, a report out. Both sets are evaluated
//! once per cohort (see [`crate::policy::Cohorts`]).

mod diff;
mod report;

pub use report::{
    AppChange, Approvals, Breaker, BreakerTrip, Cohorts, Cost, Direction, PushChange, UserChange,
    WhatIfReport,
};

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::domain::{
    Action, ActionId, ActionKind, AppId, AppUsage, Catalog, CorrelationId, Population, PushMode,
    UserId,
};
use crate::governance::{Gate, Governance};
use crate::policy::{CatalogFacts, FleetMember, FleetProgress, PolicyEngine, PolicyError};

use diff::Differ;

#[derive(Debug, thiserror::Error)]
pub enum WhatIfError {
    #[error("the breaker share must be between 0 and 1, not {0}")]
    BadBreakerShare(f64),
    #[error("evaluating the {which} policy set: {source}")]
    Policy {
        which: &'static str,
        #[source]
        source: PolicyError,
    },
}

#[derive(Debug, Clone)]
pub struct WhatIfOptions {
    /// The gates the changes would pass (`--mode`, pilot group).
    pub governance: Governance,
    /// An app gained or lost by more than this share of the population trips the breaker.
    pub breaker_share: f64,
    /// The time the policies are evaluated at (they may read the hour and weekday).
    pub at: DateTime<Utc>,
}

/// Which policy set is being evaluated, and how far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhatIfProgress {
    /// `"baseline"` or `"candidate"`.
    pub set: &'static str,
    pub done: usize,
    pub total: usize,
}

/// Runs both policy sets over the population and reports the difference.
pub fn what_if(
    baseline: &PolicyEngine,
    candidate: &PolicyEngine,
    population: &Population,
    usage: &BTreeMap<UserId, Vec<AppUsage>>,
    catalog: &Catalog,
    options: &WhatIfOptions,
    progress: &(dyn Fn(WhatIfProgress) + Sync),
) -> Result<WhatIfReport, WhatIfError> {
    if !(0.0..=1.0).contains(&options.breaker_share) {
        return Err(WhatIfError::BadBreakerShare(options.breaker_share));
    }
    let facts = CatalogFacts::new(catalog).map_err(|source| WhatIfError::Policy {
        which: "baseline",
        source,
    })?;
    let members = FleetMember::all(population);
    let run = |engine: &PolicyEngine, set: &'static str| {
        let report = |p: FleetProgress| {
            progress(WhatIfProgress {
                set,
                done: p.done,
                total: p.total,
            })
        };
        engine
            .desired_for_fleet(&members, &facts, options.at, &report)
            .map_err(|source| WhatIfError::Policy { which: set, source })
    };
    let before = run(baseline, "baseline")?;
    let after = run(candidate, "candidate")?;

    let mut apps: BTreeMap<AppId, AppChange> = BTreeMap::new();
    let mut changes = Vec::new();
    let mut approvals = Approvals::default();
    let (mut gains, mut losses, mut push_changes, mut losses_in_use) = (0, 0, 0, 0);
    let mut differ = Differ::new(&before, &after);
    for (i, member) in members.iter().enumerate() {
        let change = differ.change(i);
        if change.is_empty() {
            continue;
        }
        let user = &member.employee.id;
        let in_use: BTreeSet<&AppId> = usage
            .get(user)
            .into_iter()
            .flatten()
            .filter(|u| u.launches_30d > 0)
            .map(|u| &u.app_id)
            .collect();
        let mut gate = |app: &AppId, kind: ActionKind, push: PushMode| -> Approvals {
            let mut counted = Approvals::default();
            let Some(entry) = catalog.get(app) else {
                return counted;
            };
            let action = Action {
                action_id: ActionId::from("what-if"),
                correlation_id: CorrelationId::from("what-if"),
                user_id: user.clone(),
                app_id: app.clone(),
                kind,
                push_mode: push,
                reasons: vec![],
                policy_version: candidate.version().to_owned(),
                sequence: 1,
                uem_user: None,
            };
            match options
                .governance
                .gate(&action, entry, &member.employee.groups)
            {
                // A review window only delays: it runs unless someone objects.
                Gate::Execute | Gate::Hold { .. } => counted.execute += 1,
                Gate::AwaitApproval { .. } => counted.needed += 1,
                Gate::RecommendOnly { .. } => counted.recommend_only += 1,
            }
            approvals.execute += counted.execute;
            approvals.needed += counted.needed;
            approvals.recommend_only += counted.recommend_only;
            counted
        };
        for (app, push) in &change.gains {
            let counted = gate(app, ActionKind::Assign, *push);
            let entry = app_entry(&mut apps, catalog, app);
            entry.gained_by.push(user.clone());
            add_approvals(&mut entry.approvals, &counted);
            if *push == PushMode::Auto {
                entry.cost_delta_per_month += seat_cost(catalog, app);
            }
        }
        for (app, push) in &change.losses {
            let counted = gate(app, ActionKind::Remove, *push);
            let entry = app_entry(&mut apps, catalog, app);
            entry.lost_by.push(user.clone());
            add_approvals(&mut entry.approvals, &counted);
            if *push == PushMode::Auto {
                entry.cost_delta_per_month -= seat_cost(catalog, app);
            }
            if in_use.contains(app) {
                entry.losses_in_use += 1;
                losses_in_use += 1;
            }
        }
        for (app, from, to) in &change.push_changes {
            let entry = app_entry(&mut apps, catalog, app);
            entry.push_changed_for.push(user.clone());
            match (from, to) {
                (PushMode::OnDemand, PushMode::Auto) => {
                    entry.cost_delta_per_month += seat_cost(catalog, app);
                }
                (PushMode::Auto, PushMode::OnDemand) => {
                    entry.cost_delta_per_month -= seat_cost(catalog, app);
                }
                _ => {}
            }
        }
        gains += change.gains.len();
        losses += change.losses.len();
        push_changes += change.push_changes.len();
        changes.push(UserChange {
            user_id: user.clone(),
            gains: change.gains.iter().map(|(a, _)| a.clone()).collect(),
            losses: change.losses.iter().map(|(a, _)| a.clone()).collect(),
            push_changes: change
                .push_changes
                .iter()
                .map(|(app_id, from, to)| PushChange {
                    app_id: app_id.clone(),
                    from: *from,
                    to: *to,
                })
                .collect(),
        });
    }
    changes.sort_by(|a, b| a.user_id.cmp(&b.user_id));

    let cost = cost(&before, &after, &members, catalog);
    let breaker = breaker(&apps, members.len(), options.breaker_share);
    Ok(WhatIfReport {
        baseline_version: baseline.version().to_owned(),
        candidate_version: candidate.version().to_owned(),
        mode: options.governance.mode.as_str().to_owned(),
        users: members.len(),
        cohorts: Cohorts {
            baseline: before.cohorts().len(),
            candidate: after.cohorts().len(),
        },
        evaluations: before.evaluations() + after.evaluations(),
        users_changed: changes.len(),
        gains,
        losses,
        push_changes,
        losses_in_use,
        cost,
        approvals,
        breaker,
        apps: apps
            .into_values()
            .map(|mut app| {
                app.cost_delta_per_month = round_cents(app.cost_delta_per_month);
                app
            })
            .collect(),
        changes,
    })
}

fn app_entry<'a>(
    apps: &'a mut BTreeMap<AppId, AppChange>,
    catalog: &Catalog,
    app: &AppId,
) -> &'a mut AppChange {
    apps.entry(app.clone()).or_insert_with(|| AppChange {
        app_id: app.clone(),
        name: catalog
            .get(app)
            .map_or_else(|| app.as_str().to_owned(), |a| a.name.clone()),
        gained_by: vec![],
        lost_by: vec![],
        push_changed_for: vec![],
        losses_in_use: 0,
        cost_delta_per_month: 0.0,
        approvals: Approvals::default(),
    })
}

fn add_approvals(total: &mut Approvals, more: &Approvals) {
    total.needed += more.needed;
    total.recommend_only += more.recommend_only;
    total.execute += more.execute;
}

fn seat_cost(catalog: &Catalog, app: &AppId) -> f64 {
    catalog
        .get(app)
        .filter(|a| a.licensed)
        .map_or(0.0, |a| a.cost_per_seat)
}

/// Seats pushed before and after, and the most the offered apps could add.
fn cost(
    before: &crate::policy::FleetDecisions<'_>,
    after: &crate::policy::FleetDecisions<'_>,
    members: &[FleetMember<'_>],
    catalog: &Catalog,
) -> Cost {
    let mut cost = Cost::default();
    // Per cohort, then times its members: the same sum, far fewer lookups.
    let totals = |fleet: &crate::policy::FleetDecisions<'_>| -> (f64, f64) {
        let mut per_cohort: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
        let (mut pushed, mut offered) = (0.0, 0.0);
        for member in 0..members.len() {
            let cohort = fleet.cohorts().cohort_of(member);
            let (p, o) = *per_cohort.entry(cohort).or_insert_with(|| {
                fleet
                    .entitled(member)
                    .fold((0.0, 0.0), |(p, o), (app, push)| {
                        let c = seat_cost(catalog, app);
                        match push {
                            PushMode::Auto => (p + c, o),
                            PushMode::OnDemand => (p, o + c),
                        }
                    })
            });
            pushed += p;
            offered += o;
        }
        (pushed, offered)
    };
    let offered_before;
    let offered_after;
    (cost.pushed_baseline, offered_before) = totals(before);
    (cost.pushed_candidate, offered_after) = totals(after);
    cost.delta_per_month = round_cents(cost.pushed_candidate - cost.pushed_baseline);
    cost.offered_delta_per_month_max = round_cents(offered_after - offered_before);
    cost.pushed_baseline = round_cents(cost.pushed_baseline);
    cost.pushed_candidate = round_cents(cost.pushed_candidate);
    cost
}

fn round_cents(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn breaker(apps: &BTreeMap<AppId, AppChange>, users: usize, share: f64) -> Breaker {
    let threshold_users = (share * users as f64).floor() as usize;
    let mut trips = Vec::new();
    for app in apps.values() {
        for (direction, count) in [
            (Direction::Gain, app.gained_by.len()),
            (Direction::Loss, app.lost_by.len()),
        ] {
            if count > threshold_users {
                trips.push(BreakerTrip {
                    app_id: app.app_id.clone(),
                    direction,
                    users: count,
                    share: count as f64 / users.max(1) as f64,
                });
            }
        }
    }
    Breaker {
        share,
        threshold_users,
        trips,
    }
}

#[cfg(test)]
mod tests;
