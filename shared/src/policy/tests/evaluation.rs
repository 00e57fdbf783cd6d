use chrono::{TimeZone, Utc};

use super::{SCHEMA, app, demo_time, employee, files};
use crate::domain::{Catalog, Device, Ownership, Platform, PushMode, Risk, UserContext, UserId};
use crate::policy::{DeviceFacts, PolicyEngine, UserFacts, Verdict};

const POLICIES: &str = r#"
@id("core-apps")
@reason("Everyone gets core.")
@push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"core");

@id("core-offered")
@reason("Core is also in the Hub.")
@push("on_demand")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"core");

@id("optional")
@reason("Anyone may install optional apps.")
@push("on_demand")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"optional");

@id("no-licensed-for-contractors")
@reason("Contractors get no paid licenses.")
forbid (principal, action == Loadout::Action::"assign", resource)
when { principal.employment_type == "Contractor" && resource.licensed };

@id("no-high-risk-on-byod")
@reason("No high-risk apps on BYOD.")
forbid (principal, action == Loadout::Action::"assign", resource)
when { context.device.ownership == "Employee" && resource.risk == "high" };
"#;

fn engine() -> PolicyEngine {
    PolicyEngine::from_sources(SCHEMA, &files(&[("test.cedar", POLICIES)])).expect("loads")
}

fn corporate(platform: Platform) -> DeviceFacts {
    DeviceFacts {
        enrolled: true,
        device_id: Some("10001".to_owned()),
        ..DeviceFacts::prospective(platform)
    }
}

fn ids(reasons: &[crate::domain::Reason]) -> Vec<&str> {
    reasons.iter().map(|r| r.rule_id.as_str()).collect()
}

#[test]
fn auto_wins_when_an_auto_and_an_on_demand_permit_both_apply() {
    let user = UserFacts::new(&employee("amy", "Sales", "Full-time"), false).expect("user");
    let verdict = engine()
        .evaluate(
            &user,
            &app("slack", &["core"], true, Risk::Low),
            &corporate(Platform::Ios),
            demo_time(),
        )
        .expect("evaluates");
    let Verdict::Allow {
        push_mode,
        reasons,
        errors,
    } = verdict
    else {
        panic!("expected allow, got {verdict:?}");
    };
    assert_eq!(push_mode, PushMode::Auto);
    assert_eq!(ids(&reasons), vec!["core-apps", "core-offered"]);
    assert_eq!(reasons[0].text, "Everyone gets core.");
    assert!(errors.is_empty());
}

#[test]
fn an_app_only_on_demand_permits_allow_is_offered_on_demand() {
    let user = UserFacts::new(&employee("amy", "Sales", "Full-time"), false).expect("user");
    let verdict = engine()
        .evaluate(
            &user,
            &app("notion", &["optional"], true, Risk::Low),
            &corporate(Platform::MacOs),
            demo_time(),
        )
        .expect("evaluates");
    assert!(
        matches!(
            verdict,
            Verdict::Allow {
                push_mode: PushMode::OnDemand,
                ..
            }
        ),
        "{verdict:?}"
    );
}

#[test]
fn contractor_is_denied_a_licensed_app_naming_the_guardrail_and_the_overridden_permits() {
    let user = UserFacts::new(&employee("cory", "Sales", "Contractor"), false).expect("user");
    let verdict = engine()
        .evaluate(
            &user,
            &app("outlook", &["core"], true, Risk::Low),
            &corporate(Platform::Windows),
            demo_time(),
        )
        .expect("evaluates");
    let Verdict::Deny {
        reasons,
        overridden,
        ..
    } = verdict
    else {
        panic!("expected deny, got {verdict:?}");
    };
    assert_eq!(ids(&reasons), vec!["no-licensed-for-contractors"]);
    assert_eq!(reasons[0].text, "Contractors get no paid licenses.");
    assert_eq!(ids(&overridden), vec!["core-apps", "core-offered"]);
}

#[test]
fn a_forbid_on_an_app_that_no_permit_grants_is_no_permit_not_a_denial() {
    let user = UserFacts::new(&employee("cory", "Sales", "Contractor"), false).expect("user");
    let verdict = engine()
        .evaluate(
            &user,
            &app("salesforce", &["sales"], true, Risk::Medium),
            &corporate(Platform::Ios),
            demo_time(),
        )
        .expect("evaluates");
    assert_eq!(verdict, Verdict::NoPermit { errors: vec![] });
}

#[test]
fn high_risk_app_is_denied_on_byod_and_allowed_on_corporate() {
    let user = UserFacts::new(&employee("dev", "Engineering", "Full-time"), false).expect("user");
    let docker = app("docker-desktop", &["optional"], false, Risk::High);
    let byod = DeviceFacts {
        ownership: Ownership::Employee,
        ..corporate(Platform::MacOs)
    };
    let engine = engine();
    let on_byod = engine
        .evaluate(&user, &docker, &byod, demo_time())
        .expect("evaluates");
    assert_eq!(ids(on_byod.reasons()), vec!["no-high-risk-on-byod"]);
    assert!(!on_byod.is_allow());
    let on_corporate = engine
        .evaluate(&user, &docker, &corporate(Platform::MacOs), demo_time())
        .expect("evaluates");
    assert!(on_corporate.is_allow());
}

#[test]
fn a_rule_that_fails_to_evaluate_is_reported_and_treated_as_not_applying() {
    let overflowing = r#"
@id("overflows")
@reason("Arithmetic overflow on purpose.")
forbid (principal, action == Loadout::Action::"assign", resource)
when { context.device.os_major + 9223372036854775807 > 0 };
"#;
    let engine = PolicyEngine::from_sources(
        SCHEMA,
        &files(&[("test.cedar", POLICIES), ("broken.cedar", overflowing)]),
    )
    .expect("loads: the overflow only shows at run time");
    let user = UserFacts::new(&employee("amy", "Sales", "Full-time"), false).expect("user");
    let device = DeviceFacts {
        os_major: 18,
        ..corporate(Platform::Ios)
    };
    let verdict = engine
        .evaluate(
            &user,
            &app("slack", &["core"], true, Risk::Low),
            &device,
            demo_time(),
        )
        .expect("evaluates");
    assert!(
        verdict.is_allow(),
        "the erroring forbid does not apply: {verdict:?}"
    );
    assert_eq!(verdict.errors().len(), 1);
    assert_eq!(verdict.errors()[0].rule_id, "overflows");
    assert!(
        verdict.errors()[0].message.contains("overflow"),
        "{:?}",
        verdict.errors()
    );
}

#[test]
fn hour_and_weekday_come_from_the_decision_time_in_utc() {
    let office_hours = r#"
@id("friday-afternoon")
@reason("Only on Friday afternoons, UTC.")
@push("on_demand")
permit (principal, action == Loadout::Action::"assign", resource)
when { context.weekday == 5 && context.hour == 14 };
"#;
    let engine =
        PolicyEngine::from_sources(SCHEMA, &files(&[("t.cedar", office_hours)])).expect("loads");
    let user = UserFacts::new(&employee("amy", "Sales", "Full-time"), false).expect("user");
    let game = app("anything", &[], false, Risk::Low);
    let device = corporate(Platform::Android);
    assert!(
        engine
            .evaluate(&user, &game, &device, demo_time())
            .expect("ok")
            .is_allow()
    );
    let saturday = Utc
        .with_ymd_and_hms(2026, 11, 21, 14, 0, 0)
        .single()
        .expect("time");
    assert!(
        !engine
            .evaluate(&user, &game, &device, saturday)
            .expect("ok")
            .is_allow()
    );
}

#[test]
fn groups_are_parents_of_the_user_and_is_manager_is_an_attribute() {
    let rules = r#"
@id("pilot")
@reason("Pilot group.")
@push("on_demand")
permit (principal in Loadout::Group::"pilot", action, resource == Loadout::App::"copilot");

@id("managers")
@reason("Managers.")
@push("auto")
permit (principal, action, resource == Loadout::App::"lattice") when { principal.is_manager };
"#;
    let engine = PolicyEngine::from_sources(SCHEMA, &files(&[("t.cedar", rules)])).expect("loads");
    let mut pilot = employee("amy", "Sales", "Full-time");
    pilot.groups.push("pilot".to_owned());
    let device = corporate(Platform::Ios);
    let copilot = app("copilot", &[], true, Risk::Medium);
    let lattice = app("lattice", &[], true, Risk::Low);
    let in_pilot = UserFacts::new(&pilot, false).expect("user");
    let outside = UserFacts::new(&employee("bob", "Sales", "Full-time"), true).expect("user");
    assert!(
        engine
            .evaluate(&in_pilot, &copilot, &device, demo_time())
            .expect("ok")
            .is_allow()
    );
    assert!(
        !engine
            .evaluate(&outside, &copilot, &device, demo_time())
            .expect("ok")
            .is_allow()
    );
    assert!(
        engine
            .evaluate(&outside, &lattice, &device, demo_time())
            .expect("ok")
            .is_allow()
    );
    assert!(
        !engine
            .evaluate(&in_pilot, &lattice, &device, demo_time())
            .expect("ok")
            .is_allow()
    );
}

fn device(id: &str, platform: Platform, ownership: Ownership) -> Device {
    Device {
        device_id: id.to_owned(),
        user_id: UserId::new("dev"),
        platform,
        os_version: "15.1".to_owned(),
        model: "MacBook Pro".to_owned(),
        ownership,
        compliant: true,
        free_storage_mb: None,
    }
}

fn small_catalog() -> Catalog {
    let mut docker = app("docker-desktop", &["optional"], false, Risk::High);
    docker.platforms = vec![Platform::MacOs, Platform::Windows];
    let mut salesforce = app("salesforce", &["sales"], true, Risk::Medium);
    salesforce.platforms = vec![Platform::Ios, Platform::Android];
    Catalog::from_apps(vec![
        app("slack", &["core"], true, Risk::Low),
        app("notion", &["optional"], true, Risk::Low),
        docker,
        salesforce,
    ])
    .expect("catalog")
}

#[test]
fn desired_lists_allowed_devices_merges_reasons_and_keeps_blocked_apps_as_denials() {
    let context = UserContext {
        employee: employee("dev", "Engineering", "Full-time"),
        devices: vec![
            device("20001", Platform::MacOs, Ownership::Employee),
            device("20002", Platform::Ios, Ownership::Corporate),
        ],
        installed: vec![],
        usage: vec![],
        fetched_at: demo_time(),
        uem_user: None,
        parked: None,
    };
    let desired = engine()
        .desired_for(&context, false, &small_catalog(), demo_time())
        .expect("decides");
    assert_eq!(
        desired.app_ids(),
        vec!["notion", "slack"],
        "sorted by app id; salesforce has no permit"
    );
    let slack = desired.entitlement("slack").expect("slack");
    assert_eq!(slack.devices, vec!["20001", "20002"]);
    assert_eq!(slack.push_mode, PushMode::Auto);
    assert_eq!(ids(&slack.reasons), vec!["core-apps", "core-offered"]);
    assert_eq!(
        desired.entitlement("notion").expect("notion").push_mode,
        PushMode::OnDemand
    );
    let docker = desired
        .denial("docker-desktop")
        .expect("docker is only on a BYOD Mac");
    assert_eq!(ids(&docker.reasons), vec!["no-high-risk-on-byod"]);
    assert!(desired.errors.is_empty());
}

#[test]
fn a_user_without_devices_is_entitled_through_prospective_corporate_devices() {
    let context = UserContext {
        employee: employee("newbie", "Engineering", "Full-time"),
        devices: vec![],
        installed: vec![],
        usage: vec![],
        fetched_at: demo_time(),
        uem_user: None,
        parked: None,
    };
    let desired = engine()
        .desired_for(&context, false, &small_catalog(), demo_time())
        .expect("decides");
    assert_eq!(desired.app_ids(), vec!["docker-desktop", "notion", "slack"]);
    assert!(desired.entitlements.iter().all(|e| e.devices.is_empty()));
    assert!(desired.denials.is_empty());
}

#[test]
fn decisions_are_deterministic_across_runs_and_file_order() {
    let context = UserContext {
        employee: employee("dev", "Engineering", "Contractor"),
        devices: vec![
            device("20001", Platform::MacOs, Ownership::Employee),
            device("20002", Platform::Ios, Ownership::Corporate),
        ],
        installed: vec![],
        usage: vec![],
        fetched_at: demo_time(),
        uem_user: None,
        parked: None,
    };
    let (first_half, second_half) =
        POLICIES.split_at(POLICIES.find("@id(\"optional\")").expect("split"));
    let a = PolicyEngine::from_sources(
        SCHEMA,
        &files(&[("a.cedar", first_half), ("b.cedar", second_half)]),
    )
    .expect("loads");
    let b = PolicyEngine::from_sources(
        SCHEMA,
        &files(&[("b.cedar", second_half), ("a.cedar", first_half)]),
    )
    .expect("loads");
    assert_eq!(a.version(), b.version());
    let catalog = small_catalog();
    let runs: Vec<_> = (0..5)
        .flat_map(|_| [&a, &b])
        .map(|engine| {
            engine
                .desired_for(&context, false, &catalog, demo_time())
                .expect("decides")
        })
        .collect();
    assert!(runs.windows(2).all(|w| w[0] == w[1]));
    let json = |d: &crate::policy::DesiredApps| serde_json::to_string(d).expect("json");
    assert_eq!(json(&runs[0]), json(&runs[9]));
}
