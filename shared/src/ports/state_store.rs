//! The state store: a DynamoDB-shaped key-value store (partition key, sort key, JSON data, a
//! version for optimistic concurrency, and an expiry). Idempotency, caches, decisions, action
//! status, policy pointers and the UEM token bucket all live here.

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    pub data: serde_json::Value,
    /// Starts at 1 and grows by one on every write; the basis of compare-and-swap.
    pub version: u64,
    /// Unix seconds after which the item counts as absent (DynamoDB TTL semantics, checked in code
    /// because TTL deletion is lazy).
    pub expires_at: Option<i64>,
}

impl Item {
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        // From a reference: cloning the tree first doubled the allocations of every read.
        T::deserialize(&self.data).map_err(|e| StoreError::Decode {
            pk: self.pk.clone(),
            sk: self.sk.clone(),
            message: e.to_string(),
        })
    }
}

/// An item as its stored JSON text, decoded only into the type the caller wants (a scan over a
/// fleet's records skips building a JSON tree for each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextItem {
    pub pk: String,
    pub sk: String,
    pub text: String,
    pub version: u64,
}

impl TextItem {
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_str(&self.text).map_err(|e| StoreError::Decode {
            pk: self.pk.clone(),
            sk: self.sk.clone(),
            message: e.to_string(),
        })
    }
}

/// A write's precondition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Write whatever is there.
    None,
    /// Only if no live item has this key (an expired one counts as absent).
    NotExists,
    /// Only if the live item has exactly this version.
    Version(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put {
        pk: String,
        sk: String,
        data: serde_json::Value,
        expires_at: Option<i64>,
        condition: Condition,
    },
    Delete {
        pk: String,
        sk: String,
        condition: Condition,
    },
    /// A precondition on an item that is not written.
    Check {
        pk: String,
        sk: String,
        condition: Condition,
    },
}

impl Write {
    pub fn put(
        pk: impl Into<String>,
        sk: impl Into<String>,
        data: &impl Serialize,
        expires_at: Option<i64>,
        condition: Condition,
    ) -> Result<Self, StoreError> {
        Ok(Write::Put {
            pk: pk.into(),
            sk: sk.into(),
            data: serde_json::to_value(data).map_err(|e| StoreError::Encode(e.to_string()))?,
            expires_at,
            condition,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("condition failed for {pk}/{sk}")]
    ConditionFailed { pk: String, sk: String },
    #[error("transaction cancelled: a condition failed")]
    TransactionConflict,
    #[error("stored item {pk}/{sk} does not decode: {message}")]
    Decode {
        pk: String,
        sk: String,
        message: String,
    },
    #[error("value does not encode: {0}")]
    Encode(String),
    #[error("state store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    pub fn is_condition_failed(&self) -> bool {
        matches!(
            self,
            StoreError::ConditionFailed { .. } | StoreError::TransactionConflict
        )
    }
}

#[async_trait]
pub trait StateStore: Send + Sync {
    /// The live item, or `None` (absent or expired).
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError>;

    /// Writes `data` under the key if `condition` holds; returns the new version.
    async fn put(
        &self,
        pk: &str,
        sk: &str,
        data: serde_json::Value,
        expires_at: Option<i64>,
        condition: Condition,
    ) -> Result<u64, StoreError>;

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<(), StoreError>;

    /// The live items at `keys`, in the order asked (`None` where absent or expired). Adapters
    /// read many keys in one round trip (DynamoDB: `BatchGetItem`, 100 keys a call), so a scan
    /// over a fleet's records is not a hundred thousand calls.
    async fn get_many(&self, keys: &[(String, String)]) -> Result<Vec<Option<Item>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for (pk, sk) in keys {
            out.push(self.get(pk, sk).await?);
        }
        Ok(out)
    }

    /// [`StateStore::get_many`] with each item's data as its JSON text. Both adapters store the
    /// text and hand it over as is; this default re-encodes.
    async fn get_many_text(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<Option<TextItem>>, StoreError> {
        Ok(self
            .get_many(keys)
            .await?
            .into_iter()
            .map(|item| {
                item.map(|i| TextItem {
                    text: i.data.to_string(),
                    pk: i.pk,
                    sk: i.sk,
                    version: i.version,
                })
            })
            .collect())
    }

    /// Live items of one partition whose sort key starts with `sk_prefix`, in sort-key order.
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError>;

    /// [`StateStore::query`] with each item's data as its JSON text (see
    /// [`StateStore::get_many_text`]).
    async fn query_text(&self, pk: &str, sk_prefix: &str) -> Result<Vec<TextItem>, StoreError> {
        Ok(self
            .query(pk, sk_prefix)
            .await?
            .into_iter()
            .map(|i| TextItem {
                text: i.data.to_string(),
                pk: i.pk,
                sk: i.sk,
                version: i.version,
            })
            .collect())
    }

    /// All writes happen, or none (the first failed condition cancels the lot).
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;
}

/// Typed helpers over any store.
#[async_trait]
pub trait StateStoreExt: StateStore {
    async fn get_as<T: DeserializeOwned + Send>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<(T, u64)>, StoreError> {
        match self.get(pk, sk).await? {
            Some(item) => Ok(Some((item.decode()?, item.version))),
            None => Ok(None),
        }
    }

    async fn put_as<T: Serialize + Sync>(
        &self,
        pk: &str,
        sk: &str,
        value: &T,
        expires_at: Option<i64>,
        condition: Condition,
    ) -> Result<u64, StoreError> {
        let data = serde_json::to_value(value).map_err(|e| StoreError::Encode(e.to_string()))?;
        self.put(pk, sk, data, expires_at, condition).await
    }
}

impl<S: StateStore + ?Sized> StateStoreExt for S {}
