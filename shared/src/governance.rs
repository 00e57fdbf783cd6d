//! Governance gates: what runs now, what waits for approval, what is only recommended.

use crate::domain::{Action, ActionKind, CatalogApp, Risk};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

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

/// What the gate decided for one action, with the reason shown to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "gate", rename_all = "snake_case")]
pub enum Gate {
    Execute,
    AwaitApproval { reason: String },
    RecommendOnly { reason: String },
}

/// The gates in force; pure, so `simulate` can show what a mode change would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Governance {
    pub mode: Mode,
    /// When set, only members of this directory group are acted on; others get recommendations.
    pub pilot_group: Option<String>,
}

impl Governance {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            pilot_group: None,
        }
    }

    /// `user_groups` are the directory groups of the action's user.
    pub fn gate(&self, action: &Action, app: &CatalogApp, user_groups: &[String]) -> Gate {
        if let Some(pilot) = &self.pilot_group
            && !user_groups.iter().any(|g| g == pilot)
        {
            return Gate::RecommendOnly {
                reason: format!("user is outside the pilot group {pilot:?}"),
            };
        }
        match self.mode {
            Mode::Recommend => Gate::RecommendOnly {
                reason: "recommend mode: nothing executes until an admin accepts it".into(),
            },
            Mode::Auto => Gate::Execute,
            Mode::Gated => match action.kind {
                // Taking an app away never costs a licence or adds risk.
                ActionKind::Remove => Gate::Execute,
                ActionKind::Assign if app.licensed => Gate::AwaitApproval {
                    reason: format!(
                        "{} is licensed ({:.2} per seat): needs approval",
                        app.name, app.cost_per_seat
                    ),
                },
                ActionKind::Assign if app.risk == Risk::High => Gate::AwaitApproval {
                    reason: format!("{} is high risk: needs approval", app.name),
                },
                ActionKind::Assign => Gate::Execute,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ActionId, AppId, CorrelationId, Platform, PushMode, UserId};

    fn app(licensed: bool, risk: Risk) -> CatalogApp {
        CatalogApp {
            id: AppId::from("x"),
            name: "X".into(),
            uem_app_id: "1".into(),
            platforms: vec![Platform::Ios],
            bundles: vec![],
            licensed,
            cost_per_seat: if licensed { 10.0 } else { 0.0 },
            risk,
        }
    }

    fn action(kind: ActionKind) -> Action {
        Action {
            action_id: ActionId::from("a"),
            correlation_id: CorrelationId::from("c"),
            user_id: UserId::from("u"),
            app_id: AppId::from("x"),
            kind,
            push_mode: PushMode::Auto,
            reasons: vec![],
            policy_version: "v".into(),
            sequence: 0,
            uem_user: None,
        }
    }

    #[test]
    fn gated_mode_holds_licensed_assignments_for_approval() {
        let g = Governance::new(Mode::Gated);
        assert!(matches!(
            g.gate(&action(ActionKind::Assign), &app(true, Risk::Low), &[]),
            Gate::AwaitApproval { .. }
        ));
        assert_eq!(
            g.gate(&action(ActionKind::Assign), &app(false, Risk::Low), &[]),
            Gate::Execute
        );
        assert_eq!(
            g.gate(&action(ActionKind::Remove), &app(true, Risk::High), &[]),
            Gate::Execute
        );
    }

    #[test]
    fn recommend_mode_executes_nothing() {
        let g = Governance::new(Mode::Recommend);
        assert!(matches!(
            g.gate(&action(ActionKind::Remove), &app(false, Risk::Low), &[]),
            Gate::RecommendOnly { .. }
        ));
    }

    #[test]
    fn outside_the_pilot_only_recommendations() {
        let mut g = Governance::new(Mode::Auto);
        g.pilot_group = Some("pilot".into());
        assert!(matches!(
            g.gate(
                &action(ActionKind::Assign),
                &app(false, Risk::Low),
                &["sales".into()]
            ),
            Gate::RecommendOnly { .. }
        ));
        assert_eq!(
            g.gate(
                &action(ActionKind::Assign),
                &app(false, Risk::Low),
                &["pilot".into()]
            ),
            Gate::Execute
        );
    }
}
