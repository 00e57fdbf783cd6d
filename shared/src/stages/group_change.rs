//! Group changes: a membership event that names its group changes the stored profile's groups;
//! a group change that names no member (Graph without `members@delta`, e.g. a rename) becomes one
//! event per current member, each read from the source on its own, a page at a time.

use super::queue_once::{Claim, Once, queue_once};
use super::{Services, StageError};
use crate::domain::event::MembershipChange;
use crate::domain::{AuditKind, AuditRecord, DomainEvent, Employee, Envelope, EventId};
use crate::keys;
use crate::ports::queue::names;
use crate::sources::DirectorySources;
use crate::webhook::hris::valid_user_id;
use serde_json::json;

/// Applies a group change that names no member (Graph without `members@delta`, e.g. a rename),
/// one page of the group's members per invocation: each member of the page becomes an event of
/// its own on the enrich queue, and when there is more, the group change goes back on the queue
/// with the next page's cursor (the source's next-page link). So one message never reads a
/// whole large group, and a timeout repeats one page, not all of them.
///
/// Each member event is queued once per group change (`keys::fan_out`), with the ids of its
/// first sending, and so is each continuation: a redelivered page sends nothing twice.
///
/// Returns false (and does nothing) for any other event.
pub async fn fan_out_page(
    s: &Services,
    sources: &DirectorySources,
    envelope: &Envelope<DomainEvent>,
) -> Result<bool, StageError> {
    let event = &envelope.payload;
    let subject = &event.subject;
    let Some(group) = &subject.group else {
        return Ok(false);
    };
    if subject.user_id.is_some() || subject.email.is_some() || subject.external_id.is_some() {
        return Ok(false);
    }
    let source = event.source.as_str();
    let reader = sources.reader(event.source).ok_or_else(|| {
        StageError::Permanent(format!(
            "a change of {source} group {} names no member, and no {source} reader is configured to list them",
            group.id
        ))
    })?;
    let cursor = group.members_cursor.as_deref();
    let page = reader
        .group_members_page(&group.id, cursor)
        .await?
        .ok_or_else(|| {
            StageError::Permanent(format!(
                "{source} group {} no longer exists, so its former members cannot be listed; each is re-evaluated at their next event or a resync",
                group.id
            ))
        })?;
    let mut items = Vec::with_capacity(page.ids.len() + 1);
    for member in &page.ids {
        if !valid_user_id(member) {
            tracing::warn!(source, group = %group.id, "a member id that cannot be a key was skipped");
            continue;
        }
        let mut e = event.clone();
        e.event_id = EventId::generate();
        e.source_event_id = format!("{}:{member}", event.source_event_id);
        e.subject.external_id = Some(member.clone());
        if let Some(g) = e.subject.group.as_mut() {
            g.members_cursor = None;
        }
        let (pk, sk) = keys::fan_out_member(source, &event.source_event_id, member);
        items.push(Once {
            pk,
            sk,
            event: e,
            correlation_id: envelope.correlation_id.clone(),
        });
    }
    if let Some(next) = &page.next {
        let mut e = event.clone();
        e.event_id = EventId::generate();
        if let Some(g) = e.subject.group.as_mut() {
            g.members_cursor = Some(next.clone());
        }
        let (pk, sk) = keys::fan_out_page(source, &event.source_event_id, next);
        items.push(Once {
            pk,
            sk,
            event: e,
            correlation_id: envelope.correlation_id.clone(),
        });
    }
    let ttl = i64::try_from(s.settings.idempotency_ttl.as_secs()).unwrap_or(i64::MAX);
    let claims = queue_once(s, names::ENRICH, items, ttl).await?;
    let sent = claims.iter().filter(|c| matches!(c, Claim::New(_))).count();
    s.audit(
        AuditRecord::new(
            s.clock.now(),
            envelope.correlation_id.clone(),
            AuditKind::ContextEnriched,
            "enrich",
            format!(
                "group changed: a page of {} member(s) read from {source}, {sent} queued{}",
                page.ids.len(),
                if page.next.is_some() {
                    "; the next page follows"
                } else {
                    ""
                }
            ),
        )
        .event(&envelope.event_id)
        .detail(json!({
            "group": group.id,
            "members": page.ids.len(),
            "queued": sent,
            "continued": page.next.is_some(),
            "first_page": cursor.is_none(),
        })),
    )
    .await?;
    Ok(true)
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
                    members_cursor: None,
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

#[cfg(all(test, feature = "local"))]
mod fan_out_tests {
    use super::*;
    use crate::adapters::local::{
        LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
    };
    use crate::config::Settings;
    use crate::domain::event::GroupRef;
    use crate::domain::{CorrelationId, EventKind, EventSource, MessageKind, Subject};
    use crate::ports::{Clock, ManualClock};
    use crate::sources::{DirectorySource, MembersPage, SourceError, SourceUser};
    use async_trait::async_trait;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A group of five members, two to a page; counts what is read.
    struct Group {
        members: Vec<String>,
        pages_read: AtomicUsize,
        wholes_read: AtomicUsize,
    }

    impl Group {
        fn of_five() -> Arc<Self> {
            Arc::new(Self {
                members: (1..=5).map(|i| format!("m{i}")).collect(),
                pages_read: AtomicUsize::new(0),
                wholes_read: AtomicUsize::new(0),
            })
        }
    }

    #[async_trait]
    impl DirectorySource for Group {
        fn source(&self) -> EventSource {
            EventSource::Graph
        }

        async fn user(&self, _id: &str) -> Result<Option<SourceUser>, SourceError> {
            Ok(None)
        }

        async fn group_members(&self, _group: &str) -> Result<Option<Vec<String>>, SourceError> {
            self.wholes_read.fetch_add(1, Ordering::SeqCst);
            Ok(Some(self.members.clone()))
        }

        async fn group_members_page(
            &self,
            _group: &str,
            cursor: Option<&str>,
        ) -> Result<Option<MembersPage>, SourceError> {
            self.pages_read.fetch_add(1, Ordering::SeqCst);
            let start: usize = cursor
                .and_then(|c| c.strip_prefix("page:"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let end = (start + 2).min(self.members.len());
            Ok(Some(MembersPage {
                ids: self.members[start..end].to_vec(),
                next: (end < self.members.len()).then(|| format!("page:{end}")),
            }))
        }
    }

    fn services(clock: Arc<dyn Clock>) -> Services {
        let db = LocalDb::in_memory().expect("db");
        Services {
            store: Arc::new(SqliteStateStore::new(db.clone(), clock.clone())),
            audit: Arc::new(SqliteAuditLog::new(db.clone())),
            queue: Arc::new(SqliteQueue::new(db, clock.clone(), QueueSpec::pipeline(5))),
            secrets: Arc::new(LocalSecrets::with_loader(Box::new(Default::default))),
            clock,
            settings: Settings::default(),
        }
    }

    fn group_change() -> Envelope<DomainEvent> {
        let event = DomainEvent {
            event_id: EventId::generate(),
            source: EventSource::Graph,
            source_event_id: "sub-1:n-42".into(),
            kind: EventKind::GroupChange,
            occurred_at: chrono::Utc::now(),
            subject: Subject {
                group: Some(GroupRef {
                    id: "g1".into(),
                    name: None,
                    change: None,
                    members_cursor: None,
                }),
                ..Subject::default()
            },
            employee: None,
            changed_fields: vec!["groups".into()],
        };
        Envelope::new(
            MessageKind::Event,
            event.event_id.clone(),
            CorrelationId::generate(),
            event.occurred_at,
            event,
        )
    }

    /// Everything on the enrich queue, taken off it.
    async fn queued(s: &Services) -> Vec<Envelope<DomainEvent>> {
        s.queue
            .receive(names::ENRICH, 100, Duration::from_secs(60))
            .await
            .expect("receive")
            .into_iter()
            .map(|m| serde_json::from_str(&m.body).expect("envelope"))
            .collect()
    }

    fn members_of(messages: &[Envelope<DomainEvent>]) -> Vec<String> {
        messages
            .iter()
            .filter_map(|m| m.payload.subject.external_id.clone())
            .collect()
    }

    fn continuation(messages: &[Envelope<DomainEvent>]) -> Option<Envelope<DomainEvent>> {
        messages
            .iter()
            .find(|m| {
                m.payload
                    .subject
                    .group
                    .as_ref()
                    .is_some_and(|g| g.members_cursor.is_some())
            })
            .cloned()
    }

    #[tokio::test]
    async fn a_group_change_reads_one_page_per_invocation_and_continues_with_a_cursor() {
        let s = services(Arc::new(ManualClock::at(chrono::Utc::now())));
        let group = Group::of_five();
        let sources = DirectorySources::none().with(group.clone());
        let mut next = Some(group_change());
        let mut seen = Vec::new();
        let mut invocations = 0;
        while let Some(envelope) = next.take() {
            invocations += 1;
            assert!(
                fan_out_page(&s, &sources, &envelope)
                    .await
                    .expect("fan out")
            );
            let messages = queued(&s).await;
            assert!(members_of(&messages).len() <= 2, "one page per invocation");
            seen.extend(members_of(&messages));
            next = continuation(&messages);
            if let Some(c) = &next {
                assert_eq!(c.correlation_id, envelope.correlation_id);
                assert!(c.payload.subject.external_id.is_none());
            }
        }
        assert_eq!(seen, ["m1", "m2", "m3", "m4", "m5"]);
        assert_eq!(invocations, 3);
        assert_eq!(group.pages_read.load(Ordering::SeqCst), 3);
        assert_eq!(group.wholes_read.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_redelivered_page_queues_no_member_twice_nor_with_new_ids() {
        let s = services(Arc::new(ManualClock::at(chrono::Utc::now())));
        let sources = DirectorySources::none().with(Group::of_five());
        let envelope = group_change();
        fan_out_page(&s, &sources, &envelope).await.expect("first");
        let first = queued(&s).await;
        // The queue redelivers the same message (the invocation timed out after sending).
        fan_out_page(&s, &sources, &envelope).await.expect("again");
        let again = queued(&s).await;
        assert!(!first.is_empty());
        assert!(again.is_empty(), "sent again: {:?}", members_of(&again));
        let ids: Vec<_> = first.iter().map(|m| m.event_id.clone()).collect();
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(ids, unique);
    }

    #[tokio::test]
    async fn a_read_that_would_wait_too_long_goes_back_on_the_queue() {
        let clock = ManualClock::at(chrono::Utc::now());
        let s = services(Arc::new(clock.clone()));
        let budget = crate::sources::ReadBudget::new(s.store.clone(), s.clock.clone(), 1);
        let sources = DirectorySources::none()
            .with_read_budget(budget)
            .with(Group::of_five());
        let envelope = group_change();
        assert!(
            fan_out_page(&s, &sources, &envelope)
                .await
                .expect("first page")
        );
        let err = fan_out_page(&s, &sources, &envelope)
            .await
            .expect_err("no token for a minute");
        assert!(!err.is_permanent(), "{err}");
    }

    #[tokio::test]
    async fn directory_reads_spend_their_own_budget_not_uem_s() {
        let clock = ManualClock::at(chrono::Utc::now());
        let s = services(Arc::new(clock.clone()));
        let budget = crate::sources::ReadBudget::new(s.store.clone(), s.clock.clone(), 12);
        let sources = DirectorySources::none()
            .with(Group::of_five())
            .with_read_budget(budget);
        let start = clock.now();
        let reader = sources.reader(EventSource::Graph).expect("reader");
        for _ in 0..13 {
            reader.user("m1").await.expect("read");
        }
        assert_eq!(
            (clock.now() - start).num_seconds(),
            5,
            "the 13th read of a 12-a-minute budget waits 5 s"
        );
        assert!(
            s.store
                .get(crate::keys::DIRECTORY_RATE_PK, "graph")
                .await
                .expect("store")
                .is_some()
        );
        assert!(
            s.store
                .get(crate::uem::RATE_PK, "graph")
                .await
                .expect("store")
                .is_none()
        );
    }
}
