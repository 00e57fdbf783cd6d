//! Who an event is about when its source names people by its own id (Entra object id, BambooHR
//! employee id, Okta user id): the person is read from that source, matched to Loadout's directory (an id
//! learned before, else the e-mail address, else a new user named by the account name), and their
//! attributes are laid over what Loadout knew. The notification's own data is never trusted.

use super::StageError;
use super::directory::{self, StoredProfile};
use crate::domain::{DomainEvent, Employee, EventKind, UserId};
use crate::ports::StateStore;
use crate::sources::{DirectorySources, SourceUser};
use crate::webhook::hris::valid_user_id;

/// The user an event names, and what the source says of them now.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub user: UserId,
    /// The person's profile with the source's attributes applied; `None` when the source no
    /// longer has them or was not read.
    pub employee: Option<Employee>,
    /// Whether the source still counts the person as active; `None` when it was not read.
    pub active: Option<bool>,
}

/// Whether this event is resolved here rather than by user id or e-mail: it names a source id,
/// and either that source can be read (fresh attributes beat the event's) or nothing else names
/// the person.
pub fn applies(event: &DomainEvent, sources: &DirectorySources) -> bool {
    event.subject.external_id.is_some()
        && (sources.reader(event.source).is_some()
            || (event.subject.user_id.is_none() && event.subject.email.is_none()))
}

pub async fn resolve(
    store: &dyn StateStore,
    sources: &DirectorySources,
    event: &DomainEvent,
) -> Result<Resolved, StageError> {
    let source = event.source.as_str();
    let external_id = event
        .subject
        .external_id
        .as_deref()
        .ok_or_else(|| StageError::Permanent("the event names no source user id".into()))?;
    let known = match directory::resolve_external_id(store, source, external_id).await? {
        Some(user) => Some(user),
        // Okta events also carry the login; BambooHR's field-based payloads, the work e-mail.
        None => named_otherwise(store, event).await?,
    };
    let Some(reader) = sources.reader(event.source) else {
        // Without a reader, only a person this source named before (and was read then) is known.
        return known
            .map(|user| Resolved {
                user,
                employee: None,
                active: None,
            })
            .ok_or_else(|| {
                StageError::Permanent(format!(
                    "no user is known for this {source} user id, and no {source} reader is configured to look it up"
                ))
            });
    };
    let Some(person) = reader.user(external_id).await? else {
        // Gone from the source (permanently deleted, or terminated and purged): a leaver.
        return known
            .map(|user| Resolved {
                user,
                employee: None,
                active: Some(false),
            })
            .ok_or_else(|| {
                StageError::Permanent(format!(
                    "{source} no longer has this user and Loadout never learned who it was"
                ))
            });
    };
    let user = match known {
        Some(user) => user,
        None => match_user(store, &person, source).await?,
    };
    let stored = directory::load_profile(store, &user).await?;
    let employee = apply(store, stored, &user, &person, source).await?;
    directory::remember_external_id(store, source, external_id, &user).await?;
    Ok(Resolved {
        user,
        employee: Some(employee),
        active: Some(person.active && event.kind != EventKind::Leaver),
    })
}

/// The user the event names besides the source id, if Loadout knows them.
async fn named_otherwise(
    store: &dyn StateStore,
    event: &DomainEvent,
) -> Result<Option<UserId>, StageError> {
    if let Some(user) = &event.subject.user_id {
        return Ok(Some(user.clone()));
    }
    match &event.subject.email {
        Some(email) => directory::resolve_email(store, email).await,
        None => Ok(None),
    }
}

/// A person first seen from this source: the directory's user with their e-mail, else a new
/// user named like UEM names directory users (the account name, else the e-mail's local part).
async fn match_user(
    store: &dyn StateStore,
    person: &SourceUser,
    source: &str,
) -> Result<UserId, StageError> {
    if let Some(email) = &person.email
        && let Some(user) = directory::resolve_email(store, email).await?
    {
        return Ok(user);
    }
    let candidate = person
        .account_name
        .clone()
        .or_else(|| {
            person
                .email
                .as_deref()
                .and_then(|e| e.split_once('@'))
                .map(|(local, _)| local.to_owned())
        })
        .map(|n| n.to_ascii_lowercase())
        .filter(|n| valid_user_id(n));
    candidate.map(UserId::new).ok_or_else(|| {
        StageError::Permanent(format!(
            "this {source} user has no e-mail address or account name Loadout can name them by"
        ))
    })
}

/// The stored profile (or a new one) with every attribute the source holds laid over it.
async fn apply(
    store: &dyn StateStore,
    stored: Option<StoredProfile>,
    user: &UserId,
    person: &SourceUser,
    source: &str,
) -> Result<Employee, StageError> {
    let mut employee = stored.map(|p| p.employee).unwrap_or_else(|| Employee {
        id: user.clone(),
        email: String::new(),
        department: String::new(),
        title: String::new(),
        location: String::new(),
        region: String::new(),
        employment_type: String::new(),
        manager_id: None,
        groups: Vec::new(),
        account_name: None,
        upn: None,
    });
    let set = |field: &mut String, value: &Option<String>| {
        if let Some(v) = value {
            field.clone_from(v);
        }
    };
    set(&mut employee.email, &person.email);
    if person.account_name.is_some() {
        employee.account_name.clone_from(&person.account_name);
    }
    if person.upn.is_some() {
        employee.upn.clone_from(&person.upn);
    }
    set(&mut employee.department, &person.department);
    set(&mut employee.title, &person.title);
    set(&mut employee.employment_type, &person.employment_type);
    let moved = person
        .location
        .as_ref()
        .is_some_and(|l| !l.eq_ignore_ascii_case(&employee.location));
    set(&mut employee.location, &person.location);
    // Sources give an office, not Loadout's region: take the region people there are in.
    if (moved || employee.region.is_empty())
        && !employee.location.is_empty()
        && let Some(region) = directory::region_of_location(store, &employee.location).await?
    {
        employee.region = region;
    }
    let manager = match (&person.manager_email, &person.manager_external_id) {
        (Some(email), _) => directory::resolve_email(store, email).await?,
        (None, Some(id)) => directory::resolve_external_id(store, source, id).await?,
        (None, None) => None,
    };
    if let Some(manager) = manager.filter(|m| m != user) {
        employee.manager_id = Some(manager);
    }
    if let Some(groups) = &person.groups {
        let mut groups = groups.clone();
        groups.sort();
        groups.dedup();
        employee.groups = groups;
    }
    Ok(employee)
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::adapters::local::{LocalDb, SqliteStateStore};
    use crate::domain::{EventId, EventSource, Subject};
    use crate::sources::{DirectorySource, SourceError};
    use async_trait::async_trait;
    use chrono::Utc;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    /// A directory held in memory: what the reader port promises, without HTTP (the HTTP readers
    /// are tested against the simulator in tests/directory-sim).
    #[derive(Default)]
    struct Directory(Mutex<HashMap<String, SourceUser>>);

    #[async_trait]
    impl DirectorySource for Directory {
        fn source(&self) -> EventSource {
            EventSource::Graph
        }
        async fn user(&self, id: &str) -> Result<Option<SourceUser>, SourceError> {
            Ok(self.0.lock().expect("lock").get(id).cloned())
        }
    }

    fn store() -> Arc<SqliteStateStore> {
        Arc::new(SqliteStateStore::new(
            LocalDb::in_memory().expect("db"),
            Arc::new(crate::ports::SystemClock),
        ))
    }

    fn employee(id: &str, department: &str, location: &str, region: &str) -> Employee {
        Employee {
            id: UserId::new(id),
            email: format!("{id}@example.com"),
            department: department.into(),
            title: "Engineer".into(),
            location: location.into(),
            region: region.into(),
            employment_type: "Full-time".into(),
            manager_id: None,
            groups: vec!["all-staff".into()],
            account_name: None,
            upn: None,
        }
    }

    fn event(kind: EventKind, external_id: &str) -> DomainEvent {
        DomainEvent {
            event_id: EventId::generate(),
            source: EventSource::Graph,
            source_event_id: format!("n-{external_id}"),
            kind,
            occurred_at: Utc::now(),
            subject: Subject {
                external_id: Some(external_id.into()),
                ..Subject::default()
            },
            employee: None,
            changed_fields: Vec::new(),
        }
    }

    fn person(id: &str, email: &str) -> SourceUser {
        SourceUser {
            external_id: id.into(),
            email: Some(email.into()),
            active: true,
            ..SourceUser::default()
        }
    }

    async fn seeded() -> (Arc<SqliteStateStore>, Arc<Directory>, DirectorySources) {
        let store = store();
        for e in [
            employee("alee", "Sales", "Austin", "NA"),
            employee("bkim", "Engineering", "London", "EMEA"),
            employee("cmgr", "Sales", "Austin", "NA"),
        ] {
            directory::upsert_profile(store.as_ref(), &e, Utc::now(), true)
                .await
                .expect("seed");
        }
        let dir = Arc::new(Directory::default());
        let sources = DirectorySources::none().with(dir.clone());
        (store, dir, sources)
    }

    #[tokio::test]
    async fn a_graph_user_is_matched_by_email_and_their_attributes_laid_over_the_profile() {
        let (store, dir, sources) = seeded().await;
        let mut p = person("oid-1", "ALEE@example.com");
        p.department = Some("Marketing".into());
        p.location = Some("London".into());
        p.manager_email = Some("cmgr@example.com".into());
        p.groups = Some(vec!["marketing".into(), "all-staff".into()]);
        dir.0.lock().expect("lock").insert("oid-1".into(), p);

        let r = resolve(store.as_ref(), &sources, &event(EventKind::Update, "oid-1"))
            .await
            .expect("resolved");
        assert_eq!(r.user, UserId::new("alee"));
        assert_eq!(r.active, Some(true));
        let e = r.employee.expect("employee");
        assert_eq!(e.department, "Marketing");
        assert_eq!(e.location, "London");
        assert_eq!(
            e.region, "EMEA",
            "the region of the new office, from the directory"
        );
        assert_eq!(e.title, "Engineer", "kept: the source did not say");
        assert_eq!(e.manager_id, Some(UserId::new("cmgr")));
        assert_eq!(
            e.groups,
            vec!["all-staff".to_owned(), "marketing".to_owned()]
        );
        assert_eq!(
            directory::resolve_external_id(store.as_ref(), "graph", "oid-1")
                .await
                .expect("index"),
            Some(UserId::new("alee"))
        );
    }

    #[tokio::test]
    async fn a_user_deleted_from_the_source_is_a_leaver_when_known_and_dead_lettered_when_not() {
        let (store, dir, sources) = seeded().await;
        dir.0
            .lock()
            .expect("lock")
            .insert("oid-2".into(), person("oid-2", "bkim@example.com"));
        resolve(store.as_ref(), &sources, &event(EventKind::Update, "oid-2"))
            .await
            .expect("first read learns the id");
        dir.0.lock().expect("lock").clear();

        let gone = resolve(store.as_ref(), &sources, &event(EventKind::Leaver, "oid-2"))
            .await
            .expect("resolved through the learned id");
        assert_eq!(gone.user, UserId::new("bkim"));
        assert_eq!(gone.active, Some(false));
        assert!(gone.employee.is_none());

        let unknown = resolve(store.as_ref(), &sources, &event(EventKind::Leaver, "oid-9"))
            .await
            .expect_err("never seen");
        assert!(unknown.is_permanent());
        assert!(unknown.to_string().contains("never learned"), "{unknown}");
    }

    #[tokio::test]
    async fn a_disabled_account_is_inactive_and_a_new_person_is_named_by_account_name() {
        let (store, dir, sources) = seeded().await;
        let mut disabled = person("oid-3", "cmgr@example.com");
        disabled.active = false;
        let mut newcomer = person("oid-4", "dnew@example.com");
        newcomer.account_name = Some("DNew".into());
        newcomer.location = Some("Austin".into());
        {
            let mut d = dir.0.lock().expect("lock");
            d.insert("oid-3".into(), disabled);
            d.insert("oid-4".into(), newcomer);
        }
        let r = resolve(store.as_ref(), &sources, &event(EventKind::Update, "oid-3"))
            .await
            .expect("resolved");
        assert_eq!(r.active, Some(false));

        let r = resolve(store.as_ref(), &sources, &event(EventKind::Joiner, "oid-4"))
            .await
            .expect("resolved");
        assert_eq!(r.user, UserId::new("dnew"));
        let e = r.employee.expect("employee");
        assert_eq!(e.email, "dnew@example.com");
        assert_eq!(e.region, "NA");
    }

    #[tokio::test]
    async fn a_person_gone_from_the_source_is_still_found_by_the_e_mail_the_event_carries() {
        let (store, _dir, sources) = seeded().await;
        let mut e = event(EventKind::Leaver, "oid-never-read");
        e.subject.email = Some("bkim@example.com".into());
        let r = resolve(store.as_ref(), &sources, &e)
            .await
            .expect("by e-mail");
        assert_eq!(r.user, UserId::new("bkim"));
        assert_eq!(r.active, Some(false));
    }

    #[tokio::test]
    async fn without_a_reader_only_learned_ids_resolve() {
        let (store, _dir, _sources) = seeded().await;
        let none = DirectorySources::none();
        let e = event(EventKind::Update, "oid-5");
        assert!(applies(&e, &none), "nothing else names the person");
        let err = resolve(store.as_ref(), &none, &e)
            .await
            .expect_err("unknown");
        assert!(err.to_string().contains("no graph reader"), "{err}");
        directory::remember_external_id(store.as_ref(), "graph", "oid-5", &UserId::new("alee"))
            .await
            .expect("remember");
        let r = resolve(store.as_ref(), &none, &e).await.expect("learned");
        assert_eq!(r.user, UserId::new("alee"));
        assert_eq!(r.active, None);

        let mut with_email = e.clone();
        with_email.subject.email = Some("alee@example.com".into());
        assert!(!applies(&with_email, &none), "e-mail resolution is enough");
    }
}
