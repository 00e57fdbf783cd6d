//! Shared by the test files: a fixture tenant, an in-memory state store (the SQLite
//! adapter on a throwaway database), and a client wired to a running simulator.

#![allow(dead_code)]

use loadout::adapters::local::{LocalDb, SqliteStateStore};
use loadout::ports::{Clock, SystemClock};
use loadout::uem::{UemClient, UemConfig};
use std::sync::Arc;
use std::time::Duration;
use uem_sim::{AppSeed, AppType, DeviceSeed, SimConfig, SimHandle, Tenant, UemSim};

/// alice (3 devices), alice2 (1), bob (7: enough for three pages of 3), carol (none); four apps.
pub fn tenant() -> Tenant {
    let mut b = Tenant::builder()
        .seed(42)
        .user("alice", "alice.smith@example.com")
        .user("alice2", "alice.jones@example.com")
        .user("bob", "bob.brown@example.com")
        .user("carol", "carol.white@example.com")
        .device(DeviceSeed::new("A-IOS", "alice", "iOS").ownership("E"))
        .device(DeviceSeed::new("A-MAC", "alice", "macOS").compliant(false))
        .device(DeviceSeed::new("A-WIN", "alice", "Windows"))
        .device(DeviceSeed::new("A2-DROID", "alice2", "Android"))
        .app(AppSeed::new(1201, "Slack", "iOS").platforms(&["iOS", "macOS", "Windows"]))
        .app(AppSeed::new(1202, "Salesforce", "iOS"))
        .app(AppSeed::new(1203, "Zoom", "macOS").app_type(AppType::Public))
        .app(AppSeed::new(1204, "Tableau", "Windows").app_type(AppType::Purchased))
        .unmanaged_app("A-IOS", "com.example.notes", "Notes");
    for i in 0..7 {
        b = b.device(DeviceSeed::new(&format!("B-{i}"), "bob", "Android"));
    }
    b.build().expect("fixture tenant")
}

pub async fn sim() -> SimHandle {
    sim_with(SimConfig::new(tenant()).requests_per_minute(0)).await
}

pub async fn sim_with(config: SimConfig) -> SimHandle {
    UemSim::start(config).await.expect("simulator starts")
}

/// OAuth config for the simulator with small pages and fast backoff.
pub fn oauth_config(sim: &SimHandle) -> UemConfig {
    UemConfig::oauth(
        &sim.base_url,
        &sim.token_url,
        &sim.credentials.client_id,
        loadout::ports::SecretString::new(sim.credentials.client_secret.clone()),
    )
    .tenant_code(&sim.credentials.tenant_code)
    .page_size(3)
    .requests_per_minute(0)
    .timeout(Duration::from_secs(5))
    .backoff(Duration::from_millis(5), Duration::from_millis(50))
}

pub fn client_with(
    config: UemConfig,
    store: Arc<SqliteStateStore>,
    clock: Arc<dyn Clock>,
) -> UemClient {
    UemClient::new(config, store, clock).expect("client builds")
}

pub fn client(sim: &SimHandle) -> UemClient {
    client_with(oauth_config(sim), memory_store(), Arc::new(SystemClock))
}

/// An in-memory state store: the project's SQLite adapter on a throwaway database, so the
/// client is tested against the same store semantics it gets in local mode.
pub fn memory_store() -> Arc<SqliteStateStore> {
    Arc::new(SqliteStateStore::new(
        LocalDb::in_memory().expect("in-memory database"),
        Arc::new(SystemClock),
    ))
}
