//! What the tests share: a temporary data directory, secrets that can be changed under a running
//! process, the approval callback served over HTTP on 127.0.0.1, and a harness that wires
//! Loadout's approval stage to a ServiceNow simulator.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use chrono::{TimeZone, Utc};
use loadout::adapters::local::{
    LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
};
use loadout::config::Settings;
use loadout::domain::{
    Action, ActionKind, AppId, CatalogApp, CorrelationId, Platform, PushMode, Reason, Risk, UserId,
};
use loadout::notify::RecordingNotifier;
use loadout::ports::secrets::keys;
use loadout::ports::{Clock, ManualClock};
use loadout::servicenow::{ServiceNowClient, ServiceNowConfig};
use loadout::stages::Services;
use loadout::stages::approval_callback::ApprovalCallback;
use loadout::stages::approve::{AppPackage, ApprovalSubject, Approvals, Requester, TargetDevice};
use loadout::webhook::InboundRequest;
use servicenow_sim::{CallbackAuth, ServiceNowSim, SimConfig};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub const CALLBACK_TOKEN: &str = "cb-token-0123456789abcdef";

pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!("loadout-snow-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Secrets whose values a test can change; the process sees them after a refresh, as with a
/// rotation in Secrets Manager.
#[derive(Clone, Default)]
pub struct SecretValues(Arc<Mutex<HashMap<String, String>>>);

impl SecretValues {
    pub fn set(&self, key: &str, value: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned(), value.to_owned());
    }

    pub fn remove(&self, key: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    pub fn secrets(&self) -> Arc<LocalSecrets> {
        let values = self.0.clone();
        Arc::new(LocalSecrets::with_loader(Box::new(move || {
            values.lock().unwrap_or_else(|p| p.into_inner()).clone()
        })))
    }
}

/// The callback route on 127.0.0.1, the way local mode serves it.
pub struct CallbackServer {
    pub base_url: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl CallbackServer {
    pub async fn start(callback: Arc<ApprovalCallback>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, mut stopped) = watch::channel(false);
        let app = axum::Router::new().fallback(route).with_state(callback);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        Self {
            base_url,
            stop,
            task,
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn route(
    State(callback): State<Arc<ApprovalCallback>>,
    request: Request<Body>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .unwrap_or_default();
    let api = callback
        .handle(InboundRequest {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query: InboundRequest::parse_query(parts.uri.query().unwrap_or("")),
            headers: parts.headers,
            body,
        })
        .await;
    let mut response = Response::new(Body::from(api.body));
    *response.status_mut() =
        StatusCode::from_u16(api.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(api.content_type));
    response
}

/// Loadout's approvals against a ServiceNow simulator: embedded store, audit and queue in a
/// temporary directory, a manual clock, the callback served over HTTP.
pub struct Harness {
    pub sim: ServiceNowSim,
    pub services: Services,
    pub clock: ManualClock,
    pub secrets: SecretValues,
    pub notifier: Arc<RecordingNotifier>,
    pub approvals: Approvals,
    pub callback_url: String,
    server: CallbackServer,
    _dir: TempDir,
}

/// A ServiceNow client configuration for tests: short timeouts and backoffs.
pub fn quick(config: ServiceNowConfig) -> ServiceNowConfig {
    config
        .with_timeout(Duration::from_millis(500))
        .with_deadline(Duration::from_secs(20))
        .with_backoff(Duration::from_millis(20), Duration::from_millis(100))
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|c| c).await
    }

    pub async fn start_with(tune: impl FnOnce(ServiceNowConfig) -> ServiceNowConfig) -> Self {
        let dir = TempDir::new();
        let db = LocalDb::open_dir(dir.path()).expect("local db");
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap());
        let clock_arc: Arc<dyn Clock> = Arc::new(clock.clone());
        let sim = ServiceNowSim::start(SimConfig::new(CallbackAuth::Bearer(
            CALLBACK_TOKEN.to_owned(),
        )))
        .await
        .expect("simulator");
        let secrets = SecretValues::default();
        secrets.set(keys::SERVICENOW_USERNAME, &sim.credentials.username);
        secrets.set(keys::SERVICENOW_PASSWORD, &sim.credentials.password);
        secrets.set(keys::SERVICENOW_CALLBACK_TOKEN, CALLBACK_TOKEN);
        let services = Services {
            store: Arc::new(SqliteStateStore::new(db.clone(), clock_arc.clone())),
            audit: Arc::new(SqliteAuditLog::new(db.clone())),
            queue: Arc::new(SqliteQueue::new(
                db,
                clock_arc.clone(),
                QueueSpec::pipeline(5),
            )),
            secrets: secrets.secrets(),
            clock: clock_arc.clone(),
            settings: Settings::default(),
        };
        let callback = Arc::new(ApprovalCallback::new(services.clone()));
        let server = CallbackServer::start(callback).await;
        let config = tune(quick(
            ServiceNowConfig::new(&sim.base_url, &sim.namespace, &server.base_url).expect("config"),
        ));
        let callback_url = config.callback_url.clone();
        let client =
            ServiceNowClient::new(config, services.secrets.clone(), clock_arc).expect("client");
        let notifier = Arc::new(RecordingNotifier::default());
        let approvals = Approvals::new(services.clone())
            .with_servicenow(Arc::new(client), callback_url.clone())
            .with_notifier(notifier.clone());
        Self {
            sim,
            services,
            clock,
            secrets,
            notifier,
            approvals,
            callback_url,
            server,
            _dir: dir,
        }
    }

    pub async fn stop(self) {
        self.server.stop().await;
        self.sim.shutdown().await;
    }
}

/// The held action as the callback queues it: the stored action, naming the UEM user the
/// request was opened for (jdoe is UEM user 15), since the executor writes members by UEM id.
pub fn queued_action() -> Action {
    Action {
        uem_user: Some(loadout::domain::UemTarget {
            id: 15,
            username: String::new(),
        }),
        ..action()
    }
}

/// An assignment that waits for approval: Visio for jdoe.
pub fn action() -> Action {
    let correlation = CorrelationId::from("corr-visio-jdoe");
    let user = UserId::from("jdoe");
    let app = AppId::from("visio");
    Action {
        action_id: Action::derive_id(&correlation, &user, &app, ActionKind::Assign),
        correlation_id: correlation,
        user_id: user,
        app_id: app,
        kind: ActionKind::Assign,
        push_mode: PushMode::Auto,
        reasons: vec![Reason {
            rule_id: "engineering-diagrams".into(),
            text: "Engineers draw architecture diagrams".into(),
        }],
        policy_version: "v7".into(),
        sequence: 1,
        uem_user: None,
    }
}

pub fn subject(devices: &[&str]) -> ApprovalSubject {
    ApprovalSubject {
        action: action(),
        app: CatalogApp {
            id: AppId::from("visio"),
            name: "Microsoft Visio".into(),
            uem_app_id: "267".into(),
            platforms: vec![Platform::Windows],
            bundles: vec![],
            licensed: true,
            cost_per_seat: 15.0,
            risk: Risk::Medium,
            ..CatalogApp::default()
        },
        package: AppPackage {
            package_id: Some("{90160000-0051-0000-0000-0000000FF1CE}".into()),
            version: Some("16.0.17928".into()),
        },
        requester: Requester {
            uem_user_id: "15".into(),
            user_name: "jdoe".into(),
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            email: "jdoe@example.com".into(),
        },
        devices: devices
            .iter()
            .map(|id| TargetDevice {
                device_id: (*id).to_owned(),
                platform: Platform::Windows,
                name: "Dell Latitude 7440".into(),
                udid: None,
            })
            .collect(),
    }
}
