//! Microsoft Graph change notifications for Entra ID users and groups (`POST /webhooks/graph`).
//!
//! Graph proves a subscription's endpoint once with `?validationToken=…` (answered with the
//! decoded token as text/plain before anything reads the body), then POSTs `{"value": [...]}`
//! where every item echoes the subscription's `clientState`. Nothing is signed, so the
//! clientState is the only credential and is checked per item: items that fail are dropped, the
//! others kept. Notifications carry ids only; enrichment reads the object itself.

use super::bounded::BoundedList;
use super::error::WebhookError;
use super::hris::valid_user_id;
use super::{Normalized, RotatingSecret, content_key, valid_source_event_id};
use crate::domain::event::{GroupRef, MembershipChange};
use crate::domain::{DomainEvent, EventId, EventKind, EventSource, Subject};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// The query parameter of the validation handshake.
pub const VALIDATION_TOKEN: &str = "validationToken";

/// The body of the handshake answer: the (already URL-decoded) token, HTML-escaped as Graph's
/// documentation advises, so a crafted token cannot become markup anywhere it is shown.
pub fn validation_answer(token: &str) -> Result<String, WebhookError> {
    if token.is_empty() || token.len() > 4096 {
        return Err(WebhookError::Malformed(
            "validationToken must be 1-4096 characters".into(),
        ));
    }
    let mut out = String::with_capacity(token.len());
    for c in token.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Checks one notification's `clientState` against the configured value, whole (or its previous
/// value while it is rotated).
pub fn verify_client_state(
    presented: Option<&str>,
    configured: &RotatingSecret,
) -> Result<(), WebhookError> {
    let presented = presented
        .filter(|p| !p.is_empty())
        .ok_or_else(|| WebhookError::MissingCredentials("clientState".into()))?;
    if configured.matches(presented.as_bytes()) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// A lifecycle notification: not about a user, but about the subscription itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleNotice {
    pub subscription_id: String,
    /// `reauthorizationRequired`, `subscriptionRemoved` or `missed`.
    pub event: String,
}

impl LifecycleNotice {
    /// What an operator (or a subscription keeper) has to do about it.
    pub fn advice(&self) -> &'static str {
        match self.event.as_str() {
            "reauthorizationRequired" => "renew the subscription (PATCH its expirationDateTime)",
            "subscriptionRemoved" => {
                "create the subscription again, then resync through a delta query"
            }
            "missed" => "notifications were lost: resync users and groups through a delta query",
            _ => "unknown lifecycle event: check the subscription",
        }
    }
}

#[derive(Debug, Default)]
pub struct GraphBatch {
    pub normalized: Normalized,
    pub lifecycle: Vec<LifecycleNotice>,
}

#[derive(Debug, Deserialize)]
struct Collection {
    value: BoundedList,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    #[serde(default)]
    id: Option<String>,
    subscription_id: String,
    #[serde(default)]
    change_type: Option<String>,
    #[serde(default)]
    lifecycle_event: Option<String>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    resource_data: Option<ResourceData>,
}

#[derive(Debug, Deserialize)]
struct ResourceData {
    #[serde(rename = "@odata.type", default)]
    odata_type: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(rename = "members@delta", default)]
    members_delta: Option<Vec<MemberDelta>>,
}

#[derive(Debug, Deserialize)]
struct MemberDelta {
    id: String,
    #[serde(rename = "@removed", default)]
    removed: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectKind {
    User,
    Group,
}

/// Parses a notification collection. `configured_client_state` is checked per item, first: an
/// item without the right one is not read any further (nor is its parse error reported to a
/// sender who has not authenticated). `received_at` stands in for the event time, which Graph
/// does not send. Over [`super::bounded::MAX_BATCH_ITEMS`] items is `TooManyItems`.
pub fn normalize(
    body: &[u8],
    configured_client_state: &RotatingSecret,
    received_at: DateTime<Utc>,
) -> Result<GraphBatch, WebhookError> {
    let collection: Collection = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("Graph notification collection: {e}")))?;
    let mut batch = GraphBatch::default();
    for (index, raw) in collection.value.into_items()?.into_iter().enumerate() {
        let presented = raw.get("clientState").and_then(Value::as_str);
        if let Err(error) = verify_client_state(presented, configured_client_state) {
            batch.normalized.skip(index, None, error);
            continue;
        }
        // The dedup key of an item is derived from its own bytes when Graph sends no id.
        let raw_bytes = raw.to_string();
        let notification: Notification = match serde_json::from_value(raw) {
            Ok(n) => n,
            Err(e) => {
                let error = WebhookError::Malformed(format!("Graph notification: {e}"));
                batch.normalized.skip(index, None, error);
                continue;
            }
        };
        if !valid_user_id(&notification.subscription_id) {
            let error = WebhookError::Malformed("subscriptionId is not a valid id".into());
            batch.normalized.skip(index, None, error);
            continue;
        }
        if let Some(event) = notification.lifecycle_event.clone() {
            batch.lifecycle.push(LifecycleNotice {
                subscription_id: notification.subscription_id,
                event: event.chars().take(64).collect(),
            });
            continue;
        }
        let base_id = match notification.id.as_deref() {
            Some(id) if valid_source_event_id(id) && id.len() <= 128 => {
                format!("{}:{}", notification.subscription_id, id)
            }
            // No id: the content and the window it arrived in (see `content_key`).
            _ => format!(
                "{}:{}",
                notification.subscription_id,
                content_key(raw_bytes.as_bytes(), received_at)
            ),
        };
        match events_of(&notification, &base_id, received_at) {
            Ok(events) => {
                for event in events {
                    batch.normalized.push(index, event);
                }
            }
            Err(error) => batch.normalized.skip(index, Some(base_id), error),
        }
    }
    Ok(batch)
}

fn events_of(
    n: &Notification,
    base_id: &str,
    received_at: DateTime<Utc>,
) -> Result<Vec<DomainEvent>, WebhookError> {
    let change_type = n.change_type.as_deref().ok_or_else(|| {
        WebhookError::Malformed("notification has neither changeType nor lifecycleEvent".into())
    })?;
    let (kind, object_id) = object_of(n)?;
    let event = |source_event_id: String, kind: EventKind, subject: Subject| DomainEvent {
        event_id: EventId::generate(),
        source: EventSource::Graph,
        source_event_id,
        kind,
        occurred_at: received_at,
        subject,
        employee: None,
        changed_fields: Vec::new(),
    };
    match (kind, change_type) {
        (ObjectKind::User, "created" | "updated") => Ok(vec![event(
            base_id.to_owned(),
            EventKind::Update,
            Subject {
                external_id: Some(object_id),
                ..Subject::default()
            },
        )]),
        (ObjectKind::User, "deleted") => Ok(vec![event(
            base_id.to_owned(),
            EventKind::Leaver,
            Subject {
                external_id: Some(object_id),
                ..Subject::default()
            },
        )]),
        (ObjectKind::Group, "created" | "updated" | "deleted") => {
            let members = n
                .resource_data
                .as_ref()
                .and_then(|d| d.members_delta.as_ref())
                .filter(|m| !m.is_empty());
            let Some(members) = members else {
                // Only "the group changed": enrichment reads its members.
                let mut e = event(
                    base_id.to_owned(),
                    EventKind::GroupChange,
                    Subject {
                        group: Some(GroupRef {
                            id: object_id,
                            name: None,
                            change: None,
                            members_cursor: None,
                        }),
                        ..Subject::default()
                    },
                );
                e.changed_fields = vec!["groups".to_owned()];
                return Ok(vec![e]);
            };
            let mut events = Vec::with_capacity(members.len());
            for member in members {
                if !valid_user_id(&member.id) {
                    return Err(WebhookError::Malformed(
                        "members@delta holds an id that is not valid".into(),
                    ));
                }
                let change = if member.removed.is_some() {
                    MembershipChange::Removed
                } else {
                    MembershipChange::Added
                };
                let mut e = event(
                    format!("{base_id}:{}", member.id),
                    EventKind::GroupChange,
                    Subject {
                        external_id: Some(member.id.clone()),
                        group: Some(GroupRef {
                            id: object_id.clone(),
                            name: None,
                            change: Some(change),
                            members_cursor: None,
                        }),
                        ..Subject::default()
                    },
                );
                e.changed_fields = vec!["groups".to_owned()];
                events.push(e);
            }
            Ok(events)
        }
        (_, other) => Err(WebhookError::UnknownEventType(format!(
            "changeType {}",
            other.chars().take(32).collect::<String>()
        ))),
    }
}

/// Which directory object a notification is about: `resourceData` first, the `resource` path
/// (`Users/{id}`, `groups/{id}`) second.
fn object_of(n: &Notification) -> Result<(ObjectKind, String), WebhookError> {
    let data = n.resource_data.as_ref();
    let from_type = data
        .and_then(|d| d.odata_type.as_deref())
        .map(|t| t.trim_start_matches('#').to_ascii_lowercase());
    let path: Vec<&str> = n
        .resource
        .as_deref()
        .unwrap_or("")
        .trim_start_matches('/')
        .split('/')
        .collect();
    // `Users/{id}` names a user; `Users/{id}/messages/{m}` names something of theirs.
    let collection = match path.as_slice() {
        [collection] | [collection, _] => collection.to_ascii_lowercase(),
        _ => String::new(),
    };
    let path_id = path.get(1).copied().filter(|id| !id.is_empty());
    let kind = match (from_type.as_deref(), collection.as_str()) {
        (Some("microsoft.graph.user"), _) | (None, "users") => ObjectKind::User,
        (Some("microsoft.graph.group"), _) | (None, "groups") => ObjectKind::Group,
        (Some(other), _) => {
            return Err(WebhookError::UnknownEventType(
                other.chars().take(64).collect(),
            ));
        }
        (None, other) => {
            return Err(WebhookError::UnknownEventType(format!(
                "resource {}",
                other.chars().take(32).collect::<String>()
            )));
        }
    };
    let id = data
        .and_then(|d| d.id.as_deref())
        .or(path_id)
        .filter(|id| valid_user_id(id))
        .ok_or_else(|| WebhookError::Malformed("notification names no valid object id".into()))?;
    Ok((kind, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STATE: &str = "secretClientValue";

    fn state() -> RotatingSecret {
        RotatingSecret::single(crate::ports::secrets::keys::GRAPH_CLIENT_STATE, STATE)
            .expect("valid")
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid")
    }

    fn user_item(id: &str, change: &str) -> Value {
        json!({
            "id": format!("n-{id}-{change}"),
            "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
            "subscriptionExpirationDateTime": "2026-12-10T18:23:45.9356913Z",
            "clientState": STATE, "changeType": change,
            "resource": format!("Users/{id}"), "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
            "resourceData": {"@odata.type": "#Microsoft.Graph.User", "@odata.id": format!("Users/{id}"),
                             "id": id, "organizationId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"}
        })
    }

    fn body(items: &[Value]) -> Vec<u8> {
        json!({"value": items}).to_string().into_bytes()
    }

    #[test]
    fn the_validation_token_is_echoed_escaped() {
        assert_eq!(validation_answer("abc 123").as_deref(), Ok("abc 123"));
        assert_eq!(validation_answer("<b>").as_deref(), Ok("&lt;b&gt;"));
        assert!(validation_answer("").is_err());
    }

    #[test]
    fn users_created_or_updated_are_updates_and_deleted_are_leavers() {
        let out = normalize(
            &body(&[
                user_item("u1", "created"),
                user_item("u2", "updated"),
                user_item("u3", "deleted"),
            ]),
            &state(),
            now(),
        )
        .expect("valid");
        let kinds: Vec<_> = out.normalized.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![EventKind::Update, EventKind::Update, EventKind::Leaver]
        );
        let e = &out.normalized.events[2];
        assert_eq!(e.subject.external_id.as_deref(), Some("u3"));
        assert_eq!(
            e.source_event_id,
            "7f105c7d-2dc5-4530-97cd-4e7ae6534c07:n-u3-deleted"
        );
        assert_eq!(e.occurred_at, now());
    }

    #[test]
    fn a_wrong_client_state_drops_only_that_item() {
        let mut forged = user_item("u9", "updated");
        forged["clientState"] = "guess".into();
        let mut missing = user_item("u8", "updated");
        missing
            .as_object_mut()
            .expect("object")
            .remove("clientState");
        let out = normalize(
            &body(&[forged, missing, user_item("u1", "updated")]),
            &state(),
            now(),
        )
        .expect("valid");
        assert_eq!(out.normalized.events.len(), 1);
        assert_eq!(out.normalized.skipped.len(), 2);
        assert_eq!(out.normalized.skipped[0].error, WebhookError::BadSignature);
        assert!(out.normalized.skipped.iter().all(|s| s.is_refusal()));
    }

    #[test]
    fn group_member_deltas_become_one_group_change_per_member() {
        let item = json!({
            "id": "n-g1", "subscriptionId": "sub-1", "clientState": STATE, "changeType": "updated",
            "resource": "Groups/g1",
            "resourceData": {"@odata.type": "#Microsoft.Graph.Group", "id": "g1",
                "members@delta": [{"id": "u1"}, {"id": "u2", "@removed": "deleted"}]}
        });
        let out = normalize(&body(&[item]), &state(), now()).expect("valid");
        let events = &out.normalized.events;
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e.kind == EventKind::GroupChange));
        assert_eq!(events[1].subject.external_id.as_deref(), Some("u2"));
        let group = events[1].subject.group.clone().expect("group");
        assert_eq!(
            (group.id.as_str(), group.change),
            ("g1", Some(MembershipChange::Removed))
        );
        assert_ne!(events[0].source_event_id, events[1].source_event_id);
    }

    #[test]
    fn a_group_change_without_members_names_the_group() {
        let item = json!({"subscriptionId": "sub-1", "clientState": STATE,
            "changeType": "updated", "resource": "groups/g7"});
        let out = normalize(&body(std::slice::from_ref(&item)), &state(), now()).expect("valid");
        let e = &out.normalized.events[0];
        assert_eq!(e.subject.group.as_ref().map(|g| g.id.as_str()), Some("g7"));
        assert!(e.subject.external_id.is_none());
        // No id from Graph: the key comes from the item's bytes and the window it arrived in, so
        // a redelivery shortly after has the same key, and the same change much later does not.
        let again = normalize(
            &body(std::slice::from_ref(&item)),
            &state(),
            now() + chrono::Duration::seconds(10),
        )
        .expect("valid");
        assert_eq!(
            e.source_event_id,
            again.normalized.events[0].source_event_id
        );
        let later =
            normalize(&body(&[item]), &state(), now() + chrono::Duration::hours(1)).expect("valid");
        assert_ne!(
            e.source_event_id,
            later.normalized.events[0].source_event_id
        );
    }

    #[test]
    fn lifecycle_notifications_are_reported_not_queued() {
        let item = json!({"subscriptionId": "sub-1", "clientState": STATE,
            "lifecycleEvent": "reauthorizationRequired", "resource": "users",
            "subscriptionExpirationDateTime": "2026-12-10T18:23:45Z"});
        let out = normalize(&body(&[item]), &state(), now()).expect("valid");
        assert!(out.normalized.events.is_empty());
        assert_eq!(out.lifecycle.len(), 1);
        assert!(out.lifecycle[0].advice().contains("renew"));
    }

    #[test]
    fn other_resources_are_ignored() {
        let item = json!({"id": "n1", "subscriptionId": "sub-1", "clientState": STATE,
            "changeType": "created", "resource": "Users/u1/messages/m1",
            "resourceData": {"@odata.type": "#Microsoft.Graph.Message", "id": "m1"}});
        let out = normalize(&body(&[item]), &state(), now()).expect("valid");
        assert!(out.normalized.events.is_empty());
        assert!(!out.normalized.skipped[0].is_refusal());
    }

    #[test]
    fn a_body_without_value_is_malformed() {
        assert!(matches!(
            normalize(b"{}", &state(), now()),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            normalize(b"[", &state(), now()),
            Err(WebhookError::Malformed(_))
        ));
    }
}
