//! The what-if report on the sample tenant: a policy change's gains, losses, cost, approvals and
//! breaker trips, checked against what the sample's files say.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};

use super::*;
use crate::domain::org::{parse_devices, parse_org, parse_usage};
use crate::governance::Mode;
use crate::policy::SCHEMA_FILE;

fn examples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(examples().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Tenant {
    population: Population,
    usage: BTreeMap<UserId, Vec<AppUsage>>,
    catalog: Catalog,
}

fn tenant() -> Tenant {
    Tenant {
        population: Population::new(
            parse_org(&read("org.csv")).expect("org"),
            parse_devices(&read("devices.csv")).expect("devices"),
        ),
        usage: parse_usage(&read("usage.csv")).expect("usage"),
        catalog: Catalog::from_yaml(&read("catalog.yaml")).expect("catalog"),
    }
}

/// The sample policies with `edit` applied to the named file's text.
fn policies(edit: &[(&str, &dyn Fn(String) -> String)]) -> PolicyEngine {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(examples().join("policies")).expect("dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name == SCHEMA_FILE {
            continue;
        }
        let mut text = std::fs::read_to_string(&path).expect("policy");
        for (file, change) in edit {
            if *file == name {
                text = change(text);
            }
        }
        files.push((name, text));
    }
    PolicyEngine::from_sources(&read(&format!("policies/{SCHEMA_FILE}")), &files).expect("loads")
}

fn options(mode: Mode) -> WhatIfOptions {
    WhatIfOptions {
        governance: Governance::new(mode),
        breaker_share: 0.2,
        at: Utc
            .with_ymd_and_hms(2026, 11, 20, 14, 0, 0)
            .single()
            .expect("time"),
    }
}

fn quiet(_: WhatIfProgress) {}

fn without_sales_bundle(text: String) -> String {
    text.replace(
        r#"when { principal.department == "Sales" };"#,
        r#"when { principal.department == "Sales" && false };"#,
    )
}

#[test]
fn the_same_policies_change_nothing() {
    let t = tenant();
    let engine = policies(&[]);
    let report = what_if(
        &engine,
        &engine,
        &t.population,
        &t.usage,
        &t.catalog,
        &options(Mode::Gated),
        &quiet,
    )
    .expect("what-if");
    assert_eq!(report.users, t.population.len());
    assert_eq!(
        (report.gains, report.losses, report.push_changes),
        (0, 0, 0)
    );
    assert!(report.changes.is_empty() && report.apps.is_empty());
    assert_eq!(report.cost.delta_per_month, 0.0);
    assert!(report.cost.pushed_baseline > 0.0);
    assert!(report.breaker.trips.is_empty());
    assert_eq!(report.cohorts.baseline, report.cohorts.candidate);
}

#[test]
fn dropping_the_sales_bundle_takes_the_sales_apps_from_sales_and_trips_the_breaker() {
    let t = tenant();
    let baseline = policies(&[]);
    let candidate = policies(&[("departments.cedar", &without_sales_bundle)]);
    let mut options = options(Mode::Gated);
    options.breaker_share = 0.15;
    let report = what_if(
        &baseline,
        &candidate,
        &t.population,
        &t.usage,
        &t.catalog,
        &options,
        &quiet,
    )
    .expect("what-if");
    assert_eq!(report.gains, 0);
    let salesforce = report
        .apps
        .iter()
        .find(|a| a.app_id.as_str() == "salesforce")
        .expect("salesforce changes");
    // Every Sales employee with a phone had it (the contractor is blocked, Salesforce is mobile).
    let sales_with_phones: Vec<&UserId> = t
        .population
        .employees
        .iter()
        .filter(|e| e.department == "Sales" && e.employment_type != "Contractor")
        .filter(|e| {
            let devices = t.population.devices_of(&e.id);
            // A non-compliant phone gets core and security only.
            devices.is_empty()
                || devices.iter().any(|d| {
                    d.compliant
                        && matches!(
                            d.platform,
                            crate::domain::Platform::Ios | crate::domain::Platform::Android
                        )
                })
        })
        .map(|e| &e.id)
        .collect();
    assert_eq!(
        salesforce.lost_by.len(),
        sales_with_phones.len(),
        "{:?}",
        salesforce.lost_by
    );
    assert!(salesforce.losses_in_use > 10, "Sales uses its CRM");
    let expected = -165.0 * salesforce.lost_by.len() as f64;
    assert!((salesforce.cost_delta_per_month - expected).abs() < 0.01);
    assert!(
        report.cost.delta_per_month < expected,
        "other sales apps go too"
    );
    assert!(
        (report.cost.pushed_candidate - report.cost.pushed_baseline - report.cost.delta_per_month)
            .abs()
            < 0.02
    );
    let trip = report
        .breaker
        .trips
        .iter()
        .find(|trip| trip.app_id.as_str() == "salesforce")
        .expect("a fifth of the company loses salesforce: over 15%");
    assert_eq!(trip.direction, Direction::Loss);
    assert_eq!(report.breaker.threshold_users, 10, "15% of 70 users");
    // Gated mode holds the removal of a licensed or core app for approval (a seat freed by
    // mistake is a seat someone has to ask for again); other removals run.
    let guarded = |app: &AppId| {
        t.catalog
            .get(app)
            .is_some_and(|entry| entry.core || entry.licensed)
    };
    let guarded_losses: usize = report
        .apps
        .iter()
        .filter(|a| guarded(&a.app_id))
        .map(|a| a.lost_by.len())
        .sum();
    assert!(guarded_losses >= salesforce.lost_by.len());
    assert_eq!(report.approvals.needed, guarded_losses);
    assert_eq!(report.approvals.execute, report.losses - guarded_losses);
    assert_eq!(salesforce.approvals.needed, salesforce.lost_by.len());
    let text = report.to_string();
    assert!(text.contains("breaker: salesforce would trip"), "{text}");
    assert!(text.contains("-salesforce"), "{text}");
}

#[test]
fn granting_a_licensed_app_to_everyone_costs_seats_and_needs_approvals_in_gated_mode() {
    let t = tenant();
    let baseline = policies(&[]);
    let everyone_copilot = |text: String| {
        text.replace(
            r#"when { principal in Loadout::Group::"pilot" };"#,
            r#"when { principal in Loadout::Group::"all-staff" };"#,
        )
        .replace(
            r#"@id("pilot-copilot")
@reason("Members of the pilot group may try Microsoft 365 Copilot from the Hub.")
@push("on_demand")"#,
            r#"@id("pilot-copilot")
@reason("Everyone gets Microsoft 365 Copilot.")
@push("auto")"#,
        )
    };
    let candidate = policies(&[("optional.cedar", &everyone_copilot)]);
    let gated = what_if(
        &baseline,
        &candidate,
        &t.population,
        &t.usage,
        &t.catalog,
        &options(Mode::Gated),
        &quiet,
    )
    .expect("what-if");
    let copilot = gated
        .apps
        .iter()
        .find(|a| a.app_id.as_str() == "microsoft-copilot")
        .expect("copilot changes");
    assert!(copilot.gained_by.len() > 40, "{}", copilot.gained_by.len());
    assert_eq!(
        copilot.approvals.needed,
        copilot.gained_by.len(),
        "licensed: approval"
    );
    assert!(
        !copilot.push_changed_for.is_empty(),
        "the pilot had it on demand"
    );
    let seats = (copilot.gained_by.len() + copilot.push_changed_for.len()) as f64 * 30.0;
    assert!((copilot.cost_delta_per_month - seats).abs() < 0.01);
    assert!((gated.cost.delta_per_month - seats).abs() < 0.01);
    assert!(
        gated
            .breaker
            .trips
            .iter()
            .any(|t| t.app_id.as_str() == "microsoft-copilot" && t.direction == Direction::Gain)
    );

    let auto = what_if(
        &baseline,
        &candidate,
        &t.population,
        &t.usage,
        &t.catalog,
        &options(Mode::Auto),
        &quiet,
    )
    .expect("what-if");
    assert_eq!(auto.approvals.needed, 0);
    assert_eq!(auto.approvals.execute, auto.gains + auto.losses);
}

#[test]
fn a_breaker_share_outside_zero_to_one_is_refused() {
    let t = tenant();
    let engine = policies(&[]);
    let mut bad = options(Mode::Gated);
    bad.breaker_share = 1.5;
    assert!(matches!(
        what_if(
            &engine,
            &engine,
            &t.population,
            &t.usage,
            &t.catalog,
            &bad,
            &quiet
        ),
        Err(WhatIfError::BadBreakerShare(_))
    ));
}
