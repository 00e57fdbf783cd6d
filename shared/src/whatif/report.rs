//! The what-if report: who gains and loses which app, what it costs, what it would need
//! approved, and which apps would trip the blast-radius breaker.

use std::fmt;

use serde::Serialize;

use crate::domain::{AppId, PushMode, UserId};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIfReport {
    pub baseline_version: String,
    pub candidate_version: String,
    pub mode: String,
    pub users: usize,
    /// Distinct cohorts each policy set was evaluated for.
    pub cohorts: Cohorts,
    /// Cedar requests answered, both sets together.
    pub evaluations: usize,
    pub users_changed: usize,
    /// (user, app) pairs gained, lost, and changing delivery.
    pub gains: usize,
    pub losses: usize,
    pub push_changes: usize,
    /// Losses of apps the user launched in the last 30 days (usage.csv): the ones people notice.
    pub losses_in_use: usize,
    pub cost: Cost,
    pub approvals: Approvals,
    pub breaker: Breaker,
    /// Apps with any change, by app id.
    pub apps: Vec<AppChange>,
    /// Users with any change, by user id.
    pub changes: Vec<UserChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cohorts {
    pub baseline: usize,
    pub candidate: usize,
}

/// Monthly licence cost in the catalog's currency (`cost_per_seat` per user and month).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Cost {
    /// Seats of apps pushed automatically, before and after.
    pub pushed_baseline: f64,
    pub pushed_candidate: f64,
    /// The headline: the change in pushed seats' cost.
    pub delta_per_month: f64,
    /// Apps offered in the Hub cost only once installed: the most the change could add.
    pub offered_delta_per_month_max: f64,
}

/// What the gates would do with the actions the change produces, in the given mode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Approvals {
    /// Actions that would wait for an approval.
    pub needed: usize,
    /// Actions that would only be recommended.
    pub recommend_only: usize,
    /// Actions that would run.
    pub execute: usize,
}

/// Apps whose gains or losses reach more than `share` of the population. The governance
/// breaker halts such an app's changes for approval; this counts where it would trip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breaker {
    pub share: f64,
    /// More users than this gaining or losing one app trips it.
    pub threshold_users: usize,
    pub trips: Vec<BreakerTrip>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Gain,
    Loss,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerTrip {
    pub app_id: AppId,
    pub direction: Direction,
    pub users: usize,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppChange {
    pub app_id: AppId,
    pub name: String,
    pub gained_by: Vec<UserId>,
    pub lost_by: Vec<UserId>,
    /// Users whose delivery of the app changes (pushed <-> offered).
    pub push_changed_for: Vec<UserId>,
    pub losses_in_use: usize,
    /// Change in the monthly cost of pushed seats of this app.
    pub cost_delta_per_month: f64,
    pub approvals: Approvals,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserChange {
    pub user_id: UserId,
    pub gains: Vec<AppId>,
    pub losses: Vec<AppId>,
    pub push_changes: Vec<PushChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushChange {
    pub app_id: AppId,
    pub from: PushMode,
    pub to: PushMode,
}

/// How many users a text report lists before "and N more".
const LISTED: usize = 20;

impl fmt::Display for WhatIfReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "what-if: {} -> {} over {} users ({} and {} cohorts, {} evaluations), {} mode",
            self.baseline_version,
            self.candidate_version,
            self.users,
            self.cohorts.baseline,
            self.cohorts.candidate,
            self.evaluations,
            self.mode
        )?;
        writeln!(
            f,
            "{} users change: {} app gains, {} losses ({} of apps in use), {} delivery changes",
            self.users_changed, self.gains, self.losses, self.losses_in_use, self.push_changes
        )?;
        writeln!(
            f,
            "licence cost of pushed seats: {:.2} -> {:.2} per month ({:+.2}); offered in the Hub: up to {:+.2}",
            self.cost.pushed_baseline,
            self.cost.pushed_candidate,
            self.cost.delta_per_month,
            self.cost.offered_delta_per_month_max
        )?;
        writeln!(
            f,
            "gates: {} action(s) would run, {} wait for approval, {} only recommended",
            self.approvals.execute, self.approvals.needed, self.approvals.recommend_only
        )?;
        if self.breaker.trips.is_empty() {
            writeln!(
                f,
                "breaker: no app gained or lost by more than {:.0}% of users ({})",
                self.breaker.share * 100.0,
                self.breaker.threshold_users
            )?;
        } else {
            for trip in &self.breaker.trips {
                writeln!(
                    f,
                    "breaker: {} would trip: {} users {} it ({:.0}% > {:.0}%)",
                    trip.app_id,
                    trip.users,
                    match trip.direction {
                        Direction::Gain => "gain",
                        Direction::Loss => "lose",
                    },
                    trip.share * 100.0,
                    self.breaker.share * 100.0
                )?;
            }
        }
        if !self.apps.is_empty() {
            writeln!(f)?;
            let width = self
                .apps
                .iter()
                .map(|a| a.app_id.as_str().len())
                .max()
                .unwrap_or(3);
            writeln!(
                f,
                "{:<width$}  {:>6}  {:>6}  {:>8}  {:>12}  {:>9}",
                "app", "gains", "losses", "delivery", "cost/month", "approvals"
            )?;
            for app in &self.apps {
                writeln!(
                    f,
                    "{:<width$}  {:>6}  {:>6}  {:>8}  {:>+12.2}  {:>9}",
                    app.app_id.as_str(),
                    app.gained_by.len(),
                    app.lost_by.len(),
                    app.push_changed_for.len(),
                    app.cost_delta_per_month,
                    app.approvals.needed
                )?;
            }
        }
        if !self.changes.is_empty() {
            writeln!(f)?;
            for change in self.changes.iter().take(LISTED) {
                let mut parts = Vec::new();
                parts.extend(change.gains.iter().map(|a| format!("+{a}")));
                parts.extend(change.losses.iter().map(|a| format!("-{a}")));
                for p in &change.push_changes {
                    parts.push(format!(
                        "~{} ({} -> {})",
                        p.app_id,
                        p.from.as_str(),
                        p.to.as_str()
                    ));
                }
                writeln!(f, "{}: {}", change.user_id, parts.join("  "))?;
            }
            if self.changes.len() > LISTED {
                writeln!(
                    f,
                    "... and {} more users (--json lists all)",
                    self.changes.len() - LISTED
                )?;
            }
        }
        Ok(())
    }
}
