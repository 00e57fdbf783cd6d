//! Inbound events, normalized from every source into one shape.

use super::employee::Employee;
use super::ids::{EventId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    Hris,
    Bamboohr,
    Okta,
    Graph,
    Uem,
    Schedule,
    Admin,
}

impl EventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Hris => "hris",
            EventSource::Bamboohr => "bamboohr",
            EventSource::Okta => "okta",
            EventSource::Graph => "graph",
            EventSource::Uem => "uem",
            EventSource::Schedule => "schedule",
            EventSource::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Joiner,
    Mover,
    Leaver,
    /// Attributes changed that may or may not matter: re-evaluate.
    Update,
    GroupChange,
    /// Enrollment, unenrollment, compliance, ownership or platform change in UEM.
    DeviceChange,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Joiner => "joiner",
            EventKind::Mover => "mover",
            EventKind::Leaver => "leaver",
            EventKind::Update => "update",
            EventKind::GroupChange => "group_change",
            EventKind::DeviceChange => "device_change",
        }
    }
}

/// Whom an event is about. Sources name users differently; enrichment resolves them to a user id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    #[serde(default)]
    pub user_id: Option<UserId>,
    #[serde(default)]
    pub email: Option<String>,
    /// UEM device id, for device events.
    #[serde(default)]
    pub device_id: Option<String>,
    /// The source system's own id of the user (Okta user id, Entra ID object id, BambooHR
    /// employee id), for sources that do not know Loadout's user id. Which system it belongs to is
    /// the event's `source`.
    #[serde(default)]
    pub external_id: Option<String>,
    /// For group membership events: the group, as the source names it, and the direction.
    #[serde(default)]
    pub group: Option<GroupRef>,
}

impl Subject {
    pub fn user(id: UserId) -> Self {
        Self {
            user_id: Some(id),
            ..Self::default()
        }
    }
}

/// A directory group named by a source event (its id in that source, and its name when sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `None` when the source only says the group changed (read its members to know how).
    #[serde(default)]
    pub change: Option<MembershipChange>,
    /// Where reading the group's members goes on (the source's next-page link), on the
    /// continuation messages of a group change that is read a page at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipChange {
    Added,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    pub event_id: EventId,
    pub source: EventSource,
    /// The source's own id of the event (the idempotency key).
    pub source_event_id: String,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub subject: Subject,
    /// Full attributes when the source carries them (HR systems); otherwise read during enrichment.
    #[serde(default)]
    pub employee: Option<Employee>,
    #[serde(default)]
    pub changed_fields: Vec<String>,
}
