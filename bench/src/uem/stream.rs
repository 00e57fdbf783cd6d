//! The HR events a scenario sends, when (simulated seconds after the start) and what UEM must hold
//! once they are all applied. Events enter as intake leaves them: through the idempotent step
//! that queues each source event once (so a re-delivered webhook is dropped there), and a share
//! of duplicates as SQS delivers them at least once (the same message twice on the enrich queue,
//! past intake).

use super::setup::{self, Catalog, ENGINEERING, SALES};
use chrono::{DateTime, Utc};
use loadout::domain::{
    CorrelationId, DomainEvent, Employee, EventId, EventKind, EventSource, Subject, UserId,
};
use std::collections::BTreeMap;

/// How one event is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A webhook (intake's idempotent queueing); a repeated source event id is a re-delivery.
    Webhook,
    /// The enrich queue's message delivered again (SQS at-least-once).
    Redelivered,
}

#[derive(Debug, Clone)]
pub struct Timed {
    /// Simulated seconds after the scenario starts.
    pub at: f64,
    pub event: DomainEvent,
    pub correlation: CorrelationId,
    pub delivery: Delivery,
}

/// The events and the state they lead to.
#[derive(Debug, Clone)]
pub struct Stream {
    pub events: Vec<Timed>,
    /// The people the stream is about, with the apps (catalog positions) they end up with.
    pub expected: BTreeMap<usize, Vec<usize>>,
    pub counts: BTreeMap<&'static str, usize>,
}

/// A small seeded generator (xorshift*), so a scenario's stream is the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

pub fn employee(i: usize, department: &str) -> Employee {
    Employee {
        id: UserId::new(setup::username(i)),
        email: setup::email(i),
        department: department.to_owned(),
        title: "Analyst".into(),
        location: "Austin".into(),
        region: "NA".into(),
        employment_type: "FTE".into(),
        manager_id: None,
        groups: vec![],
        account_name: None,
        upn: None,
    }
}

fn hr_event(
    kind: EventKind,
    i: usize,
    department: &str,
    occurred_at: DateTime<Utc>,
    serial: usize,
) -> DomainEvent {
    DomainEvent {
        event_id: EventId::generate(),
        source: EventSource::Hris,
        source_event_id: format!("bench-{}-{i}-{serial}", kind.as_str()),
        kind,
        occurred_at,
        subject: Subject {
            email: Some(setup::email(i)),
            ..Subject::user(UserId::new(setup::username(i)))
        },
        employee: Some(employee(i, department)),
        changed_fields: match kind {
            EventKind::Mover => vec!["department".into()],
            _ => vec![],
        },
    }
}

fn timed(at: f64, event: DomainEvent) -> Timed {
    Timed {
        at,
        event,
        correlation: CorrelationId::generate(),
        delivery: Delivery::Webhook,
    }
}

/// `users` joiners at once (a backlog: the HR system's import of a new intake), all entitled to
/// every app.
pub fn joiners(users: usize, catalog: Catalog, start: DateTime<Utc>) -> Stream {
    let events = (0..users)
        .map(|i| timed(0.0, hr_event(EventKind::Joiner, i, "General", start, 0)))
        .collect();
    let everything = catalog.entitled("General");
    Stream {
        events,
        expected: (0..users).map(|i| (i, everything.clone())).collect(),
        counts: BTreeMap::from([("joiner", users)]),
    }
}

/// The shares of a mixed stream, in percent: joiners, movers, leavers; the rest are duplicates.
const JOINERS: usize = 45;
const MOVERS: usize = 25;
const LEAVERS: usize = 10;

/// `total` events over `minutes` simulated minutes: people join (Sales or Engineering), move
/// between the two, leave, and a fifth of the deliveries are duplicates (half re-delivered
/// webhooks, half SQS re-deliveries). A person's events are in order and at least a few seconds
/// apart, as HR systems send them.
pub fn mixed(
    total: usize,
    catalog: Catalog,
    minutes: f64,
    seed: u64,
    start: DateTime<Utc>,
) -> Stream {
    let mut rng = Rng::new(seed);
    let spacing = minutes * 60.0 / total.max(1) as f64;
    let mut events: Vec<Timed> = Vec::with_capacity(total);
    // Per person: their department, whether they left.
    let mut people: BTreeMap<usize, (&'static str, bool)> = BTreeMap::new();
    let mut next_person = 0usize;
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for n in 0..total {
        let at = n as f64 * spacing;
        let occurred = start + chrono::Duration::milliseconds((at * 1000.0) as i64);
        let roll = rng.below(100);
        let active: Vec<usize> = people
            .iter()
            .filter(|(_, (_, left))| !left)
            .map(|(i, _)| *i)
            .collect();
        let pick = |rng: &mut Rng| active.get(rng.below(active.len())).copied();
        let kind = if roll < JOINERS || active.is_empty() {
            "joiner"
        } else if roll < JOINERS + MOVERS {
            "mover"
        } else if roll < JOINERS + MOVERS + LEAVERS {
            "leaver"
        } else if events.is_empty() {
            "joiner"
        } else {
            "duplicate"
        };
        match kind {
            "joiner" => {
                let i = next_person;
                next_person += 1;
                let department = if rng.below(2) == 0 {
                    SALES
                } else {
                    ENGINEERING
                };
                people.insert(i, (department, false));
                events.push(timed(
                    at,
                    hr_event(EventKind::Joiner, i, department, occurred, n),
                ));
            }
            "mover" => {
                let Some(i) = pick(&mut rng) else { continue };
                let (department, _) = people[&i];
                let to = if department == SALES {
                    ENGINEERING
                } else {
                    SALES
                };
                people.insert(i, (to, false));
                events.push(timed(at, hr_event(EventKind::Mover, i, to, occurred, n)));
            }
            "leaver" => {
                let Some(i) = pick(&mut rng) else { continue };
                let (department, _) = people[&i];
                people.insert(i, (department, true));
                events.push(timed(
                    at,
                    hr_event(EventKind::Leaver, i, department, occurred, n),
                ));
            }
            _ => {
                // Again, a moment later: the same webhook, or the same queued message.
                let original = events[events.len() - 1 - rng.below(events.len().min(20))].clone();
                let delivery = if rng.below(2) == 0 {
                    Delivery::Webhook
                } else {
                    Delivery::Redelivered
                };
                events.push(Timed {
                    at,
                    delivery,
                    ..original
                });
            }
        }
        *counts.entry(kind).or_default() += 1;
    }
    let expected = people
        .into_iter()
        .map(|(i, (department, left))| {
            (
                i,
                if left {
                    vec![]
                } else {
                    catalog.entitled(department)
                },
            )
        })
        .collect();
    Stream {
        events,
        expected,
        counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mixed_stream_has_every_kind_and_ends_where_its_people_are() {
        let catalog = Catalog {
            apps: 8,
            department_apps: 2,
        };
        let s = mixed(2000, catalog, 10.0, 7, Utc::now());
        assert_eq!(s.events.len(), 2000);
        for kind in ["joiner", "mover", "leaver", "duplicate"] {
            assert!(
                s.counts.get(kind).copied().unwrap_or(0) > 100,
                "{kind}: {:?}",
                s.counts
            );
        }
        let left = s.expected.values().filter(|apps| apps.is_empty()).count();
        assert_eq!(left, s.counts["leaver"], "each leaver leaves once");
        assert!(s.expected.values().all(|a| a.is_empty() || a.len() == 7));
        // Deterministic: the same seed, the same stream.
        let again = mixed(2000, catalog, 10.0, 7, Utc::now());
        assert_eq!(again.counts, s.counts);
    }
}
