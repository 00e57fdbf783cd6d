//! Inventory records: `inv#user` (one item per enrollment user, by lower-cased user name),
//! `inv#email` (e-mail -> user name, several per address when UEM holds duplicates) and
//! `inv#device` (one item per device, under its owner's user name). `inv#meta` says when each
//! part was last read in full; until then the inventory is not trusted to say "nobody".

use crate::domain::Device;
use crate::keys;
use crate::ports::bulk_read::{READS_IN_FLIGHT, read_many};
use crate::ports::{Condition, StateStore, StateStoreExt, StoreError};
use crate::uem::{EnrolledDevice, UemUser, UserLookup};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// When a part of the inventory was last read in full, and how big it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryMeta {
    pub refreshed_at: DateTime<Utc>,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EmailEntry {
    username: String,
}

#[derive(Clone)]
pub struct Inventory {
    store: Arc<dyn StateStore>,
}

impl Inventory {
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        Self { store }
    }

    pub(super) fn store(&self) -> &dyn StateStore {
        self.store.as_ref()
    }

    pub async fn meta(&self, kind: &str) -> Result<Option<InventoryMeta>, StoreError> {
        let (pk, sk) = keys::inventory_meta(kind);
        Ok(self.store.get_as(&pk, &sk).await?.map(|(m, _)| m))
    }

    pub async fn set_meta(&self, kind: &str, meta: &InventoryMeta) -> Result<(), StoreError> {
        let (pk, sk) = keys::inventory_meta(kind);
        self.store
            .put_as(&pk, &sk, meta, None, Condition::None)
            .await?;
        Ok(())
    }

    /// The enrollment user with this user name (case-insensitive).
    pub async fn user(&self, username: &str) -> Result<Option<UemUser>, StoreError> {
        let (pk, sk) = keys::inventory_user(username);
        Ok(self.store.get_as(&pk, &sk).await?.map(|(u, _)| u))
    }

    /// Exact, case-insensitive look-up by user name or e-mail, as identity matching asks.
    pub async fn find(&self, lookup: UserLookup, value: &str) -> Result<Vec<UemUser>, StoreError> {
        match lookup {
            UserLookup::UserName => Ok(self.user(value).await?.into_iter().collect()),
            UserLookup::Email => {
                let entries = self
                    .store
                    .query(keys::INVENTORY_EMAILS, &keys::inventory_email_prefix(value))
                    .await?;
                let mut users = Vec::new();
                for entry in entries {
                    let entry: EmailEntry = entry.decode()?;
                    if let Some(user) = self.user(&entry.username).await?
                        && user.email.trim().eq_ignore_ascii_case(value.trim())
                    {
                        users.push(user);
                    }
                }
                Ok(users)
            }
        }
    }

    /// Records one user (a bulk page, a per-user search, an enrollment notification).
    pub async fn put_user(&self, user: &UemUser) -> Result<(), StoreError> {
        let (pk, sk) = keys::inventory_user(&user.username);
        if let Some((old, _)) = self.store.get_as::<UemUser>(&pk, &sk).await?
            && !old.email.is_empty()
            && !old.email.eq_ignore_ascii_case(&user.email)
        {
            let (epk, esk) = keys::inventory_email(&old.email, &old.username);
            self.store.delete(&epk, &esk, Condition::None).await?;
        }
        self.store
            .put_as(&pk, &sk, user, None, Condition::None)
            .await?;
        if !user.email.trim().is_empty() {
            let (pk, sk) = keys::inventory_email(&user.email, &user.username);
            self.store
                .put_as(
                    &pk,
                    &sk,
                    &EmailEntry {
                        username: user.username.clone(),
                    },
                    None,
                    Condition::None,
                )
                .await?;
        }
        Ok(())
    }

    pub async fn remove_user(&self, user: &UemUser) -> Result<(), StoreError> {
        let (pk, sk) = keys::inventory_user(&user.username);
        self.store.delete(&pk, &sk, Condition::None).await?;
        if !user.email.trim().is_empty() {
            let (pk, sk) = keys::inventory_email(&user.email, &user.username);
            self.store.delete(&pk, &sk, Condition::None).await?;
        }
        Ok(())
    }

    /// The devices of a user name, or `None` when the device inventory was never read in full
    /// (an empty list would then wrongly mean "no devices").
    pub async fn devices_of(&self, owner: &str) -> Result<Option<Vec<Device>>, StoreError> {
        if self.meta("devices").await?.is_none() {
            return Ok(None);
        }
        Ok(Some(self.listed_devices(owner).await?))
    }

    /// The devices recorded under one owner (whether the inventory was ever read is the
    /// caller's to check).
    async fn listed_devices(&self, owner: &str) -> Result<Vec<Device>, StoreError> {
        self.store
            .query(
                keys::INVENTORY_DEVICES,
                &keys::inventory_device_prefix(owner),
            )
            .await?
            .iter()
            .map(|item| item.decode::<Device>())
            .collect()
    }

    /// [`Inventory::user`] for many user names at once, in the order asked.
    pub async fn users(&self, usernames: &[String]) -> Result<Vec<Option<UemUser>>, StoreError> {
        let keys = usernames.iter().map(|u| keys::inventory_user(u)).collect();
        read_many(self.store.as_ref(), keys).await
    }

    /// [`Inventory::devices_of`] for many owners, in the order asked: one look at the meta
    /// record, the owners' reads a few at a time.
    pub async fn devices_of_many(
        &self,
        owners: Vec<String>,
    ) -> Result<Option<Vec<Vec<Device>>>, StoreError> {
        if self.meta("devices").await?.is_none() {
            return Ok(None);
        }
        let mut reads = futures::stream::iter(owners)
            .map(|owner| async move { self.listed_devices(&owner).await })
            .buffered(READS_IN_FLIGHT);
        let mut out = Vec::new();
        while let Some(devices) = reads.next().await {
            out.push(devices?);
        }
        Ok(Some(out))
    }

    pub async fn put_device(&self, device: &EnrolledDevice) -> Result<(), StoreError> {
        let (pk, sk) = keys::inventory_device(&device.owner, &device.device.device_id);
        self.store
            .put_as(&pk, &sk, &device.device, None, Condition::None)
            .await?;
        Ok(())
    }

    pub async fn remove_device(&self, owner: &str, device_id: &str) -> Result<(), StoreError> {
        let (pk, sk) = keys::inventory_device(owner, device_id);
        self.store.delete(&pk, &sk, Condition::None).await
    }

    /// Replaces what the inventory holds for one owner's devices (a per-user read).
    pub async fn replace_devices_of(
        &self,
        owner: &str,
        devices: &[Device],
    ) -> Result<(), StoreError> {
        let existing = self
            .store
            .query(
                keys::INVENTORY_DEVICES,
                &keys::inventory_device_prefix(owner),
            )
            .await?;
        for item in existing {
            let device: Device = item.decode()?;
            if !devices.iter().any(|d| d.device_id == device.device_id) {
                self.store
                    .delete(&item.pk, &item.sk, Condition::None)
                    .await?;
            }
        }
        for device in devices {
            self.put_device(&EnrolledDevice {
                owner: owner.to_owned(),
                device: device.clone(),
            })
            .await?;
        }
        Ok(())
    }
}
