//! Group changes: a membership event that names its group changes the stored profile's groups;
//! a group change that names no member (Graph without `members@delta`, e.g. a rename) becomes one
//! event per current member, each read from the source on its own.

use super::{Services, StageError};
use crate::domain::event::MembershipChange;
use crate::domain::{
    AuditKind, AuditRecord, DomainEvent, Employee, Envelope, EventId, MessageKind,
};
use crate::ports::OutgoingMessage;
use crate::ports::queue::names;
use crate::sources::DirectorySources;
use serde_json::json;

/// For a group change that names no member (Graph without `members@delta`, e.g. a rename):
/// the group's current members, each to be re-read on their own.
pub async fn members_to_reread(
    sources: &DirectorySources,
    event: &DomainEvent,
) -> Result<Option<Vec<String>>, StageError> {
    let subject = &event.subject;
    let Some(group) = &subject.group else {
        return Ok(None);
    };
    if subject.user_id.is_some() || subject.email.is_some() || subject.external_id.is_some() {
        return Ok(None);
    }
    let source = event.source.as_str();
    let reader = sources.reader(event.source).ok_or_else(|| {
        StageError::Permanent(format!(
            "a change of {source} group {} names no member, and no {source} reader is configured to list them",
            group.id
        ))
    })?;
    reader.group_members(&group.id).await?.map(Some).ok_or_else(|| {
        StageError::Permanent(format!(
            "{source} group {} no longer exists, so its former members cannot be listed; each is re-evaluated at their next event or a resync",
            group.id
        ))
    })
}

/// One event per member on the enrich queue, under the group change's correlation id.
pub async fn fan_out(
    s: &Services,
    envelope: &Envelope<DomainEvent>,
    members: Vec<String>,
) -> Result<(), StageError> {
    let event = &envelope.payload;
    let mut messages = Vec::with_capacity(members.len());
    for member in &members {
        let mut e = event.clone();
        e.event_id = EventId::generate();
        e.source_event_id = format!("{}:{member}", event.source_event_id);
        e.subject.external_id = Some(member.clone());
        let next = Envelope::new(
            MessageKind::Event,
            e.event_id.clone(),
            envelope.correlation_id.clone(),
            envelope.occurred_at,
            e,
        );
        let body =
            serde_json::to_string(&next).map_err(|e| StageError::Permanent(e.to_string()))?;
        messages.push(OutgoingMessage::standard(body));
    }
    // Sent before the audit: a retry after a failed audit re-sends, and re-reading a member
    // twice changes nothing.
    if !messages.is_empty() {
        s.queue.send(names::ENRICH, messages).await?;
    }
    let group = event.subject.group.as_ref().map(|g| g.id.clone());
    s.audit(
        AuditRecord::new(
            s.clock.now(),
            envelope.correlation_id.clone(),
            AuditKind::ContextEnriched,
            "enrich",
            format!(
                "group changed: {} member(s) queued to be read from {}",
                members.len(),
                event.source.as_str()
            ),
        )
        .event(&envelope.event_id)
        .detail(json!({"group": group, "members": members.len()})),
    )
    .await
}

/// The profile with the group a membership event names added or removed (by the group's name,
/// which is what policies read); unchanged for any other event.
pub fn with_membership(employee: &Employee, event: &DomainEvent) -> Employee {
    let mut employee = employee.clone();
    let Some(group) = &event.subject.group else {
        return employee;
    };
    let (Some(name), Some(change)) = (&group.name, group.change) else {
        return employee;
    };
    match change {
        MembershipChange::Added if !employee.groups.contains(name) => {
            employee.groups.push(name.clone());
        }
        MembershipChange::Removed => employee.groups.retain(|g| g != name),
        MembershipChange::Added => {}
    }
    employee
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::GroupRef;
    use crate::domain::{EventKind, EventSource, Subject, UserId};

    fn employee() -> Employee {
        Employee {
            id: UserId::new("alee"),
            email: "alee@example.com".into(),
            department: "Sales".into(),
            title: String::new(),
            location: String::new(),
            region: String::new(),
            employment_type: String::new(),
            manager_id: None,
            groups: vec!["all-staff".into()],
            account_name: None,
            upn: None,
        }
    }

    fn membership(name: Option<&str>, change: Option<MembershipChange>) -> DomainEvent {
        DomainEvent {
            event_id: EventId::generate(),
            source: EventSource::Okta,
            source_event_id: "m-1".into(),
            kind: EventKind::GroupChange,
            occurred_at: chrono::Utc::now(),
            subject: Subject {
                email: Some("alee@example.com".into()),
                group: Some(GroupRef {
                    id: "00gpilot".into(),
                    name: name.map(str::to_owned),
                    change,
                }),
                ..Subject::default()
            },
            employee: None,
            changed_fields: vec!["groups".into()],
        }
    }

    #[test]
    fn a_named_group_is_added_once_and_removed() {
        let added = with_membership(
            &employee(),
            &membership(Some("pilot"), Some(MembershipChange::Added)),
        );
        assert_eq!(
            added.groups,
            vec!["all-staff".to_owned(), "pilot".to_owned()]
        );
        let again = with_membership(
            &added,
            &membership(Some("pilot"), Some(MembershipChange::Added)),
        );
        assert_eq!(again, added);
        let removed = with_membership(
            &added,
            &membership(Some("pilot"), Some(MembershipChange::Removed)),
        );
        assert_eq!(removed.groups, vec!["all-staff".to_owned()]);
    }

    #[test]
    fn an_unnamed_group_or_an_unknown_direction_changes_nothing() {
        let e = employee();
        assert_eq!(
            with_membership(&e, &membership(None, Some(MembershipChange::Added))),
            e
        );
        assert_eq!(with_membership(&e, &membership(Some("pilot"), None)), e);
    }
}
