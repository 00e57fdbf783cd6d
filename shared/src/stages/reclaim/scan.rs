//! The scan: who holds each licensed app through Loadout's groups, and whether they still use
//! it. Streaming, so a fleet fits in a few hundred megabytes: one app's group snapshots at a time
//! (holders kept as small indices), then the last-seen records a shard at a time (one query
//! each), judging only the apps each user holds. What is kept per app is small: the counts, the
//! unused holders, and the verdicts of users whose seat is already on its way.

use super::ReclaimError;
use crate::domain::{AppId, CatalogApp, PushMode, UserId};
use crate::keys;
use crate::ports::StateStore;
use crate::stages::{identity, observed};
use crate::usage::last_seen::{UserLastSeen, load_histories, load_shard, load_sources};
use crate::usage::{AppStanding, FreshnessPolicy, UsageVerdict, app_standing, user_verdict};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tracing::Instrument;

/// An unused seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unused {
    pub user: UserId,
    pub since: DateTime<Utc>,
    pub push_mode: PushMode,
}

/// One app, scanned.
#[derive(Debug, Clone)]
pub struct AppScan {
    pub app: AppId,
    pub threshold: Duration,
    pub standing: AppStanding,
    /// Users holding the app through Loadout's groups (matched to a Loadout user).
    pub holders: usize,
    pub used: usize,
    pub not_enough_history: usize,
    pub stale: usize,
    /// Unused holders, longest unused first.
    pub unused: Vec<Unused>,
    /// For users with an open seat record: their verdict and whether they still hold the app.
    pub watched: HashMap<UserId, (bool, UsageVerdict, PushMode)>,
}

/// Below this many holders, last-seen records are read by key (a tenant of 70 reads one batch
/// instead of every shard); above it, a shard at a time.
pub(crate) const POINT_READS_BELOW: usize = 2 * keys::LAST_SEEN_SHARDS as usize;
/// Keys per batched read (DynamoDB's `BatchGetItem` limit).
const KEYS_PER_READ: usize = 100;

/// Scans `apps` (licensed, with a threshold) at `now`. `watch` names, per app, the users whose
/// open records need their verdict.
pub async fn scan(
    shared: &Arc<dyn StateStore>,
    apps: &[&CatalogApp],
    watch: &HashMap<AppId, HashSet<UserId>>,
    policy: FreshnessPolicy,
    now: DateTime<Utc>,
) -> Result<Vec<AppScan>, ReclaimError> {
    let store = shared.as_ref();
    let sources = load_sources(store).await?;
    let histories = load_histories(store).await?;
    let matches = identity::all_matches(store).await?;
    // Users as indices: a fleet's holdings are millions of (user, app) pairs.
    let mut users: Vec<UserId> = Vec::new();
    let mut index: HashMap<UserId, u32> = HashMap::new();
    let mut held: Vec<Vec<(u16, PushMode)>> = Vec::new();
    let mut scans = Vec::with_capacity(apps.len());
    // Each app's snapshots read and decoded in their own task, a few apps ahead.
    // Owned ids (a closure over borrowed ones would be higher-ranked: see `assigned`).
    let ids: Vec<AppId> = apps.iter().map(|a| a.id.clone()).collect();
    let mut snapshots = futures::stream::iter(ids)
        .map(|app| {
            let store = shared.clone();
            tokio::spawn(
                async move { app_snapshots(store.as_ref(), &app).await }
                    .instrument(tracing::Span::current()),
            )
        })
        .buffered(4);
    for (i, app) in apps.iter().enumerate() {
        let threshold = Duration::days(i64::from(app.license.inactivity_days.unwrap_or(0)));
        let Some(read) = snapshots.next().await else {
            break;
        };
        let mut holders = 0usize;
        for snapshot in read?? {
            for member in &snapshot.members {
                let Some(user) = matches.get(member) else {
                    continue;
                };
                let idx = match index.get(user) {
                    Some(&idx) => idx,
                    None => {
                        let idx = users.len() as u32;
                        users.push(user.clone());
                        index.insert(user.clone(), idx);
                        held.push(Vec::new());
                        idx
                    }
                };
                let slots = &mut held[idx as usize];
                if !slots.iter().any(|(a, _)| usize::from(*a) == i) {
                    slots.push((i as u16, snapshot.push_mode));
                    holders += 1;
                }
            }
        }
        scans.push(AppScan {
            app: app.id.clone(),
            threshold,
            standing: app_standing(&sources, &histories, &app.id, now, policy),
            holders,
            used: 0,
            not_enough_history: 0,
            stale: 0,
            unused: Vec::new(),
            watched: HashMap::new(),
        });
    }
    drop(snapshots);
    drop(matches);
    let mut visited = vec![false; users.len()];
    if users.len() < POINT_READS_BELOW {
        // A small tenant: its holders' records by key, 100 a read, rather than every shard.
        for (chunk_start, chunk) in users.chunks(KEYS_PER_READ).enumerate() {
            let keys: Vec<(String, String)> = chunk.iter().map(keys::last_seen).collect();
            for (offset, item) in store.get_many_text(&keys).await?.into_iter().enumerate() {
                let Some(item) = item else {
                    continue;
                };
                let idx = chunk_start * KEYS_PER_READ + offset;
                let record: UserLastSeen = item.decode()?;
                visited[idx] = true;
                judge(
                    &mut scans,
                    watch,
                    &users[idx],
                    Some(&record),
                    &held[idx],
                    now,
                );
            }
        }
    } else {
        // Each shard read in its own task, so decoding a fleet's records uses every core.
        let mut shards = futures::stream::iter(0..keys::LAST_SEEN_SHARDS)
            .map(|shard| {
                let store = shared.clone();
                tokio::spawn(
                    async move { load_shard(store.as_ref(), shard).await }
                        .instrument(tracing::Span::current()),
                )
            })
            .buffered(4);
        while let Some(shard) = shards.next().await {
            for (user, record, _) in shard?? {
                let Some(&idx) = index.get(&user) else {
                    continue;
                };
                visited[idx as usize] = true;
                judge(
                    &mut scans,
                    watch,
                    &user,
                    Some(&record),
                    &held[idx as usize],
                    now,
                );
            }
        }
    }
    // Holders Loadout has never read usage for: their verdict says why no decision is possible.
    for (idx, seen) in visited.iter().enumerate() {
        if !seen {
            judge(&mut scans, watch, &users[idx], None, &held[idx], now);
        }
    }
    // Record the users that hold nothing any more but have an open record.
    for scan in &mut scans {
        if let Some(watched) = watch.get(&scan.app) {
            for user in watched {
                scan.watched.entry(user.clone()).or_insert((
                    false,
                    UsageVerdict::NotEnoughHistory {
                        observed_since: None,
                        needed_since: now - scan.threshold,
                    },
                    PushMode::Auto,
                ));
            }
        }
        scan.unused
            .sort_by(|a, b| a.since.cmp(&b.since).then(a.user.cmp(&b.user)));
    }
    Ok(scans)
}

/// The snapshots of an app's groups (every push mode and shard).
async fn app_snapshots(
    store: &dyn StateStore,
    app: &AppId,
) -> Result<Vec<observed::GroupSnapshot>, ReclaimError> {
    let (pk, _) = keys::group_snapshot(app, PushMode::Auto, 0);
    let mut out = Vec::new();
    // As text: a snapshot's member list is thousands of numbers, decoded straight into a Vec.
    for item in store.query_text(&pk, &format!("{app}#")).await? {
        out.push(item.decode()?);
    }
    Ok(out)
}

fn judge(
    scans: &mut [AppScan],
    watch: &HashMap<AppId, HashSet<UserId>>,
    user: &UserId,
    record: Option<&UserLastSeen>,
    held: &[(u16, PushMode)],
    now: DateTime<Utc>,
) {
    for (app, mode) in held {
        let scan = &mut scans[usize::from(*app)];
        let verdict = user_verdict(&scan.standing, record, &scan.app, scan.threshold, now);
        match &verdict {
            UsageVerdict::Used { .. } => scan.used += 1,
            UsageVerdict::Unused { since } => scan.unused.push(Unused {
                user: user.clone(),
                since: *since,
                push_mode: *mode,
            }),
            UsageVerdict::NotEnoughHistory { .. } => scan.not_enough_history += 1,
            UsageVerdict::SourceStale { .. } => scan.stale += 1,
        }
        if watch.get(&scan.app).is_some_and(|w| w.contains(user)) {
            scan.watched.insert(user.clone(), (true, verdict, *mode));
        }
    }
}

/// Every user holding one of `apps` through Loadout's groups (the population a usage read
/// accounts for).
pub async fn holders(
    store: &dyn StateStore,
    apps: &[&CatalogApp],
) -> Result<Vec<UserId>, ReclaimError> {
    let matches = identity::all_matches(store).await?;
    let mut out: HashSet<UserId> = HashSet::new();
    for app in apps {
        let (pk, _) = keys::group_snapshot(&app.id, PushMode::Auto, 0);
        for item in store.query(&pk, &format!("{}#", app.id)).await? {
            let snapshot: observed::GroupSnapshot = item.decode()?;
            out.extend(
                snapshot
                    .members
                    .iter()
                    .filter_map(|m| matches.get(m).cloned()),
            );
        }
    }
    Ok(out.into_iter().collect())
}
