//! Which Loadout user a reported user is. Reports name UEM enrollment users (a user name or an
//! e-mail); the default matcher looks them up among Loadout's stored profiles (the user id,
//! which is the UEM enrollment user name, as given and lower-cased; then the e-mail index),
//! case-insensitively. The convergence work's identity matching plugs in through the trait.

use super::UsageError;
use crate::domain::UserId;
use crate::keys;
use crate::ports::{StateStore, StateStoreExt};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

#[async_trait]
pub trait UserMapper: Send + Sync {
    /// Called once before a read's names are mapped: a mapper may load what it needs in bulk.
    async fn prepare(&self) -> Result<(), UsageError> {
        Ok(())
    }

    /// The Loadout user a reported name or e-mail is, or `None` when nobody matches.
    async fn map(&self, reported: &str) -> Result<Option<UserId>, UsageError>;
}

/// A mapping given as a function (tests, or a lookup table built elsewhere).
pub struct FnMapper<F>(pub F);

#[async_trait]
impl<F> UserMapper for FnMapper<F>
where
    F: Fn(&str) -> Option<UserId> + Send + Sync,
{
    async fn map(&self, reported: &str) -> Result<Option<UserId>, UsageError> {
        Ok((self.0)(reported))
    }
}

/// The default: a stored profile whose id is the reported user name, or whose e-mail is the
/// reported e-mail. A `DOMAIN\user` name is matched on its user part.
pub struct ProfileMatcher {
    store: Arc<dyn StateStore>,
    /// The e-mail index read in one query by `prepare`: lower-cased e-mail and lower-cased
    /// user id -> user id. Names it does not hold are looked up one by one.
    index: tokio::sync::RwLock<Option<Index>>,
}

#[derive(Default)]
struct Index {
    by_email: HashMap<String, UserId>,
    by_id: HashMap<String, UserId>,
}

impl ProfileMatcher {
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        Self {
            store,
            index: tokio::sync::RwLock::new(None),
        }
    }

    async fn profile_exists(&self, id: &str) -> Result<bool, UsageError> {
        let (pk, sk) = keys::profile(&UserId::new(id));
        Ok(self.store.get(&pk, &sk).await?.is_some())
    }
}

#[async_trait]
impl UserMapper for ProfileMatcher {
    /// One query of the e-mail index (every profile with an e-mail) instead of a lookup per
    /// reported user: a fleet's report names a hundred thousand of them.
    async fn prepare(&self) -> Result<(), UsageError> {
        let (pk, _) = keys::email_index("");
        let mut index = Index::default();
        for item in self.store.query(&pk, "").await? {
            let user: UserId = item.decode()?;
            index
                .by_id
                .insert(user.as_str().to_lowercase(), user.clone());
            index.by_email.insert(item.sk, user);
        }
        *self.index.write().await = Some(index);
        Ok(())
    }

    async fn map(&self, reported: &str) -> Result<Option<UserId>, UsageError> {
        let name = reported.trim();
        let name = name.rsplit_once('\\').map_or(name, |(_, user)| user);
        if name.is_empty() || name.contains('#') || name.len() > 256 {
            return Ok(None);
        }
        if let Some(index) = self.index.read().await.as_ref() {
            let lower = name.to_lowercase();
            let hit = index
                .by_email
                .get(&lower)
                .or_else(|| index.by_id.get(&lower));
            if let Some(user) = hit {
                return Ok(Some(user.clone()));
            }
        }
        if name.contains('@') {
            let (pk, sk) = keys::email_index(name);
            if let Some((user, _)) = self.store.get_as::<UserId>(&pk, &sk).await? {
                return Ok(Some(user));
            }
        }
        if self.profile_exists(name).await? {
            return Ok(Some(UserId::new(name)));
        }
        let lower = name.to_lowercase();
        if lower != name && self.profile_exists(&lower).await? {
            return Ok(Some(UserId::new(lower)));
        }
        Ok(None)
    }
}
