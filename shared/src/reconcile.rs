//! The reconciler: desired minus actual becomes assignments; what Loadout manages but is no longer
//! desired becomes removals. Loadout never removes what it did not assign: `managed` only ever
//! holds apps that Loadout itself assigned.

use crate::domain::{Action, ActionKind, AppId, CorrelationId, Decision, PushMode, Reason};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An app Loadout assigned to a user and UEM holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedApp {
    pub app_id: AppId,
    pub push_mode: PushMode,
    /// The correlation id of the change that assigned it (for rollback and explanations).
    pub assigned_by: CorrelationId,
    pub assigned_at: DateTime<Utc>,
}

/// The rule id used when an app loses its last entitlement without a guardrail forbidding it.
pub const NO_ENTITLEMENT_RULE: &str = "loadout:no-entitlement";
/// The rule id used when only the push mode of an app changes.
pub const PUSH_MODE_RULE: &str = "loadout:push-mode-change";

/// The smallest set of actions that makes `managed` match the decision, each with its reasons.
pub fn reconcile(decision: &Decision, managed: &[ManagedApp]) -> Vec<Action> {
    let managed: BTreeMap<&AppId, &ManagedApp> = managed.iter().map(|m| (&m.app_id, m)).collect();
    let mut actions = Vec::new();
    let make = |app: &AppId, kind: ActionKind, push_mode: PushMode, reasons: Vec<Reason>| Action {
        action_id: Action::derive_id(&decision.correlation_id, &decision.user_id, app, kind),
        correlation_id: decision.correlation_id.clone(),
        user_id: decision.user_id.clone(),
        app_id: app.clone(),
        kind,
        push_mode,
        reasons,
        policy_version: decision.policy_version.clone(),
        sequence: 0,
        uem_user: None,
    };
    for wanted in &decision.desired {
        match managed.get(&wanted.app_id) {
            None => actions.push(make(
                &wanted.app_id,
                ActionKind::Assign,
                wanted.push_mode,
                wanted.reasons.clone(),
            )),
            Some(current) if current.push_mode != wanted.push_mode => {
                let mut reasons = wanted.reasons.clone();
                reasons.push(Reason {
                    rule_id: PUSH_MODE_RULE.into(),
                    text: format!(
                        "delivery changes from {} to {}",
                        current.push_mode.as_str(),
                        wanted.push_mode.as_str()
                    ),
                });
                actions.push(make(
                    &wanted.app_id,
                    ActionKind::Assign,
                    wanted.push_mode,
                    reasons,
                ));
            }
            Some(_) => {}
        }
    }
    for (app, current) in &managed {
        if decision.entitlement(app).is_some() {
            continue;
        }
        let reasons = match decision.denied.iter().find(|d| &d.app_id == *app) {
            Some(denial) => denial.reasons.clone(),
            None => vec![Reason {
                rule_id: NO_ENTITLEMENT_RULE.into(),
                text: "no policy entitles the user to this app any more".into(),
            }],
        };
        actions.push(make(app, ActionKind::Remove, current.push_mode, reasons));
    }
    actions.sort_by(|a, b| (&a.app_id, a.kind.as_str()).cmp(&(&b.app_id, b.kind.as_str())));
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Denial, Entitlement, UserId};

    fn decision(desired: &[(&str, PushMode)], denied: &[&str]) -> Decision {
        Decision {
            user_id: UserId::from("u1"),
            correlation_id: CorrelationId::from("c1"),
            policy_version: "pv-1".into(),
            decided_at: Utc::now(),
            desired: desired
                .iter()
                .map(|(app, mode)| Entitlement {
                    app_id: AppId::from(*app),
                    push_mode: *mode,
                    reasons: vec![Reason {
                        rule_id: format!("grant-{app}"),
                        text: "granted".into(),
                    }],
                    devices: vec![],
                })
                .collect(),
            denied: denied
                .iter()
                .map(|app| Denial {
                    app_id: AppId::from(*app),
                    reasons: vec![Reason {
                        rule_id: "guardrail".into(),
                        text: "forbidden".into(),
                    }],
                })
                .collect(),
        }
    }

    fn managed(app: &str, mode: PushMode) -> ManagedApp {
        ManagedApp {
            app_id: AppId::from(app),
            push_mode: mode,
            assigned_by: CorrelationId::from("old"),
            assigned_at: Utc::now(),
        }
    }

    #[test]
    fn joiner_gets_every_desired_app_assigned() {
        let d = decision(
            &[("slack", PushMode::Auto), ("zoom", PushMode::OnDemand)],
            &[],
        );
        let actions = reconcile(&d, &[]);
        assert_eq!(actions.len(), 2);
        assert!(actions.iter().all(|a| a.kind == ActionKind::Assign));
        assert_eq!(actions[1].push_mode, PushMode::OnDemand);
        assert_eq!(actions[0].reasons[0].rule_id, "grant-slack");
    }

    #[test]
    fn nothing_to_do_when_managed_matches_desired() {
        let d = decision(&[("slack", PushMode::Auto)], &[]);
        assert!(reconcile(&d, &[managed("slack", PushMode::Auto)]).is_empty());
    }

    #[test]
    fn mover_loses_apps_no_longer_entitled_with_a_reason() {
        let d = decision(&[("slack", PushMode::Auto)], &["salesforce"]);
        let actions = reconcile(
            &d,
            &[
                managed("slack", PushMode::Auto),
                managed("salesforce", PushMode::Auto),
                managed("gong", PushMode::OnDemand),
            ],
        );
        let removes: Vec<(&str, &str)> = actions
            .iter()
            .map(|a| (a.app_id.as_str(), a.reasons[0].rule_id.as_str()))
            .collect();
        assert_eq!(
            removes,
            vec![("gong", NO_ENTITLEMENT_RULE), ("salesforce", "guardrail")]
        );
        assert!(actions.iter().all(|a| a.kind == ActionKind::Remove));
    }

    #[test]
    fn a_push_mode_change_is_a_reassignment() {
        let d = decision(&[("zoom", PushMode::Auto)], &[]);
        let actions = reconcile(&d, &[managed("zoom", PushMode::OnDemand)]);
        assert_eq!(actions.len(), 1);
        assert_eq!(actions[0].kind, ActionKind::Assign);
        assert_eq!(actions[0].push_mode, PushMode::Auto);
        assert_eq!(
            actions[0].reasons.last().map(|r| r.rule_id.as_str()),
            Some(PUSH_MODE_RULE)
        );
    }

    #[test]
    fn leaver_with_empty_desired_set_loses_everything_loadout_assigned() {
        let d = decision(&[], &[]);
        let actions = reconcile(
            &d,
            &[managed("a", PushMode::Auto), managed("b", PushMode::Auto)],
        );
        assert_eq!(actions.len(), 2);
        assert!(actions.iter().all(|a| a.kind == ActionKind::Remove));
    }
}
