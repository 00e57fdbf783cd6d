use super::*;
use crate::domain::{ActionId, AppId, CorrelationId, Platform, PushMode, UserId};

fn app(licensed: bool, risk: Risk) -> CatalogApp {
    CatalogApp {
        id: AppId::from("x"),
        name: "X".into(),
        uem_app_id: "1".into(),
        platforms: vec![Platform::Ios],
        licensed,
        cost_per_seat: if licensed { 10.0 } else { 0.0 },
        risk,
        ..CatalogApp::default()
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
        sequence: 1,
        uem_user: None,
    }
}

fn now() -> DateTime<Utc> {
    "2026-12-05T12:00:00Z".parse().expect("time")
}

fn facts<'a>(groups: &'a [String]) -> GateFacts<'a> {
    GateFacts {
        user_groups: groups,
        now: Some(now()),
        ..GateFacts::default()
    }
}

#[test]
fn gated_mode_holds_licensed_and_high_risk_assignments_for_approval() {
    let g = Governance::new(Mode::Gated);
    assert!(matches!(
        g.gate(&action(ActionKind::Assign), &app(true, Risk::Low), &[]),
        Gate::AwaitApproval { .. }
    ));
    assert!(matches!(
        g.gate(&action(ActionKind::Assign), &app(false, Risk::High), &[]),
        Gate::AwaitApproval { .. }
    ));
    assert_eq!(
        g.gate(&action(ActionKind::Assign), &app(false, Risk::Low), &[]),
        Gate::Execute
    );
}

/// Review finding: gated mode ran every removal, so a bad policy push could strip core apps.
#[test]
fn gated_mode_holds_removals_of_core_and_licensed_apps() {
    let g = Governance::new(Mode::Gated);
    let mut core = app(false, Risk::Low);
    core.core = true;
    assert!(matches!(
        g.gate(&action(ActionKind::Remove), &core, &[]),
        Gate::AwaitApproval { reason } if reason.contains("core")
    ));
    assert!(matches!(
        g.gate(&action(ActionKind::Remove), &app(true, Risk::High), &[]),
        Gate::AwaitApproval { .. }
    ));
    assert_eq!(
        g.gate(&action(ActionKind::Remove), &app(false, Risk::Low), &[]),
        Gate::Execute,
        "a plain app goes without asking"
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
fn an_apps_own_setting_overrides_the_mode_until_its_review_date() {
    let g = Governance::new(Mode::Recommend);
    let mut graduated = app(true, Risk::Low);
    graduated.automation = Some(Automation::Auto);
    graduated.automation_review_by = Some("2027-01-31".parse().expect("date"));
    assert_eq!(
        g.gate_with(&action(ActionKind::Assign), &graduated, &facts(&[])),
        Gate::Execute,
        "the app graduated to auto while the service recommends"
    );
    let gated_service = Governance::new(Mode::Gated);
    graduated.automation_review_by = Some("2026-11-30".parse().expect("date"));
    let gate = gated_service.gate_with(&action(ActionKind::Assign), &graduated, &facts(&[]));
    assert!(
        matches!(&gate, Gate::AwaitApproval { reason } if reason.contains("review")),
        "past its review date the app falls back to gated: {gate:?}"
    );
    let mut held_back = app(false, Risk::Low);
    held_back.automation = Some(Automation::Recommend);
    assert!(matches!(
        Governance::new(Mode::Auto).gate_with(&action(ActionKind::Assign), &held_back, &facts(&[])),
        Gate::RecommendOnly { .. }
    ));
}

#[test]
fn outside_the_pilot_group_or_apps_only_recommendations() {
    let mut g = Governance::new(Mode::Auto);
    g.pilot.group = Some("pilot".into());
    let sales = ["sales".to_owned()];
    let pilot = ["pilot".to_owned()];
    assert!(matches!(
        g.gate(&action(ActionKind::Assign), &app(false, Risk::Low), &sales),
        Gate::RecommendOnly { .. }
    ));
    assert_eq!(
        g.gate(&action(ActionKind::Assign), &app(false, Risk::Low), &pilot),
        Gate::Execute
    );
    g.pilot.apps = vec![AppId::from("slack")];
    assert!(matches!(
        g.gate(&action(ActionKind::Assign), &app(false, Risk::Low), &pilot),
        Gate::RecommendOnly { reason } if reason.contains("pilot's apps")
    ));
}

#[test]
fn an_approval_runs_and_the_kill_switch_stops_everything() {
    let g = Governance::new(Mode::Gated);
    let licensed = app(true, Risk::High);
    let approved = GateFacts {
        approved: true,
        ..facts(&[])
    };
    assert_eq!(
        g.gate_with(&action(ActionKind::Assign), &licensed, &approved),
        Gate::Execute
    );
    let killed = GateFacts {
        kill_switch: true,
        ..approved
    };
    assert!(matches!(
        g.gate_with(&action(ActionKind::Assign), &licensed, &killed),
        Gate::RecommendOnly { .. }
    ));
}

#[test]
fn a_tripped_breaker_asks_for_approval() {
    let g = Governance::new(Mode::Auto);
    let tripped = GateFacts {
        tripped: Some(Tripped {
            at: now(),
            reason: "60 users lost X within an hour".into(),
        }),
        ..facts(&[])
    };
    assert!(matches!(
        g.gate_with(&action(ActionKind::Remove), &app(false, Risk::Low), &tripped),
        Gate::AwaitApproval { reason } if reason.contains("60 users")
    ));
}

#[test]
fn the_review_window_holds_then_lets_run_and_an_objection_stops() {
    let mut g = Governance::new(Mode::Auto);
    g.review_window = Some(ReviewWindow {
        hold: Duration::from_secs(24 * 3600),
        new_hire_bundles: true,
        removals: true,
    });
    let plain = app(false, Risk::Low);
    let joiner = GateFacts {
        joiner: true,
        ..facts(&[])
    };
    let Gate::Hold { until, .. } = g.gate_with(&action(ActionKind::Assign), &plain, &joiner) else {
        panic!("a new hire's bundle is held");
    };
    assert_eq!(until, now() + chrono::Duration::hours(24));
    let later = GateFacts {
        held_since: Some(now() - chrono::Duration::hours(25)),
        ..joiner.clone()
    };
    assert_eq!(
        g.gate_with(&action(ActionKind::Assign), &plain, &later),
        Gate::Execute,
        "silence lets it run"
    );
    let objected = GateFacts {
        objected_by: Some("the hiring manager".into()),
        ..later
    };
    assert!(matches!(
        g.gate_with(&action(ActionKind::Assign), &plain, &objected),
        Gate::RecommendOnly { reason } if reason.contains("objected")
    ));
    assert_eq!(
        g.gate_with(&action(ActionKind::Assign), &plain, &facts(&[])),
        Gate::Execute,
        "a mover's assignment is not a new-hire bundle"
    );
}
