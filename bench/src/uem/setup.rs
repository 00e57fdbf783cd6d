//! The benchmark's world: a UEM tenant of enrolled people (one iPhone each) and internal apps,
//! Loadout's ports on SQLite in memory and on tokio's (paused) clock, a policy set whose catalog
//! holds the apps, and the client configured as the functions configure it.

use chrono::Utc;
use loadout::adapters::local::{
    LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
};
use loadout::config::Settings;
use loadout::domain::AppId;
use loadout::governance::Mode;
use loadout::policy::PolicyEngine;
use loadout::ports::{Clock, SecretString, TokioClock};
use loadout::stages::Services;
use loadout::stages::policy_repo::{self, PolicySetRecord};
use loadout::uem::UemConfig;
use std::sync::Arc;
use std::time::Duration;
use uem_sim::{AppSeed, DeviceSeed, SimHandle, Tenant, UserSeed};

const SCHEMA: &str = include_str!("../../../examples/policies/schema.cedarschema");

/// The department whose people get the first department app, and the one whose people get the
/// second (movers go from one to the other).
pub const SALES: &str = "Sales";
pub const ENGINEERING: &str = "Engineering";

/// Everybody gets the `bench` bundle; the department bundles go with the department.
const POLICY: &str = r#"
@id("bench-everyone")
@reason("Everyone gets the benchmark bundle, pushed.")
@push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"bench");

@id("bench-sales")
@reason("Sales gets the sales app.")
@push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"sales")
when { principal.department == "Sales" };

@id("bench-engineering")
@reason("Engineering gets the engineering app.")
@push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"engineering")
when { principal.department == "Engineering" };
"#;

pub fn username(i: usize) -> String {
    format!("person{i:06}")
}

pub fn email(i: usize) -> String {
    format!("{}@example.com", username(i))
}

pub fn app_id(i: usize) -> AppId {
    AppId::new(format!("bench-app-{}", i + 1))
}

pub fn uem_app_id(i: usize) -> i64 {
    9001 + i as i64
}

/// The apps of a catalog of `apps`, with the last `department_apps` (0 or 2) going to Sales and
/// Engineering instead of everyone.
#[derive(Debug, Clone, Copy)]
pub struct Catalog {
    pub apps: usize,
    pub department_apps: usize,
}

impl Catalog {
    pub fn bundle(&self, app: usize) -> &'static str {
        let first_department = self.apps - self.department_apps.min(self.apps);
        match app.checked_sub(first_department) {
            None => "bench",
            Some(0) => "sales",
            Some(_) => "engineering",
        }
    }

    /// The apps someone of `department` is entitled to.
    pub fn entitled(&self, department: &str) -> Vec<usize> {
        (0..self.apps)
            .filter(|&a| match self.bundle(a) {
                "bench" => true,
                "sales" => department == SALES,
                _ => department == ENGINEERING,
            })
            .collect()
    }
}

/// `users` enrolled people, each with an iPhone, and the catalog's apps, nothing assigned yet.
pub fn tenant(users: usize, catalog: Catalog) -> Result<Tenant, String> {
    let mut b = Tenant::builder().seed(2026);
    for i in 0..users {
        b = b
            .user_seed(UserSeed::new(&username(i), &email(i)).key(&username(i)))
            .device(DeviceSeed::new(&format!("SN{i:07}"), &username(i), "iOS"));
    }
    for i in 0..catalog.apps {
        b = b.app(AppSeed::new(
            uem_app_id(i),
            &format!("Bench App {}", i + 1),
            "iOS",
        ));
    }
    b.build().map_err(|e| e.to_string())
}

/// The settings the stages run with: the deployed executor's (debounce, shard size, rate budget)
/// with the enricher's identity matching, in `auto` mode (the template's default, `recommend`,
/// executes nothing) and without the blast-radius breaker (a backlog of joiners is the mass
/// change it exists to stop; here it is the point).
pub fn settings(executor: &Settings, enricher: &Settings, requests_per_minute: u32) -> Settings {
    let mut s = executor.clone();
    s.user_match = enricher.user_match.clone();
    s.directory_requests_per_minute = enricher.directory_requests_per_minute;
    s.uem_requests_per_minute = requests_per_minute;
    s.mode = Mode::Auto;
    s.breaker.assignments = false;
    s.breaker.removals = false;
    // Suggestions read the relevance model, which this tenant does not have.
    s.suggest_every = None;
    s
}

/// A run's database directory, removed when the run is done.
pub struct ScratchDir(std::path::PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The ports the stages need, on SQLite in a file as local mode keeps it (an in-memory database
/// spends most of a 100,000-person run scanning its page cache at every commit), and the given
/// clock.
pub fn services(
    clock: Arc<dyn Clock>,
    settings: Settings,
) -> Result<(Services, ScratchDir), String> {
    let dir = ScratchDir(
        std::env::temp_dir().join(format!("loadout-bench-uem-{}", uuid::Uuid::new_v4())),
    );
    let db = LocalDb::open_dir(&dir.0).map_err(|e| e.to_string())?;
    let services = Services {
        store: Arc::new(SqliteStateStore::new(db.clone(), clock.clone())),
        audit: Arc::new(SqliteAuditLog::new(db.clone())),
        queue: Arc::new(SqliteQueue::new(
            db,
            clock.clone(),
            QueueSpec::pipeline(settings.max_receives),
        )),
        secrets: Arc::new(LocalSecrets::with_loader(Box::new(Default::default))),
        clock,
        settings,
    };
    Ok((services, dir))
}

pub fn tokio_clock() -> Arc<dyn Clock> {
    Arc::new(TokioClock::starting_at(Utc::now()))
}

/// The client's configuration for the simulator at the tenant's rate limit.
pub fn uem_config(sim: &SimHandle, requests_per_minute: u32) -> UemConfig {
    UemConfig::oauth(
        &sim.base_url,
        &sim.token_url,
        &sim.credentials.client_id,
        SecretString::new(&sim.credentials.client_secret),
    )
    .tenant_code(&sim.credentials.tenant_code)
    .requests_per_minute(requests_per_minute)
    .organization_group_id(Some(&sim.organization_group().id.to_string()))
    // Paused time jumps whenever every task waits, including on loopback I/O: a long timeout
    // keeps such a jump from ending a request the simulator is about to answer.
    .timeout(Duration::from_secs(3600))
}

/// Pushes a policy set whose catalog holds the benchmark's apps; returns its version.
pub async fn push_policy(services: &Services, catalog: Catalog) -> Result<String, String> {
    let catalog_yaml: String = (0..catalog.apps)
        .map(|i| {
            format!(
                "- {{id: {}, name: Bench App {}, uem_app_id: \"{}\", platforms: [iOS], bundles: [{}], licensed: false, cost_per_seat: 0, risk: low}}\n",
                app_id(i),
                i + 1,
                uem_app_id(i),
                catalog.bundle(i),
            )
        })
        .collect();
    let policies = vec![("bench.cedar".to_owned(), POLICY.to_owned())];
    let engine = PolicyEngine::from_sources(SCHEMA, &policies).map_err(|e| e.to_string())?;
    let record = PolicySetRecord {
        version: engine.version().to_owned(),
        schema: SCHEMA.to_owned(),
        policies,
        catalog_yaml,
        pushed_at: Utc::now(),
        pushed_by: "loadout-bench".into(),
    };
    policy_repo::push(services.store.as_ref(), &record)
        .await
        .map_err(|e| e.to_string())?;
    Ok(record.version)
}
