//! A tiny in-memory `StateStore` for the client's unit tests (the project's embedded store is
//! built elsewhere); it honours versions, conditions, expiry and transactions, and passes the
//! port's conformance checks below.

use crate::ports::{Condition, Item, StateStore, StoreError, Write};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

type Key = (String, String);

#[derive(Debug, Default)]
pub struct MemoryStore {
    items: Mutex<BTreeMap<Key, Item>>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn live(map: &BTreeMap<Key, Item>, pk: &str, sk: &str) -> Option<Item> {
    map.get(&(pk.to_owned(), sk.to_owned()))
        .filter(|i| i.expires_at.is_none_or(|e| e > now()))
        .cloned()
}

fn check(map: &BTreeMap<Key, Item>, pk: &str, sk: &str, c: Condition) -> Result<(), StoreError> {
    let current = live(map, pk, sk);
    let ok = match c {
        Condition::None => true,
        Condition::NotExists => current.is_none(),
        Condition::Version(v) => current.is_some_and(|i| i.version == v),
    };
    ok.then_some(()).ok_or_else(|| StoreError::ConditionFailed {
        pk: pk.to_owned(),
        sk: sk.to_owned(),
    })
}

fn write(
    map: &mut BTreeMap<Key, Item>,
    pk: &str,
    sk: &str,
    data: serde_json::Value,
    expires_at: Option<i64>,
) -> u64 {
    let version = live(map, pk, sk).map_or(0, |i| i.version) + 1;
    let item = Item {
        pk: pk.to_owned(),
        sk: sk.to_owned(),
        data,
        version,
        expires_at,
    };
    map.insert((pk.to_owned(), sk.to_owned()), item);
    version
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        Ok(live(&self.items.lock().unwrap(), pk, sk))
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
        check(&map, pk, sk, condition)?;
        Ok(write(&mut map, pk, sk, data, expires_at))
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<(), StoreError> {
        let mut map = self.items.lock().unwrap();
        check(&map, pk, sk, condition)?;
        map.remove(&(pk.to_owned(), sk.to_owned()));
        Ok(())
    }

    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let map = self.items.lock().unwrap();
        Ok(map
            .values()
            .filter(|i| i.pk == pk && i.sk.starts_with(sk_prefix))
            .filter(|i| i.expires_at.is_none_or(|e| e > now()))
            .cloned()
            .collect())
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut map = self.items.lock().unwrap();
        for w in &writes {
            let (Write::Put {
                pk, sk, condition, ..
            }
            | Write::Delete { pk, sk, condition }
            | Write::Check { pk, sk, condition }) = w;
            check(&map, pk, sk, *condition).map_err(|_| StoreError::TransactionConflict)?;
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
                    write(&mut map, &pk, &sk, data, expires_at);
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

#[cfg(test)]
mod tests {
    use super::MemoryStore;
    use crate::ports::StateStore;
    use crate::ports::conformance as c;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_test_store_keeps_the_ports_promises() {
        let store = MemoryStore::default();
        c::store_put_get_round_trip(&store).await;
        c::store_not_exists_is_idempotency(&store).await;
        c::store_version_is_compare_and_swap(&store).await;
        c::store_query_prefix_in_order(&store).await;
        c::store_transactions_are_all_or_nothing(&store).await;
        c::store_delete_respects_conditions(&store).await;
        let shared: Arc<dyn StateStore> = Arc::new(MemoryStore::default());
        c::store_concurrent_cas_loses_no_update(shared).await;
    }
}
