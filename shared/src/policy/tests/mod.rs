//! Specifications of the policy engine: loading and checking, evaluation semantics, and the
//! sample tenant in `examples/` behaving as the demo says.

mod evaluation;
mod examples;
mod fleet;
mod loading;

use chrono::{DateTime, TimeZone, Utc};

use crate::domain::{CatalogApp, Employee, Platform, Risk, UserId};

pub(super) const SCHEMA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/policies/schema.cedarschema"
));

pub(super) fn examples_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Friday 20 November 2026, 14:00 UTC: the demo's "now".
pub(super) fn demo_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 14, 0, 0)
        .single()
        .expect("a valid time")
}

pub(super) fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect()
}

pub(super) fn employee(id: &str, department: &str, employment_type: &str) -> Employee {
    Employee {
        id: UserId::new(id),
        email: format!("{id}@example.com"),
        department: department.to_owned(),
        title: "Account Executive".to_owned(),
        location: "Austin".to_owned(),
        region: "NA".to_owned(),
        employment_type: employment_type.to_owned(),
        manager_id: None,
        groups: vec!["all-staff".to_owned()],
        account_name: None,
        upn: None,
    }
}

pub(super) fn app(id: &str, bundles: &[&str], licensed: bool, risk: Risk) -> CatalogApp {
    CatalogApp {
        id: id.into(),
        name: id.to_owned(),
        uem_app_id: "1".to_owned(),
        platforms: Platform::ALL.to_vec(),
        bundles: bundles.iter().map(|b| (*b).to_owned()).collect(),
        licensed,
        cost_per_seat: 10.0,
        risk,
        ..CatalogApp::default()
    }
}
