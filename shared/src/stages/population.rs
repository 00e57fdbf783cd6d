//! The population as Loadout knows it, for fleet-wide work (suggestions, what-if before a policy
//! push): the active people of the directory and what each of them used, from Loadout's usage
//! memory (the usage refresh's last-seen records) or, where that knows nothing of a person, the
//! usage the directory was seeded with (local mode's usage.csv).

use super::{StageError, directory};
use crate::domain::{AppUsage, Employee, UserId};
use crate::keys;
use crate::ports::StateStore;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Every active person of the directory.
pub async fn active_employees(store: &dyn StateStore) -> Result<Vec<Employee>, StageError> {
    let mut out = Vec::new();
    for user in directory::all_users(store).await? {
        if let Some(profile) = directory::load_profile(store, &user).await?
            && profile.active
        {
            out.push(profile.employee);
        }
    }
    Ok(out)
}

/// What each person used (launches in the 30 days before `now`, and when last).
pub async fn usage_of(
    store: &dyn StateStore,
    employees: &[Employee],
    now: DateTime<Utc>,
) -> Result<BTreeMap<UserId, Vec<AppUsage>>, StageError> {
    let month_ago = now - chrono::Duration::days(30);
    let mut usage: BTreeMap<UserId, Vec<AppUsage>> = BTreeMap::new();
    for shard in 0..keys::LAST_SEEN_SHARDS {
        let records = crate::usage::last_seen::load_shard(store, shard)
            .await
            .map_err(|e| StageError::Retryable(format!("usage memory: {e}")))?;
        for (user, record, _) in records {
            let apps = record
                .apps
                .iter()
                .filter_map(|(app, seen)| {
                    let last = seen.last_used?;
                    Some(AppUsage {
                        app_id: app.clone(),
                        launches_30d: if last >= month_ago {
                            seen.launches_last_read.max(1)
                        } else {
                            0
                        },
                        last_used_at: Some(last),
                    })
                })
                .collect::<Vec<_>>();
            if !apps.is_empty() {
                usage.insert(user, apps);
            }
        }
    }
    for employee in employees {
        if usage.contains_key(&employee.id) {
            continue;
        }
        let seeded = directory::load_usage(store, &employee.id).await?;
        if !seeded.is_empty() {
            usage.insert(employee.id.clone(), seeded);
        }
    }
    Ok(usage)
}
