//! Shared by the test files: a fixture tenant, an in-memory state store (the SQLite
//! adapter on a throwaway database), and a client wired to a running simulator.

#![allow(dead_code)]

use loadout::adapters::local::{LocalDb, SqliteStateStore};
use loadout::ports::{Clock, SystemClock};
use loadout::uem::{UemClient, UemConfig};
use std::sync::Arc;
use std::time::Duration;
use uem_sim::SimHandle;

mod fixture;
pub use fixture::{sim, sim_with, tenant};

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
