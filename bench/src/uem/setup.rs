//! The benchmark's world: a UEM tenant of joiners and apps, the executor's ports on SQLite in
//! memory and on tokio's (paused) clock, and a policy set whose catalog holds the apps.

use chrono::Utc;
use loadout::adapters::local::{
    LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
};
use loadout::config::Settings;
use loadout::domain::{
    Action, ActionKind, AppId, CorrelationId, Envelope, EventId, MessageKind, PushMode, UserId,
};
use loadout::policy::PolicyEngine;
use loadout::ports::queue::names;
use loadout::ports::{Clock, OutgoingMessage, SecretString, TokioClock};
use loadout::stages::Services;
use loadout::stages::policy_repo::{self, PolicySetRecord};
use loadout::uem::UemConfig;
use std::sync::Arc;
use std::time::Duration;
use uem_sim::{AppSeed, SimHandle, Tenant};

const SCHEMA: &str = include_str!("../../../examples/policies/schema.cedarschema");

const POLICY: &str = r#"
@id("bench-backlog")
@reason("Every joiner of the benchmark gets the benchmark bundle, pushed.")
@push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"bench");
"#;

pub fn username(i: usize) -> String {
    format!("joiner{i:04}")
}

pub fn app_id(i: usize) -> AppId {
    AppId::new(format!("bench-app-{}", i + 1))
}

pub fn uem_app_id(i: usize) -> i64 {
    9001 + i as i64
}

/// `users` enrollment users and `apps` internal apps, nothing assigned yet.
pub fn tenant(users: usize, apps: usize) -> Result<Tenant, String> {
    let mut b = Tenant::builder().seed(2026);
    for i in 0..users {
        b = b.user(&username(i), &format!("{}@example.com", username(i)));
    }
    for i in 0..apps {
        b = b.app(AppSeed::new(
            uem_app_id(i),
            &format!("Bench App {}", i + 1),
            "iOS",
        ));
    }
    b.build().map_err(|e| e.to_string())
}

/// The ports the stages need, on SQLite in memory and tokio's clock.
pub fn services(clock: Arc<dyn Clock>) -> Result<Services, String> {
    let db = LocalDb::in_memory().map_err(|e| e.to_string())?;
    let settings = Settings::default();
    Ok(Services {
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
    })
}

pub fn tokio_clock() -> Arc<dyn Clock> {
    Arc::new(TokioClock::starting_at(Utc::now()))
}

/// The client's configuration for the simulator at the tenant's real rate limit.
pub fn uem_config(sim: &SimHandle, requests_per_minute: u32) -> UemConfig {
    UemConfig::oauth(
        &sim.base_url,
        &sim.token_url,
        &sim.credentials.client_id,
        SecretString::new(&sim.credentials.client_secret),
    )
    .tenant_code(&sim.credentials.tenant_code)
    .requests_per_minute(requests_per_minute)
    // Paused time jumps whenever every task waits, including on loopback I/O: a long timeout
    // keeps such a jump from ending a request the simulator is about to answer.
    .timeout(Duration::from_secs(3600))
}

/// Pushes a policy set whose catalog holds the `apps` benchmark apps; returns its version.
pub async fn push_policy(services: &Services, apps: usize) -> Result<String, String> {
    let catalog_yaml: String = (0..apps)
        .map(|i| {
            format!(
                "- {{id: {}, name: Bench App {}, uem_app_id: \"{}\", platforms: [iOS], bundles: [bench], licensed: false, cost_per_seat: 0, risk: low}}\n",
                app_id(i),
                i + 1,
                uem_app_id(i)
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

/// The execute queue's message assigning app `a` to user `u` (as the decision engine words it),
/// with its action.
pub fn assign_message(
    u: usize,
    a: usize,
    policy_version: &str,
) -> Result<(String, Action), String> {
    let user = UserId::new(username(u));
    let correlation = CorrelationId::new(format!("bench-joiner-{u}"));
    let app = app_id(a);
    let action = Action {
        action_id: Action::derive_id(&correlation, &user, &app, ActionKind::Assign),
        correlation_id: correlation.clone(),
        user_id: user,
        app_id: app,
        kind: ActionKind::Assign,
        push_mode: PushMode::Auto,
        reasons: vec![],
        policy_version: policy_version.to_owned(),
        sequence: 1,
        uem_user: None,
    };
    let envelope = Envelope::new(
        MessageKind::Action,
        EventId::new(format!("bench-event-{u}")),
        correlation,
        Utc::now(),
        &action,
    );
    let body = serde_json::to_string(&envelope).map_err(|e| e.to_string())?;
    Ok((body, action))
}

/// Queues one assign action per user and app on the execute queue, as the decision engine
/// would: FIFO per user, deduplicated by action id.
pub async fn enqueue_joiners(
    services: &Services,
    users: usize,
    apps: usize,
    policy_version: &str,
) -> Result<(), String> {
    for u in 0..users {
        let mut outgoing = Vec::with_capacity(apps);
        for a in 0..apps {
            let (body, action) = assign_message(u, a, policy_version)?;
            outgoing.push(OutgoingMessage::fifo(
                body,
                action.user_id.as_str(),
                action.action_id.as_str(),
            ));
        }
        services
            .queue
            .send(names::EXECUTE, outgoing)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
