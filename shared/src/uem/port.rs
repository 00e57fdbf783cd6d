//! What Loadout needs from UEM, as a trait: the executor and the enricher are written against it;
//! the REST client implements it against a real tenant or the simulator.

use crate::domain::{Device, PushMode};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::time::Duration;

/// An enrollment user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UemUser {
    pub id: i64,
    pub uuid: Option<String>,
    pub username: String,
    pub email: String,
}

/// An app as UEM knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UemApp {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    /// `Internal`, `Public` or `Purchased`.
    pub app_type: String,
}

/// An app UEM reports on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledApp {
    pub name: String,
    pub bundle_id: String,
    pub installed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartGroupRef {
    pub id: i64,
    pub uuid: String,
    pub name: String,
}

/// A user listed in a smart group's `UserAdditions`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupMember {
    /// UEM's user id, as the string UEM uses in membership lists.
    pub id: String,
    pub name: String,
}

/// A whole smart group, for read-modify-write: `raw` is the object as read (minus nothing), and
/// `users` the parsed `UserAdditions`. Updating sends `raw` with `users` written back and the
/// server-computed counts removed, because PUT replaces the whole group.
#[derive(Debug, Clone, PartialEq)]
pub struct SmartGroup {
    pub group: SmartGroupRef,
    pub users: Vec<GroupMember>,
    pub raw: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum UemError {
    #[error("UEM refused the credentials (HTTP 401){}", activity(.activity_id))]
    Unauthorized { activity_id: Option<String> },
    #[error("UEM forbids this call (HTTP 403){}", activity(.activity_id))]
    Forbidden { activity_id: Option<String> },
    #[error("UEM has no {what}{}", activity(.activity_id))]
    NotFound {
        what: String,
        activity_id: Option<String>,
    },
    #[error("UEM rejected the request (HTTP {status}, errorCode {code:?}): {message}{}", activity(.activity_id))]
    Validation {
        status: u16,
        code: Option<i64>,
        message: String,
        activity_id: Option<String>,
    },
    #[error("UEM is throttling (HTTP 429); retry after {retry_after:?}")]
    Throttled { retry_after: Option<Duration> },
    #[error("UEM server error (HTTP {status}){}", activity(.activity_id))]
    Server {
        status: u16,
        activity_id: Option<String>,
    },
    #[error("UEM did not answer in time")]
    Timeout,
    #[error("could not reach UEM: {0}")]
    Transport(String),
    #[error("UEM answered something unexpected: {0}")]
    Decode(String),
    /// UEM answered with a redirect, which is never followed (it would carry the tenant code
    /// and the credentials elsewhere): the base URL is probably wrong.
    #[error("UEM answered with a redirect (HTTP {status}); check the UEM base and token URLs")]
    Redirected { status: u16 },
    #[error("UEM's answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("UEM configuration: {0}")]
    Config(String),
}

fn activity(id: &Option<String>) -> String {
    id.as_ref()
        .map(|a| format!(" [activityId {a}]"))
        .unwrap_or_default()
}

impl UemError {
    /// Whether trying again later may succeed (throttling, server errors, timeouts, transport).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            UemError::Throttled { .. }
                | UemError::Server { .. }
                | UemError::Timeout
                | UemError::Transport(_)
        )
    }
}

#[async_trait]
pub trait UemApi: Send + Sync {
    /// The enrollment user with exactly this user name, if any.
    async fn find_user(&self, username: &str) -> Result<Option<UemUser>, UemError>;

    /// The enrollment users with these user names (compared case-insensitively), keyed by the
    /// name as given; a name UEM does not know is absent from the map. The REST client pages
    /// through the tenant's users once when many names are new to it, instead of one search each.
    async fn find_users(
        &self,
        usernames: &[String],
    ) -> Result<BTreeMap<String, UemUser>, UemError> {
        let mut found = BTreeMap::new();
        for name in usernames {
            if found.contains_key(name) {
                continue;
            }
            if let Some(user) = self.find_user(name).await? {
                found.insert(name.clone(), user);
            }
        }
        Ok(found)
    }

    /// Every device enrolled to the user (all pages), as domain devices.
    async fn devices_of_user(&self, username: &str) -> Result<Vec<Device>, UemError>;

    /// Apps UEM reports on one device (all pages).
    async fn installed_apps(&self, device_id: &str) -> Result<Vec<InstalledApp>, UemError>;

    /// The app with this console id or uuid, if any.
    async fn find_app(&self, uem_app_id: &str) -> Result<Option<UemApp>, UemError>;

    /// The smart group with exactly this name (UEM's name search is a substring match).
    async fn find_smart_group(&self, name: &str) -> Result<Option<SmartGroupRef>, UemError>;

    /// Creates a user-based smart group with these members (UEM may reject one with none).
    async fn create_smart_group(
        &self,
        name: &str,
        members: &[GroupMember],
    ) -> Result<SmartGroupRef, UemError>;

    async fn get_smart_group(&self, id: i64) -> Result<SmartGroup, UemError>;

    /// Replaces the group with `group.raw` carrying `group.users` (PUT; whole object).
    async fn update_smart_group(&self, group: &SmartGroup) -> Result<(), UemError>;

    /// Deletes a group; an already deleted group is success.
    async fn delete_smart_group(&self, id: i64) -> Result<(), UemError>;

    /// The push mode the app is assigned to this group with, or `None` when it is not assigned.
    async fn assignment(
        &self,
        app: &UemApp,
        group: &SmartGroupRef,
    ) -> Result<Option<PushMode>, UemError>;

    /// Assigns the app to the group with this push mode (replacing a different mode), keeping
    /// every other assignment of the app as it is.
    async fn assign_app(
        &self,
        app: &UemApp,
        group: &SmartGroupRef,
        push_mode: PushMode,
    ) -> Result<(), UemError>;

    /// Removes the app's assignment to this group only; absent is success.
    async fn unassign_app(&self, app: &UemApp, group: &SmartGroupRef) -> Result<(), UemError>;

    /// Adds `add` and removes the users with ids in `remove` in one read-modify-write of the
    /// group, and returns the group as it now is. Prefer it to `get` + `update`: the REST client
    /// holds a lease per group while doing it, so concurrent callers cannot overwrite each
    /// other's changes (PUT replaces the whole group).
    ///
    /// When the change would leave the group with no users nothing is written (UEM rejects an
    /// empty user group) and the returned group has no `users`: the caller then removes the
    /// app's assignment and deletes the group.
    async fn change_members(
        &self,
        id: i64,
        add: &[GroupMember],
        remove: &[String],
    ) -> Result<SmartGroup, UemError> {
        let mut group = self.get_smart_group(id).await?;
        if apply_member_change(&mut group.users, add, remove) {
            if group.users.is_empty() {
                return Ok(group);
            }
            self.update_smart_group(&group).await?;
        }
        Ok(group)
    }
}

/// Applies a membership change to a list of users (ids compared trimmed); true when it changed.
pub fn apply_member_change(
    users: &mut Vec<GroupMember>,
    add: &[GroupMember],
    remove: &[String],
) -> bool {
    let before = users.clone();
    users.retain(|u| !remove.iter().any(|r| r.trim() == u.id.trim()));
    for member in add {
        let removed = remove.iter().any(|r| r.trim() == member.id.trim());
        if !removed && !users.iter().any(|u| u.id.trim() == member.id.trim()) {
            users.push(member.clone());
        }
    }
    *users != before
}
