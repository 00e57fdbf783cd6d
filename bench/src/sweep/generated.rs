//! A generated tenant of any size: `users` people in eight departments, each with one corporate
//! iPhone, and `apps` internal apps. The first eighth of the apps are core (everyone, pushed);
//! the rest go round robin to the departments, every fourth round offered on demand in the Hub
//! rather than pushed. So group sizes vary as in a real tenant: core groups hold everyone (and
//! split into shards past the shard size), department groups an eighth.

use chrono::{DateTime, Utc};
use loadout::domain::{Employee, UserId};
use loadout::policy::PolicyEngine;
use loadout::stages::Services;
use loadout::stages::directory;
use loadout::stages::policy_repo::{self, PolicySetRecord};
use std::fmt::Write as _;
use uem_sim::{AppSeed, DeviceSeed, Tenant};

const SCHEMA: &str = include_str!("../../../examples/policies/schema.cedarschema");
const DEPARTMENTS: usize = 8;

#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub users: usize,
    pub apps: usize,
}

pub fn username(i: usize) -> String {
    format!("user{i:05}")
}

fn department(i: usize) -> String {
    format!("Department {}", i % DEPARTMENTS + 1)
}

fn uem_app_id(a: usize) -> i64 {
    7001 + a as i64
}

fn core_apps(size: Size) -> usize {
    (size.apps / DEPARTMENTS).max(1)
}

/// The bundle an app belongs to: `core`, `dept-N` (pushed) or `dept-N-hub` (on demand).
fn bundle(size: Size, a: usize) -> String {
    let core = core_apps(size);
    if a < core {
        return "core".into();
    }
    // Round robin over the departments; every fourth round is offered in the Hub.
    let k = a - core;
    let d = k % DEPARTMENTS + 1;
    if (k / DEPARTMENTS) % 4 == 3 {
        format!("dept-{d}-hub")
    } else {
        format!("dept-{d}")
    }
}

/// The UEM side: users, their devices and the apps, nothing assigned.
pub fn tenant(size: Size) -> Result<Tenant, String> {
    let mut b = Tenant::builder().seed(2026);
    for i in 0..size.users {
        let name = username(i);
        b = b
            .user(&name, &format!("{name}@example.com"))
            .device(DeviceSeed::new(&format!("SN{i:06}"), &name, "iOS").ownership("C"));
    }
    for a in 0..size.apps {
        b = b.app(AppSeed::new(
            uem_app_id(a),
            &format!("Generated App {:02}", a + 1),
            "iOS",
        ));
    }
    b.build().map_err(|e| e.to_string())
}

/// Core for everyone; each department's bundle pushed and its Hub bundle on demand.
fn policies() -> String {
    let mut cedar = String::from(
        "@id(\"core\")\n@reason(\"Everyone works with the core apps.\")\n@push(\"auto\")\n\
         permit (principal, action == Loadout::Action::\"assign\", resource in Loadout::Bundle::\"core\");\n",
    );
    for d in 1..=DEPARTMENTS {
        let _ = write!(
            cedar,
            "\n@id(\"dept-{d}\")\n@reason(\"Department {d}'s daily tools.\")\n@push(\"auto\")\n\
             permit (principal, action == Loadout::Action::\"assign\", resource in Loadout::Bundle::\"dept-{d}\")\n\
             when {{ principal.department == \"Department {d}\" }};\n\
             \n@id(\"dept-{d}-hub\")\n@reason(\"Department {d}'s occasional tools, in the Hub.\")\n@push(\"on_demand\")\n\
             permit (principal, action == Loadout::Action::\"assign\", resource in Loadout::Bundle::\"dept-{d}-hub\")\n\
             when {{ principal.department == \"Department {d}\" }};\n"
        );
    }
    cedar
}

fn catalog(size: Size) -> String {
    (0..size.apps)
        .map(|a| {
            format!(
                "- {{id: gen-app-{n:02}, name: Generated App {n:02}, uem_app_id: \"{id}\", platforms: [iOS], bundles: [{b}], licensed: false, cost_per_seat: 0, risk: low}}\n",
                n = a + 1,
                id = uem_app_id(a),
                b = bundle(size, a),
            )
        })
        .collect()
}

/// Loadout's side: the policy set pushed and the directory imported; returns the policy version.
pub async fn seed(services: &Services, size: Size) -> Result<String, String> {
    let policies = vec![("generated.cedar".to_owned(), policies())];
    let engine = PolicyEngine::from_sources(SCHEMA, &policies).map_err(|e| e.to_string())?;
    let record = PolicySetRecord {
        version: engine.version().to_owned(),
        schema: SCHEMA.to_owned(),
        policies,
        catalog_yaml: catalog(size),
        pushed_at: Utc::now(),
        pushed_by: "loadout-bench".into(),
    };
    policy_repo::push(services.store.as_ref(), &record)
        .await
        .map_err(|e| e.to_string())?;
    let people: Vec<Employee> = (0..size.users)
        .map(|i| Employee {
            id: UserId::new(username(i)),
            email: format!("{}@example.com", username(i)),
            department: department(i),
            title: "Specialist".into(),
            location: "Austin".into(),
            region: "NA".into(),
            employment_type: "Full-time".into(),
            manager_id: None,
            groups: vec!["all-staff".into()],
            account_name: None,
            upn: None,
        })
        .collect();
    // As local mode imports org.csv: older than any live HR event.
    let as_of = DateTime::from_timestamp(946_684_800, 0).unwrap_or_default();
    directory::seed(services.store.as_ref(), &people, as_of)
        .await
        .map_err(|e| e.to_string())?;
    Ok(record.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_apps_are_five_core_and_35_in_eight_departments() {
        let size = Size {
            users: 16,
            apps: 40,
        };
        let bundles: Vec<String> = (0..40).map(|a| bundle(size, a)).collect();
        assert_eq!(bundles.iter().filter(|b| *b == "core").count(), 5);
        assert_eq!(bundles.iter().filter(|b| b.ends_with("-hub")).count(), 8);
        assert!(bundles.contains(&"dept-8".to_owned()));
        assert!(!bundles.contains(&"dept-9".to_owned()));
        PolicyEngine::from_sources(SCHEMA, &[("g.cedar".to_owned(), policies())])
            .expect("the generated policies validate against the schema");
    }
}
