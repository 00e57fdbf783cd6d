//! The sample tenant in `examples/` behaves as the demo and the README say.

use std::collections::{BTreeMap, BTreeSet};

use super::{demo_time, examples_dir};
use crate::domain::org::{parse_devices, parse_org, parse_usage};
use crate::domain::{Catalog, Device, Employee, Platform, PushMode, UserContext, UserId};
use crate::policy::{CatalogFacts, DesiredApps, PolicyEngine, UserFacts};

struct Tenant {
    engine: PolicyEngine,
    catalog: Catalog,
    org: Vec<Employee>,
    devices: Vec<Device>,
}

fn read(name: &str) -> String {
    std::fs::read_to_string(examples_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn tenant() -> Tenant {
    Tenant {
        engine: PolicyEngine::load_dir(examples_dir().join("policies")).expect("policies load"),
        catalog: Catalog::from_yaml(&read("catalog.yaml")).expect("catalog"),
        org: parse_org(&read("org.csv")).expect("org.csv"),
        devices: parse_devices(&read("devices.csv")).expect("devices.csv"),
    }
}

fn event_employee(file: &str) -> Employee {
    let event: serde_json::Value =
        serde_json::from_str(&read(&format!("events/{file}"))).expect("json");
    serde_json::from_value(event["employee"].clone()).expect("an employee")
}

impl Tenant {
    fn employee(&self, id: &str) -> Employee {
        self.org
            .iter()
            .find(|e| e.id.as_str() == id)
            .unwrap_or_else(|| panic!("{id} is in org.csv"))
            .clone()
    }

    fn is_manager(&self, id: &UserId) -> bool {
        self.org.iter().any(|e| e.manager_id.as_ref() == Some(id))
    }

    fn desired_for_employee(&self, employee: Employee) -> DesiredApps {
        let devices = self
            .devices
            .iter()
            .filter(|d| d.user_id == employee.id)
            .cloned()
            .collect();
        let is_manager = self.is_manager(&employee.id);
        let context = UserContext {
            employee,
            devices,
            installed: vec![],
            usage: vec![],
            fetched_at: demo_time(),
            uem_user: None,
            parked: None,
        };
        let desired = self
            .engine
            .desired_for(&context, is_manager, &self.catalog, demo_time())
            .expect("decides");
        assert!(desired.errors.is_empty(), "{:?}", desired.errors);
        desired
    }

    fn desired(&self, id: &str) -> DesiredApps {
        self.desired_for_employee(self.employee(id))
    }
}

fn set<'a>(apps: &[&'a str]) -> BTreeSet<&'a str> {
    apps.iter().copied().collect()
}

const CORE: [&str; 9] = [
    "workspace-one-hub",
    "outlook",
    "word",
    "excel",
    "onedrive",
    "microsoft-teams",
    "slack",
    "zoom",
    "workday",
];
const SECURITY: [&str; 3] = ["okta-verify", "crowdstrike-falcon", "1password"];
const SALES: [&str; 4] = ["salesforce", "salesloft", "gong", "docusign"];

#[test]
fn joiner_gets_core_security_and_the_sales_bundle_pushed_automatically() {
    let tenant = tenant();
    let joiner = event_employee("01-joiner.json");
    assert_eq!(
        joiner,
        tenant.employee("jrivera"),
        "the joiner event matches the directory"
    );
    let desired = tenant.desired_for_employee(joiner);
    let apps = set(&desired.app_ids());
    for app in CORE.iter().chain(&SECURITY).chain(&SALES) {
        assert!(apps.contains(app), "joiner should get {app}: {apps:?}");
        assert_eq!(
            desired.entitlement(app).expect("present").push_mode,
            PushMode::Auto,
            "{app}"
        );
    }
    let salesforce = desired.entitlement("salesforce").expect("salesforce");
    assert_eq!(salesforce.reasons[0].rule_id, "sales-bundle");
    let iphone = tenant
        .devices
        .iter()
        .find(|d| d.user_id.as_str() == "jrivera" && d.platform == Platform::Ios)
        .expect("the joiner's iPhone");
    assert_eq!(
        salesforce.devices,
        vec![iphone.device_id.clone()],
        "Salesforce is a mobile app"
    );
    let on_demand: BTreeSet<&str> = desired
        .entitlements
        .iter()
        .filter(|e| e.push_mode == PushMode::OnDemand)
        .map(|e| e.app_id.as_str())
        .collect();
    assert_eq!(
        on_demand,
        set(&[
            "concur",
            "lucidchart",
            "miro",
            "notion",
            "papercut-mobility-print"
        ])
    );
    assert!(
        !apps.contains("jira") && !apps.contains("hubspot"),
        "{apps:?}"
    );
    assert!(desired.denials.is_empty(), "{:?}", desired.denials);
}

#[test]
fn mover_from_sales_to_marketing_gets_marketing_apps_and_loses_sales_ones() {
    let tenant = tenant();
    let before = tenant.desired("tnguyen");
    assert!(set(&before.app_ids()).is_superset(&set(&SALES)));

    let moved = event_employee("02-mover.json");
    assert_eq!(moved.id.as_str(), "tnguyen");
    assert_eq!(tenant.employee("tnguyen").department, "Sales");
    let after = tenant.desired_for_employee(moved);
    let apps = set(&after.app_ids());
    for app in ["hubspot", "canva", "adobe-creative-cloud", "figma"] {
        assert!(apps.contains(app), "mover should get {app}: {apps:?}");
    }
    for app in SALES {
        assert!(!apps.contains(app), "mover keeps {app}: {apps:?}");
    }
    assert!(
        apps.contains("microsoft-copilot"),
        "still in the pilot group"
    );
    assert!(apps.is_superset(&set(&CORE)));
}

#[test]
fn contractor_is_denied_licensed_apps_with_the_guardrail_reason() {
    let tenant = tenant();
    let contractor = tenant.employee("lnguyen");
    assert_eq!(contractor.employment_type, "Contractor");
    let desired = tenant.desired("lnguyen");
    let jira = desired.denial("jira").expect("Jira is licensed");
    assert_eq!(jira.reasons.len(), 1);
    assert_eq!(jira.reasons[0].rule_id, "no-licensed-apps-for-contractors");
    assert!(
        jira.reasons[0]
            .text
            .starts_with("Contractors do not get paid licenses")
    );
    for app in ["docker-desktop", "postman", "outlook", "slack"] {
        assert!(desired.denial(app).is_some(), "{app} should be denied");
    }
    let apps = set(&desired.app_ids());
    for app in [
        "vscode",
        "github-desktop",
        "workspace-one-hub",
        "microsoft-teams",
        "okta-verify",
        "crowdstrike-falcon",
    ] {
        assert!(
            apps.contains(app),
            "contractor should still get {app}: {apps:?}"
        );
    }
}

#[test]
fn leaver_currently_holds_engineering_tools_on_the_corporate_mac_only() {
    let tenant = tenant();
    let leaver = event_employee("03-leaver.json");
    assert_eq!(leaver, tenant.employee("dpatel"));
    let desired = tenant.desired("dpatel");
    let docker = desired.entitlement("docker-desktop").expect("docker");
    assert_eq!(
        docker.devices.len(),
        1,
        "the corporate Mac, not the personal Pixel"
    );
    let apps = set(&desired.app_ids());
    assert!(apps.is_superset(&set(&[
        "jira",
        "confluence",
        "vscode",
        "github-desktop",
        "postman"
    ])));
    assert!(
        desired.denial("gong").is_none(),
        "no permit gives engineers Gong"
    );
}

#[test]
fn new_hire_without_devices_is_entitled_before_enrollment() {
    let tenant = tenant();
    assert!(
        tenant
            .devices
            .iter()
            .all(|d| d.user_id.as_str() != "nroberts")
    );
    let desired = tenant.desired("nroberts");
    let apps = set(&desired.app_ids());
    assert!(
        apps.is_superset(&set(&SALES)) && apps.is_superset(&set(&CORE)),
        "{apps:?}"
    );
    assert!(desired.entitlements.iter().all(|e| e.devices.is_empty()));
}

#[test]
fn emea_sales_are_denied_call_recording_by_the_regional_rule() {
    let desired = tenant().desired("owright");
    let gong = desired.denial("gong").expect("gong denied in EMEA");
    assert_eq!(gong.reasons[0].rule_id, "emea-no-call-recording");
    assert!(desired.entitlement("salesforce").is_some());
}

#[test]
fn high_risk_app_is_denied_on_a_personal_mac() {
    let desired = tenant().desired("mkowalski");
    let docker = desired.denial("docker-desktop").expect("only a BYOD Mac");
    assert_eq!(docker.reasons[0].rule_id, "no-high-risk-on-byod");
    assert!(desired.entitlement("vscode").is_some());
}

#[test]
fn noncompliant_phone_keeps_core_and_security_but_loses_the_crm() {
    let tenant = tenant();
    let desired = tenant.desired("bthompson");
    let salesforce = desired
        .denial("salesforce")
        .expect("the Android phone is non-compliant");
    assert_eq!(
        salesforce.reasons[0].rule_id,
        "noncompliant-core-and-security-only"
    );
    let android = tenant
        .devices
        .iter()
        .find(|d| d.user_id.as_str() == "bthompson" && !d.compliant)
        .expect("a non-compliant device");
    for app in ["outlook", "okta-verify"] {
        let e = desired.entitlement(app).expect(app);
        assert!(
            e.devices.contains(&android.device_id),
            "{app} stays on the phone"
        );
    }
}

#[test]
fn managers_get_management_tools_and_interns_no_high_risk_tools() {
    let tenant = tenant();
    let manager = tenant.desired("amartinez");
    for app in ["lattice", "tableau", "concur"] {
        let e = manager
            .entitlement(app)
            .unwrap_or_else(|| panic!("manager gets {app}"));
        assert_eq!(e.push_mode, PushMode::Auto, "{app}");
    }
    assert!(tenant.desired("kpatel").entitlement("lattice").is_none());
    let intern = tenant.desired("okim");
    let teamviewer = intern
        .denial("teamviewer")
        .expect("interns get no remote control");
    assert_eq!(teamviewer.reasons[0].rule_id, "no-high-risk-for-interns");
}

#[test]
fn every_sample_user_is_decided_without_errors_and_gets_the_hub() {
    let tenant = tenant();
    let catalog = CatalogFacts::new(&tenant.catalog).expect("catalog facts");
    let mut decided = 0;
    for employee in &tenant.org {
        let user = UserFacts::new(employee, tenant.is_manager(&employee.id)).expect("user facts");
        let devices: Vec<Device> = tenant
            .devices
            .iter()
            .filter(|d| d.user_id == employee.id)
            .cloned()
            .collect();
        let desired = tenant
            .engine
            .desired_with(&user, &devices, &catalog, demo_time())
            .expect("decides");
        assert!(
            desired.errors.is_empty(),
            "{}: {:?}",
            employee.id,
            desired.errors
        );
        assert!(
            desired.entitlement("workspace-one-hub").is_some(),
            "{}",
            employee.id
        );
        decided += 1;
    }
    assert_eq!(decided, tenant.org.len());
}

#[test]
fn sample_tenant_files_are_consistent() {
    let tenant = tenant();
    assert!(tenant.org.len() >= 60);
    let users: BTreeSet<&str> = tenant.org.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(users.len(), tenant.org.len(), "user ids are unique");
    for e in &tenant.org {
        assert_eq!(e.email, format!("{}@example.com", e.id));
        if let Some(manager) = &e.manager_id {
            assert!(
                users.contains(manager.as_str()),
                "{}'s manager {manager} exists",
                e.id
            );
        }
        assert!(e.groups.iter().any(|g| g == "all-staff"), "{}", e.id);
    }
    let departments: BTreeSet<&str> = tenant.org.iter().map(|e| e.department.as_str()).collect();
    assert!(departments.len() >= 6, "{departments:?}");
    let pilot = tenant
        .org
        .iter()
        .filter(|e| e.groups.iter().any(|g| g == "pilot"))
        .count();
    assert!((3..=10).contains(&pilot), "a small pilot group: {pilot}");

    let mut per_user: BTreeMap<&str, usize> = BTreeMap::new();
    let mut device_ids = BTreeSet::new();
    for d in &tenant.devices {
        assert!(
            users.contains(d.user_id.as_str()),
            "device {} has a known user",
            d.device_id
        );
        assert!(
            d.device_id.parse::<u64>().is_ok(),
            "numeric device id {}",
            d.device_id
        );
        assert!(
            device_ids.insert(d.device_id.as_str()),
            "unique device id {}",
            d.device_id
        );
        *per_user.entry(d.user_id.as_str()).or_default() += 1;
    }
    let without = users.iter().filter(|u| !per_user.contains_key(*u)).count();
    assert!(
        (3..=6).contains(&without),
        "a handful of new hires without devices: {without}"
    );
    assert!(tenant.devices.iter().any(|d| !d.compliant));

    let uem_ids: BTreeSet<&str> = tenant
        .catalog
        .apps()
        .map(|a| a.uem_app_id.as_str())
        .collect();
    assert_eq!(
        uem_ids.len(),
        tenant.catalog.len(),
        "uem_app_id is unique per app"
    );
    assert!(tenant.catalog.len() >= 25);

    let usage = parse_usage(&read("usage.csv")).expect("usage.csv");
    for (user, apps) in &usage {
        assert!(
            users.contains(user.as_str()),
            "usage of unknown user {user}"
        );
        for u in apps {
            assert!(
                tenant.catalog.get(&u.app_id).is_some(),
                "usage of unknown app {}",
                u.app_id
            );
        }
    }
    let stale = usage
        .values()
        .flatten()
        .filter(|u| {
            u.last_used_at
                .is_some_and(|t| (demo_time() - t).num_days() >= 60)
        })
        .filter(|u| tenant.catalog.get(&u.app_id).is_some_and(|a| a.licensed))
        .count();
    assert!(stale >= 5, "licensed apps unused for 60+ days: {stale}");
}
