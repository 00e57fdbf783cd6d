//! A state store that counts its reads, for tests that hold a stage to a number of round trips.

use super::state_store::{Condition, Item, StateStore, StoreError, TextItem, Write};
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `inner`, counting single-key reads and queries (batch reads go through uncounted).
pub struct CountingStore {
    pub inner: Arc<dyn StateStore>,
    gets: AtomicUsize,
    queries: AtomicUsize,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn StateStore>) -> Self {
        Self {
            inner,
            gets: AtomicUsize::new(0),
            queries: AtomicUsize::new(0),
        }
    }

    pub fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }

    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    /// Starts counting afresh (after a test's set-up).
    pub fn reset(&self) {
        self.gets.store(0, Ordering::SeqCst);
        self.queries.store(0, Ordering::SeqCst);
    }
}

#[async_trait]
impl StateStore for CountingStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(pk, sk).await
    }
    async fn get_many_text(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<Option<TextItem>>, StoreError> {
        self.inner.get_many_text(keys).await
    }
    async fn put(
        &self,
        pk: &str,
        sk: &str,
        data: serde_json::Value,
        expires_at: Option<i64>,
        condition: Condition,
    ) -> Result<u64, StoreError> {
        self.inner.put(pk, sk, data, expires_at, condition).await
    }
    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<(), StoreError> {
        self.inner.delete(pk, sk, condition).await
    }
    async fn query(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        self.inner.query(pk, prefix).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.inner.transact(writes).await
    }
}
