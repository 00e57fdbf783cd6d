//! One conformance suite per port. The local adapters and the AWS adapters (against an emulator)
//! run exactly these checks, so both behave the same for every stage built on them.
//!
//! Each check panics with a message naming the broken promise; the callers are `#[test]`s.

use super::audit_log::{AuditLog, AuditQuery};
use super::queue::{OutgoingMessage, Queue, QueueError};
use super::secrets::Secrets;
use super::state_store::{Condition, StateStore, StoreError, Write};
use crate::domain::{AppId, AuditKind, AuditRecord, CorrelationId, UserId};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// A key prefix unique to one run, so suites can share a backend without seeing each other.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

// ----------------------------------------------------------------------------------------------
// StateStore

pub async fn store_put_get_round_trip(store: &dyn StateStore) {
    let pk = unique("rt");
    let v1 = store
        .put(&pk, "a", json!({"n": 1}), None, Condition::None)
        .await
        .expect("first put");
    assert_eq!(v1, 1, "a new item starts at version 1");
    let item = store.get(&pk, "a").await.expect("get").expect("present");
    assert_eq!(item.data, json!({"n": 1}));
    assert_eq!(item.version, 1);
    let v2 = store
        .put(&pk, "a", json!({"n": 2}), None, Condition::None)
        .await
        .expect("overwrite");
    assert_eq!(v2, 2, "every write bumps the version");
    assert!(store.get(&pk, "missing").await.expect("get").is_none());
}

pub async fn store_not_exists_is_idempotency(store: &dyn StateStore) {
    let pk = unique("idem");
    store
        .put(
            &pk,
            "evt",
            json!({"first": true}),
            None,
            Condition::NotExists,
        )
        .await
        .expect("first claim succeeds");
    let second = store
        .put(
            &pk,
            "evt",
            json!({"first": false}),
            None,
            Condition::NotExists,
        )
        .await;
    assert!(
        matches!(second, Err(ref e) if e.is_condition_failed()),
        "second claim must fail with a condition error, got {second:?}"
    );
    let item = store.get(&pk, "evt").await.expect("get").expect("present");
    assert_eq!(
        item.data,
        json!({"first": true}),
        "the loser must not overwrite"
    );
}

pub async fn store_version_is_compare_and_swap(store: &dyn StateStore) {
    let pk = unique("cas");
    let v1 = store
        .put(&pk, "x", json!(1), None, Condition::None)
        .await
        .expect("put");
    let v2 = store
        .put(&pk, "x", json!(2), None, Condition::Version(v1))
        .await
        .expect("swap on the current version");
    let stale = store
        .put(&pk, "x", json!(3), None, Condition::Version(v1))
        .await;
    assert!(
        matches!(stale, Err(ref e) if e.is_condition_failed()),
        "a stale version must fail, got {stale:?}"
    );
    let missing = store
        .put(&pk, "nope", json!(1), None, Condition::Version(1))
        .await;
    assert!(
        matches!(missing, Err(ref e) if e.is_condition_failed()),
        "a version condition on a missing item must fail"
    );
    let item = store.get(&pk, "x").await.expect("get").expect("present");
    assert_eq!((item.data, item.version), (json!(2), v2));
}

/// `now` is the store's notion of now (its clock).
pub async fn store_expired_items_are_absent(store: &dyn StateStore, now: DateTime<Utc>) {
    let pk = unique("ttl");
    let past = now.timestamp() - 10;
    let future = now.timestamp() + 3600;
    store
        .put(&pk, "old", json!("old"), Some(past), Condition::None)
        .await
        .expect("put expired");
    store
        .put(&pk, "new", json!("new"), Some(future), Condition::None)
        .await
        .expect("put live");
    assert!(
        store.get(&pk, "old").await.expect("get").is_none(),
        "an expired item reads as absent even before the backend deletes it"
    );
    let listed: Vec<String> = store
        .query(&pk, "")
        .await
        .expect("query")
        .into_iter()
        .map(|i| i.sk)
        .collect();
    assert_eq!(listed, vec!["new".to_owned()], "queries skip expired items");
    store
        .put(&pk, "old", json!("reclaimed"), None, Condition::NotExists)
        .await
        .expect("an expired item can be claimed again");
    let live = store.get(&pk, "new").await.expect("get").expect("present");
    assert_eq!(live.expires_at, Some(future));
}

/// Many keys at once: answers in the order asked, `None` for absent and expired items, a key
/// asked twice answered twice, and more keys than one DynamoDB batch holds.
pub async fn store_get_many_answers_in_order(store: &dyn StateStore, now: DateTime<Utc>) {
    let pk = unique("many");
    let past = (now - chrono::Duration::hours(1)).timestamp();
    for i in 0..130 {
        store
            .put(
                &pk,
                &format!("k{i:03}"),
                json!({"n": i}),
                None,
                Condition::None,
            )
            .await
            .expect("put");
    }
    store
        .put(&pk, "gone", json!("old"), Some(past), Condition::None)
        .await
        .expect("put expired");
    let mut keys: Vec<(String, String)> = (0..130)
        .rev()
        .map(|i| (pk.clone(), format!("k{i:03}")))
        .collect();
    keys.push((pk.clone(), "missing".into()));
    keys.push((pk.clone(), "gone".into()));
    keys.push((pk.clone(), "k007".into()));
    let got = store.get_many(&keys).await.expect("get_many");
    assert_eq!(got.len(), keys.len(), "one answer per key asked");
    for (i, item) in got.iter().take(130).enumerate() {
        let item = item.as_ref().expect("present");
        assert_eq!(item.sk, format!("k{:03}", 129 - i), "in the order asked");
        assert_eq!(item.data, json!({"n": 129 - i}));
        assert_eq!(item.version, 1);
    }
    assert!(got[130].is_none(), "an absent key reads as None");
    assert!(got[131].is_none(), "an expired item reads as None");
    assert_eq!(
        got[132].as_ref().map(|i| i.sk.as_str()),
        Some("k007"),
        "a key asked twice is answered twice"
    );
    assert!(store.get_many(&[]).await.expect("none").is_empty());
    // The same answers as text, decoded by the caller.
    let texts = store.get_many_text(&keys).await.expect("get_many_text");
    assert_eq!(texts.len(), keys.len());
    for (item, text) in got.iter().zip(&texts) {
        match (item, text) {
            (Some(item), Some(text)) => {
                assert_eq!(
                    (&text.pk, &text.sk, text.version),
                    (&item.pk, &item.sk, item.version)
                );
                assert_eq!(
                    text.decode::<serde_json::Value>().expect("decodes"),
                    item.data
                );
            }
            (None, None) => {}
            other => panic!("get_many and get_many_text disagree: {other:?}"),
        }
    }
}

pub async fn store_query_prefix_in_order(store: &dyn StateStore) {
    let pk = unique("q");
    for sk in ["b#2", "a#1", "b#1", "c#1", "b#10"] {
        store
            .put(&pk, sk, json!(sk), None, Condition::None)
            .await
            .expect("put");
    }
    let other = unique("q");
    store
        .put(&other, "b#3", json!("other"), None, Condition::None)
        .await
        .expect("put other partition");
    let got: Vec<String> = store
        .query(&pk, "b#")
        .await
        .expect("query")
        .into_iter()
        .map(|i| i.sk)
        .collect();
    assert_eq!(
        got,
        vec!["b#1", "b#10", "b#2"],
        "prefix match in byte order"
    );
    assert_eq!(store.query(&pk, "").await.expect("all").len(), 5);
    // The same items as text, in the same order.
    let items = store.query(&pk, "b#").await.expect("query");
    let texts = store.query_text(&pk, "b#").await.expect("query_text");
    assert_eq!(texts.len(), items.len());
    for (item, text) in items.iter().zip(&texts) {
        assert_eq!(
            (&text.pk, &text.sk, text.version),
            (&item.pk, &item.sk, item.version)
        );
        assert_eq!(
            text.decode::<serde_json::Value>().expect("decodes"),
            item.data
        );
    }
}

pub async fn store_query_pages_past_large_partitions(store: &dyn StateStore) {
    // Large enough that DynamoDB returns it in more than one page (1 MB); the adapter must follow.
    let pk = unique("big");
    let blob = "x".repeat(40_000);
    for i in 0..40 {
        store
            .put(
                &pk,
                &format!("{i:03}"),
                json!({"blob": blob}),
                None,
                Condition::None,
            )
            .await
            .expect("put");
    }
    assert_eq!(store.query(&pk, "").await.expect("query").len(), 40);
}

pub async fn store_transactions_are_all_or_nothing(store: &dyn StateStore) {
    let pk = unique("tx");
    store
        .put(&pk, "taken", json!(1), None, Condition::None)
        .await
        .expect("seed");
    let failed = store
        .transact(vec![
            Write::Put {
                pk: pk.clone(),
                sk: "a".into(),
                data: json!("a"),
                expires_at: None,
                condition: Condition::NotExists,
            },
            Write::Check {
                pk: pk.clone(),
                sk: "taken".into(),
                condition: Condition::NotExists,
            },
        ])
        .await;
    assert!(
        matches!(failed, Err(ref e) if e.is_condition_failed()),
        "a failed check cancels the transaction, got {failed:?}"
    );
    assert!(
        store.get(&pk, "a").await.expect("get").is_none(),
        "nothing of a cancelled transaction is written"
    );
    store
        .transact(vec![
            Write::Put {
                pk: pk.clone(),
                sk: "a".into(),
                data: json!("a"),
                expires_at: None,
                condition: Condition::NotExists,
            },
            Write::Delete {
                pk: pk.clone(),
                sk: "taken".into(),
                condition: Condition::Version(1),
            },
        ])
        .await
        .expect("a transaction whose conditions hold commits");
    assert!(store.get(&pk, "a").await.expect("get").is_some());
    assert!(store.get(&pk, "taken").await.expect("get").is_none());
}

pub async fn store_delete_respects_conditions(store: &dyn StateStore) {
    let pk = unique("del");
    let v = store
        .put(&pk, "x", json!(1), None, Condition::None)
        .await
        .expect("put");
    let wrong = store.delete(&pk, "x", Condition::Version(v + 1)).await;
    assert!(matches!(wrong, Err(ref e) if e.is_condition_failed()));
    store
        .delete(&pk, "x", Condition::Version(v))
        .await
        .expect("delete");
    assert!(store.get(&pk, "x").await.expect("get").is_none());
    store
        .delete(&pk, "x", Condition::None)
        .await
        .expect("deleting an absent item without a condition is fine");
}

/// Many writers incrementing one counter by compare-and-swap lose no update.
pub async fn store_concurrent_cas_loses_no_update(store: Arc<dyn StateStore>) {
    let pk = unique("counter");
    store
        .put(&pk, "n", json!(0), None, Condition::None)
        .await
        .expect("seed");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let pk = pk.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                loop {
                    let item = store.get(&pk, "n").await.expect("get").expect("present");
                    let n = item.data.as_i64().expect("number");
                    match store
                        .put(
                            &pk,
                            "n",
                            json!(n + 1),
                            None,
                            Condition::Version(item.version),
                        )
                        .await
                    {
                        Ok(_) => break,
                        Err(e) if e.is_condition_failed() => continue,
                        Err(e) => panic!("unexpected store error: {e}"),
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let item = store.get(&pk, "n").await.expect("get").expect("present");
    assert_eq!(item.data, json!(40), "8 writers x 5 increments");
}

pub async fn run_state_store_suite(store: Arc<dyn StateStore>, now: DateTime<Utc>) {
    store_put_get_round_trip(store.as_ref()).await;
    store_not_exists_is_idempotency(store.as_ref()).await;
    store_version_is_compare_and_swap(store.as_ref()).await;
    store_expired_items_are_absent(store.as_ref(), now).await;
    store_query_prefix_in_order(store.as_ref()).await;
    store_get_many_answers_in_order(store.as_ref(), now).await;
    store_query_pages_past_large_partitions(store.as_ref()).await;
    store_transactions_are_all_or_nothing(store.as_ref()).await;
    store_delete_respects_conditions(store.as_ref()).await;
    store_concurrent_cas_loses_no_update(store).await;
}

/// Decoding a StoreError keeps its meaning across adapters.
pub fn condition_errors_are_recognisable(e: &StoreError) -> bool {
    e.is_condition_failed()
}

// ----------------------------------------------------------------------------------------------
// AuditLog

fn record(
    correlation: &CorrelationId,
    user: &str,
    app: Option<&str>,
    at: DateTime<Utc>,
    summary: &str,
) -> AuditRecord {
    let mut r = AuditRecord::new(
        at,
        correlation.clone(),
        AuditKind::ActionApplied,
        "conformance",
        summary,
    )
    .user(&UserId::from(user));
    if let Some(app) = app {
        r = r.app(&AppId::from(app));
    }
    r.policy("v1", vec!["rule-a".into()])
        .detail(json!({"k": "v"}))
}

pub async fn audit_append_and_query_by_each_key(log: &dyn AuditLog, now: DateTime<Utc>) {
    let c1 = CorrelationId::new(unique("corr"));
    let c2 = CorrelationId::new(unique("corr"));
    let user = unique("user");
    let app = unique("app");
    let r1 = record(&c1, &user, Some(&app), now, "first");
    let r2 = record(
        &c1,
        &user,
        None,
        now + chrono::Duration::seconds(1),
        "second",
    );
    let r3 = record(
        &c2,
        &unique("other"),
        Some(&app),
        now + chrono::Duration::seconds(2),
        "third",
    );
    for r in [&r1, &r2, &r3] {
        log.append(r).await.expect("append");
    }
    let by_corr = log
        .query(&AuditQuery::correlation(&c1))
        .await
        .expect("query");
    assert_eq!(
        by_corr,
        vec![r1.clone(), r2.clone()],
        "by correlation, in time order, intact"
    );
    let by_user = log
        .query(&AuditQuery::user(&UserId::new(&user)))
        .await
        .expect("query");
    assert_eq!(by_user, vec![r1.clone(), r2.clone()], "by user");
    let by_app = log
        .query(&AuditQuery::app(&AppId::new(&app)))
        .await
        .expect("query");
    assert_eq!(by_app, vec![r1.clone(), r3.clone()], "by app");
    let mut limited = AuditQuery::correlation(&c1);
    limited.limit = Some(1);
    assert_eq!(
        log.query(&limited).await.expect("query"),
        vec![r2],
        "a limit keeps the newest"
    );
}

pub async fn audit_is_append_only(log: &dyn AuditLog, now: DateTime<Utc>) {
    let c = CorrelationId::new(unique("corr"));
    let r = record(&c, &unique("user"), None, now, "original");
    log.append(&r).await.expect("append");
    log.append(&r)
        .await
        .expect("appending the identical record again is a no-op");
    let mut tampered = r.clone();
    tampered.summary = "rewritten".into();
    assert!(
        log.append(&tampered).await.is_err(),
        "a different record under an existing id must be refused"
    );
    let stored = log
        .query(&AuditQuery::correlation(&c))
        .await
        .expect("query");
    assert_eq!(stored, vec![r], "the original stands");
}

/// A record past its `expires_at` (refusals of inbound requests) is gone for every reader,
/// whether or not the backend has deleted it yet; records without one, or not yet due, stay.
/// `now` must be the log's clock.
pub async fn audit_expired_records_are_not_read(log: &dyn AuditLog, now: DateTime<Utc>) {
    let c = CorrelationId::new(unique("corr"));
    let user = unique("user");
    let app = unique("app");
    let expired =
        record(&c, &user, Some(&app), now, "expired").expires(now - chrono::Duration::hours(1));
    let due_later = record(
        &c,
        &user,
        Some(&app),
        now + chrono::Duration::seconds(1),
        "later",
    )
    .expires(now + chrono::Duration::days(1));
    let kept = record(
        &c,
        &user,
        Some(&app),
        now + chrono::Duration::seconds(2),
        "kept",
    );
    for r in [&expired, &due_later, &kept] {
        log.append(r).await.expect("append");
    }
    let live = vec![due_later.clone(), kept.clone()];
    for (query, how) in [
        (AuditQuery::correlation(&c), "by correlation"),
        (AuditQuery::user(&UserId::new(&user)), "by user"),
        (AuditQuery::app(&AppId::new(&app)), "by app"),
    ] {
        assert_eq!(log.query(&query).await.expect("query"), live, "{how}");
    }
    let mut limited = AuditQuery::correlation(&c);
    limited.limit = Some(2);
    assert_eq!(
        log.query(&limited).await.expect("query"),
        live,
        "a limit counts live records only"
    );
}

pub async fn run_audit_log_suite(log: &dyn AuditLog, now: DateTime<Utc>) {
    audit_append_and_query_by_each_key(log, now).await;
    audit_is_append_only(log, now).await;
    audit_expired_records_are_not_read(log, now).await;
}

// ----------------------------------------------------------------------------------------------
// Queue

/// The queues a backend must provide for the suite: a standard queue whose messages dead-letter to
/// `dead_letter` after `max_receives` receives, and a FIFO queue.
#[derive(Debug, Clone)]
pub struct QueueFixture {
    pub standard: String,
    pub dead_letter: String,
    pub max_receives: u32,
    pub fifo: String,
}

async fn drain(queue: &dyn Queue, name: &str) {
    loop {
        let got = queue
            .receive(name, 10, Duration::from_secs(30))
            .await
            .expect("receive");
        if got.is_empty() {
            break;
        }
        for m in got {
            queue.ack(name, &m.receipt).await.expect("ack");
        }
    }
}

pub async fn queue_send_receive_ack(queue: &dyn Queue, fx: &QueueFixture) {
    drain(queue, &fx.standard).await;
    queue
        .send(&fx.standard, vec![OutgoingMessage::standard("hello")])
        .await
        .expect("send");
    let got = queue
        .receive(&fx.standard, 10, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "hello");
    assert_eq!(got[0].receive_count, 1, "first delivery counts 1");
    queue.ack(&fx.standard, &got[0].receipt).await.expect("ack");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        queue
            .receive(&fx.standard, 10, Duration::from_secs(1))
            .await
            .expect("receive")
            .is_empty(),
        "an acknowledged message is gone"
    );
}

pub async fn queue_batch_receive_and_send_over_ten(queue: &dyn Queue, fx: &QueueFixture) {
    drain(queue, &fx.standard).await;
    let msgs: Vec<OutgoingMessage> = (0..25)
        .map(|i| OutgoingMessage::standard(format!("m{i}")))
        .collect();
    queue
        .send(&fx.standard, msgs)
        .await
        .expect("sending 25 messages batches them");
    let mut seen = BTreeSet::new();
    for _ in 0..20 {
        let got = queue
            .receive(&fx.standard, 10, Duration::from_secs(30))
            .await
            .expect("receive");
        assert!(got.len() <= 10, "a batch holds at most the requested count");
        for m in got {
            seen.insert(m.body.clone());
            queue.ack(&fx.standard, &m.receipt).await.expect("ack");
        }
        if seen.len() == 25 {
            break;
        }
    }
    assert_eq!(seen.len(), 25, "every message arrives");
}

pub async fn queue_redelivers_after_visibility_timeout(queue: &dyn Queue, fx: &QueueFixture) {
    drain(queue, &fx.standard).await;
    queue
        .send(&fx.standard, vec![OutgoingMessage::standard("again")])
        .await
        .expect("send");
    let first = queue
        .receive(&fx.standard, 1, Duration::from_secs(1))
        .await
        .expect("receive");
    assert_eq!(first.len(), 1);
    assert!(
        queue
            .receive(&fx.standard, 1, Duration::from_secs(1))
            .await
            .expect("receive")
            .is_empty(),
        "an in-flight message is invisible"
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let second = queue
        .receive(&fx.standard, 1, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(second.len(), 1, "unacknowledged message comes back");
    assert_eq!(second[0].message_id, first[0].message_id);
    assert_eq!(second[0].receive_count, 2);
    queue
        .ack(&fx.standard, &second[0].receipt)
        .await
        .expect("ack");
}

pub async fn queue_release_makes_visible(queue: &dyn Queue, fx: &QueueFixture) {
    drain(queue, &fx.standard).await;
    queue
        .send(&fx.standard, vec![OutgoingMessage::standard("retry-me")])
        .await
        .expect("send");
    let got = queue
        .receive(&fx.standard, 1, Duration::from_secs(60))
        .await
        .expect("receive");
    queue
        .release(&fx.standard, &got[0].receipt, Duration::ZERO)
        .await
        .expect("release");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = queue
        .receive(&fx.standard, 1, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(again.len(), 1, "a released message is visible at once");
    queue
        .ack(&fx.standard, &again[0].receipt)
        .await
        .expect("ack");
}

pub async fn queue_dead_letters_after_max_receives(queue: &dyn Queue, fx: &QueueFixture) {
    drain(queue, &fx.standard).await;
    drain(queue, &fx.dead_letter).await;
    queue
        .send(&fx.standard, vec![OutgoingMessage::standard("poison")])
        .await
        .expect("send");
    for attempt in 1..=fx.max_receives {
        let got = queue
            .receive(&fx.standard, 1, Duration::from_secs(30))
            .await
            .expect("receive");
        assert_eq!(got.len(), 1, "receive {attempt} gets the message");
        assert_eq!(got[0].receive_count, attempt);
        queue
            .release(&fx.standard, &got[0].receipt, Duration::ZERO)
            .await
            .expect("release");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut after = Vec::new();
    for _ in 0..5 {
        after = queue
            .receive(&fx.standard, 1, Duration::from_secs(30))
            .await
            .expect("receive");
        if after.is_empty() {
            break;
        }
        queue
            .release(&fx.standard, &after[0].receipt, Duration::ZERO)
            .await
            .ok();
    }
    assert!(
        after.is_empty(),
        "after {} receives the message leaves the queue",
        fx.max_receives
    );
    let mut dead = Vec::new();
    for _ in 0..10 {
        dead = queue
            .receive(&fx.dead_letter, 10, Duration::from_secs(30))
            .await
            .expect("receive dlq");
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(dead.len(), 1, "the message is in the dead-letter queue");
    assert_eq!(dead[0].body, "poison");
    queue
        .ack(&fx.dead_letter, &dead[0].receipt)
        .await
        .expect("ack");
}

pub async fn queue_fifo_orders_groups_and_drops_duplicates(queue: &dyn Queue, fx: &QueueFixture) {
    drain(queue, &fx.fifo).await;
    let run = unique("run");
    let msgs = vec![
        OutgoingMessage::fifo("a1", "alice", format!("{run}-a1")),
        OutgoingMessage::fifo("b1", "bob", format!("{run}-b1")),
        OutgoingMessage::fifo("a2", "alice", format!("{run}-a2")),
        OutgoingMessage::fifo("a2-dup", "alice", format!("{run}-a2")),
        OutgoingMessage::fifo("a3", "alice", format!("{run}-a3")),
    ];
    queue.send(&fx.fifo, msgs).await.expect("send fifo");
    let mut alice = Vec::new();
    let mut bodies = Vec::new();
    for _ in 0..10 {
        let got = queue
            .receive(&fx.fifo, 10, Duration::from_secs(30))
            .await
            .expect("receive");
        if got.is_empty() && bodies.len() >= 4 {
            break;
        }
        for m in got {
            if m.group_id.as_deref() == Some("alice") {
                alice.push(m.body.clone());
            }
            bodies.push(m.body.clone());
            queue.ack(&fx.fifo, &m.receipt).await.expect("ack");
        }
    }
    assert_eq!(
        alice,
        vec!["a1", "a2", "a3"],
        "order within a group; duplicate dropped"
    );
    assert_eq!(
        bodies.len(),
        4,
        "the duplicate id was delivered: {bodies:?}"
    );
}

/// A delayed message is invisible until its delay has passed (SQS `DelaySeconds`); FIFO queues
/// refuse per-message delays.
pub async fn queue_delays_a_message(queue: &dyn Queue, fx: &QueueFixture) {
    drain(queue, &fx.standard).await;
    queue
        .send(
            &fx.standard,
            vec![OutgoingMessage::delayed("later", Duration::from_secs(1))],
        )
        .await
        .expect("send");
    assert!(
        queue
            .receive(&fx.standard, 10, Duration::from_secs(30))
            .await
            .expect("receive")
            .is_empty(),
        "not yet"
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let got = queue
        .receive(&fx.standard, 10, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1, "delivered once the delay passed");
    assert_eq!(got[0].body, "later");
    queue.ack(&fx.standard, &got[0].receipt).await.expect("ack");
    let mut fifo = OutgoingMessage::fifo("x", "g", "d-delay");
    fifo.delay = Some(Duration::from_secs(1));
    assert!(
        matches!(
            queue.send(&fx.fifo, vec![fifo]).await,
            Err(QueueError::Rejected { .. })
        ),
        "FIFO queues take no per-message delay"
    );
}

pub async fn run_queue_suite(queue: &dyn Queue, fx: &QueueFixture) {
    queue_send_receive_ack(queue, fx).await;
    queue_delays_a_message(queue, fx).await;
    queue_batch_receive_and_send_over_ten(queue, fx).await;
    queue_redelivers_after_visibility_timeout(queue, fx).await;
    queue_release_makes_visible(queue, fx).await;
    queue_dead_letters_after_max_receives(queue, fx).await;
    queue_fifo_orders_groups_and_drops_duplicates(queue, fx).await;
}

// ----------------------------------------------------------------------------------------------
// Secrets

/// `set` changes the backing value of a key (environment, or the JSON secret) behind the adapter.
pub async fn run_secrets_suite<F, Fut>(secrets: &dyn Secrets, set: F)
where
    F: Fn(&'static str, &'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use super::secrets::keys;
    set(keys::ADMIN_TOKEN, "first").await;
    secrets.refresh().await.expect("refresh");
    let got = secrets.get(keys::ADMIN_TOKEN).await.expect("get");
    assert_eq!(got.as_ref().map(|s| s.expose()), Some("first"));
    assert!(
        secrets
            .get("LOADOUT_NOT_A_CONFIGURED_KEY")
            .await
            .expect("get")
            .is_none(),
        "an unknown key is None, not an error"
    );
    set(keys::ADMIN_TOKEN, "rotated").await;
    secrets.refresh().await.expect("refresh");
    let got = secrets.get(keys::ADMIN_TOKEN).await.expect("get");
    assert_eq!(
        got.as_ref().map(|s| s.expose()),
        Some("rotated"),
        "refresh picks up a rotated value"
    );
    assert_eq!(
        format!("{:?}", got),
        "Some(SecretString(***))",
        "secrets never print"
    );
}
