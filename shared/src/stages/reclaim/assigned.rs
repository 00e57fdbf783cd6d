//! Who assigned each unused seat, and when: read from each user's intent, once per user however
//! many apps they leave unused. Only seats Loadout assigned may be reclaimed, and only once they
//! are older than the threshold.

use super::ReclaimError;
use super::scan::AppScan;
use crate::domain::{AppId, CatalogApp, UserId};
use crate::keys;
use crate::ports::StateStore;
use crate::stages::intent::Intent;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tracing::Instrument;

/// Intents per read: one `BatchGetItem` (DynamoDB's limit is 100 keys), one call to the SQLite
/// thread.
const KEYS_PER_READ: usize = 100;
/// Reads in flight per task: each is a round trip.
const READS_IN_FLIGHT: usize = 4;
/// Tasks the reads are split over: decoding a fleet's intents (a hundred thousand records) is
/// CPU work, and one task would keep it on one core.
const TASKS: usize = 4;

/// Per user, the app indices (into `apps`) Loadout assigned, with when. A seat Loadout did not
/// assign is absent: an app only observed in a group carries the "observed" marker.
pub(super) type Assigned = HashMap<UserId, Vec<(u16, DateTime<Utc>)>>;

/// The assignments of every user with an unused seat in `scans`.
pub(super) async fn assigned_index(
    store: &Arc<dyn StateStore>,
    apps: &[&CatalogApp],
    scans: &[AppScan],
) -> Result<Assigned, ReclaimError> {
    let index: Arc<HashMap<AppId, u16>> = Arc::new(
        apps.iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i as u16))
            .collect(),
    );
    let users: Vec<UserId> = scans
        .iter()
        .flat_map(|s| s.unused.iter().map(|seat| seat.user.clone()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for part in users.chunks(users.len().div_ceil(TASKS).max(1)) {
        let (part, store, index) = (part.to_vec(), store.clone(), index.clone());
        tasks.spawn(read_part(store, index, part).instrument(tracing::Span::current()));
    }
    let mut out = Assigned::with_capacity(users.len());
    while let Some(done) = tasks.join_next().await {
        let part = done??;
        out.extend(part);
    }
    Ok(out)
}

async fn read_part(
    store: Arc<dyn StateStore>,
    index: Arc<HashMap<AppId, u16>>,
    users: Vec<UserId>,
) -> Result<Vec<(UserId, Vec<(u16, DateTime<Utc>)>)>, ReclaimError> {
    let store = store.as_ref();
    let index = index.as_ref();
    // Owned batches: a closure over borrowed ones is higher-ranked, and rustc then cannot prove
    // the callers' futures `Send`.
    let batches: Vec<Vec<UserId>> = users.chunks(KEYS_PER_READ).map(<[_]>::to_vec).collect();
    let mut reads = futures::stream::iter(batches)
        .map(|batch| async move {
            let keys: Vec<(String, String)> = batch.iter().map(keys::intent).collect();
            // As text: decoded straight into the intent, without a JSON tree in between.
            let read = store.get_many_text(&keys).await;
            (batch, read)
        })
        .buffer_unordered(READS_IN_FLIGHT);
    let mut out = Vec::new();
    while let Some((batch, read)) = reads.next().await {
        for (user, item) in batch.into_iter().zip(read?) {
            let current: Intent = match item {
                Some(item) => item.decode()?,
                None => Intent::default(),
            };
            let assigned = current
                .apps
                .iter()
                .filter(|m| m.assigned_by.as_str() != "observed")
                .filter_map(|m| index.get(&m.app_id).map(|i| (*i, m.assigned_at)))
                .collect();
            out.push((user, assigned));
        }
    }
    Ok(out)
}
