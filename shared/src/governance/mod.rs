//! Governance gates: what runs now, what waits for approval, what waits out a review window,
//! and what is only recommended. The three gates of a careful rollout:
//!
//! 1. `recommend`: nothing executes; every action is a recommendation.
//! 2. `gated`: low-risk changes run; licensed or high-risk assignments, and removals of core or
//!    licensed apps, wait for approval.
//! 3. per app: the catalog's `automation` overrides the mode for that app, so apps graduate one
//!    at a time; past the setting's review date the app falls back to gated.
//!
//! Around them: a pilot scope (a group, optionally a list of apps), a blast-radius breaker per
//! app and direction (`breaker`), a review window during which new-hire bundles and removals can
//! be objected to, and a kill switch. The gate is pure: the decision stage gathers the facts
//! (approvals, objections, holds, the breaker's state) and `simulate` can run it offline.

pub mod breaker;

pub use breaker::{BreakerPolicy, Tripped};

use crate::domain::{Action, ActionKind, AppId, Automation, CatalogApp, Risk};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use std::time::Duration;

/// The operating mode of the whole service (`LOADOUT_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Nothing executes; every action becomes a recommendation in the dashboard.
    Recommend,
    /// Low-risk changes run; assigning licensed or high-risk apps waits for approval.
    Gated,
    /// Everything the policies decide runs.
    Auto,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Recommend => "recommend",
            Mode::Gated => "gated",
            Mode::Auto => "auto",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown mode {0:?} (expected recommend, gated or auto)")]
pub struct UnknownMode(pub String);

impl FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "recommend" => Ok(Mode::Recommend),
            "gated" => Ok(Mode::Gated),
            "auto" => Ok(Mode::Auto),
            other => Err(UnknownMode(other.to_owned())),
        }
    }
}

impl From<Automation> for Mode {
    fn from(a: Automation) -> Self {
        match a {
            Automation::Auto => Mode::Auto,
            Automation::Gated => Mode::Gated,
            Automation::Recommend => Mode::Recommend,
        }
    }
}

/// What the gate decided for one action, with the reason shown to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "gate", rename_all = "snake_case")]
pub enum Gate {
    Execute,
    AwaitApproval {
        reason: String,
    },
    RecommendOnly {
        reason: String,
    },
    /// Runs at `until` unless someone objects before (the review window).
    Hold {
        until: DateTime<Utc>,
        reason: String,
    },
}

impl Gate {
    pub fn reason(&self) -> Option<&str> {
        match self {
            Gate::Execute => None,
            Gate::AwaitApproval { reason }
            | Gate::RecommendOnly { reason }
            | Gate::Hold { reason, .. } => Some(reason),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Gate::Execute => "execute",
            Gate::AwaitApproval { .. } => "await_approval",
            Gate::RecommendOnly { .. } => "recommend_only",
            Gate::Hold { .. } => "hold",
        }
    }
}

/// Who is acted on at all while Loadout is being rolled out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pilot {
    /// Only members of this directory group are acted on.
    pub group: Option<String>,
    /// Only these apps are acted on (empty: every app).
    pub apps: Vec<AppId>,
}

impl Pilot {
    fn excludes(&self, app: &AppId, user_groups: &[String]) -> Option<String> {
        if let Some(group) = &self.group
            && !user_groups.iter().any(|g| g == group)
        {
            return Some(format!("the user is outside the pilot group {group:?}"));
        }
        if !self.apps.is_empty() && !self.apps.contains(app) {
            return Some(format!("{app} is outside the pilot's apps"));
        }
        None
    }
}

/// How long new-hire bundles and removals wait for an objection before they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewWindow {
    pub hold: Duration,
    pub new_hire_bundles: bool,
    pub removals: bool,
}

impl ReviewWindow {
    fn applies(&self, action: &Action, joiner: bool) -> bool {
        match action.kind {
            ActionKind::Assign => self.new_hire_bundles && joiner,
            ActionKind::Remove => self.removals,
        }
    }
}

/// What the gate needs to know beyond the action and the app.
#[derive(Debug, Clone, Default)]
pub struct GateFacts<'a> {
    pub user_groups: &'a [String],
    pub now: Option<DateTime<Utc>>,
    /// The action comes from a joiner event (a new-hire bundle).
    pub joiner: bool,
    /// An approver said yes to this action (a recommendation approved, a ServiceNow request
    /// approved).
    pub approved: bool,
    /// Someone objected during the review window (who, for the reason).
    pub objected_by: Option<String>,
    /// The review window for this action started then.
    pub held_since: Option<DateTime<Utc>>,
    /// The app's breaker for this direction is tripped.
    pub tripped: Option<Tripped>,
    /// The kill switch is on: nothing executes.
    pub kill_switch: bool,
}

/// The reason of everything the kill switch holds (how `loadout kill-switch off` finds them).
pub const KILL_SWITCH_REASON: &str = "the kill switch is on: nothing executes";

/// The gates in force; pure, so `simulate` can show what a mode change would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Governance {
    pub mode: Mode,
    /// Who (and which apps) are acted on; everyone else gets recommendations.
    pub pilot: Pilot,
    pub review_window: Option<ReviewWindow>,
    pub breaker: BreakerPolicy,
}

impl Governance {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            pilot: Pilot::default(),
            review_window: None,
            breaker: BreakerPolicy::default(),
        }
    }

    /// Only members of `group` are acted on.
    pub fn with_pilot_group(mut self, group: Option<String>) -> Self {
        self.pilot.group = group;
        self
    }

    /// The mode in force for one app: its own `automation` until its review date, the service's
    /// mode otherwise; an app whose review is overdue falls back to gated (never further than
    /// the service's mode allows).
    pub fn mode_for(&self, app: &CatalogApp, today: NaiveDate) -> (Mode, Option<String>) {
        match (app.automation, app.automation_review_by) {
            (Some(own), Some(review)) if today > review => {
                let mode = if self.mode == Mode::Recommend {
                    Mode::Recommend
                } else {
                    Mode::Gated
                };
                (
                    mode,
                    Some(format!(
                        "{}'s own setting ({}) was due for review on {review}: back to gated",
                        app.name,
                        own.as_str()
                    )),
                )
            }
            (Some(own), _) => (Mode::from(own), None),
            (None, _) => (self.mode, None),
        }
    }

    /// The gate of one action (`facts` at their defaults: no approval, nothing held, nothing
    /// tripped), as `simulate` uses it.
    pub fn gate(&self, action: &Action, app: &CatalogApp, user_groups: &[String]) -> Gate {
        self.gate_with(
            action,
            app,
            &GateFacts {
                user_groups,
                ..GateFacts::default()
            },
        )
    }

    /// Whether an assignment waits for an approver because of what the app is (licensed or
    /// high risk, under gated mode): the approvals that ServiceNow's App Approvals flow takes.
    /// The breaker's holds, core removals and review windows stay with Loadout's admins.
    pub fn app_needs_approval(
        &self,
        action: &Action,
        app: &CatalogApp,
        now: DateTime<Utc>,
    ) -> bool {
        action.kind == ActionKind::Assign
            && (app.licensed || app.risk == Risk::High)
            && self.mode_for(app, now.date_naive()).0 == Mode::Gated
    }

    pub fn gate_with(&self, action: &Action, app: &CatalogApp, facts: &GateFacts<'_>) -> Gate {
        if facts.kill_switch {
            return Gate::RecommendOnly {
                reason: KILL_SWITCH_REASON.into(),
            };
        }
        // An approver's yes is the end of the matter (the kill switch aside).
        if facts.approved {
            return Gate::Execute;
        }
        if let Some(by) = &facts.objected_by {
            return Gate::RecommendOnly {
                reason: format!("{by} objected during the review window"),
            };
        }
        if let Some(reason) = self.pilot.excludes(&action.app_id, facts.user_groups) {
            return Gate::RecommendOnly { reason };
        }
        let now = facts.now.unwrap_or_else(Utc::now);
        let (mode, overdue) = self.mode_for(app, now.date_naive());
        let suffix = overdue.map(|o| format!(" ({o})")).unwrap_or_default();
        match mode {
            Mode::Recommend => {
                return Gate::RecommendOnly {
                    reason: format!(
                        "recommend mode: nothing executes until an admin accepts it{suffix}"
                    ),
                };
            }
            Mode::Auto => {}
            Mode::Gated => {
                let reason = match action.kind {
                    ActionKind::Assign if app.licensed => Some(format!(
                        "{} is licensed ({:.2} per seat): needs approval",
                        app.name, app.cost_per_seat
                    )),
                    ActionKind::Assign if app.risk == Risk::High => {
                        Some(format!("{} is high risk: needs approval", app.name))
                    }
                    ActionKind::Remove if app.core => Some(format!(
                        "{} is a core app: taking it away needs approval",
                        app.name
                    )),
                    ActionKind::Remove if app.licensed => Some(format!(
                        "{} is licensed: taking the seat away needs approval",
                        app.name
                    )),
                    _ => None,
                };
                if let Some(reason) = reason {
                    return Gate::AwaitApproval {
                        reason: format!("{reason}{suffix}"),
                    };
                }
            }
        }
        if let Some(tripped) = &facts.tripped {
            return Gate::AwaitApproval {
                reason: tripped.reason.clone(),
            };
        }
        if let Some(window) = &self.review_window
            && window.applies(action, facts.joiner)
        {
            let since = facts.held_since.unwrap_or(now);
            let until = since + chrono::Duration::from_std(window.hold).unwrap_or_default();
            if until > now {
                return Gate::Hold {
                    until,
                    reason: format!(
                        "{} waits until {} for an objection (review window)",
                        match action.kind {
                            ActionKind::Assign => "a new hire's app",
                            ActionKind::Remove => "a removal",
                        },
                        until.format("%Y-%m-%d %H:%M UTC")
                    ),
                };
            }
        }
        Gate::Execute
    }
}

#[cfg(test)]
mod tests;
