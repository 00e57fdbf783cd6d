//! Rebuilding the inventory from UEM's bulk searches: every page of users (or devices) is read,
//! compared with what the inventory holds, and only the differences are written. UEM's cost is
//! one call per page (500 users or devices), whatever happens to the store.

use super::store::{Inventory, InventoryMeta};
use crate::domain::Device;
use crate::keys;
use crate::ports::{Clock, Condition, StoreError};
use crate::uem::{EnrolledDevice, UemApi, UemError, UemUser};
use futures::{StreamExt, TryStreamExt, stream};
use std::collections::BTreeMap;

/// A guard against a server that never stops paging (a million users at 500 a page).
const MAX_PAGES: u32 = 2_000;

/// Store writes in flight at once while applying a refresh.
const WRITES_IN_FLIGHT: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("reading UEM: {0}")]
    Uem(#[from] UemError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

/// What a refresh read and changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefreshReport {
    pub pages: u32,
    pub read: usize,
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
}

/// Reads every enrollment user and brings `inv#user` / `inv#email` in line.
pub async fn refresh_users(
    inventory: &Inventory,
    uem: &dyn UemApi,
    clock: &dyn Clock,
) -> Result<RefreshReport, RefreshError> {
    let mut report = RefreshReport::default();
    let mut seen: BTreeMap<String, UemUser> = BTreeMap::new();
    for page in 0..MAX_PAGES {
        let result = uem.users_page(page).await?;
        report.pages += 1;
        report.read += result.items.len();
        for user in result.items {
            seen.insert(user.username.trim().to_ascii_lowercase(), user);
        }
        if result.last {
            break;
        }
    }
    let mut known: BTreeMap<String, UemUser> = BTreeMap::new();
    for item in inventory.store().query(keys::INVENTORY_USERS, "").await? {
        known.insert(item.sk.clone(), item.decode()?);
    }
    let mut writes = Vec::new();
    for (key, user) in &seen {
        match known.get(key) {
            None => {
                report.added += 1;
                writes.push(user.clone());
            }
            Some(old) if old != user => {
                report.changed += 1;
                writes.push(user.clone());
            }
            Some(_) => {}
        }
    }
    let gone: Vec<UemUser> = known
        .iter()
        .filter(|(k, _)| !seen.contains_key(*k))
        .map(|(_, u)| u.clone())
        .collect();
    report.removed = gone.len();
    stream::iter(writes.iter().map(Ok::<_, StoreError>))
        .try_for_each_concurrent(WRITES_IN_FLIGHT, |u| inventory.put_user(u))
        .await?;
    stream::iter(gone.iter().map(Ok::<_, StoreError>))
        .try_for_each_concurrent(WRITES_IN_FLIGHT, |u| inventory.remove_user(u))
        .await?;
    inventory
        .set_meta(
            "users",
            &InventoryMeta {
                refreshed_at: clock.now(),
                count: seen.len(),
            },
        )
        .await?;
    Ok(report)
}

/// Reads every device and brings `inv#device` in line.
pub async fn refresh_devices(
    inventory: &Inventory,
    uem: &dyn UemApi,
    clock: &dyn Clock,
) -> Result<RefreshReport, RefreshError> {
    let mut report = RefreshReport::default();
    let mut seen: BTreeMap<(String, String), EnrolledDevice> = BTreeMap::new();
    for page in 0..MAX_PAGES {
        let result = uem.devices_page(page).await?;
        report.pages += 1;
        report.read += result.items.len();
        for device in result.items {
            let key = keys::inventory_device(&device.owner, &device.device.device_id);
            seen.insert(key, device);
        }
        if result.last {
            break;
        }
    }
    let store = inventory.store();
    let mut known: BTreeMap<(String, String), Device> = BTreeMap::new();
    for item in store.query(keys::INVENTORY_DEVICES, "").await? {
        known.insert((item.pk.clone(), item.sk.clone()), item.decode()?);
    }
    let mut writes = Vec::new();
    for (key, device) in &seen {
        match known.get(key) {
            None => {
                report.added += 1;
                writes.push(device.clone());
            }
            Some(old) if *old != device.device => {
                report.changed += 1;
                writes.push(device.clone());
            }
            Some(_) => {}
        }
    }
    let gone: Vec<(String, String)> = known
        .keys()
        .filter(|k| !seen.contains_key(*k))
        .cloned()
        .collect();
    report.removed = gone.len();
    stream::iter(writes.iter().map(Ok::<_, StoreError>))
        .try_for_each_concurrent(WRITES_IN_FLIGHT, |d| inventory.put_device(d))
        .await?;
    stream::iter(gone.iter())
        .map(Ok::<_, StoreError>)
        .try_for_each_concurrent(WRITES_IN_FLIGHT, |(pk, sk)| async move {
            store.delete(pk, sk, Condition::None).await
        })
        .await?;
    inventory
        .set_meta(
            "devices",
            &InventoryMeta {
                refreshed_at: clock.now(),
                count: seen.len(),
            },
        )
        .await?;
    Ok(report)
}
