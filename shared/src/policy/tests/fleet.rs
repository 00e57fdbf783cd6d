//! The fleet path: one evaluation per cohort gives exactly what deciding every user alone gives;
//! guardrails and population coverage on the sample tenant and on small sets made to fail.

use std::collections::BTreeSet;

use super::{SCHEMA, app, demo_time, employee, examples_dir, files};
use crate::domain::org::{parse_devices, parse_org};
use crate::domain::{AppId, Catalog, Device, Ownership, Platform, Population, Risk, UserId};
use crate::policy::{
    CatalogFacts, Cohorts, FleetMember, FleetProgress, PolicyEngine, PolicyReport, UserFacts,
};

fn read(name: &str) -> String {
    std::fs::read_to_string(examples_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn examples() -> (PolicyEngine, Catalog, Population) {
    let engine = PolicyEngine::load_dir(examples_dir().join("policies")).expect("policies");
    let catalog = Catalog::from_yaml(&read("catalog.yaml")).expect("catalog");
    let population = Population::new(
        parse_org(&read("org.csv")).expect("org"),
        parse_devices(&read("devices.csv")).expect("devices"),
    );
    (engine, catalog, population)
}

fn quiet(_: FleetProgress) {}

#[test]
fn cohort_sharing_decides_every_sample_user_exactly_as_deciding_them_alone() {
    let (engine, catalog, population) = examples();
    let facts = CatalogFacts::new(&catalog).expect("catalog facts");
    let members = FleetMember::all(&population);
    let fleet = engine
        .desired_for_fleet(&members, &facts, demo_time(), &quiet)
        .expect("fleet decides");
    // The sample's titles are nearly all different and a policy reads titles, so few users
    // share a cohort here; the twin test below and the bench show the sharing itself.
    assert!(fleet.cohorts().len() <= members.len());
    for (i, member) in members.iter().enumerate() {
        let user = UserFacts::new(member.employee, member.is_manager).expect("user facts");
        let alone = engine
            .desired_with(&user, member.devices, &facts, demo_time())
            .expect("decides");
        assert_eq!(fleet.desired(i), alone, "{}", member.employee.id);
        let entitled: Vec<&AppId> = fleet.entitled(i).map(|(app, _)| app).collect();
        let expected: Vec<&AppId> = alone.entitlements.iter().map(|e| &e.app_id).collect();
        assert_eq!(entitled, expected, "{}", member.employee.id);
    }
}

#[test]
fn the_same_devices_in_another_order_share_a_cohort_and_keep_their_own_ids() {
    let (engine, catalog, population) = examples();
    let facts = CatalogFacts::new(&catalog).expect("catalog facts");
    let original = population
        .employees
        .iter()
        .find(|e| e.id.as_str() == "tnguyen")
        .expect("tnguyen")
        .clone();
    let devices = population.devices_of(&original.id).to_vec();
    assert!(devices.len() >= 2);
    let mut twin = original.clone();
    twin.id = UserId::new("twin");
    twin.email = "twin@example.com".into();
    let twin_devices: Vec<Device> = devices
        .iter()
        .rev()
        .enumerate()
        .map(|(n, d)| Device {
            device_id: format!("twin-{n}"),
            user_id: twin.id.clone(),
            ..d.clone()
        })
        .collect();
    let members = [
        FleetMember {
            employee: &original,
            is_manager: false,
            devices: &devices,
        },
        FleetMember {
            employee: &twin,
            is_manager: false,
            devices: &twin_devices,
        },
    ];
    let fleet = engine
        .desired_for_fleet(&members, &facts, demo_time(), &quiet)
        .expect("decides");
    assert_eq!(
        fleet.cohorts().len(),
        1,
        "e-mail and device order do not matter"
    );
    for (i, member) in members.iter().enumerate() {
        let user = UserFacts::new(member.employee, false).expect("user");
        let alone = engine
            .desired_with(&user, member.devices, &facts, demo_time())
            .expect("decides");
        assert_eq!(fleet.desired(i), alone);
    }
    let twin_apps = fleet.desired(1);
    let twin_ids: BTreeSet<&str> = twin_apps
        .entitlements
        .iter()
        .flat_map(|e| e.devices.iter().map(String::as_str))
        .collect();
    assert!(
        twin_ids.iter().all(|id| id.starts_with("twin-")),
        "{twin_ids:?}"
    );
}

#[test]
fn a_device_fact_a_policy_reads_splits_a_cohort() {
    let (engine, catalog, population) = examples();
    let base = population.employees[0].clone();
    let device = |ownership: Ownership| Device {
        device_id: "d".into(),
        user_id: base.id.clone(),
        platform: Platform::MacOs,
        os_version: "15.1".into(),
        model: "MacBook".into(),
        ownership,
        compliant: true,
        free_storage_mb: None,
    };
    let corporate = [device(Ownership::Corporate)];
    let personal = [device(Ownership::Employee)];
    let other_model = [Device {
        model: "Another MacBook".into(),
        ..device(Ownership::Corporate)
    }];
    let members = [&corporate[..], &personal[..], &other_model[..]].map(|devices| FleetMember {
        employee: &base,
        is_manager: true,
        devices,
    });
    let cohorts = Cohorts::group(engine.inputs(), &members);
    assert_eq!(cohorts.len(), 2, "ownership is read, the model is not");
    assert_eq!(cohorts.cohort_of(0), cohorts.cohort_of(2));
    let _ = catalog;
}

#[test]
fn progress_counts_every_cohort_once() {
    let (engine, catalog, population) = examples();
    let facts = CatalogFacts::new(&catalog).expect("catalog facts");
    let members = FleetMember::all(&population);
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |p: FleetProgress| seen.lock().expect("lock").push(p);
    let fleet = engine
        .desired_for_fleet(&members, &facts, demo_time(), &record)
        .expect("decides");
    let mut seen = seen.into_inner().expect("lock");
    seen.sort_by_key(|p| p.done);
    let total = fleet.cohorts().len();
    assert_eq!(seen.len(), total);
    assert!(seen.iter().all(|p| p.total == total));
    assert_eq!(seen.last().map(|p| p.done), Some(total));
    assert!(fleet.evaluations() > total);
}

#[test]
fn guardrails_name_what_forbids_keep_from_each_user() {
    let (engine, catalog, population) = examples();
    let facts = CatalogFacts::new(&catalog).expect("catalog facts");
    let members = FleetMember::all(&population);
    let guardrails = engine
        .forbidden_for_fleet(&members, &facts, demo_time(), &quiet)
        .expect("guardrails");
    let forbidden = |id: &str| -> BTreeSet<String> {
        let i = members
            .iter()
            .position(|m| m.employee.id.as_str() == id)
            .expect("member");
        let user = UserFacts::new(members[i].employee, members[i].is_manager).expect("user");
        let alone = engine
            .forbidden_with(&user, members[i].devices, &facts, demo_time())
            .expect("forbidden");
        assert_eq!(&alone, guardrails.forbidden(i), "{id}");
        alone.iter().map(|a| a.as_str().to_owned()).collect()
    };
    let contractor = forbidden("rbrooks");
    assert!(
        contractor.contains("slack") && contractor.contains("zoom"),
        "{contractor:?}"
    );
    assert!(
        contractor.contains("salesforce"),
        "a phone app for a contractor with only a Mac: forbidden on the phone they would need"
    );
    assert!(
        guardrails
            .pushed(
                members
                    .iter()
                    .position(|m| m.employee.id.as_str() == "rbrooks")
                    .expect("rbrooks")
            )
            .contains(&AppId::new("microsoft-teams")),
        "core apps are pushed"
    );
    assert!(!contractor.contains("1password"), "security is excepted");
    assert!(!contractor.contains("microsoft-teams"), "not licensed");
    let emea = forbidden("owright");
    assert!(emea.contains("gong"), "{emea:?}");
    assert!(!forbidden("jrivera").contains("gong"));
    assert!(
        forbidden("okim").contains("teamviewer"),
        "interns: no high risk"
    );
}

#[test]
fn the_sample_policies_apply_on_the_sample_population_with_only_intended_overlaps() {
    let (engine, catalog, population) = examples();
    let facts = CatalogFacts::new(&catalog).expect("catalog facts");
    let members = FleetMember::all(&population);
    let report = engine
        .coverage(&members, &facts, demo_time(), &quiet)
        .expect("coverage");
    assert!(report.errors().is_empty(), "{:?}", report.errors());
    assert_eq!(report.users, population.len());
    assert!(report.permits_never_apply.is_empty());
    assert!(report.forbids_never_apply.is_empty(), "{report:?}");
    assert!(report.apps_never_granted.is_empty(), "{report:?}");
    let intern = report
        .overlaps
        .iter()
        .find(|o| o.permit == "it-admin-tools" && o.forbid == "no-high-risk-for-interns")
        .expect("the IT intern gets none of the IT tools");
    assert_eq!(intern.users, vec![UserId::new("okim")]);
}

fn small_set(text: &str) -> PolicyEngine {
    PolicyEngine::from_sources(SCHEMA, &files(&[("p.cedar", text)])).expect("loads")
}

#[test]
fn coverage_names_dead_permits_blocked_permits_and_apps_nobody_gets() {
    let engine = small_set(
        r#"
@id("sales-tools") @reason("r") @push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"sales")
when { principal.department == "Sales" };

@id("typo") @reason("r") @push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"sales")
when { principal.department == "Slaes" };

@id("contractor-crm") @reason("r") @push("auto")
permit (principal, action == Loadout::Action::"assign", resource == Loadout::App::"crm")
when { principal.employment_type == "Contractor" };

@id("no-licensed-for-contractors") @reason("r")
forbid (principal, action == Loadout::Action::"assign", resource)
when { principal.employment_type == "Contractor" && resource.licensed };

@id("no-high-risk-for-interns") @reason("r")
forbid (principal, action == Loadout::Action::"assign", resource)
when { principal.employment_type == "Intern" && resource.risk == "high" };
"#,
    );
    let catalog = Catalog::from_apps(vec![
        app("crm", &["sales"], true, Risk::Low),
        app("dialer", &["sales"], false, Risk::Low),
        app("orphan", &["nowhere"], false, Risk::Low),
    ])
    .expect("catalog");
    let people = vec![
        employee("amy", "Sales", "Full-time"),
        employee("bob", "Sales", "Contractor"),
        employee("cat", "Support", "Contractor"),
    ];
    let population = Population::new(people, vec![]);
    let members = FleetMember::all(&population);
    let facts = CatalogFacts::new(&catalog).expect("facts");
    let report = engine
        .coverage(&members, &facts, demo_time(), &quiet)
        .expect("coverage");
    assert_eq!(report.permits_never_apply, vec!["typo".to_owned()]);
    assert_eq!(
        report.permits_never_effective,
        vec!["contractor-crm".to_owned()]
    );
    assert_eq!(
        report.forbids_never_apply,
        vec!["no-high-risk-for-interns".to_owned()]
    );
    assert_eq!(report.apps_never_granted, vec![AppId::new("orphan")]);
    assert!(report.apps_always_blocked.is_empty(), "amy gets the crm");
    let overlap = report
        .overlaps
        .iter()
        .find(|o| o.permit == "sales-tools")
        .is_none();
    assert!(overlap, "bob still gets the unlicensed dialer");
    let errors = report.errors().join("\n");
    assert!(
        errors.contains("\"typo\" applies to none of the 3 users"),
        "{errors}"
    );
    assert!(
        errors.contains("\"contractor-crm\" can never take effect"),
        "{errors}"
    );
    let warnings = report.warnings().join("\n");
    assert!(
        warnings.contains("no policy grants app \"orphan\""),
        "{warnings}"
    );

    let checked = PolicyReport::default().with_population(report);
    assert!(!checked.is_ok());
    assert!(
        checked.to_string().contains("checked on 3 users"),
        "{checked}"
    );
}

#[test]
fn a_forbid_that_removes_all_a_permit_grants_to_some_users_names_them() {
    let engine = small_set(
        r#"
@id("sales-tools") @reason("r") @push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"sales")
when { principal.department == "Sales" };

@id("no-licensed-for-contractors") @reason("r")
forbid (principal, action == Loadout::Action::"assign", resource)
when { principal.employment_type == "Contractor" && resource.licensed };
"#,
    );
    let catalog =
        Catalog::from_apps(vec![app("crm", &["sales"], true, Risk::Low)]).expect("catalog");
    let population = Population::new(
        vec![
            employee("amy", "Sales", "Full-time"),
            employee("bob", "Sales", "Contractor"),
            employee("bea", "Sales", "Contractor"),
        ],
        vec![],
    );
    let members = FleetMember::all(&population);
    let facts = CatalogFacts::new(&catalog).expect("facts");
    let report = engine
        .coverage(&members, &facts, demo_time(), &quiet)
        .expect("coverage");
    assert!(report.errors().is_empty(), "amy still gets the crm");
    assert_eq!(report.overlaps.len(), 1);
    assert_eq!(report.overlaps[0].forbid, "no-licensed-for-contractors");
    assert_eq!(
        report.overlaps[0].users,
        vec![UserId::new("bea"), UserId::new("bob")]
    );
    assert!(
        report.warnings()[0].contains("for 2 user(s): bea, bob"),
        "{:?}",
        report.warnings()
    );
}
