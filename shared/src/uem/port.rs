//! What Loadout needs from UEM, as a trait: the executor and the enricher are written against it;
//! the REST client implements it against a real tenant or the simulator.

use crate::domain::{Device, PushMode};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An enrollment user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UemUser {
    pub id: i64,
    #[serde(default)]
    pub uuid: Option<String>,
    pub username: String,
    #[serde(default)]
    pub email: String,
    /// UEM's `Status`; an inactive enrollment user is never matched to a person.
    #[serde(default = "active")]
    pub active: bool,
}

fn active() -> bool {
    true
}

/// An app as UEM knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UemApp {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    /// `Internal`, `Public` or `Purchased`.
    pub app_type: String,
    /// Bundle or package id, version and platform, where UEM reports them (for approval requests).
    pub bundle_id: String,
    pub version: String,
    pub platform: String,
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

/// Which attribute of an enrollment user a look-up compares (case-insensitively, exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserLookup {
    UserName,
    Email,
}

impl UserLookup {
    pub fn as_str(self) -> &'static str {
        match self {
            UserLookup::UserName => "user name",
            UserLookup::Email => "e-mail",
        }
    }
}

/// One page of a bulk read (`page` is 0-based); `last` when no page follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<u64>,
    pub last: bool,
}

/// A device as the bulk device search reports it, with the enrollment user it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrolledDevice {
    /// UEM's user name of the device's enrollment user.
    pub owner: String,
    /// The device; its `user_id` is the owner's UEM user name until enrichment maps it.
    pub device: Device,
}

/// How an app is assigned to one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentSpec {
    pub push_mode: PushMode,
    /// UEM's "Require Approval To Install" for on-demand delivery through Intelligent Hub.
    pub requires_approval: bool,
}

impl AssignmentSpec {
    pub fn new(push_mode: PushMode) -> Self {
        Self {
            push_mode,
            requires_approval: false,
        }
    }
}

/// One of an app's assignments: the group (by uuid) and how it is assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub group_uuid: String,
    pub spec: AssignmentSpec,
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
    /// A wait (backoff, `Retry-After`, the shared budget) would outlast the invocation: the work
    /// goes back to its queue rather than being cut off mid-way.
    #[error("not enough time left in this invocation to wait {needed:?} for UEM")]
    OutOfTime { needed: Duration },
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
    /// Whether trying again later may succeed (throttling, server errors, timeouts, transport,
    /// an invocation out of time).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            UemError::Throttled { .. }
                | UemError::Server { .. }
                | UemError::Timeout
                | UemError::OutOfTime { .. }
                | UemError::Transport(_)
        )
    }
}

/// What Loadout needs from a UEM tenant. Every write is a whole-object replace (smart groups,
/// assignment rules), so callers that change the same group or app must take turns: the executor
/// holds the app's lease around every write to the app's groups and assignment.
#[async_trait]
pub trait UemApi: Send + Sync {
    /// Enrollment users whose `lookup` attribute equals `value` (case-insensitive; UEM's search
    /// is a partial match, so the client compares exactly). Several when UEM holds duplicates.
    async fn find_users_by(
        &self,
        lookup: UserLookup,
        value: &str,
    ) -> Result<Vec<UemUser>, UemError>;

    /// One page of every enrollment user, for the inventory.
    async fn users_page(&self, page: u32) -> Result<Page<UemUser>, UemError>;

    /// One page of every device, for the inventory.
    async fn devices_page(&self, page: u32) -> Result<Page<EnrolledDevice>, UemError>;

    /// Every device enrolled to exactly this user name (all pages), as domain devices.
    async fn devices_of_user(&self, username: &str) -> Result<Vec<Device>, UemError>;

    /// Apps UEM reports on one device (all pages).
    async fn installed_apps(&self, device_id: &str) -> Result<Vec<InstalledApp>, UemError>;

    /// The app with this console id or uuid, if any.
    async fn find_app(&self, uem_app_id: &str) -> Result<Option<UemApp>, UemError>;

    /// Every smart group whose name starts with `prefix` (all pages of the name search, which
    /// is a substring match, filtered here).
    async fn smart_groups_named(&self, prefix: &str) -> Result<Vec<SmartGroupRef>, UemError>;

    /// The smart group with exactly this name (UEM's name search is a substring match).
    async fn find_smart_group(&self, name: &str) -> Result<Option<SmartGroupRef>, UemError> {
        Ok(self
            .smart_groups_named(name)
            .await?
            .into_iter()
            .find(|g| g.name == name))
    }

    /// Creates a user-based smart group with these members (UEM may reject one with none).
    async fn create_smart_group(
        &self,
        name: &str,
        members: &[GroupMember],
    ) -> Result<SmartGroupRef, UemError>;

    /// The whole group. A body that does not carry a readable `UserAdditions` list is an error,
    /// never an empty group: a write based on it would drop members.
    async fn get_smart_group(&self, id: i64) -> Result<SmartGroup, UemError>;

    /// Replaces the group with `group.raw` carrying `group.users` (PUT; whole object).
    async fn update_smart_group(&self, group: &SmartGroup) -> Result<(), UemError>;

    /// Deletes a group; an already deleted group is success.
    async fn delete_smart_group(&self, id: i64) -> Result<(), UemError>;

    /// Every group the app is assigned to, and how.
    async fn app_assignments(&self, app: &UemApp) -> Result<Vec<Assignment>, UemError>;

    /// Assigns the app to the group as `spec` says (replacing a different assignment of that
    /// group), keeping every other assignment of the app as it is.
    async fn assign_app(
        &self,
        app: &UemApp,
        group: &SmartGroupRef,
        spec: AssignmentSpec,
    ) -> Result<(), UemError>;

    /// Removes the app's assignment to this group only; absent is success.
    async fn unassign_app(&self, app: &UemApp, group: &SmartGroupRef) -> Result<(), UemError>;

    /// HTTP requests sent to UEM so far by this client, where it counts them (for reports).
    fn calls_made(&self) -> Option<u64> {
        None
    }
}
