//! Policy sets (Cedar files, schema and catalog) stored by version in the state store, with a
//! pointer to the active one. `loadout policy push` writes them; the decision engine reads the
//! active one and re-checks the pointer now and then, so a push takes effect without a redeploy.

use super::StageError;
use crate::domain::{Catalog, Denial, Entitlement, UserContext};
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Everything a decision needs from the admin: the policies, their schema and the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySetRecord {
    pub version: String,
    pub schema: String,
    /// `(file name, Cedar text)` in file-name order.
    pub policies: Vec<(String, String)>,
    pub catalog_yaml: String,
    pub pushed_at: DateTime<Utc>,
    pub pushed_by: String,
}

/// Whatever turns a user's context into entitlements: the Cedar engine today; the relevance
/// model and the adviser plug in beside it.
pub trait EntitlementSource: Send + Sync {
    fn version(&self) -> String;
    fn desired_for(
        &self,
        context: &UserContext,
        is_manager: bool,
        catalog: &Catalog,
        at: DateTime<Utc>,
    ) -> Result<(Vec<Entitlement>, Vec<Denial>), String>;
}

impl EntitlementSource for crate::policy::PolicyEngine {
    fn version(&self) -> String {
        crate::policy::PolicyEngine::version(self).to_owned()
    }

    fn desired_for(
        &self,
        context: &UserContext,
        is_manager: bool,
        catalog: &Catalog,
        at: DateTime<Utc>,
    ) -> Result<(Vec<Entitlement>, Vec<Denial>), String> {
        let desired =
            crate::policy::PolicyEngine::desired_for(self, context, is_manager, catalog, at)
                .map_err(|e| e.to_string())?;
        for fault in &desired.errors {
            // Cedar treats an erroring policy as not applying; the admin must still hear of it.
            tracing::warn!(app = %fault.app_id, error = ?fault.error, "a policy failed to evaluate");
        }
        Ok((desired.entitlements, desired.denials))
    }
}

/// Builds the Cedar engine of a stored policy set (validating it again).
pub fn engine_from_record(record: &PolicySetRecord) -> Result<Arc<dyn EntitlementSource>, String> {
    let engine = crate::policy::PolicyEngine::from_sources(&record.schema, &record.policies)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(engine))
}

/// Builds an evaluator from a stored record (validating it).
pub type EngineBuilder = fn(&PolicySetRecord) -> Result<Arc<dyn EntitlementSource>, String>;

/// Stores a policy set and makes it the active one.
pub async fn push(store: &dyn StateStore, record: &PolicySetRecord) -> Result<(), StageError> {
    let (pk, sk) = keys::policy_set(&record.version);
    match store
        .put_as(&pk, &sk, record, None, Condition::NotExists)
        .await
    {
        Ok(_) => {}
        // The same content was pushed before: its version is its content hash.
        Err(e) if e.is_condition_failed() => {}
        Err(e) => return Err(e.into()),
    }
    let (pk, sk) = keys::active_policy();
    store
        .put_as(&pk, &sk, &record.version, None, Condition::None)
        .await?;
    Ok(())
}

pub async fn active(store: &dyn StateStore) -> Result<Option<PolicySetRecord>, StageError> {
    let (pk, sk) = keys::active_policy();
    let Some((version, _)) = store.get_as::<String>(&pk, &sk).await? else {
        return Ok(None);
    };
    let (pk, sk) = keys::policy_set(&version);
    Ok(store.get_as(&pk, &sk).await?.map(|(r, _)| r))
}

/// The active policy set, loaded once and refreshed when the pointer moves.
#[derive(Clone)]
pub struct LoadedPolicy {
    pub version: String,
    pub engine: Arc<dyn EntitlementSource>,
    pub catalog: Arc<Catalog>,
}

pub struct PolicyCache {
    build: EngineBuilder,
    recheck: Duration,
    state: Mutex<Option<(LoadedPolicy, DateTime<Utc>)>>,
}

impl PolicyCache {
    pub fn new(build: EngineBuilder, recheck: Duration) -> Self {
        Self {
            build,
            recheck,
            state: Mutex::new(None),
        }
    }

    #[tracing::instrument(level = "debug", name = "policy.current", skip_all)]
    pub async fn current(
        &self,
        store: &dyn StateStore,
        now: DateTime<Utc>,
    ) -> Result<LoadedPolicy, StageError> {
        self.load(store, now, false).await
    }

    /// The active set as the pointer says now, whatever the cache's age: for work that exists
    /// because the set changed (the sweep's re-evaluations), which a set cached from before the
    /// change would decide as if nothing had.
    #[tracing::instrument(level = "debug", name = "policy.current", skip_all)]
    pub async fn current_checked(
        &self,
        store: &dyn StateStore,
        now: DateTime<Utc>,
    ) -> Result<LoadedPolicy, StageError> {
        self.load(store, now, true).await
    }

    async fn load(
        &self,
        store: &dyn StateStore,
        now: DateTime<Utc>,
        check: bool,
    ) -> Result<LoadedPolicy, StageError> {
        let mut state = self.state.lock().await;
        if let Some((loaded, checked)) = state.as_ref() {
            let age = (now - *checked).to_std().unwrap_or_default();
            if age < self.recheck && !check {
                return Ok(loaded.clone());
            }
        }
        let (pk, sk) = keys::active_policy();
        let pointer = store.get_as::<String>(&pk, &sk).await?.map(|(v, _)| v);
        let Some(version) = pointer else {
            return Err(StageError::Retryable(
                "no policy set is active; run `loadout policy push`".into(),
            ));
        };
        if let Some((loaded, _)) = state.as_ref()
            && loaded.version == version
        {
            let loaded = loaded.clone();
            *state = Some((loaded.clone(), now));
            return Ok(loaded);
        }
        let record = active(store)
            .await?
            .ok_or_else(|| StageError::Retryable(format!("policy set {version} is missing")))?;
        let engine = (self.build)(&record).map_err(|e| {
            StageError::Retryable(format!("active policy set {version} does not load: {e}"))
        })?;
        let catalog = Catalog::from_yaml(&record.catalog_yaml).map_err(|e| {
            StageError::Retryable(format!(
                "catalog of policy set {version} does not load: {e}"
            ))
        })?;
        let loaded = LoadedPolicy {
            version,
            engine,
            catalog: Arc::new(catalog),
        };
        *state = Some((loaded.clone(), now));
        Ok(loaded)
    }
}

/// One stored policy set, as `loadout policy versions` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: String,
    pub pushed_at: DateTime<Utc>,
    pub pushed_by: String,
    pub policy_files: usize,
    pub active: bool,
}

/// Every stored policy set, newest first.
pub async fn versions(store: &dyn StateStore) -> Result<Vec<VersionInfo>, StageError> {
    let (pk, _) = keys::active_policy();
    let (_, prefix) = keys::policy_set("");
    let active = store
        .get_as::<String>(&pk, &keys::active_policy().1)
        .await?
        .map(|(v, _)| v);
    let mut out = Vec::new();
    for item in store.query(&pk, &prefix).await? {
        let record: PolicySetRecord = item.decode()?;
        out.push(VersionInfo {
            active: active.as_deref() == Some(record.version.as_str()),
            version: record.version,
            pushed_at: record.pushed_at,
            pushed_by: record.pushed_by,
            policy_files: record.policies.len(),
        });
    }
    out.sort_by_key(|v| std::cmp::Reverse(v.pushed_at));
    Ok(out)
}

/// Makes a stored policy set the active one again; `None` when no set has that version (a
/// prefix of a version is accepted when it names one set only).
pub async fn activate(
    store: &dyn StateStore,
    version: &str,
) -> Result<Option<PolicySetRecord>, StageError> {
    let wanted = version.trim();
    let known = versions(store).await?;
    let matching: Vec<&VersionInfo> = known
        .iter()
        .filter(|v| v.version == wanted || (!wanted.is_empty() && v.version.starts_with(wanted)))
        .collect();
    let chosen = match matching.as_slice() {
        [one] => one.version.clone(),
        [] => return Ok(None),
        many => match many.iter().find(|v| v.version == wanted) {
            Some(exact) => exact.version.clone(),
            None => {
                return Err(StageError::Permanent(format!(
                    "{wanted} names {} policy sets; give more of the version",
                    many.len()
                )));
            }
        },
    };
    let (pk, sk) = keys::policy_set(&chosen);
    let Some((record, _)) = store.get_as::<PolicySetRecord>(&pk, &sk).await? else {
        return Ok(None);
    };
    let (pk, sk) = keys::active_policy();
    store
        .put_as(&pk, &sk, &record.version, None, Condition::None)
        .await?;
    Ok(Some(record))
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::adapters::local::{LocalDb, SqliteStateStore};
    use crate::ports::SystemClock;

    /// An evaluator that only knows which set it came from.
    struct Named(String);

    impl EntitlementSource for Named {
        fn version(&self) -> String {
            self.0.clone()
        }
        fn desired_for(
            &self,
            _: &UserContext,
            _: bool,
            _: &Catalog,
            _: DateTime<Utc>,
        ) -> Result<(Vec<Entitlement>, Vec<Denial>), String> {
            Ok((Vec::new(), Vec::new()))
        }
    }

    fn named(record: &PolicySetRecord) -> Result<Arc<dyn EntitlementSource>, String> {
        Ok(Arc::new(Named(record.version.clone())))
    }

    fn record(version: &str) -> PolicySetRecord {
        PolicySetRecord {
            version: version.into(),
            schema: String::new(),
            policies: Vec::new(),
            catalog_yaml: "[]".into(),
            pushed_at: Utc::now(),
            pushed_by: "admin".into(),
        }
    }

    #[tokio::test]
    async fn a_checked_read_sees_a_push_the_cache_has_not_noticed_yet() {
        let store = SqliteStateStore::new(LocalDb::in_memory().unwrap(), Arc::new(SystemClock));
        let cache = PolicyCache::new(named, Duration::from_secs(30));
        let now = Utc::now();
        push(&store, &record("v1")).await.unwrap();
        assert_eq!(cache.current(&store, now).await.unwrap().version, "v1");

        push(&store, &record("v2")).await.unwrap();
        let soon = now + chrono::Duration::seconds(5);
        assert_eq!(
            cache.current(&store, soon).await.unwrap().version,
            "v1",
            "within its 30 s the cache answers without looking"
        );
        let checked = cache.current_checked(&store, soon).await.unwrap();
        assert_eq!(
            checked.version, "v2",
            "the checked read follows the pointer"
        );
        assert_eq!(checked.engine.version(), "v2", "and builds the new set");
        assert_eq!(
            cache.current(&store, soon).await.unwrap().version,
            "v2",
            "the cache keeps what the checked read loaded"
        );
    }
}
