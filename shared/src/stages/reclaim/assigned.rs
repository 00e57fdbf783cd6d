//! Who assigned each unused seat, and when: read from each user's intent, once per user however
//! many apps they leave unused. Only seats Loadout assigned may be reclaimed, and only once they
//! are older than the threshold.

use super::ReclaimError;
use super::scan::AppScan;
use crate::domain::{AppId, CatalogApp, UserId};
use crate::keys;
use crate::ports::StateStore;
use crate::ports::bulk_read::read_many;
use crate::stages::intent::Intent;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tracing::Instrument;

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
    // Batched reads (`read_many`), decoded straight into the intent as text, without a JSON
    // tree in between.
    let keys: Vec<(String, String)> = users.iter().map(keys::intent).collect();
    let intents: Vec<Option<Intent>> = read_many(store, keys).await?;
    Ok(users
        .into_iter()
        .zip(intents)
        .map(|(user, intent)| {
            let assigned = intent
                .unwrap_or_default()
                .apps
                .iter()
                .filter(|m| m.assigned_by.as_str() != "observed")
                .filter_map(|m| index.get(&m.app_id).map(|i| (*i, m.assigned_at)))
                .collect();
            (user, assigned)
        })
        .collect())
}
