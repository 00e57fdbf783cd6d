//! Loadout's own memory of usage, in the state store (layouts in `keys.rs`):
//!
//! - per user: the last time each app was seen used (and seen installed), and the date from
//!   which the user's history has been observed (`lastseen#{shard}` / `{user}`);
//! - per app: the span of history each foreground source has observed without a gap
//!   (`usage-history` / `{app}`);
//! - per source: its freshness: last success, last failure, the apps it covers
//!   (`usage-source` / `{source}`).
//!
//! Merging is monotonic (the later last-seen date wins), so reads may be repeated or arrive in
//! any order.

use super::{Coverage, Signal, UsageError};
use crate::domain::{AppId, UserId};
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt, Write};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Two reads whose ranges are this close count as one unbroken history.
pub const CONTIGUITY_TOLERANCE: Duration = Duration::hours(1);

/// What Loadout knows of one app for one user. Stored with short names and epoch seconds: a
/// fleet holds millions of these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSeen {
    #[serde(
        rename = "u",
        default,
        skip_serializing_if = "Option::is_none",
        with = "chrono::serde::ts_seconds_option"
    )]
    pub last_used: Option<DateTime<Utc>>,
    /// Launches in the latest foreground read that covered the app.
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub launches_last_read: u32,
    /// The last read that saw the app installed on one of the user's devices.
    #[serde(
        rename = "i",
        default,
        skip_serializing_if = "Option::is_none",
        with = "chrono::serde::ts_seconds_option"
    )]
    pub last_installed: Option<DateTime<Utc>>,
    /// Installed according to the latest install-state read.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub installed: Option<bool>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLastSeen {
    /// The start of the first foreground read that accounted for this user.
    #[serde(rename = "since", default, with = "chrono::serde::ts_seconds_option")]
    pub observed_since: Option<DateTime<Utc>>,
    #[serde(default, with = "compact_apps")]
    pub apps: BTreeMap<AppId, AppSeen>,
    #[serde(rename = "at", with = "chrono::serde::ts_seconds")]
    pub updated_at: DateTime<Utc>,
}

/// A user's apps as one string, `app,last_used,launches,last_installed,installed;...` (epoch
/// seconds, empty when unknown): the state store holds JSON values, and a map of 50 small
/// objects per user costs a fleet-wide read tens of millions of allocations to encode and
/// decode, where one string costs one. `,`, `;` and `%` in an app id are percent-escaped.
mod compact_apps {
    use super::AppSeen;
    use crate::domain::AppId;
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;
    use std::fmt::Write;

    pub fn serialize<S: Serializer>(
        apps: &BTreeMap<AppId, AppSeen>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(apps.len() * 24);
        for (i, (app, seen)) in apps.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            for c in app.as_str().chars() {
                match c {
                    ',' => out.push_str("%2C"),
                    ';' => out.push_str("%3B"),
                    '%' => out.push_str("%25"),
                    c => out.push(c),
                }
            }
            let secs =
                |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp().to_string()).unwrap_or_default();
            let installed = match seen.installed {
                None => "",
                Some(true) => "1",
                Some(false) => "0",
            };
            let _ = write!(
                out,
                ",{},{},{},{installed}",
                secs(seen.last_used),
                seen.launches_last_read,
                secs(seen.last_installed)
            );
        }
        serializer.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<AppId, AppSeen>, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bad = |what: &str| serde::de::Error::custom(format!("last-seen apps: {what}"));
        let mut apps = BTreeMap::new();
        for entry in text.split(';').filter(|e| !e.is_empty()) {
            let mut f = entry.split(',');
            let app = f.next().ok_or_else(|| bad("no app"))?;
            // Escapes are rare; unescaping only when there is one saves three copies per app.
            let app = if app.contains('%') {
                app.replace("%2C", ",")
                    .replace("%3B", ";")
                    .replace("%25", "%")
            } else {
                app.to_owned()
            };
            let secs = |v: Option<&str>| -> Result<Option<DateTime<Utc>>, D::Error> {
                match v.unwrap_or_default() {
                    "" => Ok(None),
                    v => v
                        .parse::<i64>()
                        .ok()
                        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
                        .map(Some)
                        .ok_or_else(|| bad("a time")),
                }
            };
            let last_used = secs(f.next())?;
            let launches = match f.next().unwrap_or_default() {
                "" => 0,
                n => n.parse().map_err(|_| bad("launches"))?,
            };
            let last_installed = secs(f.next())?;
            let installed = match f.next().unwrap_or_default() {
                "" => None,
                "1" => Some(true),
                "0" => Some(false),
                _ => return Err(bad("installed")),
            };
            apps.insert(
                AppId::new(app),
                AppSeen {
                    last_used,
                    launches_last_read: launches,
                    last_installed,
                    installed,
                },
            );
        }
        Ok(apps)
    }
}

/// What one read says about one user and app, folded over the read's observations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadFold {
    pub last_used: Option<DateTime<Utc>>,
    pub launches: u32,
    pub installed: Option<bool>,
}

impl ReadFold {
    pub fn add(
        &mut self,
        last_used: Option<DateTime<Utc>>,
        launches: u32,
        installed: Option<bool>,
    ) {
        self.last_used = self.last_used.max(last_used);
        self.launches = self.launches.saturating_add(launches);
        self.installed = match (self.installed, installed) {
            (Some(a), Some(b)) => Some(a || b),
            (a, b) => a.or(b),
        };
    }
}

/// Merges one read into a user's record (pure): later last-seen dates win; a foreground read
/// sets the launches of every covered app (zero when the user had none) and starts the user's
/// observed history if it had not started.
pub fn merge_user(
    record: Option<UserLastSeen>,
    folds: &BTreeMap<AppId, ReadFold>,
    coverage: &Coverage,
) -> UserLastSeen {
    let mut r = record.unwrap_or(UserLastSeen {
        observed_since: None,
        apps: BTreeMap::new(),
        updated_at: coverage.read_at,
    });
    if coverage.signal == Signal::Foreground {
        r.observed_since = Some(
            r.observed_since
                .map_or(coverage.from, |s| s.min(coverage.from)),
        );
    }
    for app in &coverage.apps {
        let fold = folds.get(app).copied().unwrap_or_default();
        let seen = r.apps.entry(app.clone()).or_default();
        match coverage.signal {
            Signal::Foreground => {
                seen.last_used = seen.last_used.max(fold.last_used);
                seen.launches_last_read = fold.launches;
            }
            Signal::Installed => {
                let installed = fold.installed.unwrap_or(false);
                seen.installed = Some(installed);
                if installed {
                    seen.last_installed = seen.last_installed.max(Some(coverage.read_at));
                }
            }
        }
    }
    r.updated_at = r.updated_at.max(coverage.read_at);
    r
}

/// A span of history a source observed without a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Extends `span` by a read of `[from, to]` when the two touch or overlap; otherwise the
/// history restarts at the read (what fell in the gap was never seen).
pub fn extend_span(span: Option<Span>, from: DateTime<Utc>, to: DateTime<Utc>) -> Span {
    match span {
        Some(s) if from <= s.to + CONTIGUITY_TOLERANCE && to + CONTIGUITY_TOLERANCE >= s.from => {
            Span {
                from: s.from.min(from),
                to: s.to.max(to),
            }
        }
        _ => Span { from, to },
    }
}

/// Per app: the unbroken history each foreground source has observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppHistory {
    #[serde(default)]
    pub sources: BTreeMap<String, Span>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// Per source: when it last worked, and what it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFreshness {
    pub signal: Signal,
    pub last_success: Option<DateTime<Utc>>,
    /// The range of the last successful read.
    pub covered_from: Option<DateTime<Utc>>,
    pub covered_to: Option<DateTime<Utc>>,
    pub last_failure: Option<Failure>,
    /// The apps of the last success and of any later failed attempt: a failure stops
    /// reclamation for every app the source was asked about.
    #[serde(default)]
    pub apps: BTreeSet<AppId>,
}

pub async fn load_user(
    store: &dyn StateStore,
    user: &UserId,
) -> Result<Option<UserLastSeen>, UsageError> {
    let (pk, sk) = keys::last_seen(user);
    Ok(store.get_as(&pk, &sk).await?.map(|(r, _)| r))
}

/// Every user's record in one shard (one query), with the version of each.
pub async fn load_shard(
    store: &dyn StateStore,
    shard: u16,
) -> Result<Vec<(UserId, UserLastSeen, u64)>, UsageError> {
    // As text: a shard holds thousands of records, decoded straight into their type.
    let items = store
        .query_text(&keys::last_seen_partition(shard), "")
        .await?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let record: UserLastSeen = item.decode()?;
        out.push((UserId::new(item.sk), record, item.version));
    }
    Ok(out)
}

/// Items per batched write: well under DynamoDB's 100 per transaction and 4 MB.
const WRITE_BATCH: usize = 50;

/// Merges one read into the records of many users of one shard: one query, then batched
/// conditional writes; a batch that lost a race is read and merged again.
pub async fn record_shard(
    store: &dyn StateStore,
    shard: u16,
    updates: Vec<(UserId, BTreeMap<AppId, ReadFold>)>,
    coverage: &Coverage,
) -> Result<usize, UsageError> {
    let partition = keys::last_seen_partition(shard);
    let mut pending = updates;
    let mut written = 0;
    for _ in 0..8 {
        if pending.is_empty() {
            return Ok(written);
        }
        let mut current: std::collections::HashMap<UserId, (UserLastSeen, u64)> =
            load_shard(store, shard)
                .await?
                .into_iter()
                .map(|(u, r, v)| (u, (r, v)))
                .collect();
        let mut retry = Vec::new();
        for chunk in pending.chunks(WRITE_BATCH) {
            let mut writes = Vec::with_capacity(chunk.len());
            for (user, folds) in chunk {
                let existing = current.remove(user);
                let condition = existing
                    .as_ref()
                    .map_or(Condition::NotExists, |(_, v)| Condition::Version(*v));
                let merged = merge_user(existing.as_ref().map(|(r, _)| r.clone()), folds, coverage);
                if existing.is_some_and(|(r, _)| r == merged) {
                    continue;
                }
                writes.push(Write::put(
                    partition.clone(),
                    user.to_string(),
                    &merged,
                    None,
                    condition,
                )?);
            }
            if writes.is_empty() {
                continue;
            }
            let n = writes.len();
            match store.transact(writes).await {
                Ok(()) => written += n,
                Err(e) if e.is_condition_failed() => retry.extend(chunk.iter().cloned()),
                Err(e) => return Err(e.into()),
            }
        }
        pending = retry;
    }
    Err(UsageError::Contended(partition))
}

/// Merges one read into a user's record under compare-and-swap.
pub async fn record_user(
    store: &dyn StateStore,
    user: &UserId,
    folds: &BTreeMap<AppId, ReadFold>,
    coverage: &Coverage,
) -> Result<(), UsageError> {
    let (pk, sk) = keys::last_seen(user);
    for _ in 0..8 {
        let current: Option<(UserLastSeen, u64)> = store.get_as(&pk, &sk).await?;
        let condition = match &current {
            Some((_, v)) => Condition::Version(*v),
            None => Condition::NotExists,
        };
        let merged = merge_user(current.as_ref().map(|(r, _)| r.clone()), folds, coverage);
        if current.as_ref().is_some_and(|(r, _)| *r == merged) {
            return Ok(());
        }
        match store.put_as(&pk, &sk, &merged, None, condition).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(UsageError::Contended(pk))
}

/// Every app's history, keyed by app.
pub async fn load_histories(
    store: &dyn StateStore,
) -> Result<BTreeMap<AppId, AppHistory>, UsageError> {
    let (pk, _) = keys::usage_history(&AppId::new(""));
    let mut out = BTreeMap::new();
    for item in store.query(&pk, "").await? {
        out.insert(AppId::new(item.sk.clone()), item.decode()?);
    }
    Ok(out)
}

/// Extends each covered app's span for this source (foreground reads only).
pub async fn record_history(store: &dyn StateStore, coverage: &Coverage) -> Result<(), UsageError> {
    if coverage.signal != Signal::Foreground {
        return Ok(());
    }
    for app in &coverage.apps {
        let (pk, sk) = keys::usage_history(app);
        let mut done = false;
        for _ in 0..8 {
            let current: Option<(AppHistory, u64)> = store.get_as(&pk, &sk).await?;
            let condition = current
                .as_ref()
                .map_or(Condition::NotExists, |(_, v)| Condition::Version(*v));
            let mut history = current.map(|(h, _)| h).unwrap_or_default();
            let span = extend_span(
                history.sources.get(&coverage.source).copied(),
                coverage.from,
                coverage.to,
            );
            history.sources.insert(coverage.source.clone(), span);
            match store.put_as(&pk, &sk, &history, None, condition).await {
                Ok(_) => {
                    done = true;
                    break;
                }
                Err(e) if e.is_condition_failed() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if !done {
            return Err(UsageError::Contended(pk));
        }
    }
    Ok(())
}

pub async fn load_sources(
    store: &dyn StateStore,
) -> Result<BTreeMap<String, SourceFreshness>, UsageError> {
    let (pk, _) = keys::usage_source("");
    let mut out = BTreeMap::new();
    for item in store.query(&pk, "").await? {
        out.insert(item.sk.clone(), item.decode()?);
    }
    Ok(out)
}

async fn update_source(
    store: &dyn StateStore,
    source: &str,
    signal: Signal,
    change: impl Fn(&mut SourceFreshness),
) -> Result<(), UsageError> {
    let (pk, sk) = keys::usage_source(source);
    for _ in 0..8 {
        let current: Option<(SourceFreshness, u64)> = store.get_as(&pk, &sk).await?;
        let condition = current
            .as_ref()
            .map_or(Condition::NotExists, |(_, v)| Condition::Version(*v));
        let mut f = current.map(|(f, _)| f).unwrap_or(SourceFreshness {
            signal,
            last_success: None,
            covered_from: None,
            covered_to: None,
            last_failure: None,
            apps: BTreeSet::new(),
        });
        change(&mut f);
        match store.put_as(&pk, &sk, &f, None, condition).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(UsageError::Contended(pk))
}

/// A read succeeded: the source is fresh for exactly the apps it covered.
pub async fn record_success(store: &dyn StateStore, coverage: &Coverage) -> Result<(), UsageError> {
    update_source(store, &coverage.source, coverage.signal, |f| {
        f.signal = coverage.signal;
        f.last_success = Some(coverage.read_at);
        f.covered_from = Some(coverage.from);
        f.covered_to = Some(coverage.to);
        f.apps = coverage.apps.clone();
    })
    .await
}

/// A read failed: the source is failed for the apps it was asked about, until a success.
pub async fn record_failure(
    store: &dyn StateStore,
    source: &str,
    signal: Signal,
    apps: &BTreeSet<AppId>,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), UsageError> {
    update_source(store, source, signal, |f| {
        f.last_failure = Some(Failure {
            at,
            reason: reason.chars().take(500).collect(),
        });
        f.apps.extend(apps.iter().cloned());
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("date")
            + Duration::days(d)
    }

    fn coverage(signal: Signal, from: i64, to: i64, apps: &[&str]) -> Coverage {
        Coverage {
            source: "intelligence".into(),
            signal,
            apps: apps.iter().map(|a| AppId::new(*a)).collect(),
            from: day(from),
            to: day(to),
            read_at: day(to),
        }
    }

    #[test]
    fn the_later_last_seen_date_wins_and_history_starts_once() {
        let mut folds = BTreeMap::new();
        let mut f = ReadFold::default();
        f.add(Some(day(20)), 1, None);
        f.add(Some(day(10)), 1, None);
        folds.insert(AppId::new("slack"), f);
        let first = merge_user(
            None,
            &folds,
            &coverage(Signal::Foreground, 0, 28, &["slack", "zoom"]),
        );
        assert_eq!(first.observed_since, Some(day(0)));
        assert_eq!(first.apps[&AppId::new("slack")].last_used, Some(day(20)));
        assert_eq!(first.apps[&AppId::new("slack")].launches_last_read, 2);
        assert_eq!(
            first.apps[&AppId::new("zoom")].last_used,
            None,
            "covered, not used"
        );
        let mut older = BTreeMap::new();
        let mut f = ReadFold::default();
        f.add(Some(day(5)), 1, None);
        older.insert(AppId::new("slack"), f);
        let again = merge_user(
            Some(first),
            &older,
            &coverage(Signal::Foreground, 28, 56, &["slack"]),
        );
        assert_eq!(again.apps[&AppId::new("slack")].last_used, Some(day(20)));
        assert_eq!(again.observed_since, Some(day(0)));
    }

    #[test]
    fn an_install_read_does_not_start_usage_history() {
        let mut folds = BTreeMap::new();
        let mut f = ReadFold::default();
        f.add(None, 0, Some(true));
        folds.insert(AppId::new("slack"), f);
        let r = merge_user(
            None,
            &folds,
            &coverage(Signal::Installed, 3, 3, &["slack", "zoom"]),
        );
        assert_eq!(r.observed_since, None);
        assert_eq!(r.apps[&AppId::new("slack")].installed, Some(true));
        assert_eq!(r.apps[&AppId::new("slack")].last_installed, Some(day(3)));
        assert_eq!(r.apps[&AppId::new("zoom")].installed, Some(false));
    }

    #[test]
    fn records_round_trip_through_their_compact_form() {
        let mut apps = BTreeMap::new();
        apps.insert(
            AppId::new("slack"),
            AppSeen {
                last_used: Some(day(3)),
                launches_last_read: 7,
                last_installed: None,
                installed: Some(true),
            },
        );
        apps.insert(AppId::new("odd,id;%"), AppSeen::default());
        let r = UserLastSeen {
            observed_since: Some(day(0)),
            apps,
            updated_at: day(5),
        };
        let json = serde_json::to_value(&r).expect("encodes");
        assert!(json["apps"].is_string(), "{json}");
        let back: UserLastSeen = serde_json::from_value(json).expect("decodes");
        assert_eq!(back, r);
        let broken = serde_json::json!({"since": 0, "apps": "slack,soon,1,,", "at": 0});
        assert!(serde_json::from_value::<UserLastSeen>(broken).is_err());
    }

    #[test]
    fn spans_extend_when_contiguous_and_restart_after_a_gap() {
        let s = extend_span(None, day(0), day(28));
        let s = extend_span(Some(s), day(28), day(56));
        assert_eq!(
            s,
            Span {
                from: day(0),
                to: day(56)
            }
        );
        let s = extend_span(Some(s), day(50), day(60));
        assert_eq!(
            s,
            Span {
                from: day(0),
                to: day(60)
            }
        );
        let gap = extend_span(Some(s), day(70), day(90));
        assert_eq!(
            gap,
            Span {
                from: day(70),
                to: day(90)
            }
        );
    }
}
