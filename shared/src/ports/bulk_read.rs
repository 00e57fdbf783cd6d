//! Reading a fleet's records by key. One key at a time is one round trip each: a sweep over a
//! tenant's users would make hundreds of thousands of them. Here the keys go to
//! [`StateStore::get_many_text`] a batch per round trip (DynamoDB's `BatchGetItem` takes 100), a
//! few batches in flight, and each record is decoded straight into the caller's type.

use super::state_store::{StateStore, StoreError, TextItem};
use futures::StreamExt;
use serde::de::DeserializeOwned;

/// Keys per round trip: one `BatchGetItem` (DynamoDB's limit), one call to the SQLite thread.
pub const KEYS_PER_READ: usize = 100;
/// Round trips in flight: enough to hide a round trip's latency, few enough not to be throttled.
pub const READS_IN_FLIGHT: usize = 4;

/// The records at `keys`, in the order asked (`None` where absent or expired).
pub async fn read_many<T: DeserializeOwned>(
    store: &dyn StateStore,
    keys: Vec<(String, String)>,
) -> Result<Vec<Option<T>>, StoreError> {
    read_many_text(store, keys)
        .await?
        .into_iter()
        .map(|item| item.map(|i| i.decode()).transpose())
        .collect()
}

/// [`read_many`] as stored text, for a caller that decodes only part of what it reads.
pub async fn read_many_text(
    store: &dyn StateStore,
    keys: Vec<(String, String)>,
) -> Result<Vec<Option<TextItem>>, StoreError> {
    let total = keys.len();
    // Owned batches: a closure over borrowed ones is higher-ranked, and rustc then cannot prove
    // the callers' futures `Send`.
    let batches: Vec<Vec<(String, String)>> =
        keys.chunks(KEYS_PER_READ).map(<[_]>::to_vec).collect();
    let mut reads = futures::stream::iter(batches)
        .map(|batch| async move { store.get_many_text(&batch).await })
        .buffered(READS_IN_FLIGHT);
    let mut out = Vec::with_capacity(total);
    while let Some(read) = reads.next().await {
        out.extend(read?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::local::{LocalDb, SqliteStateStore};
    use crate::ports::{Condition, StateStoreExt, SystemClock};
    use std::sync::Arc;

    #[tokio::test]
    async fn records_come_back_in_the_order_asked_across_batches() {
        let db = LocalDb::in_memory().unwrap();
        let store = SqliteStateStore::new(db, Arc::new(SystemClock));
        for i in (0..250).step_by(2) {
            store
                .put_as("p", &format!("k{i:03}"), &i, None, Condition::None)
                .await
                .unwrap();
        }
        let keys: Vec<(String, String)> = (0..250)
            .rev()
            .map(|i| ("p".to_owned(), format!("k{i:03}")))
            .collect();
        let read: Vec<Option<u32>> = read_many(&store, keys).await.unwrap();
        assert_eq!(read.len(), 250);
        for (at, value) in read.iter().enumerate() {
            let i = 249 - at as u32;
            assert_eq!(*value, i.is_multiple_of(2).then_some(i), "key k{i:03}");
        }
        assert!(
            read_many::<u32>(&store, Vec::new())
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_record_of_another_shape_is_a_decode_error_naming_its_key() {
        let db = LocalDb::in_memory().unwrap();
        let store = SqliteStateStore::new(db, Arc::new(SystemClock));
        store
            .put_as("p", "bad", &"text", None, Condition::None)
            .await
            .unwrap();
        let err = read_many::<u32>(&store, vec![("p".into(), "bad".into())])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("bad"), "{err}");
    }
}
