//! Helpers for the end-to-end tests: a local mode on a temporary directory against the UEM
//! simulator, HR events built from the sample organization, and the expected app sets computed
//! by the policy engine from the same examples. `aws`: the same spine on the AWS adapters (moto)
//! through the Lambda handlers, with payloads from `lambda_events`.

pub mod aws;
pub mod lambda_events;
pub mod senders;

use chrono::Utc;
use loadout::domain::org::{parse_devices, parse_org};
use loadout::domain::{Catalog, Device, Employee, UserContext};
use loadout::governance::Mode;
use loadout::policy::PolicyEngine;
use loadout::ports::secrets::keys;
use loadout::stages::policy_repo::EntitlementSource;
use loadout_cli::hris_sender::HrisSender;
use loadout_cli::local::{LocalMode, LocalOptions, UemTarget, load_policy_set};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!("loadout-e2e-{tag}-{}", uuid_like()));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}

/// The sample organization, catalog and policies, read the way local mode reads them.
pub struct Examples {
    pub org: Vec<Employee>,
    pub devices: Vec<Device>,
    pub catalog: Catalog,
    pub engine: PolicyEngine,
}

impl Examples {
    pub fn load() -> Self {
        let dir = examples_dir();
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("examples file");
        let catalog_yaml = read("catalog.yaml");
        let record =
            load_policy_set(&dir.join("policies"), catalog_yaml.clone()).expect("policies");
        Self {
            org: parse_org(&read("org.csv")).expect("org.csv"),
            devices: parse_devices(&read("devices.csv")).expect("devices.csv"),
            catalog: Catalog::from_yaml(&catalog_yaml).expect("catalog"),
            engine: PolicyEngine::from_sources(&record.schema, &record.policies).expect("engine"),
        }
    }

    pub fn employee(&self, id: &str) -> Employee {
        self.org
            .iter()
            .find(|e| e.id.as_str() == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} is not in examples/org.csv"))
    }

    /// Users of a department that have at least one device.
    pub fn with_devices(&self, department: &str) -> Vec<Employee> {
        self.org
            .iter()
            .filter(|e| e.department == department)
            .filter(|e| self.devices.iter().any(|d| d.user_id == e.id))
            .cloned()
            .collect()
    }

    /// What the policies entitle this employee to, as (UEM app id -> push mode "auto"/"on_demand").
    pub fn expected_apps(&self, employee: &Employee) -> BTreeMap<String, String> {
        let devices = self
            .devices
            .iter()
            .filter(|d| d.user_id == employee.id)
            .cloned()
            .collect();
        self.expected_apps_on(employee, devices)
    }

    /// The same with the user's devices as given (e.g. after one turned non-compliant).
    pub fn expected_apps_on(
        &self,
        employee: &Employee,
        devices: Vec<Device>,
    ) -> BTreeMap<String, String> {
        let context = UserContext {
            employee: employee.clone(),
            devices,
            installed: vec![],
            usage: vec![],
            fetched_at: Utc::now(),
            uem_user: None,
            parked: None,
        };
        let is_manager = self
            .org
            .iter()
            .any(|e| e.manager_id.as_ref() == Some(&employee.id));
        let (desired, _) = EntitlementSource::desired_for(
            &self.engine,
            &context,
            is_manager,
            &self.catalog,
            Utc::now(),
        )
        .expect("the sample policies evaluate");
        desired
            .into_iter()
            .map(|e| {
                let app = self.catalog.get(&e.app_id).expect("catalog app");
                (app.uem_app_id.clone(), e.push_mode.as_str().to_owned())
            })
            .collect()
    }
}

/// An HR event body of DESIGN.md's generic shape.
pub fn hr_event(kind: &str, employee: &Employee, changed: &[&str]) -> Vec<u8> {
    json!({
        "event_id": format!("hr-{kind}-{}-{}", employee.id, uuid_like()),
        "type": kind,
        "occurred_at": Utc::now().to_rfc3339(),
        "employee": {
            "id": employee.id,
            "email": employee.email,
            "department": employee.department,
            "title": employee.title,
            "location": employee.location,
            "region": employee.region,
            "employment_type": employee.employment_type,
            "manager_id": employee.manager_id,
            "groups": employee.groups,
        },
        "changed_fields": changed,
    })
    .to_string()
    .into_bytes()
}

/// A running local mode with its HR sender.
pub struct Harness {
    pub local: LocalMode,
    pub sender: HrisSender,
    pub data: TempDir,
}

impl Harness {
    /// Waits until the pipeline is idle, or fails the test with local mode's diagnostics.
    pub async fn settle_within(&self, limit: Duration) {
        assert!(
            self.local.wait_idle(limit).await,
            "the pipeline settles:\n{}",
            self.local.diagnostics().await
        );
    }

    /// Sends one signed HR event of `kind` for `employee` under a fresh webhook id, and
    /// expects it accepted.
    pub async fn send_hr(&self, kind: &str, employee: &Employee) {
        let sent = self
            .sender
            .send(
                &hr_event(kind, employee, &[]),
                &format!(
                    "{kind}-{}-{}",
                    employee.id,
                    Utc::now().timestamp_nanos_opt().unwrap_or(0)
                ),
            )
            .await
            .expect("send");
        assert_eq!(sent.status, 202, "{}", sent.body);
    }
}

pub async fn start(mode: Mode, uem: UemTarget, data: TempDir) -> Harness {
    start_adjusted(mode, uem, data, None).await
}

/// [`start`] with the environment's settings changed first (a breaker, a review window).
pub async fn start_adjusted(
    mode: Mode,
    uem: UemTarget,
    data: TempDir,
    adjust: Option<fn(&mut loadout::config::Settings)>,
) -> Harness {
    start_configured(mode, uem, data, |options| options.adjust_settings = adjust).await
}

/// [`start`] with local mode's options changed first (ServiceNow, the notifier, the clock).
pub async fn start_configured(
    mode: Mode,
    uem: UemTarget,
    data: TempDir,
    configure: impl FnOnce(&mut LocalOptions),
) -> Harness {
    // `RUST_LOG=warn cargo test ...` shows what the stages say.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .try_init();
    let mut options = LocalOptions::new(data.0.clone(), examples_dir());
    options.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    options.mode = Some(mode);
    options.uem = uem;
    // Short so that a batch abandoned by a crash is redelivered quickly.
    options.visibility = Duration::from_secs(2);
    // The tests check outcomes, not pacing: let the simulator answer as fast as it can.
    options.uem_requests_per_minute = Some(6000);
    configure(&mut options);
    let local = LocalMode::start(options).await.expect("local mode starts");
    let secret = local
        .services
        .secrets
        .get(keys::HRIS_HMAC_SECRET)
        .await
        .expect("secrets")
        .expect("an HR secret");
    let sender = HrisSender::new(&local.base_url, secret.expose()).expect("sender");
    Harness {
        local,
        sender,
        data,
    }
}

/// Wall-clock time plus an offset a test can move forward (an approval's 14 days, in a moment).
#[derive(Debug, Clone, Default)]
pub struct OffsetClock {
    ahead: std::sync::Arc<std::sync::Mutex<chrono::Duration>>,
}

impl OffsetClock {
    pub fn advance(&self, by: chrono::Duration) {
        let mut ahead = self.ahead.lock().unwrap_or_else(|p| p.into_inner());
        *ahead += by;
    }
}

#[async_trait::async_trait]
impl loadout::ports::Clock for OffsetClock {
    fn now(&self) -> chrono::DateTime<Utc> {
        Utc::now() + *self.ahead.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Normalizes the simulator's view (app id -> push mode) for comparison with `expected_apps`.
pub fn normalize_modes(apps: BTreeMap<String, uem_sim::PushMode>) -> BTreeMap<String, String> {
    apps.into_iter()
        .map(|(app, mode)| {
            let mode = match mode.as_v2() {
                "AUTO" => "auto",
                _ => "on_demand",
            };
            (app, mode.to_owned())
        })
        .collect()
}

/// The audit records of one correlation id (oldest first).
pub async fn trail_of(
    audit: &dyn loadout::ports::AuditLog,
    correlation: &str,
) -> Vec<loadout::domain::AuditRecord> {
    audit
        .query(&loadout::ports::AuditQuery::correlation(
            &loadout::domain::CorrelationId::new(correlation),
        ))
        .await
        .expect("audit")
}

/// Every stage of the pipeline audited its part of one event.
pub fn assert_every_stage_left_its_mark(trail: &[loadout::domain::AuditRecord]) {
    use loadout::domain::AuditKind;
    let kinds: Vec<AuditKind> = trail.iter().map(|r| r.kind).collect();
    for kind in [
        AuditKind::EventAccepted,
        AuditKind::ContextEnriched,
        AuditKind::Decision,
        AuditKind::ActionPlanned,
        AuditKind::ActionApplied,
    ] {
        assert!(kinds.contains(&kind), "audit has {kind:?}: {kinds:?}");
    }
}

/// The most recent audit records of one kind (any correlation).
pub async fn records_of_kind(
    audit: &dyn loadout::ports::AuditLog,
    kind: loadout::domain::AuditKind,
) -> Vec<loadout::domain::AuditRecord> {
    audit
        .query(&loadout::ports::AuditQuery::default())
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.kind == kind)
        .collect()
}
