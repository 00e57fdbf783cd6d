//! Shared by the test files: a fixture tenant, an in-memory state store that honours the
//! port's conditions, and a client wired to a running simulator.

#![allow(dead_code)]

use async_trait::async_trait;
use loadout::ports::{Clock, Condition, Item, StateStore, StoreError, SystemClock, Write};
use loadout::uem::{UemClient, UemConfig};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
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

pub fn client_with(config: UemConfig, store: Arc<MemoryStore>, clock: Arc<dyn Clock>) -> UemClient {
    UemClient::new(config, store, clock).expect("client builds")
}

pub fn client(sim: &SimHandle) -> UemClient {
    client_with(
        oauth_config(sim),
        Arc::new(MemoryStore::default()),
        Arc::new(SystemClock),
    )
}

/// A tiny in-memory `StateStore`: versions, conditions, expiry and transactions.
#[derive(Debug, Default)]
pub struct MemoryStore {
    items: Mutex<BTreeMap<(String, String), Item>>,
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

impl MemoryStore {
    fn live(map: &BTreeMap<(String, String), Item>, pk: &str, sk: &str) -> Option<Item> {
        map.get(&(pk.to_owned(), sk.to_owned()))
            .filter(|i| i.expires_at.is_none_or(|e| e > now_secs()))
            .cloned()
    }

    fn check(
        map: &BTreeMap<(String, String), Item>,
        pk: &str,
        sk: &str,
        condition: Condition,
    ) -> Result<(), StoreError> {
        let live = Self::live(map, pk, sk);
        let ok = match condition {
            Condition::None => true,
            Condition::NotExists => live.is_none(),
            Condition::Version(v) => live.is_some_and(|i| i.version == v),
        };
        if ok {
            Ok(())
        } else {
            Err(StoreError::ConditionFailed {
                pk: pk.to_owned(),
                sk: sk.to_owned(),
            })
        }
    }

    fn apply(
        map: &mut BTreeMap<(String, String), Item>,
        pk: &str,
        sk: &str,
        data: serde_json::Value,
        expires_at: Option<i64>,
    ) -> u64 {
        let version = Self::live(map, pk, sk).map(|i| i.version).unwrap_or(0) + 1;
        map.insert(
            (pk.to_owned(), sk.to_owned()),
            Item {
                pk: pk.to_owned(),
                sk: sk.to_owned(),
                data,
                version,
                expires_at,
            },
        );
        version
    }

    pub fn keys(&self) -> Vec<(String, String)> {
        self.items.lock().unwrap().keys().cloned().collect()
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        Ok(Self::live(&self.items.lock().unwrap(), pk, sk))
    }

    async fn put(
        &self,
        pk: &str,
        sk: &str,
        data: serde_json::Value,
        expires_at: Option<i64>,
        condition: Condition,
    ) -> Result<u64, StoreError> {
        let mut map = self.items.lock().unwrap();
        Self::check(&map, pk, sk, condition)?;
        Ok(Self::apply(&mut map, pk, sk, data, expires_at))
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<(), StoreError> {
        let mut map = self.items.lock().unwrap();
        Self::check(&map, pk, sk, condition)?;
        map.remove(&(pk.to_owned(), sk.to_owned()));
        Ok(())
    }

    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let map = self.items.lock().unwrap();
        Ok(map
            .values()
            .filter(|i| i.pk == pk && i.sk.starts_with(sk_prefix))
            .filter(|i| i.expires_at.is_none_or(|e| e > now_secs()))
            .cloned()
            .collect())
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut map = self.items.lock().unwrap();
        for w in &writes {
            let (pk, sk, c) = match w {
                Write::Put {
                    pk, sk, condition, ..
                }
                | Write::Delete { pk, sk, condition }
                | Write::Check { pk, sk, condition } => (pk, sk, *condition),
            };
            Self::check(&map, pk, sk, c).map_err(|_| StoreError::TransactionConflict)?;
        }
        for w in writes {
            match w {
                Write::Put {
                    pk,
                    sk,
                    data,
                    expires_at,
                    ..
                } => {
                    Self::apply(&mut map, &pk, &sk, data, expires_at);
                }
                Write::Delete { pk, sk, .. } => {
                    map.remove(&(pk, sk));
                }
                Write::Check { .. } => {}
            }
        }
        Ok(())
    }
}
