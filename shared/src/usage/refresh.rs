//! One usage read, start to end: read the source, map each reported user to a Loadout user,
//! fold the observations per user and app (memory grows with users x apps, not with rows), merge
//! them into the last-seen records, extend each app's observed history and mark the source
//! fresh, in that order, so a source is only called fresh once its data is in. A read that fails
//! at any point marks the source failed for the apps it was asked about and writes nothing else.

use super::last_seen::{self, ReadFold, SourceFreshness};
use super::{Coverage, ReportedUser, UsageError, UsageRequest, UsageSource, UserMapper};
use crate::domain::{AppId, UserId};
use crate::keys;
use crate::ports::{Clock, StateStore};
use chrono::{DateTime, Duration, DurationRound, Utc};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What a read did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshOutcome {
    pub coverage: Coverage,
    pub observations: u64,
    /// Observations whose user no Loadout user matched (or whose app was not requested).
    pub unmatched: u64,
    /// Distinct reported users that matched nobody.
    pub unmatched_users: u64,
    pub users_written: u64,
    /// Where the time went: reading and folding the source, mapping users, writing records.
    pub read_time: std::time::Duration,
    pub map_time: std::time::Duration,
    pub write_time: std::time::Duration,
}

/// The range the next read of a source should cover: from where its last success ended (so
/// history stays unbroken) to the start of this hour (so a repeated run asks for the same report),
/// at most 28 days.
pub fn plan_range(
    freshness: Option<&SourceFreshness>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let to = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let earliest = to - Duration::days(crate::sources::intelligence::MAX_RANGE_DAYS);
    let from = freshness
        .and_then(|f| f.covered_to)
        .map_or(earliest, |t| t.max(earliest));
    let from = if from >= to {
        to - Duration::hours(1)
    } else {
        from
    };
    (from, to)
}

/// One app of one user in a read, kept small: a fleet read holds millions of them.
#[derive(Debug, Clone, Copy)]
struct Slot {
    app: u16,
    launches: u32,
    /// Unix seconds; `i64::MIN` when the read gave no time.
    last_used: i64,
    /// 0 unknown, 1 not installed, 2 installed.
    installed: u8,
}

/// Reads `source` for `request` and records it. `population` are users to account for even
/// when the read names them nowhere (seat holders): their history starts with this read.
#[tracing::instrument(skip_all, fields(source = source.name()))]
pub async fn refresh_usage(
    store: &dyn StateStore,
    clock: &dyn Clock,
    source: &dyn UsageSource,
    request: &UsageRequest,
    mapper: &dyn UserMapper,
    population: &[UserId],
    concurrency: usize,
) -> Result<RefreshOutcome, UsageError> {
    let apps: BTreeSet<AppId> = request.apps.iter().map(|a| a.app.clone()).collect();
    match read_and_record(
        store,
        source,
        request,
        mapper,
        population,
        concurrency.max(1),
    )
    .await
    {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            tracing::warn!(error = %e, "usage read failed; its apps are not reclaimed until it succeeds");
            last_seen::record_failure(
                store,
                source.name(),
                source.signal(),
                &apps,
                clock.now(),
                &e.to_string(),
            )
            .await?;
            Err(e)
        }
    }
}

async fn read_and_record(
    store: &dyn StateStore,
    source: &dyn UsageSource,
    request: &UsageRequest,
    mapper: &dyn UserMapper,
    population: &[UserId],
    concurrency: usize,
) -> Result<RefreshOutcome, UsageError> {
    let started = std::time::Instant::now();
    let read = source.read(request).await?;
    let coverage = read.coverage;
    let app_ids: Vec<AppId> = coverage.apps.iter().cloned().collect();
    let app_index: HashMap<&AppId, u16> = app_ids
        .iter()
        .enumerate()
        .map(|(i, a)| (a, i as u16))
        .collect();
    // Folded by the user as the source names them; names are mapped once each afterwards.
    let mut by_name: HashMap<String, Vec<Slot>> = HashMap::new();
    let mut by_id: HashMap<UserId, Vec<Slot>> = HashMap::new();
    let (mut observations, mut unmatched) = (0u64, 0u64);
    let mut stream = read.observations;
    while let Some(o) = stream.try_next().await? {
        observations += 1;
        let Some(&app) = app_index.get(&o.app) else {
            unmatched += 1;
            continue;
        };
        let slots = match o.user {
            ReportedUser::Id(id) => by_id.entry(id).or_default(),
            ReportedUser::Name(name) => match by_name.get_mut(&name) {
                Some(slots) => slots,
                None => by_name.entry(name).or_default(),
            },
        };
        add(
            slots,
            Slot {
                app,
                launches: o.launches,
                last_used: o.last_used.map_or(i64::MIN, |t| t.timestamp()),
                installed: match o.installed {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                },
            },
        );
    }
    drop(stream);
    let read_time = started.elapsed();
    let started = std::time::Instant::now();
    // Each distinct name is mapped once, several at a time (the store batches the reads).
    if !by_name.is_empty() {
        mapper.prepare().await?;
    }
    let mut mapped = futures::stream::iter(by_name)
        .map(|(name, slots)| async move { (mapper.map(&name).await, slots) })
        .buffer_unordered(concurrency.max(16));
    let mut unmatched_users = 0u64;
    while let Some((user, slots)) = mapped.next().await {
        match user? {
            Some(user) => {
                let into = by_id.entry(user).or_default();
                for slot in slots {
                    add(into, slot);
                }
            }
            None => {
                unmatched_users += 1;
                unmatched += slots.len() as u64;
            }
        }
    }
    drop(mapped);
    for user in population {
        by_id.entry(user.clone()).or_default();
    }
    let map_time = started.elapsed();
    let started = std::time::Instant::now();
    // Written a shard at a time: one query and a few batched writes per shard.
    let mut shards: Vec<Vec<(UserId, Vec<Slot>)>> =
        vec![Vec::new(); usize::from(keys::LAST_SEEN_SHARDS)];
    for (user, slots) in by_id {
        shards[usize::from(keys::last_seen_shard(&user))].push((user, slots));
    }
    let writes = shards
        .into_iter()
        .enumerate()
        .filter(|(_, users)| !users.is_empty())
        .map(|(shard, users)| {
            let coverage = &coverage;
            let app_ids = &app_ids;
            async move {
                let count = users.len() as u64;
                let updates = users
                    .into_iter()
                    .map(|(user, slots)| (user, folds_of(&slots, app_ids)))
                    .collect();
                last_seen::record_shard(store, shard as u16, updates, coverage).await?;
                Ok::<u64, UsageError>(count)
            }
        });
    let mut users_written = 0u64;
    let mut results = futures::stream::iter(writes).buffer_unordered(concurrency.min(8));
    while let Some(result) = results.next().await {
        users_written += result?;
    }
    drop(results);
    last_seen::record_history(store, &coverage).await?;
    last_seen::record_success(store, &coverage).await?;
    Ok(RefreshOutcome {
        coverage,
        observations,
        unmatched,
        unmatched_users,
        users_written,
        read_time,
        map_time,
        write_time: started.elapsed(),
    })
}

/// Adds one observation to a user's slots (the later time, the sum of launches, installed if
/// any device has it).
fn add(slots: &mut Vec<Slot>, slot: Slot) {
    match slots.iter_mut().find(|s| s.app == slot.app) {
        Some(s) => {
            s.launches = s.launches.saturating_add(slot.launches);
            s.last_used = s.last_used.max(slot.last_used);
            s.installed = s.installed.max(slot.installed);
        }
        None => slots.push(slot),
    }
}

fn folds_of(slots: &[Slot], app_ids: &[AppId]) -> BTreeMap<AppId, ReadFold> {
    let mut per_app = BTreeMap::new();
    for s in slots {
        let mut fold = ReadFold::default();
        let last_used = (s.last_used != i64::MIN)
            .then(|| DateTime::<Utc>::from_timestamp(s.last_used, 0))
            .flatten();
        let installed = match s.installed {
            0 => None,
            1 => Some(false),
            _ => Some(true),
        };
        fold.add(last_used, s.launches, installed);
        per_app.insert(app_ids[usize::from(s.app)].clone(), fold);
    }
    per_app
}

#[cfg(test)]
mod tests {
    use super::super::Signal;
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_next_range_continues_the_last_one_and_never_exceeds_28_days() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 1, 10, 42, 0)
            .single()
            .expect("date");
        let hour = Utc
            .with_ymd_and_hms(2026, 3, 1, 10, 0, 0)
            .single()
            .expect("date");
        assert_eq!(plan_range(None, now), (hour - Duration::days(28), hour));
        let f = SourceFreshness {
            signal: Signal::Foreground,
            last_success: Some(hour - Duration::days(1)),
            covered_from: None,
            covered_to: Some(hour - Duration::days(1)),
            last_failure: None,
            apps: BTreeSet::new(),
        };
        assert_eq!(plan_range(Some(&f), now), (hour - Duration::days(1), hour));
        let long_ago = SourceFreshness {
            covered_to: Some(hour - Duration::days(60)),
            ..f.clone()
        };
        assert_eq!(
            plan_range(Some(&long_ago), now).0,
            hour - Duration::days(28)
        );
        let same_hour = SourceFreshness {
            covered_to: Some(hour),
            ..f
        };
        assert_eq!(
            plan_range(Some(&same_hour), now),
            (hour - Duration::hours(1), hour)
        );
    }
}
